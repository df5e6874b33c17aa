-- Tenant guardrails: plans with features, limits and rate limits; per-tenant overrides;
-- feature flags with percentage rollout; idempotency keys; API-call counters for quotas;
-- the tamper-evident audit log.

CREATE TABLE plans (
    id          TEXT PRIMARY KEY,              -- pln_…
    key         TEXT NOT NULL UNIQUE,          -- starter, growth, pro, enterprise, …
    name        TEXT NOT NULL,
    features    TEXT NOT NULL DEFAULT '{}',    -- {"flag": true|false}
    limits      TEXT NOT NULL DEFAULT '{}',    -- {"members": 1000, …}; -1 unlimited
    rate_limits TEXT NOT NULL DEFAULT '{}',    -- {"tenant": {"rate": 100, "burst": 200}, "key": …, "ip": …}
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

INSERT INTO plans (id, key, name, features, limits, rate_limits, created_at, updated_at) VALUES
 ('pln_01jf0000000000000000000001', 'starter', 'Starter',
  '{"basic_analytics":true,"ai_descriptions":true,"ai_search":false,"recommendations":false,"advanced_analytics":false,"custom_domain":false,"sso":false}',
  '{"team_members":5,"members":1000,"api_keys":5,"webhook_endpoints":2,"products":100,"api_calls_per_day":10000,"api_calls_per_month":250000,"storage_mb":1024}',
  '{}', 0, 0),
 ('pln_01jf0000000000000000000002', 'growth', 'Growth',
  '{"basic_analytics":true,"ai_descriptions":true,"ai_search":true,"recommendations":true,"advanced_analytics":false,"custom_domain":false,"sso":false}',
  '{"team_members":20,"members":10000,"api_keys":20,"webhook_endpoints":10,"products":1000,"api_calls_per_day":100000,"api_calls_per_month":2500000,"storage_mb":10240}',
  '{}', 0, 0),
 ('pln_01jf0000000000000000000003', 'pro', 'Pro',
  '{"basic_analytics":true,"ai_descriptions":true,"ai_search":true,"recommendations":true,"advanced_analytics":true,"custom_domain":false,"sso":false}',
  '{"team_members":100,"members":100000,"api_keys":100,"webhook_endpoints":50,"products":10000,"api_calls_per_day":1000000,"api_calls_per_month":25000000,"storage_mb":51200}',
  '{}', 0, 0),
 ('pln_01jf0000000000000000000004', 'enterprise', 'Enterprise',
  '{"basic_analytics":true,"ai_descriptions":true,"ai_search":true,"recommendations":true,"advanced_analytics":true,"custom_domain":true,"sso":true}',
  '{"team_members":-1,"members":-1,"api_keys":-1,"webhook_endpoints":-1,"products":-1,"api_calls_per_day":-1,"api_calls_per_month":-1,"storage_mb":-1}',
  '{}', 0, 0);

ALTER TABLE tenants ADD COLUMN plan_key TEXT NOT NULL DEFAULT 'starter';
ALTER TABLE tenants ADD COLUMN overrides TEXT NOT NULL DEFAULT '{}'; -- {"limits": {…}, "features": {…}}
UPDATE tenants SET plan_key = 'enterprise' WHERE is_platform = 1;

CREATE TABLE feature_flags (
    key             TEXT PRIMARY KEY,
    description     TEXT NOT NULL DEFAULT '',
    default_enabled INTEGER NOT NULL DEFAULT 0,
    rollout_percent INTEGER NOT NULL DEFAULT 0 CHECK (rollout_percent BETWEEN 0 AND 100),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

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

-- API calls per tenant and period ('d2026-11-25', 'm2026-11'), flushed from memory.
CREATE TABLE api_usage (
    tenant_id TEXT NOT NULL,
    period    TEXT NOT NULL,
    calls     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, period)
);

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
