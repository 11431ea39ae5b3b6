-- PostgreSQL: a writer of a volume's metadata locks the volume row; metadata arrives as one JSON
-- array, read with jsonb_array_elements.

-- name: volume_lock
-- volume_exists for a writer of the volume's metadata, locking the volume row: concurrent writers
-- of one volume's metadata take turns.
SELECT id FROM volumes
WHERE id = :volume_id AND READ_DELETED(deleted, bool) AND PROJECT_ONLY(project_id)
FOR UPDATE

-- name: metadata_insert
-- Insert a volume's metadata rows from a JSON array of {key, value}, in its order (ids follow it).
INSERT INTO volume_metadata ("key", value, volume_id, created_at, deleted)
SELECT x.item ->> 'key', x.item ->> 'value', CAST(:volume_id AS VARCHAR), CAST(:now AS TIMESTAMP), false
FROM jsonb_array_elements(CAST(:items AS jsonb)) WITH ORDINALITY AS x(item, n)
ORDER BY x.n

-- name: metadata_set_values
-- Give metadata rows new values from a JSON array of {id, value}, and set updated_at.
UPDATE volume_metadata AS m
SET value = x.item ->> 'value', updated_at = :now
FROM jsonb_array_elements(CAST(:items AS jsonb)) AS x(item)
WHERE m.id = CAST(x.item ->> 'id' AS INTEGER)
