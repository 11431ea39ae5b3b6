-- The EC2 API's numeric ids: each mapping table (instances, volumes, snapshots, S3 images) pairs an id
-- (the EC2 number) with a uuid.
-- Lookups see deleted mappings too (upstream reads them with read_deleted='yes').

-- name: instance_create
-- Map an instance uuid to a new EC2 id.
INSERT INTO instance_id_mappings (uuid, created_at, deleted)
VALUES (:uuid, :now, 0)
RETURNING id, uuid, created_at, updated_at, deleted_at, deleted

-- name: instance_create_with_id
-- Map an instance uuid to the EC2 id the caller chose.
INSERT INTO instance_id_mappings (id, uuid, created_at, deleted)
VALUES (:id, :uuid, :now, 0)
RETURNING id, uuid, created_at, updated_at, deleted_at, deleted

-- name: instance_get_by_uuid
-- An instance's (first) mapping, deleted or not.
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM instance_id_mappings
WHERE uuid = :uuid
ORDER BY id
LIMIT 1

-- name: instance_get_by_id
-- The mapping of an EC2 instance id, deleted or not.
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM instance_id_mappings
WHERE id = :id

-- name: instance_read_back
-- A mapping by id, deleted or not (MySQL's read-back after an insert: the others have RETURNING).
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM instance_id_mappings
WHERE id = :id

-- name: volume_create
-- Map a volume uuid to a new EC2 volume id.
INSERT INTO volume_id_mappings (uuid, created_at, deleted)
VALUES (:uuid, :now, 0)
RETURNING id, uuid, created_at, updated_at, deleted_at, deleted

-- name: volume_create_with_id
-- Map a volume uuid to the EC2 volume id the caller chose.
INSERT INTO volume_id_mappings (id, uuid, created_at, deleted)
VALUES (:id, :uuid, :now, 0)
RETURNING id, uuid, created_at, updated_at, deleted_at, deleted

-- name: volume_get_by_uuid
-- The (first) mapping of a volume uuid, deleted or not.
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM volume_id_mappings
WHERE uuid = :uuid
ORDER BY id
LIMIT 1

-- name: volume_get_by_id
-- The mapping of an EC2 volume id, deleted or not.
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM volume_id_mappings
WHERE id = :id

-- name: volume_read_back
-- A mapping by id, deleted or not (MySQL's read-back after an insert: the others have RETURNING).
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM volume_id_mappings
WHERE id = :id

-- name: snapshot_create
-- Map a snapshot uuid to a new EC2 snapshot id.
INSERT INTO snapshot_id_mappings (uuid, created_at, deleted)
VALUES (:uuid, :now, 0)
RETURNING id, uuid, created_at, updated_at, deleted_at, deleted

-- name: snapshot_create_with_id
-- Map a snapshot uuid to the EC2 snapshot id the caller chose.
INSERT INTO snapshot_id_mappings (id, uuid, created_at, deleted)
VALUES (:id, :uuid, :now, 0)
RETURNING id, uuid, created_at, updated_at, deleted_at, deleted

-- name: snapshot_get_by_uuid
-- The (first) mapping of a snapshot uuid, deleted or not.
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM snapshot_id_mappings
WHERE uuid = :uuid
ORDER BY id
LIMIT 1

-- name: snapshot_get_by_id
-- The mapping of an EC2 snapshot id, deleted or not.
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM snapshot_id_mappings
WHERE id = :id

-- name: snapshot_read_back
-- A mapping by id, deleted or not (MySQL's read-back after an insert: the others have RETURNING).
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM snapshot_id_mappings
WHERE id = :id

-- name: s3_image_create
-- Map an image uuid to a new S3 image id.
INSERT INTO s3_images (uuid, created_at, deleted)
VALUES (:uuid, :now, 0)
RETURNING id, uuid, created_at, updated_at, deleted_at, deleted

-- name: s3_image_get_by_uuid
-- The (first) mapping of an image uuid, deleted or not.
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM s3_images
WHERE uuid = :uuid
ORDER BY id
LIMIT 1

-- name: s3_image_get_by_id
-- The mapping of an S3 image id, deleted or not.
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM s3_images
WHERE id = :id

-- name: s3_image_read_back
-- A mapping by id, deleted or not (MySQL's read-back after an insert: the others have RETURNING).
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM s3_images
WHERE id = :id
