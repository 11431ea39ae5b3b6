-- The image cache's local metadata file (<cache dir>/cache.db): glance's sqlite driver schema,
-- timestamps as epoch seconds.

-- name: create_table (sqlite only)
-- The table of glance's sqlite cache driver (a cache.db it created is used as it is).
CREATE TABLE IF NOT EXISTS cached_images (
    image_id TEXT PRIMARY KEY,
    last_accessed REAL DEFAULT 0.0,
    last_modified REAL DEFAULT 0.0,
    size INTEGER DEFAULT 0,
    hits INTEGER DEFAULT 0,
    checksum TEXT
)

-- name: table_exists (sqlite only)
-- Whether the file holds a cached_images table (a legacy cache.db to migrate).
SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'cached_images'

-- name: images (sqlite only)
-- Every cached image, by id.
SELECT image_id, last_accessed, last_modified, size, hits, checksum
FROM cached_images ORDER BY image_id

-- name: hit_count (sqlite only)
-- An image's hits (no row: no hits).
SELECT hits FROM cached_images WHERE image_id = :image_id

-- name: record (sqlite only)
-- Record a cached file; a row left from an earlier copy is replaced, not kept stale.
INSERT INTO cached_images (image_id, last_accessed, last_modified, size, hits, checksum)
VALUES (:image_id, :last_accessed, :last_modified, :size, :hits, :checksum)
ON CONFLICT (image_id) DO UPDATE SET
    last_accessed = excluded.last_accessed, last_modified = excluded.last_modified,
    size = excluded.size, hits = excluded.hits, checksum = excluded.checksum

-- name: adopt (sqlite only)
-- Record a file found without a row, unless a row appeared meanwhile.
INSERT INTO cached_images (image_id, last_accessed, last_modified, size, hits, checksum)
VALUES (:image_id, :last_accessed, :last_modified, :size, 0, NULL)
ON CONFLICT (image_id) DO NOTHING

-- name: hit (sqlite only)
-- Count one read and when it happened.
UPDATE cached_images SET hits = hits + 1, last_accessed = :now WHERE image_id = :image_id

-- name: forget (sqlite only)
-- Drop one image's row.
DELETE FROM cached_images WHERE image_id = :image_id

-- name: forget_all (sqlite only)
-- Drop every row.
DELETE FROM cached_images

-- name: least_recently_accessed (sqlite only)
-- The image read longest ago; ties go to the smallest id.
SELECT image_id FROM cached_images ORDER BY last_accessed, image_id LIMIT 1

-- name: has (sqlite only)
-- Whether the image has a row.
SELECT count(*) FROM cached_images WHERE image_id = :image_id
