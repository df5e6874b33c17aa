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
    attempts       BIGINT NOT NULL DEFAULT 0,
    max_attempts   BIGINT NOT NULL,
    run_at         BIGINT NOT NULL,
    vtime          BIGINT NOT NULL,
    lease_until    BIGINT,
    claim_token    TEXT,                       -- the runner attempt that holds the lease
    last_error     TEXT,
    progress_done  BIGINT,
    progress_total BIGINT,
    result         TEXT,                       -- JSON
    dedupe_key     TEXT UNIQUE,                -- at most one job per key (subscriber:event)
    created_by     TEXT,                       -- usr_… / key_… that asked for it
    created_at     BIGINT NOT NULL,
    started_at     BIGINT,
    finished_at    BIGINT,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX jobs_claim ON jobs (state, vtime);
CREATE INDEX jobs_by_tenant ON jobs (tenant_id, id);

-- Fair-queue lanes: the last vtime given to each tenant ('' for platform jobs); the row '*'
-- is the clock.
CREATE TABLE job_lanes (
    lane  TEXT PRIMARY KEY,
    vtime BIGINT NOT NULL
);
INSERT INTO job_lanes (lane, vtime) VALUES ('*', 0);

-- The events each in-process subscriber has processed: a subscriber job that runs twice
-- (at-least-once delivery) finds its receipt and does nothing the second time.
CREATE TABLE subscriber_receipts (
    subscriber   TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at BIGINT NOT NULL,
    PRIMARY KEY (subscriber, event_id)
);

-- Periodic tasks: a process runs a task when it is due and it wins the lease, then moves
-- next_run_at one period on; several processes on one database run it once per period.
CREATE TABLE scheduled_tasks (
    name             TEXT PRIMARY KEY,
    period_ms        BIGINT NOT NULL,
    next_run_at      BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_until      BIGINT,
    runs             BIGINT NOT NULL DEFAULT 0,
    last_started_at  BIGINT,
    last_finished_at BIGINT,
    last_owner       TEXT,
    last_status      TEXT,
    last_error       TEXT,
    last_changed     BIGINT                    -- rows the last run removed or changed
);
