-- MariaDB/MySQL: JSON arrays of {"key", "value"} objects (metadata) or strings (tags) read with
-- JSON_TABLE, whose columns take the schema's binary collation; no UPDATE ... RETURNING (the module
-- reads the row back); a tag the instance has already is skipped by a no-op ON DUPLICATE KEY UPDATE
-- (INSERT IGNORE would turn every other error into a warning too).

-- name: instance_lock
-- Lock the instance row (visible to :read_deleted and PROJECT_ONLY) until the transaction ends.
SELECT id FROM instances
WHERE uuid = :instance_uuid AND READ_DELETED(deleted, int) AND PROJECT_ONLY(project_id)
FOR UPDATE

-- name: info_cache_update
-- Update an instance's live cache row, each column only when its :set_ flag says so.
UPDATE instance_info_caches
SET network_info = CASE WHEN :set_network_info THEN :network_info ELSE network_info END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at,
    instance_uuid = CASE WHEN :set_instance_uuid THEN :new_instance_uuid ELSE instance_uuid END
WHERE instance_uuid = :instance_uuid AND deleted = 0

-- name: metadata_update_values
-- Give the instance's metadata rows (visible to :read_deleted) whose key is in :items their new value;
-- rows whose value does not change are left alone.
UPDATE instance_metadata AS m
JOIN JSON_TABLE(:items, '$[*]' COLUMNS (
         k VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.key',
         v VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.value')) AS x
  ON m."key" = x.k
SET m.value = x.v, m.updated_at = :now
WHERE m.instance_uuid = :instance_uuid AND READ_DELETED(m.deleted, int) AND NOT (m.value <=> x.v)

-- name: metadata_insert_new
-- Insert, in order, the :items whose key the instance has no metadata row for (visible to :read_deleted).
INSERT INTO instance_metadata (instance_uuid, "key", value, created_at, deleted)
SELECT :instance_uuid, x.k, x.v, :now, 0
FROM JSON_TABLE(:items, '$[*]' COLUMNS (
         n FOR ORDINALITY,
         k VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.key',
         v VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.value')) AS x
WHERE NOT EXISTS (SELECT 1 FROM instance_metadata AS m
                  WHERE m.instance_uuid = :instance_uuid AND READ_DELETED(m.deleted, int) AND m."key" = x.k)
ORDER BY x.n

-- name: system_metadata_update_values
-- Give the instance's system metadata rows (visible to :read_deleted) whose key is in :items their new
-- value; rows whose value does not change are left alone.
UPDATE instance_system_metadata AS m
JOIN JSON_TABLE(:items, '$[*]' COLUMNS (
         k VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.key',
         v VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.value')) AS x
  ON m."key" = x.k
SET m.value = x.v, m.updated_at = :now
WHERE m.instance_uuid = :instance_uuid AND READ_DELETED(m.deleted, int) AND NOT (m.value <=> x.v)

-- name: system_metadata_insert_new
-- Insert, in order, the :items whose key the instance has no system metadata row for (visible to
-- :read_deleted).
INSERT INTO instance_system_metadata (instance_uuid, "key", value, created_at, deleted)
SELECT :instance_uuid, x.k, x.v, :now, 0
FROM JSON_TABLE(:items, '$[*]' COLUMNS (
         n FOR ORDINALITY,
         k VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.key',
         v VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.value')) AS x
WHERE NOT EXISTS (SELECT 1 FROM instance_system_metadata AS m
                  WHERE m.instance_uuid = :instance_uuid AND READ_DELETED(m.deleted, int) AND m."key" = x.k)
ORDER BY x.n

-- name: tag_add
-- Tag an instance; a tag it has already is left as it is.
INSERT INTO tags (resource_id, tag) VALUES (:instance_uuid, :tag)
ON DUPLICATE KEY UPDATE tag = tag

-- name: tags_insert
-- Add the tags of a JSON array that the instance does not have yet.
INSERT INTO tags (resource_id, tag)
SELECT :instance_uuid, x.t
FROM JSON_TABLE(:tags, '$[*]' COLUMNS (t VARCHAR(80) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$')) AS x
ON DUPLICATE KEY UPDATE tag = tags.tag
