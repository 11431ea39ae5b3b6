-- MariaDB/MySQL text of the statements whose portable text it cannot run: JSON arrays are read
-- with JSON_TABLE, upserts are ON DUPLICATE KEY UPDATE, and an UPDATE returns no rows (children.py
-- reads the row back).

-- name: properties_insert
-- Insert an image's properties from a JSON array of {name, value}; returns the rows.
INSERT INTO image_properties (image_id, name, value, created_at, updated_at, deleted)
SELECT :image_id, x.prop_name, x.prop_value, :now, :now, false
FROM JSON_TABLE(:props, '$[*]' COLUMNS (
    n FOR ORDINALITY, prop_name VARCHAR(255) PATH '$.name', prop_value LONGTEXT PATH '$.value')) AS x
ORDER BY x.n
RETURNING id, image_id, name, value, created_at, updated_at, deleted_at, deleted

-- name: properties_upsert
-- Set an image's properties from a JSON array of {name, value}: insert, or update and revive
-- the row of that name (clearing deleted_at, so purge never takes a revived row).  MariaDB
-- assigns left to right, each assignment seeing the ones before it: the two that test the old
-- row come first, and a live row holding the same value is left as it is.
INSERT INTO image_properties (image_id, name, value, created_at, updated_at, deleted)
SELECT :image_id, x.prop_name, x.prop_value, :now, :now, false
FROM JSON_TABLE(:props, '$[*]' COLUMNS (
    n FOR ORDINALITY, prop_name VARCHAR(255) PATH '$.name', prop_value LONGTEXT PATH '$.value')) AS x
ORDER BY x.n
ON DUPLICATE KEY UPDATE
    deleted_at = IF(deleted OR NOT (value <=> VALUES(value)), NULL, deleted_at),
    updated_at = IF(deleted OR NOT (value <=> VALUES(value)), VALUES(updated_at), updated_at),
    value = VALUES(value),
    deleted = false

-- name: locations_insert
-- Insert an image's locations from a JSON array of {url, meta_data, status, deleted, deleted_at}.
INSERT INTO image_locations (image_id, value, meta_data, status, created_at, updated_at, deleted, deleted_at)
SELECT :image_id, x.url, x.meta_data, x.status, :now, :now, x.deleted, x.deleted_at
FROM JSON_TABLE(:locations, '$[*]' COLUMNS (
    n FOR ORDINALITY, url LONGTEXT PATH '$.url', meta_data LONGTEXT PATH '$.meta_data',
    status VARCHAR(30) PATH '$.status', deleted BOOLEAN PATH '$.deleted',
    deleted_at DATETIME(6) PATH '$.deleted_at')) AS x
ORDER BY x.n
RETURNING id, value AS url, meta_data AS metadata, status, deleted

-- name: property_soft_delete
-- Soft-delete a property by image and name, live or not (an already deleted row keeps its
-- deleted_at); children.py reads the row back with property_get.
UPDATE image_properties
SET deleted_at = CASE WHEN deleted THEN deleted_at ELSE :now END, deleted = true, updated_at = :now
WHERE image_id = :image_id AND name = :name

-- name: property_set_atomic
-- Create a property unless the image has a row of that name, live or deleted (no row returned);
-- children.py then revives a deleted one with property_revive.  ON DUPLICATE KEY UPDATE cannot
-- tell a revived row from a live one left alone: both come back from RETURNING, and both count 1.
INSERT INTO image_properties (image_id, name, value, created_at, updated_at, deleted)
SELECT :image_id, :name, :value, :now, :now, false
FROM DUAL
WHERE NOT EXISTS (SELECT 1 FROM image_properties WHERE image_id = :image_id AND name = :name)
RETURNING id
