-- MariaDB/MySQL: the statements reading JSON arrays, which each dialect spells its own way.

-- name: metadata_update_values
-- Give the live metadata keys listed in a JSON array of {key, value} their new values.
UPDATE instance_metadata AS m
JOIN JSON_TABLE(:items, '$[*]' COLUMNS (k VARCHAR(255) PATH '$.key', v VARCHAR(255) PATH '$.value')) AS x
  ON m."key" = x.k
SET m.value = x.v, m.updated_at = :now
WHERE m.instance_uuid = :uuid AND m.deleted = 0 AND NOT (m.value <=> x.v)

-- name: metadata_insert_missing
-- Insert the keys of a JSON array of {key, value} the instance has no live row for, in order.
INSERT INTO instance_metadata (created_at, "key", value, instance_uuid, deleted)
SELECT :now, x.k, x.v, :uuid, 0
FROM JSON_TABLE(:items, '$[*]' COLUMNS (n FOR ORDINALITY, k VARCHAR(255) PATH '$.key', v VARCHAR(255) PATH '$.value')) AS x
WHERE NOT EXISTS (SELECT 1 FROM instance_metadata m WHERE m.instance_uuid = :uuid AND m.deleted = 0 AND m."key" = x.k)
ORDER BY x.n

-- name: system_metadata_update_values
-- Give the live system metadata keys listed in a JSON array of {key, value} their new values.
UPDATE instance_system_metadata AS m
JOIN JSON_TABLE(:items, '$[*]' COLUMNS (k VARCHAR(255) PATH '$.key', v VARCHAR(255) PATH '$.value')) AS x
  ON m."key" = x.k
SET m.value = x.v, m.updated_at = :now
WHERE m.instance_uuid = :uuid AND m.deleted = 0 AND NOT (m.value <=> x.v)

-- name: system_metadata_insert_missing
-- Insert the keys of a JSON array of {key, value} the instance has no live row for, in order.
INSERT INTO instance_system_metadata (created_at, "key", value, instance_uuid, deleted)
SELECT :now, x.k, x.v, :uuid, 0
FROM JSON_TABLE(:items, '$[*]' COLUMNS (n FOR ORDINALITY, k VARCHAR(255) PATH '$.key', v VARCHAR(255) PATH '$.value')) AS x
WHERE NOT EXISTS (SELECT 1 FROM instance_system_metadata m WHERE m.instance_uuid = :uuid AND m.deleted = 0 AND m."key" = x.k)
ORDER BY x.n
