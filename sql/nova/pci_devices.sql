-- PCI devices (nova 14.0.0): the PCI host devices of compute nodes that can be passed through to
-- instances.  The unique key (compute_node_id, address, deleted) admits one live device per node and address.

-- name: device_get_by_addr
-- A node's device at an address, as :read_deleted says: the live one before deleted ones.
SELECT created_at, updated_at, deleted_at, deleted, id, compute_node_id, address, product_id, vendor_id, dev_type, dev_id, label,
       status, extra_info, instance_uuid, request_id, numa_node, parent_addr
FROM pci_devices
WHERE compute_node_id = :node_id AND address = :address AND READ_DELETED(deleted, int)
ORDER BY CASE WHEN deleted = 0 THEN 0 ELSE 1 END, id
LIMIT 1

-- name: device_get_by_id
-- A device by id, as :read_deleted says.
SELECT created_at, updated_at, deleted_at, deleted, id, compute_node_id, address, product_id, vendor_id, dev_type, dev_id, label,
       status, extra_info, instance_uuid, request_id, numa_node, parent_addr
FROM pci_devices
WHERE id = :id AND READ_DELETED(deleted, int)

-- name: devices_get_by_node
-- A node's devices, as :read_deleted says, oldest first.
SELECT created_at, updated_at, deleted_at, deleted, id, compute_node_id, address, product_id, vendor_id, dev_type, dev_id, label,
       status, extra_info, instance_uuid, request_id, numa_node, parent_addr
FROM pci_devices
WHERE compute_node_id = :node_id AND READ_DELETED(deleted, int)
ORDER BY id

-- name: devices_get_by_parent_addr
-- A node's devices whose parent (physical function) is at an address, or (:no_parent) that have none,
-- as :read_deleted says, oldest first.
SELECT created_at, updated_at, deleted_at, deleted, id, compute_node_id, address, product_id, vendor_id, dev_type, dev_id, label,
       status, extra_info, instance_uuid, request_id, numa_node, parent_addr
FROM pci_devices
WHERE compute_node_id = :node_id AND READ_DELETED(deleted, int)
  AND CASE WHEN :no_parent THEN parent_addr IS NULL ELSE parent_addr = :parent_addr END
ORDER BY id

-- name: devices_get_by_instance
-- The devices allocated to an instance, as :read_deleted says, oldest first.
SELECT created_at, updated_at, deleted_at, deleted, id, compute_node_id, address, product_id, vendor_id, dev_type, dev_id, label,
       status, extra_info, instance_uuid, request_id, numa_node, parent_addr
FROM pci_devices
WHERE instance_uuid = :instance_uuid AND status = 'allocated' AND READ_DELETED(deleted, int)
ORDER BY id

-- name: device_destroy
-- Soft-delete a node's live device at an address (when :read_deleted lets the caller see live rows;
-- updated_at kept, as nova's bulk soft delete).
UPDATE pci_devices SET SOFT_DELETE(int, bulk)
WHERE compute_node_id = :node_id AND address = :address AND deleted = 0 AND READ_DELETED(deleted, int)

-- name: device_upsert
-- Create the node's live device at an address, or (a live one exists, a concurrent creator's
-- included) change the given columns of it (a column whose :set_ flag is false keeps its value).
INSERT INTO pci_devices (compute_node_id, address, product_id, vendor_id, dev_type, dev_id, label, status,
                         extra_info, instance_uuid, request_id, numa_node, parent_addr, created_at, updated_at,
                         deleted)
VALUES (:node_id, :address, :product_id, :vendor_id, :dev_type, :dev_id, :label, :status,
        :extra_info, :instance_uuid, :request_id, :numa_node, :parent_addr, :created_at, :updated_at, 0)
ON CONFLICT (compute_node_id, address, deleted) DO UPDATE
SET product_id = CASE WHEN :set_product_id THEN excluded.product_id ELSE pci_devices.product_id END,
    vendor_id = CASE WHEN :set_vendor_id THEN excluded.vendor_id ELSE pci_devices.vendor_id END,
    dev_type = CASE WHEN :set_dev_type THEN excluded.dev_type ELSE pci_devices.dev_type END,
    dev_id = CASE WHEN :set_dev_id THEN excluded.dev_id ELSE pci_devices.dev_id END,
    label = CASE WHEN :set_label THEN excluded.label ELSE pci_devices.label END,
    status = CASE WHEN :set_status THEN excluded.status ELSE pci_devices.status END,
    extra_info = CASE WHEN :set_extra_info THEN excluded.extra_info ELSE pci_devices.extra_info END,
    instance_uuid = CASE WHEN :set_instance_uuid THEN excluded.instance_uuid ELSE pci_devices.instance_uuid END,
    request_id = CASE WHEN :set_request_id THEN excluded.request_id ELSE pci_devices.request_id END,
    numa_node = CASE WHEN :set_numa_node THEN excluded.numa_node ELSE pci_devices.numa_node END,
    parent_addr = CASE WHEN :set_parent_addr THEN excluded.parent_addr ELSE pci_devices.parent_addr END,
    created_at = CASE WHEN :set_created_at THEN excluded.created_at ELSE pci_devices.created_at END,
    updated_at = :changed_at
RETURNING created_at, updated_at, deleted_at, deleted, id, compute_node_id, address, product_id, vendor_id, dev_type, dev_id, label,
       status, extra_info, instance_uuid, request_id, numa_node, parent_addr

-- name: device_update
-- Change the given columns of a node's live device at an address (a column whose :set_ flag is false
-- keeps its value) and set updated_at.
UPDATE pci_devices
SET product_id = CASE WHEN :set_product_id THEN :product_id ELSE product_id END,
    vendor_id = CASE WHEN :set_vendor_id THEN :vendor_id ELSE vendor_id END,
    dev_type = CASE WHEN :set_dev_type THEN :dev_type ELSE dev_type END,
    dev_id = CASE WHEN :set_dev_id THEN :dev_id ELSE dev_id END,
    label = CASE WHEN :set_label THEN :label ELSE label END,
    status = CASE WHEN :set_status THEN :status ELSE status END,
    extra_info = CASE WHEN :set_extra_info THEN :extra_info ELSE extra_info END,
    instance_uuid = CASE WHEN :set_instance_uuid THEN :instance_uuid ELSE instance_uuid END,
    request_id = CASE WHEN :set_request_id THEN :request_id ELSE request_id END,
    numa_node = CASE WHEN :set_numa_node THEN :numa_node ELSE numa_node END,
    parent_addr = CASE WHEN :set_parent_addr THEN :parent_addr ELSE parent_addr END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :changed_at
WHERE compute_node_id = :node_id AND address = :address AND deleted = 0
RETURNING created_at, updated_at, deleted_at, deleted, id, compute_node_id, address, product_id, vendor_id, dev_type, dev_id, label,
       status, extra_info, instance_uuid, request_id, numa_node, parent_addr

-- name: device_read_back
-- A node's live device at an address (MySQL's read-back after an upsert or update: no RETURNING there).
SELECT created_at, updated_at, deleted_at, deleted, id, compute_node_id, address, product_id, vendor_id, dev_type, dev_id, label,
       status, extra_info, instance_uuid, request_id, numa_node, parent_addr
FROM pci_devices
WHERE compute_node_id = :node_id AND address = :address AND deleted = 0

-- name: migration_candidates
-- Up to :max_count live devices without parent_addr (where Newton's data migration looks), oldest first.
SELECT id, status, extra_info
FROM pci_devices
WHERE parent_addr IS NULL AND deleted = 0
ORDER BY id
LIMIT :max_count

-- name: migration_move_parent
-- Move a device's parent address out of extra_info (its phys_function) into parent_addr.
UPDATE pci_devices SET parent_addr = :parent_addr, extra_info = :extra_info, updated_at = :now
WHERE id = :id AND parent_addr IS NULL AND deleted = 0

-- name: migration_destroy
-- Soft-delete a hot-removed device (status 'removed') the migration saves, as Newton's PciDevice.save() did.
UPDATE pci_devices SET SOFT_DELETE(int, bulk)
WHERE id = :id AND parent_addr IS NULL AND deleted = 0
