-- Virtual interfaces (rawdb/nova/virtual_interfaces.py, nova 14.0.0).  The unique key
-- (address, deleted) admits one live interface per (MAC) address; reads see live rows only, and
-- deletes are soft (bulk: updated_at kept), as Newton.

-- name: vif_create
-- Insert a virtual interface; the unique key refuses a second live one with the address.
INSERT INTO virtual_interfaces (address, network_id, uuid, instance_uuid, tag, created_at, updated_at, deleted)
VALUES (:address, :network_id, :uuid, :instance_uuid, :tag, :created_at, :updated_at, 0)
RETURNING created_at, updated_at, deleted_at, id, address, network_id, uuid, instance_uuid, deleted, tag

-- name: vif_read_back
-- A virtual interface by id, whatever its state (MySQL's read-back after an insert or update, with
-- :id NULL for the last insert: the other backends have RETURNING).
SELECT created_at, updated_at, deleted_at, id, address, network_id, uuid, instance_uuid, deleted, tag
FROM virtual_interfaces
WHERE id = :id

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
RETURNING created_at, updated_at, deleted_at, id, address, network_id, uuid, instance_uuid, deleted, tag

-- name: vif_get
-- The live virtual interface with an id.
SELECT created_at, updated_at, deleted_at, id, address, network_id, uuid, instance_uuid, deleted, tag
FROM virtual_interfaces
WHERE id = :vif_id AND deleted = 0

-- name: vif_get_by_address
-- The (first) live virtual interface with an address.
SELECT created_at, updated_at, deleted_at, id, address, network_id, uuid, instance_uuid, deleted, tag
FROM virtual_interfaces
WHERE address = :address AND deleted = 0
ORDER BY id
LIMIT 1

-- name: vif_get_by_uuid
-- The (first) live virtual interface with a uuid.
SELECT created_at, updated_at, deleted_at, id, address, network_id, uuid, instance_uuid, deleted, tag
FROM virtual_interfaces
WHERE uuid = :uuid AND deleted = 0
ORDER BY id
LIMIT 1

-- name: vif_get_by_instance
-- The instance (visible as :read_deleted and project_only say) and its live virtual interfaces,
-- oldest first: one row with NULL interface columns when it has none, no row when it is not there.
SELECT v.created_at, v.updated_at, v.deleted_at, v.id, v.address, v.network_id, v.uuid, v.instance_uuid,
       v.deleted, v.tag
FROM instances i
LEFT JOIN virtual_interfaces v ON v.instance_uuid = i.uuid AND v.deleted = 0
WHERE i.uuid = :instance_uuid AND READ_DELETED(i.deleted, int) AND PROJECT_ONLY(i.project_id)
ORDER BY v.created_at IS NOT NULL, v.created_at, v.id

-- name: vif_get_by_instance_and_network
-- The (first) live virtual interface of an instance on a network.
SELECT created_at, updated_at, deleted_at, id, address, network_id, uuid, instance_uuid, deleted, tag
FROM virtual_interfaces
WHERE instance_uuid = :instance_uuid AND network_id = :network_id AND deleted = 0
ORDER BY id
LIMIT 1

-- name: vif_delete_by_instance
-- Soft-delete (bulk: updated_at kept) an instance's live virtual interfaces.
UPDATE virtual_interfaces SET SOFT_DELETE(int, bulk)
WHERE instance_uuid = :instance_uuid AND deleted = 0

-- name: vif_delete
-- Soft-delete (bulk: updated_at kept) the live virtual interface with an id.
UPDATE virtual_interfaces SET SOFT_DELETE(int, bulk)
WHERE id = :id AND deleted = 0

-- name: vif_get_all
-- Every live virtual interface, in id order.
SELECT created_at, updated_at, deleted_at, id, address, network_id, uuid, instance_uuid, deleted, tag
FROM virtual_interfaces
WHERE deleted = 0
ORDER BY id
