-- Memberships module: membership types (tiers), members, member activities.
-- Tenant data: every row carries tenant_id and every statement names it.

CREATE TABLE membership_types (
    id             TEXT PRIMARY KEY,           -- mt_…
    tenant_id      TEXT NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    features       TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    price_amount   BIGINT NOT NULL CHECK (price_amount >= 0),
    price_currency TEXT NOT NULL,
    interval       TEXT NOT NULL CHECK (interval IN ('month', 'year')),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX membership_types_by_tenant ON membership_types (tenant_id, id);
CREATE UNIQUE INDEX membership_types_name ON membership_types (tenant_id, name);

-- seq = tenant num × 2^32 + a counter: each tenant's members are one contiguous range of row
-- keys, so the full-text index below can be searched within one tenant's range only.
CREATE TABLE members (
    seq                BIGINT PRIMARY KEY,
    id                 TEXT NOT NULL UNIQUE,   -- mem_… (UUIDv7: id order is creation order)
    tenant_id          TEXT NOT NULL,
    first_name         TEXT NOT NULL,
    last_name          TEXT NOT NULL,
    email              TEXT NOT NULL,
    email_norm         TEXT NOT NULL,          -- lowercased
    phone              TEXT,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'active', 'inactive', 'suspended')),
    membership_type_id TEXT REFERENCES membership_types (id),
    joined_at          BIGINT NOT NULL,
    last_activity_at   BIGINT NOT NULL DEFAULT 0, -- 0: never (rendered as null)
    attributes         TEXT NOT NULL DEFAULT '{}',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    deleted_at         BIGINT
);
CREATE UNIQUE INDEX members_email ON members (tenant_id, email_norm) WHERE deleted_at IS NULL;
-- one index per sort order, each ending with id so keyset pagination is exact
CREATE INDEX members_by_id ON members (tenant_id, id);
CREATE INDEX members_by_last_name ON members (tenant_id, last_name, id);
CREATE INDEX members_by_joined ON members (tenant_id, joined_at, id);
CREATE INDEX members_by_activity ON members (tenant_id, last_activity_at, id);
CREATE INDEX members_by_status ON members (tenant_id, status, id);
CREATE INDEX members_by_type ON members (tenant_id, membership_type_id, id);
-- short searches (1–2 characters) use prefix ranges on these
CREATE INDEX members_by_first_lower ON members (tenant_id, lower(first_name));
CREATE INDEX members_by_last_lower ON members (tenant_id, lower(last_name));
CREATE INDEX members_by_email_norm ON members (tenant_id, email_norm);

-- Substring search (3+ characters): a trigram index (pg_trgm) over names and email; the
-- search (members.c, a pl_sql_t pair) matches this very expression with ILIKE.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX members_search ON members USING gin ((first_name || ' ' || last_name || ' ' || email) gin_trgm_ops);

CREATE TABLE member_activities (
    id          TEXT PRIMARY KEY,              -- act_…
    tenant_id   TEXT NOT NULL,
    member_id   TEXT NOT NULL REFERENCES members (id),
    type        TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    properties  TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL
);
CREATE INDEX member_activities_by_member ON member_activities (tenant_id, member_id, id);
CREATE INDEX member_activities_by_time ON member_activities (tenant_id, occurred_at, member_id);
