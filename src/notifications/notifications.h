/*
 * notifications.h — in-app notifications. Owns notifications (notifications/migrations).
 *
 * A notification belongs to one user of one tenant (an API key has an empty inbox). Routes:
 * GET /v1/notifications (unread=true, cursor; newest first, with unread_count),
 * POST /v1/notifications/{id}/read, POST /v1/notifications/read-all.
 *
 * The "notifications" subscriber turns events people must hear about into notifications to
 * the owners and admins, and into branded emails: webhook_endpoint.disabled.
 */
#ifndef PL_NOTIFICATIONS_H
#define PL_NOTIFICATIONS_H

#include <jansson.h>

#include "app/module.h"
#include "app/op.h"
#include "store/store.h"

extern const pl_module_t pl_notifications_module;

/* Writes a notification in op->db's current transaction to user_id, or (NULL) to every owner
 * and admin of the tenant (read from the control plane). data (may be NULL) is not owned. Returns how many
 * were written, or <0. */
int pl_notify(pl_op_t *op, const char *tenant_id, const char *user_id, const char *type, const char *title,
              const char *body, json_t *data);

#endif
