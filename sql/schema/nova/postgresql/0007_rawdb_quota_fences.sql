-- rawdb's quota fences (see mysql/0007_rawdb_quota_fences.sql): written only by reservations
-- on a MariaDB Galera cluster, created on every backend so that nova's schema is the same
-- everywhere.  On PostgreSQL the project lock (an advisory lock) serialises the check.
CREATE TABLE IF NOT EXISTS rawdb_quota_fences (
    project_id VARCHAR(255) NOT NULL,
    resource   VARCHAR(255) NOT NULL,
    generation BIGINT       NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, resource)
);
