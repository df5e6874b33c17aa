/*
 * internal.h — shared by the event backbone's files only.
 */
#ifndef PL_EVENTS_INTERNAL_H
#define PL_EVENTS_INTERNAL_H

#include <stdbool.h>
#include <sys/socket.h>

#include "app/module.h"
#include "http/ctx.h"
#include "store/store.h"

typedef struct pl_webhooks_conf {
    bool allow_private; /* URLs may point at loopback / private addresses */
    char retries[256];  /* seconds between delivery attempts, comma-separated */
    long disable_after; /* seconds an endpoint may fail continuously before it is disabled */
    long lease;         /* seconds a sender holds a claimed delivery (then another node may) */
} pl_webhooks_conf_t;

const pl_webhooks_conf_t *pl_webhooks_conf(const pl_app_t *app);

/* ---- delivery.c: the fan-out consumer, the cleanup task, and the sender thread ---- */
extern const pl_consumer_t pl_webhook_consumers[];
extern const pl_task_t pl_webhook_tasks[];
typedef struct pl_webhooks pl_webhooks_t;
/* The senders' shared state, from the module's options (no thread yet); NULL with err filled. */
pl_webhooks_t *pl_webhook_sender_start(pl_app_t *app, const pl_webhooks_conf_t *conf, pl_err_t *err);
/* Starts the sender of one cell's deliveries. */
int pl_webhook_sender_cell(pl_webhooks_t *w, const pl_cell_t *cell, pl_err_t *err);
void pl_webhook_sender_stop(pl_webhooks_t *w);
/* A replay: records deliveries of tenant_id's event with global seq to every matching enabled
 * endpoint, in the caller's transaction. Returns how many (0: no such event), or <0. */
int pl_webhook_fan_out(pl_db_t *db, int64_t seq, const char *tenant_id);

/* ---- endpoint.c ---- */
bool pl_webhook_addr_private(const struct sockaddr *sa);
/* NULL when the URL may be called, else why not (resolves the host). */
const char *pl_webhook_url_check(const char *url, bool allow_private);
#define PL_WEBHOOK_ENDPOINT_COLS                                                                             \
    "id, url, description, events, status, failing_since, disabled_reason, created_at, updated_at"
/* A row of PL_WEBHOOK_ENDPOINT_COLS as the API shows it. */
json_t *pl_webhook_endpoint_json(pl_rows_t *r);
/* The endpoint as the API shows it, or NULL. */
json_t *pl_webhook_endpoint_get(pl_db_t *db, const char *tenant_id, const char *id);

#endif
