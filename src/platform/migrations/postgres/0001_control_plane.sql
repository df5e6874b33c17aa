-- Control plane: tenants, users, their memberships in tenants, sessions, API keys,
-- invitations, one-time user tokens and the JWT signing keys.
-- Timestamps are integer milliseconds since the epoch (UTC).

CREATE TABLE tenants (
    id              TEXT PRIMARY KEY,          -- ten_…
    num             BIGINT NOT NULL UNIQUE,   -- 1, 2, 3 …: the high half of the tenant's row keys (seq) in data tables
    name            TEXT NOT NULL,
    slug            TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    is_platform     BIGINT NOT NULL DEFAULT 0,
    settings        TEXT NOT NULL DEFAULT '{}', -- JSON: timezone, currency, locale, branding, domain
    suspended_at    BIGINT,
    suspended_reason TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX tenants_one_platform ON tenants (is_platform) WHERE is_platform = 1;

CREATE TABLE users (
    id                TEXT PRIMARY KEY,        -- usr_…
    email             TEXT NOT NULL,
    email_norm        TEXT NOT NULL UNIQUE,    -- lowercased: unique per platform
    name              TEXT NOT NULL DEFAULT '',
    password_hash     TEXT,                    -- argon2id; NULL: cannot log in with a password
    email_verified_at BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

CREATE TABLE tenant_users (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX tenant_users_by_user ON tenant_users (user_id, created_at);

-- Refresh tokens: one row per issued token; a family is one login. Presenting a token
-- whose used_at is set revokes the family (reuse detection).
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,              -- ses_…
    family_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    token_hash  TEXT NOT NULL UNIQUE,          -- sha256 hex of the refresh token
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    revoked_at  BIGINT,
    ip          TEXT,
    user_agent  TEXT
);
CREATE INDEX sessions_by_family ON sessions (family_id);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,             -- key_…
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    prefix       TEXT NOT NULL,                -- first characters, to recognise a key
    key_hash     TEXT NOT NULL UNIQUE,         -- sha256 hex
    created_by   TEXT,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, id);

CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,              -- inv_…
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    email       TEXT NOT NULL,
    email_norm  TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    token_hash  TEXT NOT NULL UNIQUE,
    invited_by  TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX invitations_by_tenant ON invitations (tenant_id, id);

-- Single-use tokens sent by email: email verification and password reset.
CREATE TABLE user_tokens (
    id         TEXT PRIMARY KEY,               -- utk_…
    user_id    TEXT NOT NULL REFERENCES users (id),
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX user_tokens_by_user ON user_tokens (user_id, purpose);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    private_jwk TEXT NOT NULL,
    public_jwk  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);

-- Plans with features, limits and rate limits; per-tenant overrides; feature flags with
-- percentage rollout.
CREATE TABLE plans (
    id          TEXT PRIMARY KEY,              -- pln_…
    key         TEXT NOT NULL UNIQUE,          -- starter, growth, pro, enterprise, …
    name        TEXT NOT NULL,
    features    TEXT NOT NULL DEFAULT '{}',    -- {"flag": true|false}
    limits      TEXT NOT NULL DEFAULT '{}',    -- {"members": 1000, …}; -1 unlimited
    rate_limits TEXT NOT NULL DEFAULT '{}',    -- {"tenant": {"rate": 100, "burst": 200}, "key": …, "ip": …}
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
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
    default_enabled BIGINT NOT NULL DEFAULT 0,
    rollout_percent BIGINT NOT NULL DEFAULT 0 CHECK (rollout_percent BETWEEN 0 AND 100),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
