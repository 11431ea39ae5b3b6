-- MariaDB/MySQL: a live tag is unique through the virtual column live_value (schema 0002), and
-- a tag the image has live already is skipped by a no-op ON DUPLICATE KEY UPDATE (INSERT IGNORE
-- would turn every other error into a warning too).

-- name: tag_create
-- Add a live tag unless the image already has it (then nothing changes).
INSERT INTO image_tags (image_id, value, created_at, updated_at, deleted)
VALUES (:image_id, :value, :now, :now, false)
ON DUPLICATE KEY UPDATE id = id

-- name: tags_insert
-- Add, in order, the tags of a JSON array that the image does not have live yet.
INSERT INTO image_tags (image_id, value, created_at, updated_at, deleted)
SELECT :image_id, x.tag, :now, :now, false
FROM JSON_TABLE(:tags, '$[*]' COLUMNS (n FOR ORDINALITY, tag VARCHAR(255) PATH '$')) AS x
ORDER BY x.n
ON DUPLICATE KEY UPDATE id = id
