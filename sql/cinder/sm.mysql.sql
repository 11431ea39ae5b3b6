-- MySQL has no INSERT ... RETURNING (MariaDB has; MySQL 8 has not): the row is read back in the
-- same transaction, by LAST_INSERT_ID() (this connection's own) or by the id the caller gave.

-- name: backend_conf_create
-- Insert a backend config (its flavor must exist: sm_backend_config_flavor_id_fkey).
INSERT INTO sm_backend_config (flavor_id, sr_uuid, sr_type, config_params, created_at, updated_at, deleted)
VALUES (:flavor_id, :sr_uuid, :sr_type, :config_params, :created_at, :updated_at, false)

-- name: backend_conf_read_back
-- A backend config by :id, or (:id NULL) the one this connection inserted last.
SELECT id, flavor_id, sr_uuid, sr_type, config_params, created_at, updated_at, deleted_at, deleted
FROM sm_backend_config
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: flavor_create
-- Insert an SM flavor (labels are not unique, as upstream's).
INSERT INTO sm_flavors (label, description, created_at, updated_at, deleted)
VALUES (:label, :description, :created_at, :updated_at, false)

-- name: flavor_read_back
-- An SM flavor by :id, or (:id NULL) the one this connection inserted last.
SELECT id, label, description, created_at, updated_at, deleted_at, deleted
FROM sm_flavors
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: volume_create
-- Insert an SM volume: its id is its volume's, on an existing backend config (read back by volume_get).
INSERT INTO sm_volume (id, backend_id, vdi_uuid, created_at, updated_at, deleted)
VALUES (:id, :backend_id, :vdi_uuid, :created_at, :updated_at, false)
