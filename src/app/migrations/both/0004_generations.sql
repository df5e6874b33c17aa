-- Counters that every node watches (the relay thread reads them each second): 'directory' is
-- moved on when a tenant changes cells, so that a node without Redis still drops the homes
-- and credentials it cached within a second (app/cells.h).
CREATE TABLE generations (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO generations (name, value) VALUES ('directory', 0);
