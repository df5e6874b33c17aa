/*
 * mail.c — branded messages, the mail outbox and the mail.send job (see mail.h).
 */
#include "mail/mail.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/typeid.h"
#include "events/events.h"
#include "jobs/jobs.h"
#include "core/banned.h"

#define MAIL_ATTEMPTS 6
#define DEFAULT_COLOR "#4f46e5"

static void html_escaped(pl_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            pl_buf_adds(b, "&lt;");
            break;
        case '>':
            pl_buf_adds(b, "&gt;");
            break;
        case '&':
            pl_buf_adds(b, "&amp;");
            break;
        case '"':
            pl_buf_adds(b, "&quot;");
            break;
        case '\'':
            pl_buf_adds(b, "&#39;");
            break;
        default:
            pl_buf_addc(b, *s);
        }
    }
}

static const char *render_text(pl_arena_t *a, const pl_mail_msg_t *m, const pl_mail_brand_t *br)
{
    pl_buf_t b;
    pl_buf_init(&b, a);
    pl_buf_adds(&b, m->text);
    if (m->action_url)
        pl_buf_addf(&b, "\n\n%s: %s", m->action_label ? m->action_label : "Open", m->action_url);
    if (m->footnote)
        pl_buf_addf(&b, "\n\n%s", m->footnote);
    pl_buf_addf(&b, "\n\n— %s\n", br->name);
    return pl_buf_cstr(&b);
}

/* The house template: a header in the brand colour (the logo, or the name), the paragraphs,
 * a button, small print and a footer. Inline styles only: mail clients drop style sheets. */
static const char *render_html(pl_arena_t *a, const pl_mail_msg_t *m, const pl_mail_brand_t *br)
{
    pl_buf_t b;
    const char *p = m->text, *q;
    pl_buf_init(&b, a);
    pl_buf_adds(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>");
    html_escaped(&b, m->subject);
    pl_buf_adds(&b,
                "</title></head>\n<body style=\"margin:0;background:#f4f4f5;font-family:system-ui,sans-serif;"
                "color:#18181b\">\n<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" "
                "cellspacing=\"0\"><tr><td align=\"center\" style=\"padding:24px\">\n"
                "<table role=\"presentation\" width=\"560\" cellpadding=\"0\" cellspacing=\"0\" "
                "style=\"background:#ffffff;border-radius:8px;overflow:hidden\">\n");
    pl_buf_addf(&b,
                "<tr><td style=\"background:%s;padding:16px 24px;color:#ffffff;font-size:20px;"
                "font-weight:600\">",
                br->color);
    if (br->logo) {
        pl_buf_adds(&b, "<img src=\"");
        html_escaped(&b, br->logo);
        pl_buf_adds(&b, "\" alt=\"");
        html_escaped(&b, br->name);
        pl_buf_adds(&b, "\" height=\"32\">");
    } else {
        html_escaped(&b, br->name);
    }
    pl_buf_adds(&b, "</td></tr>\n<tr><td style=\"padding:24px;font-size:15px;line-height:1.5\">\n");
    while (p && *p) { /* one <p> per paragraph */
        char *para;
        q = strstr(p, "\n\n");
        para = pl_strndup(a, p, q ? (size_t)(q - p) : strlen(p));
        pl_buf_adds(&b, "<p>");
        html_escaped(&b, para);
        pl_buf_adds(&b, "</p>\n");
        p = q ? q + 2 : NULL;
    }
    if (m->action_url) {
        pl_buf_addf(&b, "<p style=\"padding:8px 0\"><a href=\"");
        html_escaped(&b, m->action_url);
        pl_buf_addf(&b,
                    "\" style=\"background:%s;color:#ffffff;padding:10px 18px;border-radius:6px;"
                    "text-decoration:none;font-weight:600\">",
                    br->color);
        html_escaped(&b, m->action_label ? m->action_label : "Open");
        pl_buf_adds(&b, "</a></p>\n<p style=\"font-size:12px;color:#71717a\">");
        html_escaped(&b, m->action_url);
        pl_buf_adds(&b, "</p>\n");
    }
    if (m->footnote) {
        pl_buf_adds(&b, "<p style=\"font-size:13px;color:#52525b\">");
        html_escaped(&b, m->footnote);
        pl_buf_adds(&b, "</p>\n");
    }
    pl_buf_adds(&b, "</td></tr>\n<tr><td style=\"padding:12px 24px;font-size:12px;color:#a1a1aa\">Sent by ");
    html_escaped(&b, br->name);
    pl_buf_adds(&b, " via Plinth</td></tr>\n</table></td></tr></table>\n</body></html>\n");
    return pl_buf_cstr(&b);
}

typedef struct mail_conf {
    char smtp_url[256]; /* smtp://host:port or smtps://…; empty: mail goes to the log */
    char smtp_from[256];
    char smtp_user[128];
    char smtp_password[128];
} mail_conf_t;

static const pl_option_t options[] = {
    PL_OPTION_STR(
        mail_conf_t, smtp_url, "--smtp-url", "PLINTH_SMTP_URL", NULL,
        "SMTP server for outgoing mail, smtp://host:port (smtps:// for TLS); empty: mail is only logged"),
    PL_OPTION_STR(mail_conf_t, smtp_from, "--smtp-from", "PLINTH_SMTP_FROM", "no-reply@plinth.local",
                  "sender address of outgoing mail (default no-reply@plinth.local)"),
    PL_OPTION_STR(mail_conf_t, smtp_user, "--smtp-user", "PLINTH_SMTP_USER", NULL, "SMTP user name"),
    PL_OPTION_STR(mail_conf_t, smtp_password, "--smtp-password", "PLINTH_SMTP_PASSWORD", NULL,
                  "SMTP password"),
    PL_OPTIONS_END,
};

static const mail_conf_t *conf(const pl_app_t *app)
{
    return pl_app_conf(app, &pl_mail_module);
}

int pl_mail_send(pl_op_t *op, const char *tenant_id, const char *to, const pl_mail_msg_t *m)
{
    pl_db_t *db = op->db;
    const char *request_id = op->request_id[0] ? op->request_id : NULL;
    static const char *sql =
        "INSERT INTO mail_outbox (id, tenant_id, to_addr, subject, body, html, state, next_attempt_at, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7)";
    pl_arena_t a;
    pl_mail_brand_t br = m->brand;
    const char *text, *html;
    char id[PL_TYPEID_MAX];
    pl_buf_t b;
    json_t *payload;
    int rc = 0;
    pl_arena_init(&a);
    if (br.name == NULL)
        br.name = "Plinth";
    if (br.color == NULL)
        br.color = DEFAULT_COLOR;
    text = render_text(&a, m, &br);
    html = render_html(&a, m, &br);
    pl_buf_init(&b, &a);
    pl_buf_adds(&b, "\"request_id\":");
    if (request_id) {
        pl_buf_addc(&b, '"');
        pl_buf_add_json_escaped(&b, request_id, strlen(request_id));
        pl_buf_addc(&b, '"');
    } else {
        pl_buf_adds(&b, "null");
    }
    pl_buf_adds(&b, ",\"to\":\"");
    pl_buf_add_json_escaped(&b, to, strlen(to));
    pl_buf_adds(&b, "\",\"subject\":\"");
    pl_buf_add_json_escaped(&b, m->subject, strlen(m->subject));
    pl_buf_adds(&b, "\",\"body\":\"");
    pl_buf_add_json_escaped(&b, text, strlen(text));
    pl_buf_addc(&b, '"');
    pl_log(PL_LOG_INFO, "mail", b.ptr);
    if (conf(op->app)->smtp_url[0]) {
        pl_typeid_new("mail", id);
        payload = json_pack("{s:s}", "mail_id", id);
        if (pl_db_exec(db, sql,
                       PL_ARGS(PL_TEXT(id), PL_TEXT(tenant_id), PL_TEXT(to), PL_TEXT(m->subject),
                               PL_TEXT(text), PL_TEXT(html), PL_INT(pl_now_ms()))) != 1 ||
            pl_job_enqueue(op->app, db, tenant_id, "mail.send", payload, NULL, NULL, 0, MAIL_ATTEMPTS,
                           NULL) != 0)
            rc = pl_op_fail(op, PL_EDB, NULL, "the mail to %s could not be queued", to);
        json_decref(payload);
    }
    pl_arena_release(&a);
    return rc;
}

/* ---- delivery: the mail.send job ---- */

typedef struct {
    pl_buf_t msg;
    size_t off;
} upload_t;

static size_t read_cb(char *out, size_t size, size_t n, void *arg)
{
    upload_t *u = arg;
    size_t left = u->msg.len - u->off, want = size * n;
    if (want > left)
        want = left;
    memcpy(out, u->msg.ptr + u->off, want);
    u->off += want;
    return want;
}

static bool ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80 || *s == '\r' || *s == '\n')
            return false;
    return true;
}

/* RFC 2047 for non-ASCII subjects; header lines never carry CR or LF from user text. */
static void header_text(pl_buf_t *b, const char *s)
{
    char enc[1024];
    if (ascii(s)) {
        pl_buf_adds(b, s);
        return;
    }
    sodium_bin2base64(enc, sizeof(enc), (const unsigned char *)s, strlen(s) > 700 ? 700 : strlen(s),
                      sodium_base64_VARIANT_ORIGINAL);
    pl_buf_addf(b, "=?UTF-8?B?%s?=", enc);
}

/* The text part goes as 8bit with CRLF line ends; the HTML part in base64 lines of 76. */
static void mime_body(pl_buf_t *b, const char *boundary, const char *text, const char *html)
{
    const char *p;
    pl_buf_addf(b,
                "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
                boundary);
    for (p = text; *p; p++) {
        if (*p == '\n' && (p == text || p[-1] != '\r'))
            pl_buf_addc(b, '\r');
        pl_buf_addc(b, *p);
    }
    pl_buf_adds(b, "\r\n");
    if (html) {
        size_t n = strlen(html), i;
        pl_buf_addf(
            b, "--%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            boundary);
        for (i = 0; i < n; i += 57) {
            char line[80];
            sodium_bin2base64(line, sizeof(line), (const unsigned char *)html + i, n - i > 57 ? 57 : n - i,
                              sodium_base64_VARIANT_ORIGINAL);
            pl_buf_adds(b, line);
            pl_buf_adds(b, "\r\n");
        }
    }
    pl_buf_addf(b, "--%s--\r\n", boundary);
}

static int smtp_send(const mail_conf_t *s, const char *id, const char *to, const char *subject,
                     const char *text, const char *html, char *why, size_t whylen)
{
    CURL *h = curl_easy_init();
    struct curl_slist *rcpt = NULL;
    upload_t u;
    char date[64], from[300], rcpt_s[300], boundary[64];
    uint8_t raw[12];
    time_t now = time(NULL);
    struct tm tm;
    CURLcode rc;
    if (h == NULL)
        return -1;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    randombytes_buf(raw, sizeof(raw));
    memcpy(boundary, "=_plinth_", 9);
    sodium_bin2hex(boundary + 9, sizeof(boundary) - 9, raw, sizeof(raw));
    pl_buf_init(&u.msg, NULL);
    u.off = 0;
    pl_buf_addf(&u.msg, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: ", date, s->smtp_from, to);
    header_text(&u.msg, subject);
    pl_buf_addf(&u.msg,
                "\r\nMessage-ID: <%s@plinth>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n",
                id, boundary);
    mime_body(&u.msg, boundary, text, html);
    snprintf(from, sizeof(from), "<%s>", strchr(s->smtp_from, '<') ? "" : s->smtp_from);
    if (strchr(s->smtp_from, '<'))
        snprintf(from, sizeof(from), "%s", strchr(s->smtp_from, '<'));
    snprintf(rcpt_s, sizeof(rcpt_s), "<%s>", to);
    rcpt = curl_slist_append(rcpt, rcpt_s);
    curl_easy_setopt(h, CURLOPT_URL, s->smtp_url);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &u);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    if (s->smtp_user[0]) {
        curl_easy_setopt(h, CURLOPT_USERNAME, s->smtp_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, s->smtp_password);
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    }
    rc = curl_easy_perform(h);
    if (rc != CURLE_OK)
        snprintf(why, whylen, "%s", curl_easy_strerror(rc));
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    pl_buf_release(&u.msg);
    return rc == CURLE_OK ? 0 : -1;
}

static int run_send(pl_job_t *j)
{
    static const char *sql = "SELECT to_addr, subject, body, html, state FROM mail_outbox WHERE id = $1";
    static const char *sql_sent =
        "UPDATE mail_outbox SET state = 'sent', attempts = attempts + 1, sent_at = $2, "
        "last_error = NULL WHERE id = $1";
    static const char *sql_failed =
        "UPDATE mail_outbox SET state = $2, attempts = attempts + 1, last_error = $3, "
        "next_attempt_at = NULL WHERE id = $1";
    const char *id = pl_json_str(j->payload, "mail_id");
    const char *to = NULL, *subject = NULL, *text = NULL, *html = NULL, *state = NULL;
    pl_rows_t *r;
    char why[256] = "";
    int rc;
    if (id == NULL)
        return pl_job_fail(j, true, "the payload names no mail");
    if (conf(j->app)->smtp_url[0] == '\0')
        return pl_job_fail(j, false, "no SMTP server is configured (--smtp-url)");
    /* the outbox is the control plane's (it holds platform mail too) */
    if (pl_db_begin(j->db, PL_TX_READ, NULL) != 0 || pl_db_query(j->db, &r, sql, PL_ARGS(PL_TEXT(id))) != 0) {
        pl_db_rollback(j->db);
        return pl_job_fail(j, false, "the mail could not be read");
    }
    if (pl_rows_next(r) == 1) {
        to = pl_strdup(j->arena, pl_rows_text(r, 0));
        subject = pl_strdup(j->arena, pl_rows_text(r, 1));
        text = pl_strdup(j->arena, pl_rows_text(r, 2));
        html = pl_rows_null(r, 3) ? NULL : pl_strdup(j->arena, pl_rows_text(r, 3));
        state = pl_strdup(j->arena, pl_rows_text(r, 4));
    }
    pl_rows_close(r);
    pl_db_rollback(j->db);
    if (to == NULL)
        return pl_job_fail(j, true, "the mail %s no longer exists", id);
    if (strcmp(state, "sent") == 0) /* sent by an earlier attempt that could not record it */
        return 0;
    curl_global_init(CURL_GLOBAL_DEFAULT); /* counted: cheap when the webhook sender holds it */
    rc = smtp_send(conf(j->app), id, to, subject, text, html, why, sizeof(why));
    curl_global_cleanup();
    if (rc == 0) {
        /* sent: if this bookkeeping fails, a retry finds the mail still pending and sends it
         * again — at least once, never lost */
        if (pl_db_exec_tx(j->db, NULL, sql_sent, PL_ARGS(PL_TEXT(id), PL_INT(pl_now_ms()))) != 1)
            return pl_job_fail(j, false, "the mail was sent but could not be marked sent");
        j->result = json_pack("{s:s}", "to", to);
        return 0;
    }
    if (pl_db_exec_tx(j->db, NULL, sql_failed,
                      PL_ARGS(PL_TEXT(id), PL_TEXT(j->attempt >= j->max_attempts ? "failed" : "pending"),
                              PL_TEXT(why))) < 0)
        pl_logf(PL_LOG_WARN, "the failed attempt of a mail could not be recorded", "%s", id);
    return pl_job_fail(j, false, "SMTP: %s", why);
}

static const pl_job_kind_t kinds[] = {
    {"mail.send", run_send, MAIL_ATTEMPTS},
    {NULL, NULL, 0},
};

static int64_t cleanup(pl_app_t *a, pl_db_t *db)
{
    static const char *const sql[] = {"DELETE FROM mail_outbox WHERE state <> 'pending' AND created_at < $1",
                                      NULL};
    return pl_db_exec_list(db, sql, pl_now_ms() - pl_events_retention_ms(a));
}

static const pl_task_t tasks[] = {
    {"mail.cleanup", 3600000, cleanup},
    {NULL, 0, NULL},
};

PL_MIGRATIONS_DECLARE(mail);

const pl_module_t pl_mail_module = {
    .name = "mail",
    .options = options,
    .conf_size = sizeof(mail_conf_t),
    .migrations = PL_MIGRATIONS_OF(mail),
    .jobs = kinds,
    .tasks = tasks,
};
