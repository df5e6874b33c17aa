/*
 * mail.c — the mail outbox and the SMTP mailer (see mail.h).
 */
#include "events/mail.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/typeid.h"
#include "http/server.h"
#include "core/banned.h"

static const int64_t retry_s[] = {10, 60, 300, 1800, 7200};
#define NRETRY ((int)(sizeof(retry_s) / sizeof(retry_s[0])))

void pl_mail_queue(pl_ctx_t *c, const char *tenant_id, const char *to, const char *subject, const char *body)
{
    static const char *sql =
        "INSERT INTO mail_outbox (id, tenant_id, to_addr, subject, body, state, next_attempt_at, "
        "created_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)";
    pl_buf_t b;
    pl_buf_init(&b, c->arena);
    pl_buf_adds(&b, "\"request_id\":\"");
    pl_buf_adds(&b, c->request_id);
    pl_buf_adds(&b, "\",\"to\":\"");
    pl_buf_add_json_escaped(&b, to, strlen(to));
    pl_buf_adds(&b, "\",\"subject\":\"");
    pl_buf_add_json_escaped(&b, subject, strlen(subject));
    pl_buf_adds(&b, "\",\"body\":\"");
    pl_buf_add_json_escaped(&b, body, strlen(body));
    pl_buf_addc(&b, '"');
    pl_log(PL_LOG_INFO, "mail", b.ptr);
    if (c->srv->cfg.smtp_url[0] && pl_db_in_tx(c->db))
        pl_db_exec(c->db, sql,
                   PL_ARGS(PL_TEXT(pl_new_id(c, "mail")), PL_TEXT(tenant_id), PL_TEXT(to), PL_TEXT(subject),
                           PL_TEXT(body), PL_INT(pl_now_ms())));
}

/* ---- the mailer ---- */

struct pl_mailer {
    pl_server_t *srv;
    pthread_t thread;
};

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

static int smtp_send(pl_server_t *s, const char *id, const char *to, const char *subject, const char *body,
                     char *why, size_t whylen)
{
    CURL *h = curl_easy_init();
    struct curl_slist *rcpt = NULL;
    upload_t u;
    char date[64], from[300], rcpt_s[300];
    time_t now = time(NULL);
    struct tm tm;
    const char *p;
    CURLcode rc;
    if (h == NULL)
        return -1;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    pl_buf_init(&u.msg, NULL);
    u.off = 0;
    pl_buf_addf(&u.msg, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: ", date, s->cfg.smtp_from, to);
    header_text(&u.msg, subject);
    pl_buf_addf(&u.msg,
                "\r\nMessage-ID: <%s@plinth>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
                id);
    for (p = body; *p; p++) { /* bare LF → CRLF, as SMTP wants */
        if (*p == '\n' && (p == body || p[-1] != '\r'))
            pl_buf_addc(&u.msg, '\r');
        pl_buf_addc(&u.msg, *p);
    }
    pl_buf_adds(&u.msg, "\r\n");
    snprintf(from, sizeof(from), "<%s>", strchr(s->cfg.smtp_from, '<') ? "" : s->cfg.smtp_from);
    if (strchr(s->cfg.smtp_from, '<'))
        snprintf(from, sizeof(from), "%s", strchr(s->cfg.smtp_from, '<'));
    snprintf(rcpt_s, sizeof(rcpt_s), "<%s>", to);
    rcpt = curl_slist_append(rcpt, rcpt_s);
    curl_easy_setopt(h, CURLOPT_URL, s->cfg.smtp_url);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &u);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    if (s->cfg.smtp_user[0]) {
        curl_easy_setopt(h, CURLOPT_USERNAME, s->cfg.smtp_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, s->cfg.smtp_password);
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

static void *mailer_main(void *arg)
{
    static const char *sql_due =
        "SELECT id, to_addr, subject, body, attempts FROM mail_outbox WHERE state = 'pending' "
        "AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT 1";
    static const char *sql_sent =
        "UPDATE mail_outbox SET state = 'sent', attempts = attempts + 1, sent_at = $2, "
        "last_error = NULL WHERE id = $1";
    static const char *sql_retry =
        "UPDATE mail_outbox SET state = $2, attempts = attempts + 1, last_error = $3, "
        "next_attempt_at = $4 WHERE id = $1";
    struct pl_mailer *m = arg;
    pl_db_t *db;
    pl_err_t err;
    pl_err_clear(&err);
    if (pl_db_connect(m->srv->store, &db, &err) != 0)
        return NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    while (!atomic_load(&m->srv->stop)) {
        pl_rows_t *r;
        char *id = NULL, *to = NULL, *subject = NULL, *body = NULL, why[256] = "";
        int64_t attempts = 0, now = pl_now_ms();
        if (pl_db_query(db, &r, sql_due, PL_ARGS(PL_INT(now))) == 0) {
            if (pl_rows_next(r) == 1) {
                id = strdup(pl_rows_text(r, 0));
                to = strdup(pl_rows_text(r, 1));
                subject = strdup(pl_rows_text(r, 2));
                body = strdup(pl_rows_text(r, 3));
                attempts = pl_rows_int(r, 4);
            }
            pl_rows_close(r);
        }
        if (id == NULL) {
            usleep(200000);
            continue;
        }
        if (smtp_send(m->srv, id, to, subject, body, why, sizeof(why)) == 0) {
            pl_db_exec(db, sql_sent, PL_ARGS(PL_TEXT(id), PL_INT(pl_now_ms())));
        } else {
            bool last = attempts >= NRETRY;
            pl_db_exec(db, sql_retry,
                       PL_ARGS(PL_TEXT(id), PL_TEXT(last ? "failed" : "pending"), PL_TEXT(why),
                               last ? PL_NULLV : PL_INT(now + retry_s[attempts] * 1000)));
            pl_logf(PL_LOG_WARN, "mail not delivered", "%s to %s: %s", id, to, why);
        }
        free(id);
        free(to);
        free(subject);
        free(body);
    }
    curl_global_cleanup();
    pl_db_close(db);
    return NULL;
}

int pl_mailer_start(pl_server_t *s)
{
    struct pl_mailer *m;
    if (s->cfg.smtp_url[0] == '\0')
        return 0;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        abort();
    m->srv = s;
    s->mailer = m;
    return pthread_create(&m->thread, NULL, mailer_main, m);
}

void pl_mailer_stop(pl_server_t *s)
{
    if (s->mailer == NULL)
        return;
    pthread_join(s->mailer->thread, NULL);
    free(s->mailer);
    s->mailer = NULL;
}
