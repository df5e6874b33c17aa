-- Row-level security filters on tenant_id: every tenant table has an index led by it.
CREATE INDEX sessions_by_tenant ON sessions (tenant_id, user_id);
