/*
 * mail.h — outgoing email: branded templates, the mail outbox (mail/migrations) and the
 * mail.send job kind that delivers it over SMTP with libcurl. Options: --smtp-url,
 * --smtp-from, --smtp-user, --smtp-password.
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

#include "app/op.h"

/* Who the message comes from: the organization's name, primary colour (#RRGGBB) and logo
 * URL; a NULL member takes Plinth's own. (platform.h: pl_tenant_brand() reads a tenant's.) */
typedef struct pl_mail_brand {
    const char *name, *color, *logo;
} pl_mail_brand_t;

/* A message in the house template: paragraphs of plain text (separated by blank lines), an
 * optional call to action (a button in HTML, a line in text) and optional small print. */
typedef struct pl_mail_msg {
    pl_mail_brand_t brand;
    const char *subject;
    const char *text;
    const char *action_label;
    const char *action_url;
    const char *footnote;
} pl_mail_msg_t;

/* Queues a message to one recipient in the operation's open transaction; tenant_id NULL:
 * platform mail. Returns 0, or PL_EDB with op->err filled (the caller's change must then
 * fail too: a change and its mail commit together). */
int pl_mail_send(pl_op_t *op, const char *tenant_id, const char *to, const pl_mail_msg_t *m);

extern const pl_module_t pl_mail_module; /* the mail.send job kind */

#endif
