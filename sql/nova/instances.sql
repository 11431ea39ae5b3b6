-- name: instance_insert
-- Insert one instance row from the caller's values (booleans and counters default as nova's
-- model does); returns its id.
INSERT INTO instances (created_at, updated_at, deleted_at, internal_id, user_id, project_id, image_ref, kernel_id,
                       ramdisk_id, launch_index, key_name, key_data, power_state, vm_state, memory_mb, vcpus,
                       hostname, host, user_data, reservation_id, scheduled_at, launched_at, terminated_at,
                       display_name, display_description, availability_zone, locked, os_type, launched_on,
                       instance_type_id, vm_mode, uuid, architecture, root_device_name, access_ip_v4, access_ip_v6,
                       config_drive, task_state, default_ephemeral_device, default_swap_device, progress,
                       auto_disk_config, shutdown_terminate, disable_terminate, root_gb, ephemeral_gb, cell_name,
                       node, deleted, locked_by, cleaned, ephemeral_key_uuid)
VALUES (:created_at, :updated_at, :deleted_at, :internal_id, :user_id, :project_id, :image_ref, :kernel_id,
        :ramdisk_id, :launch_index, :key_name, :key_data, :power_state, :vm_state, :memory_mb, :vcpus,
        :hostname, :host, :user_data, :reservation_id, :scheduled_at, :launched_at, :terminated_at,
        :display_name, :display_description, :availability_zone, :locked, :os_type, :launched_on,
        :instance_type_id, :vm_mode, :uuid, :architecture, :root_device_name, :access_ip_v4, :access_ip_v6,
        :config_drive, :task_state, :default_ephemeral_device, :default_swap_device, :progress,
        :auto_disk_config, COALESCE(:shutdown_terminate, FALSE), COALESCE(:disable_terminate, FALSE), :root_gb,
        :ephemeral_gb, :cell_name, :node, 0, :locked_by, COALESCE(:cleaned, 0), :ephemeral_key_uuid)
RETURNING id

-- name: info_cache_insert
-- The new instance's network info cache row.
INSERT INTO instance_info_caches (created_at, updated_at, network_info, instance_uuid, deleted)
VALUES (:created_at, :updated_at, :network_info, :instance_uuid, 0)

-- name: extra_insert
-- The new instance's instance_extra row.
INSERT INTO instance_extra (created_at, updated_at, instance_uuid, numa_topology, pci_requests, flavor, vcpu_model,
                            migration_context, keypairs, device_metadata, deleted)
VALUES (:created_at, :updated_at, :instance_uuid, :numa_topology, :pci_requests, :flavor, :vcpu_model,
        :migration_context, :keypairs, :device_metadata, 0)

-- name: groups_by_names
-- The live security groups of a project with these names.
SELECT id, name FROM security_groups
WHERE project_id = :project_id AND name = ANY(:names) AND deleted = 0
ORDER BY id

-- name: groups_by_names_no_project
-- The live security groups without a project with these names (an admin context's own).
SELECT id, name FROM security_groups
WHERE project_id IS NULL AND name = ANY(:names) AND deleted = 0
ORDER BY id

-- name: group_associate
-- Put an instance in a security group.
INSERT INTO security_group_instance_association (created_at, security_group_id, instance_uuid, deleted)
VALUES (:now, :security_group_id, :instance_uuid, 0)

-- name: group_disassociate
-- Take an instance out of a security group (a bulk soft delete: updated_at kept).
UPDATE security_group_instance_association SET SOFT_DELETE(int, bulk)
WHERE instance_uuid = :instance_uuid AND security_group_id = :security_group_id AND deleted = 0

-- name: hostname_count_project
-- Live instances of a project with this hostname, in any case.
SELECT COUNT(*) FROM instances WHERE lower(hostname) = :hostname AND project_id = :project_id AND deleted = 0

-- name: hostname_count_project_none
-- Live instances without a project with this hostname, in any case.
SELECT COUNT(*) FROM instances WHERE lower(hostname) = :hostname AND project_id IS NULL AND deleted = 0

-- name: hostname_count_global
-- Live instances with this hostname, in any case.
SELECT COUNT(*) FROM instances WHERE lower(hostname) = :hostname AND deleted = 0

-- name: hostname_count_global_other
-- Live instances other than this one with this hostname, in any case.
SELECT COUNT(*) FROM instances WHERE lower(hostname) = :hostname AND deleted = 0 AND uuid <> :uuid

-- name: hostname_count_project_other
-- Live instances of a project other than this one with this hostname, in any case.
SELECT COUNT(*) FROM instances
WHERE lower(hostname) = :hostname AND project_id = :project_id AND deleted = 0 AND uuid <> :uuid

-- name: cascade_groups
-- Destroy's cascade: the instance's security group memberships.
UPDATE security_group_instance_association SET SOFT_DELETE(int, bulk) WHERE instance_uuid = :uuid AND deleted = 0

-- name: cascade_info_cache
-- Destroy's cascade: the network info cache.
UPDATE instance_info_caches SET SOFT_DELETE(int, bulk) WHERE instance_uuid = :uuid AND deleted = 0

-- name: cascade_metadata
-- Destroy's cascade: the metadata.
UPDATE instance_metadata SET SOFT_DELETE(int, bulk) WHERE instance_uuid = :uuid AND deleted = 0

-- name: cascade_faults
-- Destroy's cascade: the faults.
UPDATE instance_faults SET SOFT_DELETE(int, bulk) WHERE instance_uuid = :uuid AND deleted = 0

-- name: cascade_extra
-- Destroy's cascade: the instance_extra row.
UPDATE instance_extra SET SOFT_DELETE(int, bulk) WHERE instance_uuid = :uuid AND deleted = 0

-- name: cascade_system_metadata
-- Destroy's cascade: the system metadata.
UPDATE instance_system_metadata SET SOFT_DELETE(int, bulk) WHERE instance_uuid = :uuid AND deleted = 0

-- name: cascade_group_members
-- Destroy's cascade: server group memberships.
UPDATE instance_group_member SET SOFT_DELETE(int, bulk) WHERE instance_id = :uuid AND deleted = 0

-- name: cascade_block_devices
-- Destroy's cascade: block device mappings.
UPDATE block_device_mapping SET SOFT_DELETE(int, bulk) WHERE instance_uuid = :uuid AND deleted = 0

-- name: cascade_migrations
-- Destroy's cascade: migrations.
UPDATE migrations SET SOFT_DELETE(int, bulk) WHERE instance_uuid = :uuid AND deleted = 0

-- name: cascade_tags
-- Destroy's cascade: tags have no soft delete.
DELETE FROM tags WHERE resource_id = :uuid

-- name: cascade_console_tokens
-- Destroy's cascade: console auth tokens have no soft delete.
DELETE FROM console_auth_tokens WHERE instance_uuid = :uuid

-- name: metadata_delete_except
-- In-place metadata update: soft-delete the live keys not kept (model soft delete: updated_at set).
UPDATE instance_metadata SET SOFT_DELETE(int, object)
WHERE instance_uuid = :uuid AND deleted = 0 AND "key" <> ALL(:keys)

-- name: system_metadata_delete_except
-- In-place system metadata update: removed keys are deleted for good, as nova 14.0.0 does.
DELETE FROM instance_system_metadata WHERE instance_uuid = :uuid AND deleted = 0 AND "key" <> ALL(:keys)
