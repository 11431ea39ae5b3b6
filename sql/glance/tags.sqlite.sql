-- name: tags_insert
-- Add, in order, the tags of a JSON array that the image does not have live yet.
INSERT INTO image_tags (image_id, value, created_at, updated_at, deleted)
SELECT :image_id, x.value, :now, :now, false
FROM json_each(:tags) AS x
WHERE true
ORDER BY x.key
ON CONFLICT (image_id, value) WHERE NOT deleted DO NOTHING
