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
