-- SQLite: metadata arrives as one JSON array, read with json_each.  Writers hold the database
-- (BEGIN IMMEDIATE): volume_lock needs no lock, so it keeps the portable text.

-- name: metadata_insert
-- Insert a volume's metadata rows from a JSON array of {key, value}, in its order (ids follow it).
INSERT INTO volume_metadata ("key", value, volume_id, created_at, deleted)
SELECT json_extract(x.value, '$.key'), json_extract(x.value, '$.value'), :volume_id, :now, false
FROM json_each(:items) AS x
ORDER BY x.key

-- name: metadata_set_values
-- Give metadata rows new values from a JSON array of {id, value}, and set updated_at.
UPDATE volume_metadata
SET value = json_extract(x.value, '$.value'), updated_at = :now
FROM json_each(:items) AS x
WHERE volume_metadata.id = json_extract(x.value, '$.id')
