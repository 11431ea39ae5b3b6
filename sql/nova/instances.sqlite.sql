-- SQLite: the statements reading JSON arrays, which each dialect spells its own way.

-- name: metadata_update_values
-- Give the live metadata keys listed in a JSON array of {key, value} their new values.
UPDATE instance_metadata AS m SET value = json_extract(x.value, '$.value'), updated_at = :now
FROM json_each(:items) AS x
WHERE m.instance_uuid = :uuid AND m.deleted = 0 AND m."key" = json_extract(x.value, '$.key')
  AND m.value IS NOT json_extract(x.value, '$.value')

-- name: metadata_insert_missing
-- Insert the keys of a JSON array of {key, value} the instance has no live row for, in order.
INSERT INTO instance_metadata (created_at, "key", value, instance_uuid, deleted)
SELECT :now, json_extract(x.value, '$.key'), json_extract(x.value, '$.value'), :uuid, 0
FROM json_each(:items) AS x
WHERE NOT EXISTS (SELECT 1 FROM instance_metadata m WHERE m.instance_uuid = :uuid AND m.deleted = 0
                  AND m."key" = json_extract(x.value, '$.key'))
ORDER BY x.key

-- name: system_metadata_update_values
-- Give the live system metadata keys listed in a JSON array of {key, value} their new values.
UPDATE instance_system_metadata AS m SET value = json_extract(x.value, '$.value'), updated_at = :now
FROM json_each(:items) AS x
WHERE m.instance_uuid = :uuid AND m.deleted = 0 AND m."key" = json_extract(x.value, '$.key')
  AND m.value IS NOT json_extract(x.value, '$.value')

-- name: system_metadata_insert_missing
-- Insert the keys of a JSON array of {key, value} the instance has no live row for, in order.
INSERT INTO instance_system_metadata (created_at, "key", value, instance_uuid, deleted)
SELECT :now, json_extract(x.value, '$.key'), json_extract(x.value, '$.value'), :uuid, 0
FROM json_each(:items) AS x
WHERE NOT EXISTS (SELECT 1 FROM instance_system_metadata m WHERE m.instance_uuid = :uuid AND m.deleted = 0
                  AND m."key" = json_extract(x.value, '$.key'))
ORDER BY x.key
