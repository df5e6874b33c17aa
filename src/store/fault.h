/*
 * fault.h — the fault-injecting store driver, for tests.
 *
 * "fault+URL" opens the store of URL (normally "sqlite:PATH") behind this driver, which
 * passes every call through until a plan says otherwise: fail the Nth statement from now,
 * answer it "busy", or fail the Nth commit. It proves the driver interface with a second
 * implementation and lets unit tests show that a failed statement or commit leaves no
 * partial state and that callers answer an error, never a success.
 *
 * Thread-safety: the plan is per store; set it while no other thread uses the store (before
 * the application starts). The counters are atomic.
 */
#ifndef PL_FAULT_H
#define PL_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

typedef struct pl_fault_plan {
    int64_t fail_statement; /* the Nth statement (query or exec) from now fails with PL_EDB; 0: never */
    int64_t busy_statement; /* the Nth statement from now answers PL_EUNAVAIL (busy); 0: never */
    int64_t fail_commit;    /* the Nth commit from now fails (and rolls back); 0: never */
    bool repeat;            /* keep failing every statement/commit from then on */
    /* NULL: every statement and commit counts. Else only statements whose SQL contains this
     * text count, and only commits of transactions that ran one — so that background threads
     * sharing the store do not move the counters. */
    const char *only;
} pl_fault_plan_t;

extern const pl_store_driver_t pl_fault_driver;

/* Installs a plan on a store opened with "fault+…" (counters start again). Returns 0, or
 * -1 if s is not a fault store. */
int pl_fault_set(pl_store_t *s, const pl_fault_plan_t *plan);
/* How many statements and commits ran through the store since its last plan. */
int64_t pl_fault_statements(pl_store_t *s);
int64_t pl_fault_commits(pl_store_t *s);

#endif
