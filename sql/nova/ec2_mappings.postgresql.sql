-- name: instance_create_with_id
-- Map an instance uuid to the EC2 id the caller chose, and move the id sequence forward past it
-- (never back), so a generated id never collides with it: MariaDB's AUTO_INCREMENT and SQLite's
-- rowid do so by themselves.  (count(*) makes the insert read the CTE, which runs setval.)
WITH follow AS (
    SELECT setval(pg_get_serial_sequence('instance_id_mappings', 'id'), :id)
    WHERE :id > coalesce(pg_sequence_last_value(CAST(pg_get_serial_sequence('instance_id_mappings', 'id') AS regclass)),
                         0)
)
INSERT INTO instance_id_mappings (id, uuid, created_at, deleted)
SELECT :id, :uuid, :now, 0 FROM (SELECT count(*) AS n FROM follow) AS moved
RETURNING id, uuid, created_at, updated_at, deleted_at, deleted

-- name: volume_create_with_id
-- Map a volume uuid to the EC2 volume id the caller chose, and move the id sequence forward past it
-- (never back), as instance_create_with_id does.
WITH follow AS (
    SELECT setval(pg_get_serial_sequence('volume_id_mappings', 'id'), :id)
    WHERE :id > coalesce(pg_sequence_last_value(CAST(pg_get_serial_sequence('volume_id_mappings', 'id') AS regclass)),
                         0)
)
INSERT INTO volume_id_mappings (id, uuid, created_at, deleted)
SELECT :id, :uuid, :now, 0 FROM (SELECT count(*) AS n FROM follow) AS moved
RETURNING id, uuid, created_at, updated_at, deleted_at, deleted

-- name: snapshot_create_with_id
-- Map a snapshot uuid to the EC2 snapshot id the caller chose, and move the id sequence forward past it
-- (never back), as instance_create_with_id does.
WITH follow AS (
    SELECT setval(pg_get_serial_sequence('snapshot_id_mappings', 'id'), :id)
    WHERE :id > coalesce(pg_sequence_last_value(CAST(pg_get_serial_sequence('snapshot_id_mappings', 'id') AS regclass)),
                         0)
)
INSERT INTO snapshot_id_mappings (id, uuid, created_at, deleted)
SELECT :id, :uuid, :now, 0 FROM (SELECT count(*) AS n FROM follow) AS moved
RETURNING id, uuid, created_at, updated_at, deleted_at, deleted
