/*
 * members.h — the memberships module: membership types (tiers), members, member activities,
 * bulk actions, CSV/JSON import and export, and engagement / retention / revenue analytics.
 * Public header of the module.
 *
 * Owns: membership_types, members, members_fts, member_activities (0002_members.sql).
 * Every route is tenant-scoped; permissions members:read (viewer and up) and members:write
 * (editor and up).
 */
#ifndef PL_MEMBERS_H
#define PL_MEMBERS_H

#include "core/arena.h"
#include "core/err.h"
#include "http/router.h"
#include "app/op.h"
#include "store/store.h"

extern const pl_module_t pl_members_module;

typedef struct pl_members_seed {
    int tiers;        /* membership types to create (at most 5 distinct ones) */
    long members;
    long activities;  /* spread over the last year */
    void (*progress)(long done, long total, void *arg);
    void *arg;
} pl_members_seed_t;

/* Fills a tenant with realistic members for demos and benchmarks, in batches of one
 * transaction each (the caller must not hold a transaction), on op->db (the tenant's home);
 * fills op->err on failure. */
int pl_members_seed(pl_op_t *op, const char *tenant_id, const pl_members_seed_t *opts);

#endif
