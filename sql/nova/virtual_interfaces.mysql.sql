-- MySQL has no INSERT/UPDATE ... RETURNING (MariaDB has it for INSERT only): the row is read back in
-- the same transaction, an inserted one by LAST_INSERT_ID() (this connection's own).

-- name: vif_create
-- Insert a virtual interface; the unique key refuses a second live one with the address.
INSERT INTO virtual_interfaces (address, network_id, uuid, instance_uuid, tag, created_at, updated_at, deleted)
VALUES (:address, :network_id, :uuid, :instance_uuid, :tag, :created_at, :updated_at, 0)

-- name: vif_read_back
-- The virtual interface the last statement inserted (:id NULL) or changed (:id).
SELECT created_at, updated_at, deleted_at, id, address, network_id, uuid, instance_uuid, deleted, tag
FROM virtual_interfaces
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: vif_update
-- Change the columns the caller gave of one virtual interface (a column whose :set_ flag is false
-- keeps its value) and set updated_at.
UPDATE virtual_interfaces
SET address = CASE WHEN :set_address THEN :address ELSE address END,
    network_id = CASE WHEN :set_network_id THEN :network_id ELSE network_id END,
    uuid = CASE WHEN :set_uuid THEN :uuid ELSE uuid END,
    instance_uuid = CASE WHEN :set_instance_uuid THEN :instance_uuid ELSE instance_uuid END,
    tag = CASE WHEN :set_tag THEN :tag ELSE tag END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = :id
