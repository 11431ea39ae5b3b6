-- name: node_reference_create
-- Register an image-cache node; no row comes back when the url is registered already.
INSERT INTO node_reference (node_reference_url) VALUES (:node_reference_url)
ON CONFLICT (node_reference_url) DO NOTHING
RETURNING node_reference_id, node_reference_url

-- name: node_reference_get_by_url
-- The node registered with this url.
SELECT node_reference_id, node_reference_url
FROM node_reference
WHERE node_reference_url = :node_reference_url

-- name: cache_details_upsert
-- Record an image cached on a node, replacing the details of a row already there (glance
-- ignored the duplicate and left the row stale); no row comes back when the node is unknown.
INSERT INTO cached_images (image_id, node_reference_id, size, checksum, last_accessed, last_modified, hits)
SELECT :image_id, node_reference_id, :size, :checksum, :last_accessed, :last_modified, :hits
FROM node_reference
WHERE node_reference_url = :node_reference_url
ON CONFLICT (image_id, node_reference_id) DO UPDATE SET
    size = excluded.size,
    checksum = excluded.checksum,
    last_accessed = excluded.last_accessed,
    last_modified = excluded.last_modified,
    hits = excluded.hits
RETURNING true AS written

-- name: cache_details_keep
-- Record an image cached on a node unless the node has a row for it, which is kept as it is.
-- The no-op update brings that row back, so an unknown node (no row back) is told apart from
-- a kept row in this one statement; `written` is false when the kept row holds other details.
INSERT INTO cached_images (image_id, node_reference_id, size, checksum, last_accessed, last_modified, hits)
SELECT :image_id, node_reference_id, :size, :checksum, :last_accessed, :last_modified, :hits
FROM node_reference
WHERE node_reference_url = :node_reference_url
ON CONFLICT (image_id, node_reference_id) DO UPDATE SET hits = cached_images.hits
RETURNING (
    size = :size
    AND checksum IS NOT DISTINCT FROM :checksum
    AND last_accessed = :last_accessed
    AND last_modified = :last_modified
    AND hits = :hits
) AS written

-- name: hit_count_get
-- How often the node served the image from its cache (no row: not cached there).
SELECT hits
FROM cached_images
WHERE image_id = :image_id
  AND node_reference_id = (
      SELECT node_reference_id FROM node_reference WHERE node_reference_url = :node_reference_url
  )

-- name: cached_images_get
-- Every image cached on the node, by image id.
SELECT id, image_id, last_accessed, last_modified, size, hits, checksum
FROM cached_images
WHERE node_reference_id = (
    SELECT node_reference_id FROM node_reference WHERE node_reference_url = :node_reference_url
)
ORDER BY image_id

-- name: cached_nodes_get
-- The urls of the nodes that cache the image, in url order.
SELECT n.node_reference_url
FROM cached_images AS c
JOIN node_reference AS n ON n.node_reference_id = c.node_reference_id
WHERE c.image_id = :image_id
ORDER BY n.node_reference_url

-- name: cached_images_delete_all
-- Forget every image cached on the node (an unknown url matches nothing).
DELETE FROM cached_images
WHERE node_reference_id = (
    SELECT node_reference_id FROM node_reference WHERE node_reference_url = :node_reference_url
)

-- name: cached_image_delete
-- Forget one image cached on the node.
DELETE FROM cached_images
WHERE image_id = :image_id
  AND node_reference_id = (
      SELECT node_reference_id FROM node_reference WHERE node_reference_url = :node_reference_url
  )

-- name: least_recently_accessed_get
-- The image the node accessed longest ago; ties go to the smallest image id (glance had no tie-breaker).
SELECT image_id
FROM cached_images
WHERE node_reference_id = (
    SELECT node_reference_id FROM node_reference WHERE node_reference_url = :node_reference_url
)
ORDER BY last_accessed, image_id
LIMIT 1

-- name: image_cached_for_node
-- Whether the node has a row for the image.
SELECT EXISTS (
    SELECT 1
    FROM cached_images
    WHERE image_id = :image_id
      AND node_reference_id = (
          SELECT node_reference_id FROM node_reference WHERE node_reference_url = :node_reference_url
      )
) AS cached

-- name: hit_count_update
-- Count one more hit and stamp the access time.  The counter stops at the INTEGER maximum
-- instead of failing every later read of the image on PostgreSQL (SQLite would pass it).
UPDATE cached_images
SET hits = CASE WHEN hits < 2147483647 THEN hits + 1 ELSE hits END,
    last_accessed = :now
WHERE image_id = :image_id
  AND node_reference_id = (
      SELECT node_reference_id FROM node_reference WHERE node_reference_url = :node_reference_url
  )
