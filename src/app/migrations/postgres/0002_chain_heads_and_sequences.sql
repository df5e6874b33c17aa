-- The head of each tenant's audit chain, moved in the same transaction as every append: the
-- append locks this one row (concurrent writers on several nodes take turns per tenant), and
-- `plinth audit verify` compares the chain with it, so deleting the newest entries is found.
CREATE TABLE audit_heads (
    tenant_id  TEXT PRIMARY KEY,
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO audit_heads (tenant_id, seq, hash, updated_at)
SELECT a.tenant_id, a.seq, a.hash, a.created_at FROM audit_log a
WHERE a.seq = (SELECT MAX(b.seq) FROM audit_log b WHERE b.tenant_id = a.tenant_id);

-- Per-tenant counters (the outbox's tenant_seq, later invoice numbers): one row per tenant
-- and name, incremented with UPDATE … RETURNING inside the writer's transaction, so two
-- writers never get the same number and a rolled-back number is given again.
CREATE TABLE tenant_sequences (
    tenant_id TEXT NOT NULL,
    name      TEXT NOT NULL,
    value     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
INSERT INTO tenant_sequences (tenant_id, name, value)
SELECT tenant_id, 'events', MAX(tenant_seq) FROM events GROUP BY tenant_id;
