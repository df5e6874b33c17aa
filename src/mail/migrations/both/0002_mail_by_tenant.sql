-- Row-level security filters on tenant_id: every tenant table has an index led by it.
CREATE INDEX mail_outbox_by_tenant ON mail_outbox (tenant_id, created_at);
