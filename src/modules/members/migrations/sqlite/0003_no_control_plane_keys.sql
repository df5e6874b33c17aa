-- The data plane names no control-plane table (app/cells.h): a cell's database has none, and
-- a tenant's rows move between cells. New databases have no foreign key to tenants; in one
-- made before, the key stays (SQLite cannot drop it in place) and holds there, where the
-- control plane's tenants are.
SELECT 1;
