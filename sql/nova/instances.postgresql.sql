-- PostgreSQL: the statements reading JSON arrays, which each dialect spells its own way.

-- name: metadata_update_values
-- Give the live metadata keys listed in a JSON array of {key, value} their new values.
UPDATE instance_metadata AS m SET value = e.doc ->> 'value', updated_at = :now
FROM jsonb_array_elements(CAST(:items AS jsonb)) AS e(doc)
WHERE m.instance_uuid = :uuid AND m.deleted = 0 AND m."key" = e.doc ->> 'key'
  AND m.value IS DISTINCT FROM e.doc ->> 'value'

-- name: metadata_insert_missing
-- Insert the keys of a JSON array of {key, value} the instance has no live row for, in order.
INSERT INTO instance_metadata (created_at, "key", value, instance_uuid, deleted)
SELECT :now, e.doc ->> 'key', e.doc ->> 'value', CAST(:uuid AS VARCHAR), 0
FROM jsonb_array_elements(CAST(:items AS jsonb)) WITH ORDINALITY AS e(doc, n)
WHERE NOT EXISTS (SELECT 1 FROM instance_metadata m WHERE m.instance_uuid = :uuid AND m.deleted = 0
                  AND m."key" = e.doc ->> 'key')
ORDER BY e.n

-- name: system_metadata_update_values
-- Give the live system metadata keys listed in a JSON array of {key, value} their new values.
UPDATE instance_system_metadata AS m SET value = e.doc ->> 'value', updated_at = :now
FROM jsonb_array_elements(CAST(:items AS jsonb)) AS e(doc)
WHERE m.instance_uuid = :uuid AND m.deleted = 0 AND m."key" = e.doc ->> 'key'
  AND m.value IS DISTINCT FROM e.doc ->> 'value'

-- name: system_metadata_insert_missing
-- Insert the keys of a JSON array of {key, value} the instance has no live row for, in order.
INSERT INTO instance_system_metadata (created_at, "key", value, instance_uuid, deleted)
SELECT :now, e.doc ->> 'key', e.doc ->> 'value', CAST(:uuid AS VARCHAR), 0
FROM jsonb_array_elements(CAST(:items AS jsonb)) WITH ORDINALITY AS e(doc, n)
WHERE NOT EXISTS (SELECT 1 FROM instance_system_metadata m WHERE m.instance_uuid = :uuid AND m.deleted = 0
                  AND m."key" = e.doc ->> 'key')
ORDER BY e.n
