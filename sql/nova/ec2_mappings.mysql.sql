-- MySQL has no INSERT ... RETURNING (MariaDB has; MySQL 8 has not): the row is read back in the
-- same transaction by its id, the chosen one or LAST_INSERT_ID() (this connection's own).

-- name: instance_create
-- Map an instance uuid to a new EC2 id.
INSERT INTO instance_id_mappings (uuid, created_at, deleted)
VALUES (:uuid, :now, 0)

-- name: instance_create_with_id
-- Map an instance uuid to the EC2 id the caller chose.
INSERT INTO instance_id_mappings (id, uuid, created_at, deleted)
VALUES (:id, :uuid, :now, 0)

-- name: instance_read_back
-- The mapping just inserted: the chosen :id, else the one LAST_INSERT_ID() names.
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM instance_id_mappings
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: volume_create
-- Map a volume uuid to a new EC2 volume id.
INSERT INTO volume_id_mappings (uuid, created_at, deleted)
VALUES (:uuid, :now, 0)

-- name: volume_create_with_id
-- Map a volume uuid to the EC2 volume id the caller chose.
INSERT INTO volume_id_mappings (id, uuid, created_at, deleted)
VALUES (:id, :uuid, :now, 0)

-- name: volume_read_back
-- The mapping just inserted: the chosen :id, else the one LAST_INSERT_ID() names.
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM volume_id_mappings
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: snapshot_create
-- Map a snapshot uuid to a new EC2 snapshot id.
INSERT INTO snapshot_id_mappings (uuid, created_at, deleted)
VALUES (:uuid, :now, 0)

-- name: snapshot_create_with_id
-- Map a snapshot uuid to the EC2 snapshot id the caller chose.
INSERT INTO snapshot_id_mappings (id, uuid, created_at, deleted)
VALUES (:id, :uuid, :now, 0)

-- name: snapshot_read_back
-- The mapping just inserted: the chosen :id, else the one LAST_INSERT_ID() names.
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM snapshot_id_mappings
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: s3_image_create
-- Map an image uuid to a new S3 image id.
INSERT INTO s3_images (uuid, created_at, deleted)
VALUES (:uuid, :now, 0)

-- name: s3_image_read_back
-- The mapping just inserted: the chosen :id, else the one LAST_INSERT_ID() names.
SELECT id, uuid, created_at, updated_at, deleted_at, deleted
FROM s3_images
WHERE id = coalesce(:id, LAST_INSERT_ID())
