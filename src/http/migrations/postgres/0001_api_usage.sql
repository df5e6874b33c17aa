-- API calls per tenant and period ('d2026-11-25', 'm2026-11'), flushed from memory.
CREATE TABLE api_usage (
    tenant_id TEXT NOT NULL,
    period    TEXT NOT NULL,
    calls     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, period)
);
