-- Customers (Stripe's Customer): whom a tenant bills. balance is in minor units of the
-- customer's currency: negative is credit the next invoice uses, positive is owed.
CREATE TABLE billing_customers (
    id          TEXT PRIMARY KEY,           -- cus_…
    tenant_id   TEXT NOT NULL,
    name        TEXT,
    email       TEXT,
    description TEXT,
    phone       TEXT,
    currency    TEXT,                       -- ISO 4217, lowercase as Stripe writes it; NULL until set
    balance     BIGINT NOT NULL DEFAULT 0,
    metadata    TEXT NOT NULL DEFAULT '{}', -- string values only
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX billing_customers_by_tenant ON billing_customers (tenant_id, id);
CREATE INDEX billing_customers_by_email ON billing_customers (tenant_id, email, id);
