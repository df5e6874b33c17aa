-- Tenant cells (app/cells.h). A row here says the tenant moved out of this database: its
-- rows left here are a copy being removed, and its write transactions here are refused
-- (PL_EMOVED) so that nothing is written to the copy. A tenant moving back in drops it.
CREATE TABLE tenant_moves (
    tenant_id  TEXT PRIMARY KEY,
    to_cell    TEXT NOT NULL,
    moved_at   BIGINT NOT NULL
);

-- Events copied in by a move were delivered where they were written: the dispatcher and
-- the streams pass over them here (GET /v1/events still lists them).
ALTER TABLE events ADD COLUMN imported INTEGER NOT NULL DEFAULT 0;

-- Tenants whose audit entries and events a control-plane operation wrote here although their
-- home is another cell: the relay moves those rows to the home cell (app/relay.c).
CREATE TABLE relay_queue (
    tenant_id  TEXT PRIMARY KEY,
    queued_at  BIGINT NOT NULL
);
