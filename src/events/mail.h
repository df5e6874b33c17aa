/*
 * mail.h — outgoing email: branded templates, the mail outbox (0006_mail.sql) and the
 * mail.send job kind that delivers it over SMTP with libcurl.
 *
 * pl_mail_send() renders a message with the tenant's branding (its name, logo and primary
 * colour from its settings; Plinth's own for platform mail) as text and HTML, writes it to
 * the outbox and enqueues a mail.send job — both in the caller's transaction, so an
 * invitation and its email commit together — and writes a "mail" log line. The job retries
 * with the jobs' backoff (6 attempts) and then dead-letters (visible in GET /v1/jobs, and
 * retried with POST /v1/jobs/{id}/retry). Without --smtp-url mail is only logged
 * (development).
 */
#ifndef PL_MAIL_H
#define PL_MAIL_H

#include "http/ctx.h"

typedef struct pl_server pl_server_t;

/* A message in the house template: paragraphs of plain text (separated by blank lines), an
 * optional call to action (a button in HTML, a line in text) and optional small print. */
typedef struct pl_mail_msg {
    const char *subject;
    const char *text;
    const char *action_label;
    const char *action_url;
    const char *footnote;
} pl_mail_msg_t;

/* Queues a message to one recipient in db's current transaction; tenant_id NULL: platform
 * mail. request_id may be NULL. Returns 0 or PL_EDB. */
int pl_mail_send(pl_server_t *s, pl_db_t *db, const char *tenant_id, const char *to, const pl_mail_msg_t *m,
                 const char *request_id);
/* The same from a request handler. */
void pl_mail_queue(pl_ctx_t *c, const char *tenant_id, const char *to, const pl_mail_msg_t *m);

extern const pl_module_t pl_mail_module; /* the mail.send job kind */

#endif
