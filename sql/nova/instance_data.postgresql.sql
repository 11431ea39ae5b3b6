-- PostgreSQL: JSON arrays of {"key", "value"} objects (metadata) or strings (tags) read with jsonb
-- functions; the instance row is locked FOR NO KEY UPDATE, which still lets other transactions
-- insert rows referencing it (their foreign key check takes only KEY SHARE).

-- name: instance_lock
-- Lock the instance row (visible to :read_deleted and PROJECT_ONLY) until the transaction ends.
SELECT id FROM instances
WHERE uuid = :instance_uuid AND READ_DELETED(deleted, int) AND PROJECT_ONLY(project_id)
FOR NO KEY UPDATE

-- name: metadata_update_values
-- Give the instance's metadata rows (visible to :read_deleted) whose key is in :items their new value;
-- rows whose value does not change are left alone.
UPDATE instance_metadata AS m
SET value = x.item ->> 'value', updated_at = :now
FROM jsonb_array_elements(CAST(:items AS jsonb)) AS x(item)
WHERE m.instance_uuid = :instance_uuid AND READ_DELETED(m.deleted, int) AND m."key" = x.item ->> 'key'
  AND m.value IS DISTINCT FROM x.item ->> 'value'

-- name: metadata_insert_new
-- Insert, in order, the :items whose key the instance has no metadata row for (visible to :read_deleted).
INSERT INTO instance_metadata (instance_uuid, "key", value, created_at, deleted)
SELECT CAST(:instance_uuid AS VARCHAR(36)), x.item ->> 'key', x.item ->> 'value', :now, 0
FROM jsonb_array_elements(CAST(:items AS jsonb)) WITH ORDINALITY AS x(item, n)
WHERE NOT EXISTS (SELECT 1 FROM instance_metadata AS m
                  WHERE m.instance_uuid = :instance_uuid AND READ_DELETED(m.deleted, int)
                    AND m."key" = x.item ->> 'key')
ORDER BY x.n

-- name: system_metadata_update_values
-- Give the instance's system metadata rows (visible to :read_deleted) whose key is in :items their new
-- value; rows whose value does not change are left alone.
UPDATE instance_system_metadata AS m
SET value = x.item ->> 'value', updated_at = :now
FROM jsonb_array_elements(CAST(:items AS jsonb)) AS x(item)
WHERE m.instance_uuid = :instance_uuid AND READ_DELETED(m.deleted, int) AND m."key" = x.item ->> 'key'
  AND m.value IS DISTINCT FROM x.item ->> 'value'

-- name: system_metadata_insert_new
-- Insert, in order, the :items whose key the instance has no system metadata row for (visible to
-- :read_deleted).
INSERT INTO instance_system_metadata (instance_uuid, "key", value, created_at, deleted)
SELECT CAST(:instance_uuid AS VARCHAR(36)), x.item ->> 'key', x.item ->> 'value', :now, 0
FROM jsonb_array_elements(CAST(:items AS jsonb)) WITH ORDINALITY AS x(item, n)
WHERE NOT EXISTS (SELECT 1 FROM instance_system_metadata AS m
                  WHERE m.instance_uuid = :instance_uuid AND READ_DELETED(m.deleted, int)
                    AND m."key" = x.item ->> 'key')
ORDER BY x.n

-- name: tags_insert
-- Add the tags of a JSON array that the instance does not have yet.
INSERT INTO tags (resource_id, tag)
SELECT :instance_uuid, x.tag FROM jsonb_array_elements_text(CAST(:tags AS jsonb)) AS x(tag)
ON CONFLICT (resource_id, tag) DO NOTHING
