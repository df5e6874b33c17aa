-- Durable jobs, the scheduler's periodic tasks, in-process subscribers' receipts and in-app
-- notifications (the event backbone's second half).

-- A job: one unit of background work of a kind, for a tenant (NULL: the platform's own).
-- state: queued (waiting for run_at) → running (leased by a runner until lease_until) →
-- succeeded | queued again (a retry after a backoff) | failed (the job said retrying cannot
-- help) | dead (max_attempts used up: the dead letter). A running job whose lease expired
-- (its runner died) is queued again by the jobs.reap task.
-- Fairness: vtime is the job's virtual start time — max(the clock, its tenant's last vtime)
-- + 1 at enqueue, the clock being the vtime of the last job claimed. Runners claim the due
-- job with the smallest vtime, so a tenant with 100,000 queued jobs and another with one
-- take turns instead of queueing behind each other.
CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,           -- job_…
    tenant_id      TEXT,
    kind           TEXT NOT NULL,              -- mail.send, subscriber, members.export, …
    payload        TEXT NOT NULL DEFAULT '{}',
    state          TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    max_attempts   INTEGER NOT NULL,
    run_at         INTEGER NOT NULL,
    vtime          INTEGER NOT NULL,
    lease_until    INTEGER,
    claim_token    TEXT,                       -- the runner attempt that holds the lease
    last_error     TEXT,
    progress_done  INTEGER,
    progress_total INTEGER,
    result         TEXT,                       -- JSON
    dedupe_key     TEXT UNIQUE,                -- at most one job per key (subscriber:event)
    created_by     TEXT,                       -- usr_… / key_… that asked for it
    created_at     INTEGER NOT NULL,
    started_at     INTEGER,
    finished_at    INTEGER,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX jobs_claim ON jobs (state, vtime);
CREATE INDEX jobs_by_tenant ON jobs (tenant_id, id);

-- Fair-queue lanes: the last vtime given to each tenant ('' for platform jobs); the row '*'
-- is the clock.
CREATE TABLE job_lanes (
    lane  TEXT PRIMARY KEY,
    vtime INTEGER NOT NULL
);
INSERT INTO job_lanes (lane, vtime) VALUES ('*', 0);

-- The events each in-process subscriber has processed: a subscriber job that runs twice
-- (at-least-once delivery) finds its receipt and does nothing the second time.
CREATE TABLE subscriber_receipts (
    subscriber   TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at INTEGER NOT NULL,
    PRIMARY KEY (subscriber, event_id)
);

-- Periodic tasks: a process runs a task when it is due and it wins the lease, then moves
-- next_run_at one period on; several processes on one database run it once per period.
CREATE TABLE scheduled_tasks (
    name             TEXT PRIMARY KEY,
    period_ms        INTEGER NOT NULL,
    next_run_at      INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_until      INTEGER,
    runs             INTEGER NOT NULL DEFAULT 0,
    last_started_at  INTEGER,
    last_finished_at INTEGER,
    last_owner       TEXT,
    last_status      TEXT,
    last_error       TEXT,
    last_changed     INTEGER                    -- rows the last run removed or changed
);
