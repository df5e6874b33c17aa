-- How far the dispatcher has read the events table.
CREATE TABLE dispatch_cursor (
    name     TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
INSERT INTO dispatch_cursor (name, last_seq) VALUES ('webhooks', 0);
