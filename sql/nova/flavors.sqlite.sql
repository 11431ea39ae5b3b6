-- SQLite: extra specs arrive as one JSON array of {"k", "v"} objects, read with json_each.

-- name: specs_upsert
-- Set a flavor's extra specs from :specs (in key order): a live row of the key gets the new value
-- (updated_at moves only when the value changes), a missing key is inserted.  ON CONFLICT on the
-- live-unique key updates it, never duplicates it (writers are serialized here anyway).
INSERT INTO instance_type_extra_specs (instance_type_id, "key", value, created_at, deleted)
SELECT :instance_type_id, json_extract(x.value, '$.k'), json_extract(x.value, '$.v'), :now, 0
FROM json_each(:specs) AS x
WHERE TRUE
ORDER BY json_extract(x.value, '$.k')
ON CONFLICT (instance_type_id, "key", deleted) DO UPDATE
SET updated_at = CASE WHEN value IS NOT excluded.value THEN excluded.created_at ELSE updated_at END,
    value = excluded.value
