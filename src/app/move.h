/*
 * move.h — moving a tenant's data from one cell to another while the server runs
 * (app/cells.h; `plinth tenant move`).
 *
 *   pl_move_copy    in the source, a tenant_moves row is committed under the tenant's write
 *                   lock: writes in flight finish first, every later write there is refused
 *                   (503 tenant_moving, Retry-After) — the write pause starts. The source's
 *                   dispatcher is waited for until it has passed the tenant's events. Then
 *                   every data-plane table's rows of the tenant are copied in one transaction
 *                   into the target (events marked imported: delivered already).
 *   (the caller)    switches the directory (tenants.cell) and announces it
 *                   (pl_app_directory_changed): the pause ends; reads went on in the source
 *   pl_move_finish  after a grace period in which every node learns the new home, removes the
 *                   tenant's rows from the source (the tenant_moves row stays there)
 *   pl_move_abort   before the switch: the copy is removed and the source takes writes again
 *
 * Other tenants never wait: the lock and the marker are the tenant's own.
 */
#ifndef PL_APP_MOVE_H
#define PL_APP_MOVE_H

#include <stdint.h>

#include "app/cells.h"

#define PL_MOVE_MAX_TABLES 64
/* After the switch, before the old rows go: every node has seen the directory change (the
 * relay thread reads its counter each second). */
#define PL_MOVE_GRACE_MS 4000

typedef struct pl_move {
    pl_app_t *app;
    const char *tenant;
    const pl_cell_t *from, *to;
    pl_db_t *src, *dst;
    char tables[PL_MOVE_MAX_TABLES][64]; /* parents before children */
    char *cols[PL_MOVE_MAX_TABLES];
    int ntables;
    int64_t rows;
    int64_t paused_at_ms; /* when writes started to be refused */
} pl_move_t;

int pl_move_copy(pl_move_t *mv, pl_app_t *app, const char *tenant_id, const pl_cell_t *from,
                 const pl_cell_t *to, pl_err_t *err);
int pl_move_finish(pl_move_t *mv, pl_err_t *err);
void pl_move_abort(pl_move_t *mv);
/* Closes the connections (after finish or abort). */
void pl_move_close(pl_move_t *mv);

#endif
