-- Tenant cells (app/cells.h): where each tenant's data lives. The pool is the control
-- database's own tables; a schema cell is a schema of this database; a database cell names
-- the app role's URL of its database (or its SQLite file). The owner's URL of a database cell
-- is never stored: `plinth cell add` and `plinth cell migrate` take it on the command line.
CREATE TABLE cells (
    name         TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('pool', 'schema', 'database')),
    database_url TEXT,
    created_at   BIGINT NOT NULL
);
INSERT INTO cells (name, kind, created_at) VALUES ('pool', 'pool', 0);

-- The tenant directory: each tenant's cell.
ALTER TABLE tenants ADD COLUMN cell TEXT NOT NULL DEFAULT 'pool';
-- The cell new tenants of a plan are placed in (NULL: the pool), e.g. enterprise → a
-- database cell.
ALTER TABLE plans ADD COLUMN cell TEXT;
