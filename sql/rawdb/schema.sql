-- name: versions_applied
-- The schema versions applied to a service's database, oldest first.
SELECT version, name, checksum, applied_at
FROM rawdb_schema_versions
WHERE service = :service
ORDER BY version

-- name: versions_record
-- Record that a schema version was applied.
INSERT INTO rawdb_schema_versions (service, version, name, checksum, applied_at)
VALUES (:service, :version, :name, :checksum, :applied_at)

-- name: versions_table_exists
-- Whether the versions table exists yet (status before any bootstrap).
SELECT count(*) AS n FROM information_schema.tables
WHERE table_schema = current_schema() AND table_name = 'rawdb_schema_versions'
