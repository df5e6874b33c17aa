/*
 * mail.h — outgoing email. Owns mail_outbox (0006_mail.sql).
 *
 * pl_mail_queue() puts a message in the outbox inside the caller's transaction (so an
 * invitation and its email commit together) and writes a "mail" log line. With --smtp-url
 * set, the mailer thread delivers queued mail over SMTP with libcurl, retrying after 10 s,
 * 1 min, 5 min, 30 min and 2 h before giving up; without it, mail is only logged (development).
 */
#ifndef PL_MAIL_H
#define PL_MAIL_H

#include "http/ctx.h"

typedef struct pl_server pl_server_t;

/* Queues a plain-text message (UTF-8) to one recipient; tenant_id may be NULL. */
void pl_mail_queue(pl_ctx_t *c, const char *tenant_id, const char *to, const char *subject, const char *body);
int pl_mailer_start(pl_server_t *s);
void pl_mailer_stop(pl_server_t *s);

#endif
