-- The EC2 API's numeric ids: each mapping table pairs an id (the EC2 number) with a uuid.
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
