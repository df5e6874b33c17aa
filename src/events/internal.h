/*
 * internal.h — shared by the event backbone's files only.
 */
#ifndef PL_EVENTS_INTERNAL_H
#define PL_EVENTS_INTERNAL_H

#include <stdbool.h>
#include <sys/socket.h>

#include "http/ctx.h"
#include "store/store.h"

bool pl_webhook_addr_private(const struct sockaddr *sa);
/* NULL when the URL may be called, else why not (resolves the host). */
const char *pl_webhook_url_check(const char *url, bool allow_private);
/* A replay: records deliveries of tenant_id's event with global seq to every matching enabled
 * endpoint, in the caller's transaction. Returns how many (0: no such event), or <0. */
int pl_webhook_fan_out(pl_db_t *db, int64_t seq, const char *tenant_id);
/* The endpoint as the API shows it, or NULL. */
json_t *pl_webhook_endpoint_get(pl_db_t *db, const char *tenant_id, const char *id);

#endif
