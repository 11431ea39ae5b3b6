-- PostgreSQL: extra specs arrive as one JSON array of {"k", "v"} objects.

-- name: specs_upsert
-- Set a flavor's extra specs from :specs (in key order): a live row of the key gets the new value
-- (updated_at moves only when the value changes), a missing key is inserted.  ON CONFLICT on the
-- live-unique key makes concurrent callers setting the same key update, never duplicate, it.
INSERT INTO instance_type_extra_specs AS s (instance_type_id, "key", value, created_at, deleted)
SELECT CAST(:instance_type_id AS INTEGER), x.k, x.v, CAST(:now AS TIMESTAMP), 0
FROM jsonb_to_recordset(CAST(:specs AS jsonb)) AS x(k TEXT, v TEXT)
ORDER BY x.k
ON CONFLICT (instance_type_id, "key", deleted) DO UPDATE
SET updated_at = CASE WHEN s.value IS DISTINCT FROM excluded.value THEN excluded.created_at ELSE s.updated_at END,
    value = excluded.value
