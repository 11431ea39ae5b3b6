-- MariaDB/MySQL: a writer of a volume's metadata locks the volume row; metadata arrives as one
-- JSON array, read with JSON_TABLE (string columns in the schema's binary collation).

-- name: volume_lock
-- volume_exists for a writer of the volume's metadata, locking the volume row: concurrent writers
-- of one volume's metadata take turns.
SELECT id FROM volumes
WHERE id = :volume_id AND READ_DELETED(deleted, bool) AND PROJECT_ONLY(project_id)
FOR UPDATE

-- name: metadata_insert
-- Insert a volume's metadata rows from a JSON array of {key, value}, in its order (ids follow it).
INSERT INTO volume_metadata ("key", value, volume_id, created_at, deleted)
SELECT x.k, x.v, :volume_id, :now, false
FROM JSON_TABLE(:items, '$[*]' COLUMNS (
         n FOR ORDINALITY,
         k VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.key',
         v VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.value')) AS x
ORDER BY x.n

-- name: metadata_set_values
-- Give metadata rows new values from a JSON array of {id, value}, and set updated_at.
UPDATE volume_metadata AS m
JOIN JSON_TABLE(:items, '$[*]' COLUMNS (
         i INTEGER PATH '$.id',
         v VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.value')) AS x
  ON m.id = x.i
SET m.value = x.v, m.updated_at = :now
