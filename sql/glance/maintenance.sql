-- name: storage_usage
-- Bytes an owner stores: size times live-status locations, over its images still in use.
SELECT CAST(coalesce(sum(i.size * (SELECT count(*) FROM image_locations l
                                   WHERE l.image_id = i.id AND l.status <> 'deleted')), 0) AS BIGINT) AS total
FROM images i
WHERE i.owner = :owner AND (CAST(:image_id AS VARCHAR(36)) IS NULL OR i.id <> :image_id) AND i.size > 0
  AND i.status NOT IN ('killed', 'deleted', 'pending_delete')

-- name: image_count
-- How many images an owner has that are not killed or deleted.
SELECT count(*) AS n FROM images
WHERE owner = :owner AND status NOT IN ('killed', 'pending_delete', 'deleted')

-- name: uploading_count
-- Images of an owner being uploaded or imported, plus those being copied to other stores.
SELECT (SELECT count(*) FROM images
        WHERE owner = :owner AND status IN ('saving', 'uploading', 'importing'))
     + (SELECT count(*) FROM images i
        WHERE i.owner = :owner
          AND i.status NOT IN ('saving', 'uploading', 'importing', 'killed', 'pending_delete', 'deleted')
          AND EXISTS (SELECT 1 FROM image_properties p
                      WHERE p.image_id = i.id AND p.name = 'os_glance_importing_to_stores'
                        AND p.value <> '' AND NOT p.deleted)) AS n

-- name: staging_usage
-- Bytes of staging space an owner uses: uploads and imports, and copies to other stores.
SELECT CAST(coalesce((SELECT sum(size) FROM images
                      WHERE owner = :owner AND size > 0 AND status IN ('uploading', 'importing')), 0)
          + coalesce((SELECT sum(i.size) FROM images i
                      WHERE i.owner = :owner AND i.size > 0
                        AND i.status NOT IN ('uploading', 'importing', 'killed', 'pending_delete', 'deleted')
                        AND EXISTS (SELECT 1 FROM image_properties p
                                    WHERE p.image_id = i.id AND p.name = 'os_glance_importing_to_stores'
                                      AND p.value <> '' AND NOT p.deleted)), 0) AS BIGINT) AS total

-- name: purge_properties
-- Hard-delete up to :max_rows properties deleted before :cutoff, oldest first (never a live row).
DELETE FROM image_properties WHERE id IN (
    SELECT id FROM image_properties WHERE deleted AND deleted_at < :cutoff ORDER BY deleted_at LIMIT :max_rows)

-- name: purge_locations
-- Hard-delete up to :max_rows locations deleted before :cutoff, oldest first (never a live row).
DELETE FROM image_locations WHERE id IN (
    SELECT id FROM image_locations WHERE deleted AND deleted_at < :cutoff ORDER BY deleted_at LIMIT :max_rows)

-- name: purge_members
-- Hard-delete up to :max_rows memberships deleted before :cutoff, oldest first (never a live row).
DELETE FROM image_members WHERE id IN (
    SELECT id FROM image_members WHERE deleted AND deleted_at < :cutoff ORDER BY deleted_at LIMIT :max_rows)

-- name: purge_tags
-- Hard-delete up to :max_rows tags deleted before :cutoff, oldest first (never a live row).
DELETE FROM image_tags WHERE id IN (
    SELECT id FROM image_tags WHERE deleted AND deleted_at < :cutoff ORDER BY deleted_at LIMIT :max_rows)

-- name: purge_images
-- Hard-delete up to :max_rows images deleted before :cutoff that no child row refers to any more.
DELETE FROM images WHERE id IN (
    SELECT i.id FROM images i
    WHERE i.deleted AND i.deleted_at < :cutoff
      AND NOT EXISTS (SELECT 1 FROM image_properties c WHERE c.image_id = i.id)
      AND NOT EXISTS (SELECT 1 FROM image_locations c WHERE c.image_id = i.id)
      AND NOT EXISTS (SELECT 1 FROM image_members c WHERE c.image_id = i.id)
      AND NOT EXISTS (SELECT 1 FROM image_tags c WHERE c.image_id = i.id)
    ORDER BY i.deleted_at LIMIT :max_rows)

-- name: count_children
-- How many rows of each child table purge_deleted_rows would delete now, with no limit.
SELECT (SELECT count(*) FROM image_properties WHERE deleted AND deleted_at < :cutoff) AS image_properties,
       (SELECT count(*) FROM image_locations WHERE deleted AND deleted_at < :cutoff) AS image_locations,
       (SELECT count(*) FROM image_members WHERE deleted AND deleted_at < :cutoff) AS image_members,
       (SELECT count(*) FROM image_tags WHERE deleted AND deleted_at < :cutoff) AS image_tags

-- name: count_images
-- How many images purge_images would delete now, with no limit.
SELECT count(*) AS n FROM images i
WHERE i.deleted AND i.deleted_at < :cutoff
  AND NOT EXISTS (SELECT 1 FROM image_properties c WHERE c.image_id = i.id)
  AND NOT EXISTS (SELECT 1 FROM image_locations c WHERE c.image_id = i.id)
  AND NOT EXISTS (SELECT 1 FROM image_members c WHERE c.image_id = i.id)
  AND NOT EXISTS (SELECT 1 FROM image_tags c WHERE c.image_id = i.id)
