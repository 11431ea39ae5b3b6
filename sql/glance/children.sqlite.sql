-- name: properties_insert
-- Insert an image's properties from a JSON array of {name, value}; returns the rows.
INSERT INTO image_properties (image_id, name, value, created_at, updated_at, deleted)
SELECT :image_id, json_extract(x.value, '$.name'), json_extract(x.value, '$.value'), :now, :now, false
FROM json_each(:props) AS x
ORDER BY x.key
RETURNING id, image_id, name, value, created_at, updated_at, deleted_at, deleted

-- name: properties_upsert
-- Set an image's properties from a JSON array of {name, value}: insert, or update and revive
-- the row of that name (clearing deleted_at, so purge never takes a revived row).
INSERT INTO image_properties (image_id, name, value, created_at, updated_at, deleted)
SELECT :image_id, json_extract(x.value, '$.name'), json_extract(x.value, '$.value'), :now, :now, false
FROM json_each(:props) AS x
WHERE true
ORDER BY x.key
ON CONFLICT (image_id, name) DO UPDATE
SET value = excluded.value, deleted = false, deleted_at = NULL, updated_at = excluded.updated_at
WHERE image_properties.deleted OR image_properties.value IS NOT excluded.value

-- name: locations_insert
-- Insert an image's locations from a JSON array of {url, meta_data, status, deleted, deleted_at}.
INSERT INTO image_locations (image_id, value, meta_data, status, created_at, updated_at, deleted, deleted_at)
SELECT :image_id, json_extract(x.value, '$.url'), json_extract(x.value, '$.meta_data'),
       json_extract(x.value, '$.status'), :now, :now, json_extract(x.value, '$.deleted'),
       json_extract(x.value, '$.deleted_at')
FROM json_each(:locations) AS x
ORDER BY x.key
RETURNING id, value AS url, meta_data AS metadata, status, deleted
