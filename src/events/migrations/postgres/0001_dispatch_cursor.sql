-- How far the dispatcher has read the events table.
CREATE TABLE dispatch_cursor (
    name     TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    last_txid xid8 NOT NULL DEFAULT '0'  -- with last_seq: the commit-ordered position
);
INSERT INTO dispatch_cursor (name, last_seq) VALUES ('webhooks', 0);
