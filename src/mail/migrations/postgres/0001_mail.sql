-- Outgoing email, queued in the transaction of the change that sends it (an invitation and
-- its email commit together) and delivered over SMTP by the mailer thread, with retries.
CREATE TABLE mail_outbox (
    id              TEXT PRIMARY KEY,          -- mail_…
    tenant_id       TEXT,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);

-- The HTML alternative of a branded message.
ALTER TABLE mail_outbox ADD COLUMN html TEXT;
