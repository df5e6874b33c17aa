-- Runs once when the PostgreSQL container first starts (docker-entrypoint-initdb.d), as the
-- superuser: the owner role owns the schema, the app role only reads and writes rows.
CREATE ROLE plinth_owner LOGIN PASSWORD 'owner-secret-change-me';
CREATE ROLE plinth_app LOGIN PASSWORD 'app-secret-change-me';
CREATE DATABASE plinth OWNER plinth_owner;
\connect plinth
CREATE EXTENSION IF NOT EXISTS pg_trgm;
