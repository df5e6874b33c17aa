-- Webhook endpoints of tenants, and the deliveries of events to them (a durable queue: a
-- delivery is due at next_attempt_at; a sender leases it while it tries).
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,          -- whe_…
    tenant_id       TEXT NOT NULL,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    events          TEXT NOT NULL,             -- JSON array: "member.created", "member.*", "*"
    secret          TEXT NOT NULL,             -- whsec_…
    status          TEXT NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    failing_since   BIGINT,
    disabled_reason TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_by_tenant ON webhook_endpoints (tenant_id, id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,         -- whd_…
    tenant_id        TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    event_seq        BIGINT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT,
    lease_until      BIGINT,
    last_status      BIGINT,
    last_error       TEXT,
    last_duration_ms BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (tenant_id, endpoint_id, id);
