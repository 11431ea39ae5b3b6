-- name: image_insert
-- Insert one image row with every column given; returns the row.
INSERT INTO images (id, name, disk_format, container_format, size, virtual_size, status, visibility,
                    checksum, os_hash_algo, os_hash_value, min_disk, min_ram, owner, protected, os_hidden,
                    created_at, updated_at, deleted_at, deleted)
VALUES (:id, :name, :disk_format, :container_format, :size, :virtual_size, :status, :visibility,
        :checksum, :os_hash_algo, :os_hash_value, :min_disk, :min_ram, :owner, :protected, :os_hidden,
        :created_at, :updated_at, :deleted_at, :deleted)
RETURNING *

-- name: image_soft_delete
-- Mark an image deleted (destroy); its status is left as it is.
UPDATE images SET deleted = true, deleted_at = :now, updated_at = :now WHERE id = :image_id

-- name: locations_soft_delete_all
-- Destroy's cascade to the live locations of an image.
UPDATE image_locations SET status = 'deleted', deleted = true, deleted_at = :now, updated_at = :now
WHERE image_id = :image_id AND NOT deleted

-- name: properties_soft_delete_all
-- Destroy's cascade to the live properties of an image.
UPDATE image_properties SET deleted = true, deleted_at = :now, updated_at = :now
WHERE image_id = :image_id AND NOT deleted

-- name: members_soft_delete_all
-- Destroy's cascade to the live memberships of an image.
UPDATE image_members SET deleted = true, deleted_at = :now, updated_at = :now
WHERE image_id = :image_id AND NOT deleted

-- name: tags_soft_delete_all
-- Destroy's cascade to the live tags of an image.
UPDATE image_tags SET deleted = true, deleted_at = :now, updated_at = :now
WHERE image_id = :image_id AND NOT deleted

-- name: image_restore
-- A pending_delete image becomes active and live again (compare-and-swap on its status).
UPDATE images SET status = 'active', deleted = false, deleted_at = NULL, updated_at = :now
WHERE id = :image_id AND status = 'pending_delete'

-- name: is_member
-- Whether a project holds a live membership of an image (any status, or the given one).
SELECT EXISTS (
    SELECT 1 FROM image_members
    WHERE image_id = :image_id AND member = :member AND NOT deleted
      AND (CAST(:status AS VARCHAR(20)) IS NULL OR status = :status)
) AS found
