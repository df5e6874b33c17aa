-- In-app notifications, one row per recipient user.
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,               -- ntf_…
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    type       TEXT NOT NULL,                  -- webhook_endpoint.disabled, job.finished, …
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    read_at    BIGINT
);
CREATE INDEX notifications_by_user ON notifications (tenant_id, user_id, id);
