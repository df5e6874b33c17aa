-- The data plane names no control-plane table (app/cells.h): a cell's database has none, and
-- a tenant's rows move between cells. Databases made before this keep their tenants; the
-- foreign keys to them go.
ALTER TABLE membership_types DROP CONSTRAINT IF EXISTS membership_types_tenant_id_fkey;
ALTER TABLE members DROP CONSTRAINT IF EXISTS members_tenant_id_fkey;
ALTER TABLE member_activities DROP CONSTRAINT IF EXISTS member_activities_tenant_id_fkey;
