-- The kernel's tables: what the commit step writes (app/op.h) — idempotent responses, the
-- audit log with its per-tenant hash chain, and the domain events of the transactional outbox.

-- Stored responses of POSTs sent with an Idempotency-Key (scope: tenant + key).
CREATE TABLE idempotency_keys (
    tenant_id     TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,               -- sha256 of method, path and body
    state         TEXT NOT NULL CHECK (state IN ('running', 'done')),
    status        INTEGER,
    content_type  TEXT,
    body          BLOB,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Every mutation, chained per tenant: hash = sha256(prev_hash | the entry's fields).
CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,            -- aud_…
    tenant_id     TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    actor_type    TEXT NOT NULL,               -- user, api_key, operator, system
    actor_id      TEXT,
    action        TEXT NOT NULL,               -- member.created, api_key.revoked, …
    resource_type TEXT,
    resource_id   TEXT,
    before        TEXT,                        -- JSON, secrets redacted
    after         TEXT,
    request_id    TEXT,
    ip            TEXT,
    user_agent    TEXT,
    created_at    INTEGER NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL,
    UNIQUE (tenant_id, seq)
);
CREATE INDEX audit_log_by_action ON audit_log (tenant_id, action, seq);
CREATE INDEX audit_log_by_resource ON audit_log (tenant_id, resource_type, resource_id, seq);
CREATE INDEX audit_log_by_actor ON audit_log (tenant_id, actor_id, seq);

-- Domain events: the transactional outbox. A handler's change and its event commit in one
-- transaction; the event backbone delivers committed events from here (at least once, in
-- order per tenant), and GET /v1/events reads them.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,           -- global commit order
    id          TEXT NOT NULL UNIQUE,          -- evt_…
    tenant_id   TEXT NOT NULL,
    tenant_seq  INTEGER NOT NULL,              -- 1, 2, 3 … per tenant
    type        TEXT NOT NULL,                 -- member.created, api_key.revoked, …
    data        TEXT NOT NULL,                 -- the resource as the API shows it (secrets redacted)
    request_id  TEXT,
    occurred_at INTEGER NOT NULL,
    UNIQUE (tenant_id, tenant_seq)
);
CREATE INDEX events_by_type ON events (tenant_id, type, tenant_seq);
