-- Member row keys (seq) are taken from the tenant's "members" counter in tenant_sequences
-- (app/sequence.h) instead of MAX(seq) + 1, which only a single writer can do safely. The
-- counter starts where each tenant's keys are: seq = (tenants.num << 32) + counter, so the
-- counter is the low 32 bits of the highest key (no control-plane table is read: a cell's
-- database has none).
INSERT INTO tenant_sequences (tenant_id, name, value)
SELECT m.tenant_id, 'members', MAX(m.seq) % 4294967296
FROM members m
GROUP BY m.tenant_id;
