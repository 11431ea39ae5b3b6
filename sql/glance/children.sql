-- name: property_create
-- Insert one property (glance's image_property_create: no revival of a deleted row).
INSERT INTO image_properties (image_id, name, value, created_at, updated_at, deleted)
VALUES (:image_id, :name, :value, :now, :now, false)
RETURNING id, image_id, name, value, created_at, updated_at, deleted_at, deleted

-- name: property_soft_delete
-- Soft-delete a property by image and name, live or not (an already deleted row keeps its deleted_at).
UPDATE image_properties
SET deleted = true, updated_at = :now, deleted_at = CASE WHEN deleted THEN deleted_at ELSE :now END
WHERE image_id = :image_id AND name = :name
RETURNING id, image_id, name, value, created_at, updated_at, deleted_at, deleted

-- name: properties_purge
-- Soft-delete the live properties of an image whose names are not kept.
UPDATE image_properties SET deleted = true, deleted_at = :now, updated_at = :now
WHERE image_id = :image_id AND NOT deleted AND name <> ALL(:keep)

-- name: property_delete_atomic
-- Hard-delete a live property only if it holds exactly this value.
DELETE FROM image_properties WHERE image_id = :image_id AND name = :name AND value = :value AND NOT deleted

-- name: location_update
-- Rewrite one location of an image (live or deleted); a live status revives it.
UPDATE image_locations
SET value = :url, meta_data = :meta_data, status = :status, deleted = :deleted,
    updated_at = :now, deleted_at = :deleted_at
WHERE id = :location_id AND image_id = :image_id

-- name: location_delete
-- Mark one location of an image deleted or pending_delete at the given time.
UPDATE image_locations SET deleted = true, status = :status, updated_at = :at, deleted_at = :at
WHERE id = :location_id AND image_id = :image_id

-- name: locations_delete_except
-- Replace an image's locations: soft-delete the live ones not among those kept.
UPDATE image_locations SET status = 'deleted', deleted = true, deleted_at = :now, updated_at = :now
WHERE image_id = :image_id AND NOT deleted AND id <> ALL(:keep)

-- name: property_set_atomic
-- Create a property, or revive a deleted one; a live one is left alone (no row returned).
INSERT INTO image_properties (image_id, name, value, created_at, updated_at, deleted)
VALUES (:image_id, :name, :value, :now, :now, false)
ON CONFLICT (image_id, name) DO UPDATE
SET value = excluded.value, deleted = false, deleted_at = NULL, updated_at = excluded.updated_at
WHERE image_properties.deleted
RETURNING id

-- name: property_get
-- One property by image and name, live or deleted (MariaDB's read-back after property_soft_delete).
SELECT id, image_id, name, value, created_at, updated_at, deleted_at, deleted
FROM image_properties
WHERE image_id = :image_id AND name = :name

-- name: property_revive
-- Revive a deleted property with a new value, clearing deleted_at (MariaDB's second half of
-- property_set_atomic); a live row is left alone and counts 0.
UPDATE image_properties
SET value = :value, deleted = false, deleted_at = NULL, updated_at = :now
WHERE image_id = :image_id AND name = :name AND deleted
