-- The storage manager (SM) tables of cinder 2012.2: flavors, backend configs and the SM volumes on them.
-- Every read sees deleted rows too (upstream's read_deleted='yes'), and deletes are hard (spec A.5, B.1).

-- name: backend_conf_create
-- Insert a backend config (its flavor must exist: sm_backend_config_flavor_id_fkey).
INSERT INTO sm_backend_config (flavor_id, sr_uuid, sr_type, config_params, created_at, updated_at, deleted)
VALUES (:flavor_id, :sr_uuid, :sr_type, :config_params, :created_at, :updated_at, false)
RETURNING id, flavor_id, sr_uuid, sr_type, config_params, created_at, updated_at, deleted_at, deleted

-- name: backend_conf_read_back
-- A backend config by id, read back after an insert on MySQL (there with :id NULL for the last insert).
SELECT id, flavor_id, sr_uuid, sr_type, config_params, created_at, updated_at, deleted_at, deleted
FROM sm_backend_config
WHERE id = :id

-- name: backend_conf_get
-- A backend config by id, deleted or not.
SELECT id, flavor_id, sr_uuid, sr_type, config_params, created_at, updated_at, deleted_at, deleted
FROM sm_backend_config
WHERE id = :id

-- name: backend_conf_get_by_sr
-- The oldest backend config of a storage repository, deleted or not (a NULL :sr_uuid matches a NULL column).
SELECT id, flavor_id, sr_uuid, sr_type, config_params, created_at, updated_at, deleted_at, deleted
FROM sm_backend_config
WHERE sr_uuid = :sr_uuid OR (sr_uuid IS NULL AND :sr_uuid IS NULL)
ORDER BY id
LIMIT 1

-- name: backend_conf_get_all
-- Every backend config, deleted or not, oldest first.
SELECT id, flavor_id, sr_uuid, sr_type, config_params, created_at, updated_at, deleted_at, deleted
FROM sm_backend_config
ORDER BY id

-- name: backend_conf_update
-- Change the given columns of a backend config (a column whose :set_ flag is false keeps its value).
UPDATE sm_backend_config
SET flavor_id = CASE WHEN :set_flavor_id THEN :flavor_id ELSE flavor_id END,
    sr_uuid = CASE WHEN :set_sr_uuid THEN :sr_uuid ELSE sr_uuid END,
    sr_type = CASE WHEN :set_sr_type THEN :sr_type ELSE sr_type END,
    config_params = CASE WHEN :set_config_params THEN :config_params ELSE config_params END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = :id

-- name: backend_conf_delete
-- Delete a backend config for good (its SM volumes must be gone: sm_volume_backend_id_fkey).
DELETE FROM sm_backend_config WHERE id = :id

-- name: flavor_create
-- Insert an SM flavor (labels are not unique, as upstream's).
INSERT INTO sm_flavors (label, description, created_at, updated_at, deleted)
VALUES (:label, :description, :created_at, :updated_at, false)
RETURNING id, label, description, created_at, updated_at, deleted_at, deleted

-- name: flavor_read_back
-- An SM flavor by id, read back after a write (on MySQL after an insert, with :id NULL for the last insert).
SELECT id, label, description, created_at, updated_at, deleted_at, deleted
FROM sm_flavors
WHERE id = :id

-- name: flavor_get
-- The oldest SM flavor with this label, deleted or not.
SELECT id, label, description, created_at, updated_at, deleted_at, deleted
FROM sm_flavors
WHERE label = :label
ORDER BY id
LIMIT 1

-- name: flavor_get_all
-- Every SM flavor, deleted or not, oldest first.
SELECT id, label, description, created_at, updated_at, deleted_at, deleted
FROM sm_flavors
ORDER BY id

-- name: flavor_update
-- Change the given columns of one SM flavor (a column whose :set_ flag is false keeps its value).
UPDATE sm_flavors
SET label = CASE WHEN :set_label THEN :label ELSE label END,
    description = CASE WHEN :set_description THEN :description ELSE description END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = :id

-- name: flavor_delete
-- Delete every SM flavor with this label for good (their backend configs must be gone first).
DELETE FROM sm_flavors WHERE label = :label

-- name: volume_create
-- Insert an SM volume: its id is its volume's, on an existing backend config.
INSERT INTO sm_volume (id, backend_id, vdi_uuid, created_at, updated_at, deleted)
VALUES (:id, :backend_id, :vdi_uuid, :created_at, :updated_at, false)
RETURNING id, backend_id, vdi_uuid, created_at, updated_at, deleted_at, deleted

-- name: volume_get
-- An SM volume by its volume's id, deleted or not.
SELECT id, backend_id, vdi_uuid, created_at, updated_at, deleted_at, deleted
FROM sm_volume
WHERE id = :id

-- name: volume_get_all
-- Every SM volume, deleted or not, in id order (ids are the volumes' uuids).
SELECT id, backend_id, vdi_uuid, created_at, updated_at, deleted_at, deleted
FROM sm_volume
ORDER BY id

-- name: volume_update
-- Change the given columns of an SM volume (a column whose :set_ flag is false keeps its value).
UPDATE sm_volume
SET backend_id = CASE WHEN :set_backend_id THEN :backend_id ELSE backend_id END,
    vdi_uuid = CASE WHEN :set_vdi_uuid THEN :vdi_uuid ELSE vdi_uuid END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = :id

-- name: volume_delete
-- Delete an SM volume for good.
DELETE FROM sm_volume WHERE id = :id
