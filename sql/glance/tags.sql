-- name: tag_create
-- Add a live tag unless the image already has it (then nothing changes).
INSERT INTO image_tags (image_id, value, created_at, updated_at, deleted)
VALUES (:image_id, :value, :now, :now, false)
ON CONFLICT (image_id, value) WHERE NOT deleted DO NOTHING

-- name: tags_delete_except
-- Soft-delete an image's live tags that are not kept.
UPDATE image_tags SET deleted = true, deleted_at = :now, updated_at = :now
WHERE image_id = :image_id AND NOT deleted AND value <> ALL(:keep)

-- name: tag_soft_delete
-- Soft-delete the live tag of that value.
UPDATE image_tags SET deleted = true, deleted_at = :now, updated_at = :now
WHERE image_id = :image_id AND value = :value AND NOT deleted

-- name: tags_get
-- The live tags of an image, in the order they were added.
SELECT value FROM image_tags WHERE image_id = :image_id AND NOT deleted ORDER BY id
