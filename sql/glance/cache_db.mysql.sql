-- MariaDB/MySQL: upserts are ON DUPLICATE KEY UPDATE, whose RETURNING brings back the row it
-- inserted or updated, also when the update changed nothing.

-- name: node_reference_create
-- Register an image-cache node; no row comes back when the url is registered already.  (INSERT
-- IGNORE would hide other errors as warnings; a registration racing one of the same url fails
-- on the unique key, a Duplicate.)
INSERT INTO node_reference (node_reference_url)
SELECT :node_reference_url
FROM DUAL
WHERE NOT EXISTS (SELECT 1 FROM node_reference WHERE node_reference_url = :node_reference_url)
RETURNING node_reference_id, node_reference_url

-- name: cache_details_upsert
-- Record an image cached on a node, replacing the details of a row already there (glance
-- ignored the duplicate and left the row stale); no row comes back when the node is unknown.
INSERT INTO cached_images (image_id, node_reference_id, size, checksum, last_accessed, last_modified, hits)
SELECT :image_id, node_reference_id, :size, :checksum, :last_accessed, :last_modified, :hits
FROM node_reference
WHERE node_reference_url = :node_reference_url
ON DUPLICATE KEY UPDATE
    size = VALUES(size),
    checksum = VALUES(checksum),
    last_accessed = VALUES(last_accessed),
    last_modified = VALUES(last_modified),
    hits = VALUES(hits)
RETURNING true AS written

-- name: cache_details_keep
-- Record an image cached on a node unless the node has a row for it, which is kept as it is.
-- The no-op update brings that row back, so an unknown node (no row back) is told apart from
-- a kept row in this one statement; `written` is false when the kept row holds other details.
INSERT INTO cached_images (image_id, node_reference_id, size, checksum, last_accessed, last_modified, hits)
SELECT :image_id, node_reference_id, :size, :checksum, :last_accessed, :last_modified, :hits
FROM node_reference
WHERE node_reference_url = :node_reference_url
ON DUPLICATE KEY UPDATE hits = hits
RETURNING (
    size = :size
    AND checksum <=> :checksum
    AND last_accessed = :last_accessed
    AND last_modified = :last_modified
    AND hits = :hits
) AS written
