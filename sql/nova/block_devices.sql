-- name: bdm_create
-- Insert a block device mapping from the caller's (converted) values; live, created_at given or now.
INSERT INTO block_device_mapping (created_at, updated_at, deleted_at, device_name, delete_on_termination,
                                snapshot_id, volume_id, volume_size, no_device, connection_info,
                                instance_uuid, source_type, destination_type, guest_format, device_type,
                                disk_bus, boot_index, image_id, tag, deleted)
VALUES (:created_at, :updated_at, :deleted_at, :device_name, :delete_on_termination, :snapshot_id, :volume_id,
        :volume_size, :no_device, :connection_info, :instance_uuid, :source_type, :destination_type,
        :guest_format, :device_type, :disk_bus, :boot_index, :image_id, :tag, 0)
RETURNING created_at, updated_at, deleted_at, id, device_name, delete_on_termination, snapshot_id, volume_id,
          volume_size, no_device, connection_info, instance_uuid, deleted, source_type, destination_type,
          guest_format, device_type, disk_bus, boot_index, image_id, tag

-- name: bdm_read_back
-- A mapping by :id, deleted or not (MySQL's read-back after an insert or update, with :id NULL for
-- the last insert: the other backends have RETURNING).
SELECT created_at, updated_at, deleted_at, id, device_name, delete_on_termination, snapshot_id, volume_id,
       volume_size, no_device, connection_info, instance_uuid, deleted, source_type, destination_type,
       guest_format, device_type, disk_bus, boot_index, image_id, tag
FROM block_device_mapping
WHERE id = :id

-- name: bdm_update
-- Change the columns the caller gave (a column whose :set_ flag is false keeps its value) of the
-- mapping with this id, if :read_deleted lets the caller see it; updated_at as given.
UPDATE block_device_mapping
SET created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    deleted_at = CASE WHEN :set_deleted_at THEN :deleted_at ELSE deleted_at END,
    device_name = CASE WHEN :set_device_name THEN :device_name ELSE device_name END,
    delete_on_termination = CASE WHEN :set_delete_on_termination THEN :delete_on_termination ELSE delete_on_termination END,
    snapshot_id = CASE WHEN :set_snapshot_id THEN :snapshot_id ELSE snapshot_id END,
    volume_id = CASE WHEN :set_volume_id THEN :volume_id ELSE volume_id END,
    volume_size = CASE WHEN :set_volume_size THEN :volume_size ELSE volume_size END,
    no_device = CASE WHEN :set_no_device THEN :no_device ELSE no_device END,
    connection_info = CASE WHEN :set_connection_info THEN :connection_info ELSE connection_info END,
    instance_uuid = CASE WHEN :set_instance_uuid THEN :instance_uuid ELSE instance_uuid END,
    source_type = CASE WHEN :set_source_type THEN :source_type ELSE source_type END,
    destination_type = CASE WHEN :set_destination_type THEN :destination_type ELSE destination_type END,
    guest_format = CASE WHEN :set_guest_format THEN :guest_format ELSE guest_format END,
    device_type = CASE WHEN :set_device_type THEN :device_type ELSE device_type END,
    disk_bus = CASE WHEN :set_disk_bus THEN :disk_bus ELSE disk_bus END,
    boot_index = CASE WHEN :set_boot_index THEN :boot_index ELSE boot_index END,
    image_id = CASE WHEN :set_image_id THEN :image_id ELSE image_id END,
    tag = CASE WHEN :set_tag THEN :tag ELSE tag END,
    updated_at = :updated_at
WHERE id = :id AND READ_DELETED(deleted, int)
RETURNING created_at, updated_at, deleted_at, id, device_name, delete_on_termination, snapshot_id, volume_id,
          volume_size, no_device, connection_info, instance_uuid, deleted, source_type, destination_type,
          guest_format, device_type, disk_bus, boot_index, image_id, tag

-- name: instance_lock
-- Serialise the writers of one instance's mappings (no unique key covers instance and device):
-- SQLite's writer holds the database already, so here this only reads the instance's id.
SELECT id FROM instances WHERE uuid = :instance_uuid

-- name: bdm_find_by_device
-- The instance's mapping for a device name, as :read_deleted says: a live one before deleted ones.
SELECT created_at, updated_at, deleted_at, id, device_name, delete_on_termination, snapshot_id, volume_id,
       volume_size, no_device, connection_info, instance_uuid, deleted, source_type, destination_type,
       guest_format, device_type, disk_bus, boot_index, image_id, tag
FROM block_device_mapping
WHERE instance_uuid = :instance_uuid AND device_name = :device_name AND READ_DELETED(deleted, int)
ORDER BY CASE WHEN deleted = 0 THEN 0 ELSE 1 END, id
LIMIT 1

-- name: swaps_soft_delete
-- One swap per instance: soft-delete (bulk: updated_at kept) the instance's other live swap
-- mappings visible as :read_deleted says.
UPDATE block_device_mapping SET SOFT_DELETE(int, bulk)
WHERE instance_uuid = :instance_uuid AND source_type = 'blank' AND guest_format = 'swap' AND id <> :id
  AND deleted = 0 AND READ_DELETED(deleted, int)

-- name: bdms_by_instance_uuids
-- The mappings of some instances, as :read_deleted says, in insertion order.
SELECT created_at, updated_at, deleted_at, id, device_name, delete_on_termination, snapshot_id, volume_id,
       volume_size, no_device, connection_info, instance_uuid, deleted, source_type, destination_type,
       guest_format, device_type, disk_bus, boot_index, image_id, tag
FROM block_device_mapping
WHERE instance_uuid = ANY(:instance_uuids) AND READ_DELETED(deleted, int)
ORDER BY id

-- name: bdms_by_instance
-- The mappings of one instance, as :read_deleted says, in insertion order.
SELECT created_at, updated_at, deleted_at, id, device_name, delete_on_termination, snapshot_id, volume_id,
       volume_size, no_device, connection_info, instance_uuid, deleted, source_type, destination_type,
       guest_format, device_type, disk_bus, boot_index, image_id, tag
FROM block_device_mapping
WHERE instance_uuid = :instance_uuid AND READ_DELETED(deleted, int)
ORDER BY id

-- name: bdms_by_volume_id
-- The mappings of a volume, as :read_deleted says, in insertion order.
SELECT created_at, updated_at, deleted_at, id, device_name, delete_on_termination, snapshot_id, volume_id,
       volume_size, no_device, connection_info, instance_uuid, deleted, source_type, destination_type,
       guest_format, device_type, disk_bus, boot_index, image_id, tag
FROM block_device_mapping
WHERE volume_id = :volume_id AND READ_DELETED(deleted, int)
ORDER BY id

-- name: bdm_by_instance_and_volume_id
-- The (first) mapping of a volume to an instance, as :read_deleted says.
SELECT created_at, updated_at, deleted_at, id, device_name, delete_on_termination, snapshot_id, volume_id,
       volume_size, no_device, connection_info, instance_uuid, deleted, source_type, destination_type,
       guest_format, device_type, disk_bus, boot_index, image_id, tag
FROM block_device_mapping
WHERE volume_id = :volume_id AND instance_uuid = :instance_uuid AND READ_DELETED(deleted, int)
ORDER BY id
LIMIT 1

-- name: instances_of_bdms
-- The instances rows (live or deleted: nova's relationship joins a live mapping's instance whatever
-- its state) with these uuids.
SELECT i.*
FROM instances i
WHERE i.uuid = ANY(:uuids)
ORDER BY i.id

-- name: bdm_destroy
-- Soft-delete (bulk: updated_at kept) the mapping with this id, if live and visible as :read_deleted says.
UPDATE block_device_mapping SET SOFT_DELETE(int, bulk)
WHERE id = :id AND deleted = 0 AND READ_DELETED(deleted, int)

-- name: bdm_destroy_by_instance_and_volume
-- Soft-delete (bulk: updated_at kept) the instance's live mappings of a volume visible as :read_deleted says.
UPDATE block_device_mapping SET SOFT_DELETE(int, bulk)
WHERE instance_uuid = :instance_uuid AND volume_id = :volume_id AND deleted = 0 AND READ_DELETED(deleted, int)

-- name: bdm_destroy_by_instance_and_device
-- Soft-delete (bulk: updated_at kept) the instance's live mappings of a device visible as :read_deleted says.
UPDATE block_device_mapping SET SOFT_DELETE(int, bulk)
WHERE instance_uuid = :instance_uuid AND device_name = :device_name AND deleted = 0 AND READ_DELETED(deleted, int)
