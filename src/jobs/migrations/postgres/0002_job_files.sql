-- The files jobs produce (member exports), in parts of about 1 MiB, kept in the store so that
-- any node can serve a download (nodes keep no files of their own).
CREATE TABLE job_files (
    job_id    TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    part      BIGINT NOT NULL,
    data      BYTEA NOT NULL,
    PRIMARY KEY (job_id, part)
);
CREATE INDEX job_files_by_tenant ON job_files (tenant_id, job_id);
