-- name: properties_insert
-- Insert an image's properties from a JSON array of {name, value}; returns the rows.
INSERT INTO image_properties (image_id, name, value, created_at, updated_at, deleted)
SELECT :image_id, x.name, x.value, :now, :now, false
FROM jsonb_to_recordset(CAST(:props AS jsonb)) AS x(name text, value text)
RETURNING id, image_id, name, value, created_at, updated_at, deleted_at, deleted

-- name: properties_upsert
-- Set an image's properties from a JSON array of {name, value}: insert, or update and revive
-- the row of that name (clearing deleted_at, so purge never takes a revived row).
INSERT INTO image_properties (image_id, name, value, created_at, updated_at, deleted)
SELECT :image_id, x.name, x.value, :now, :now, false
FROM jsonb_to_recordset(CAST(:props AS jsonb)) AS x(name text, value text)
ON CONFLICT (image_id, name) DO UPDATE
SET value = excluded.value, deleted = false, deleted_at = NULL, updated_at = excluded.updated_at
WHERE image_properties.deleted OR image_properties.value IS DISTINCT FROM excluded.value

-- name: locations_insert
-- Insert an image's locations from a JSON array of {url, meta_data, status, deleted, deleted_at}.
INSERT INTO image_locations (image_id, value, meta_data, status, created_at, updated_at, deleted, deleted_at)
SELECT :image_id, e.doc ->> 'url', e.doc ->> 'meta_data', e.doc ->> 'status', :now, :now,
       CAST(e.doc ->> 'deleted' AS boolean), CAST(e.doc ->> 'deleted_at' AS timestamp)
FROM jsonb_array_elements(CAST(:locations AS jsonb)) WITH ORDINALITY AS e(doc, n)
ORDER BY e.n
RETURNING id, value AS url, meta_data AS metadata, status, deleted
