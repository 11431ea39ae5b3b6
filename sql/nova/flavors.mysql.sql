-- MariaDB/MySQL: extra specs arrive as one JSON array of {"k", "v"} objects, read with JSON_TABLE
-- (columns in the schema's binary collation); no ON CONFLICT, but ON DUPLICATE KEY UPDATE.

-- name: specs_upsert
-- Set a flavor's extra specs from :specs (in key order): a live row of the key gets the new value
-- (updated_at moves only when the value changes: it is assigned first, while value is the old
-- one), a missing key is inserted.  The live-unique key makes concurrent callers setting the same
-- key update, never duplicate, it.
INSERT INTO instance_type_extra_specs (instance_type_id, "key", value, created_at, deleted)
SELECT :instance_type_id, x.k, x.v, :now, 0
FROM JSON_TABLE(:specs, '$[*]' COLUMNS (
         k VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.k',
         v VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.v')) AS x
ORDER BY x.k
ON DUPLICATE KEY UPDATE updated_at = IF(value <=> VALUES(value), updated_at, VALUES(created_at)),
                        value = VALUES(value)
