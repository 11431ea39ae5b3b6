-- name: versions_table
-- The table recording applied schema versions and their checksums.
CREATE TABLE IF NOT EXISTS rawdb_schema_versions (
    service    VARCHAR(64)  NOT NULL,
    version    INTEGER      NOT NULL,
    name       VARCHAR(255) NOT NULL,
    checksum   VARCHAR(64)  NOT NULL,
    applied_at DATETIME     NOT NULL,
    PRIMARY KEY (service, version)
)

-- name: bootstrap_lock
-- Nothing to take: the writer's BEGIN IMMEDIATE already serialises bootstraps (for as long
-- as the connection's busy timeout, not :timeout).  It takes the parameters the other
-- dialects' statements take, and answers as they do when the lock is taken.
SELECT 1 AS locked, NULL AS holder FROM (SELECT :service AS service, :timeout AS timeout)

-- name: versions_table_exists
-- Whether the versions table exists yet (status before any bootstrap).
SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'rawdb_schema_versions'

-- name: live_columns
-- Columns of every table, with their declared types.  The integer names are one type on SQLite
-- (INTEGER affinity, up to 8 bytes): glance declares images.size INTEGER where rawdb says
-- BIGINT, and neither is drift.  A primary key keeps its name (INTEGER PRIMARY KEY is the rowid).
SELECT m.name AS table_name,
       p.name AS column_name,
       CASE WHEN p.pk = 0 AND lower(p.type) IN ('int', 'integer', 'tinyint', 'smallint', 'mediumint', 'bigint',
                                                'int2', 'int8', 'unsigned big int')
            THEN 'integer' ELSE p.type END AS type,
       p."notnull" = 1 AS not_null,
       p.dflt_value AS "default"
FROM sqlite_master m
JOIN pragma_table_info(m.name) p
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
ORDER BY m.name, p.cid

-- name: live_indexes
-- Indexes of every table; unique constraints appear as sqlite_autoindex_* with their columns.
SELECT m.tbl_name AS table_name,
       m.name AS index_name,
       coalesce(m.sql, 'UNIQUE (' || (SELECT group_concat(i.name, ', ') FROM pragma_index_info(m.name) i) || ')')
           AS definition
FROM sqlite_master m
WHERE m.type = 'index'
ORDER BY m.tbl_name, m.name
