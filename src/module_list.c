/*
 * module_list.c — the module list (module_list.h). Adding a module is one line here.
 *
 * The kernel (app/kernel.h) is first: its tables are the commit step's. Order: a module's
 * migrations and init run after those before it; start in order, stop in reverse — the
 * HTTP transport is last, so it stops taking requests first.
 */
#include "module_list.h"

#include "app/kernel.h"
#include "audit/audit.h"
#include "billing/billing.h"
#include "demo/demo.h"
#include "events/events.h"
#include "http/http.h"
#include "jobs/jobs.h"
#include "mail/mail.h"
#include "modules/members/members.h"
#include "notifications/notifications.h"
#include "ops/ops.h"
#include "platform/platform.h"
#include "webhooks/webhooks.h"
#include "core/banned.h"

const pl_module_t *const pl_modules[] = {
    &pl_kernel_module, &pl_platform_module, &pl_members_module, &pl_billing_module, &pl_audit_module,
    &pl_events_module, &pl_webhooks_module, &pl_jobs_module,    &pl_mail_module,    &pl_notifications_module,
    &pl_ops_module,    &pl_demo_module,     &pl_http_module,
};
const size_t pl_nmodules = sizeof(pl_modules) / sizeof(pl_modules[0]);
