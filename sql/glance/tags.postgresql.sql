-- name: tags_insert
-- Add, in order, the tags of a JSON array that the image does not have live yet.
INSERT INTO image_tags (image_id, value, created_at, updated_at, deleted)
SELECT :image_id, x.value, :now, :now, false
FROM jsonb_array_elements_text(CAST(:tags AS jsonb)) WITH ORDINALITY AS x(value, n)
ORDER BY x.n
ON CONFLICT (image_id, value) WHERE NOT deleted DO NOTHING
