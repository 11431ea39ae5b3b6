-- SQLite: JSON arrays of {"key", "value"} objects (metadata) or strings (tags) read with json_each.
-- Writers start with BEGIN IMMEDIATE, one at a time, so the instance "lock" is a plain read.

-- name: instance_lock
-- The instance row (visible to :read_deleted and PROJECT_ONLY); writers are serialized already.
SELECT id FROM instances
WHERE uuid = :instance_uuid AND READ_DELETED(deleted, int) AND PROJECT_ONLY(project_id)

-- name: metadata_update_values
-- Give the instance's metadata rows (visible to :read_deleted) whose key is in :items their new value;
-- rows whose value does not change are left alone.
UPDATE instance_metadata AS m
SET value = json_extract(x.value, '$.value'), updated_at = :now
FROM json_each(:items) AS x
WHERE m.instance_uuid = :instance_uuid AND READ_DELETED(m.deleted, int)
  AND m."key" = json_extract(x.value, '$.key') AND m.value IS NOT json_extract(x.value, '$.value')

-- name: metadata_insert_new
-- Insert, in order, the :items whose key the instance has no metadata row for (visible to :read_deleted).
INSERT INTO instance_metadata (instance_uuid, "key", value, created_at, deleted)
SELECT :instance_uuid, json_extract(x.value, '$.key'), json_extract(x.value, '$.value'), :now, 0
FROM json_each(:items) AS x
WHERE NOT EXISTS (SELECT 1 FROM instance_metadata AS m
                  WHERE m.instance_uuid = :instance_uuid AND READ_DELETED(m.deleted, int)
                    AND m."key" = json_extract(x.value, '$.key'))
ORDER BY x.key

-- name: system_metadata_update_values
-- Give the instance's system metadata rows (visible to :read_deleted) whose key is in :items their new
-- value; rows whose value does not change are left alone.
UPDATE instance_system_metadata AS m
SET value = json_extract(x.value, '$.value'), updated_at = :now
FROM json_each(:items) AS x
WHERE m.instance_uuid = :instance_uuid AND READ_DELETED(m.deleted, int)
  AND m."key" = json_extract(x.value, '$.key') AND m.value IS NOT json_extract(x.value, '$.value')

-- name: system_metadata_insert_new
-- Insert, in order, the :items whose key the instance has no system metadata row for (visible to
-- :read_deleted).
INSERT INTO instance_system_metadata (instance_uuid, "key", value, created_at, deleted)
SELECT :instance_uuid, json_extract(x.value, '$.key'), json_extract(x.value, '$.value'), :now, 0
FROM json_each(:items) AS x
WHERE NOT EXISTS (SELECT 1 FROM instance_system_metadata AS m
                  WHERE m.instance_uuid = :instance_uuid AND READ_DELETED(m.deleted, int)
                    AND m."key" = json_extract(x.value, '$.key'))
ORDER BY x.key

-- name: tags_insert
-- Add the tags of a JSON array that the instance does not have yet.
INSERT INTO tags (resource_id, tag)
SELECT :instance_uuid, x.value FROM json_each(:tags) AS x
WHERE true
ON CONFLICT (resource_id, tag) DO NOTHING
