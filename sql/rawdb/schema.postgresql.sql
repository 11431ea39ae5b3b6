-- name: versions_table
-- The table recording applied schema versions and their checksums.
CREATE TABLE IF NOT EXISTS rawdb_schema_versions (
    service    VARCHAR(64)  NOT NULL,
    version    INTEGER      NOT NULL,
    name       VARCHAR(255) NOT NULL,
    checksum   VARCHAR(64)  NOT NULL,
    applied_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    PRIMARY KEY (service, version)
)

-- name: bootstrap_lock
-- Serialise concurrent bootstraps of one service: an advisory lock until the transaction
-- ends, waited for at most :timeout seconds (then 55P03, lock_not_available).  lock_timeout
-- is set for the wait only and then put back (the CASE runs its steps in order; OFFSET 0
-- reads the previous value before them).  locked is 1; holder is only known on MySQL.
SELECT CASE
           WHEN set_config('lock_timeout', CAST(greatest(1, ceil(CAST(:timeout AS float8) * 1000)) AS bigint) || 'ms',
                           true) IS NULL THEN 0
           WHEN pg_advisory_xact_lock(hashtextextended('rawdb-schema:' || :service, 0))::text IS NULL THEN 0
           WHEN set_config('lock_timeout', p.previous, true) IS NULL THEN 0
           ELSE 1
       END AS locked,
       CAST(NULL AS integer) AS holder
FROM (SELECT current_setting('lock_timeout') AS previous OFFSET 0) p

-- name: live_columns
-- Columns of the given tables in the current schema, with their SQL types.
SELECT c.relname AS table_name,
       a.attname AS column_name,
       format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS "default"
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum

-- name: live_indexes
-- Indexes (including those behind unique constraints) in the current schema.
SELECT tablename AS table_name, indexname AS index_name, indexdef AS definition
FROM pg_indexes
WHERE schemaname = current_schema()
ORDER BY tablename, indexname
