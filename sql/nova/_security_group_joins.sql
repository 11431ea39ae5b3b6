-- name: rules_of_groups
-- The live rules of some security groups (their parent groups), in insertion order.
SELECT id, parent_group_id, protocol, from_port, to_port, cidr, group_id, created_at, updated_at, deleted_at, deleted
FROM security_group_rules
WHERE parent_group_id = ANY(:group_ids) AND deleted = 0
ORDER BY id

-- name: groups_by_ids
-- Security groups by id, live or deleted (a rule's grantee group: nova joins it whatever its state).
SELECT id, name, description, user_id, project_id, created_at, updated_at, deleted_at, deleted
FROM security_groups
WHERE id = ANY(:group_ids)
ORDER BY id

-- name: instances_of_groups
-- The live instances of some live security groups, through their live associations; group_id_
-- says which group a row belongs to (an instance in two groups comes twice).
SELECT a.security_group_id AS group_id_,
       i.created_at, i.updated_at, i.deleted_at, i.id, i.internal_id, i.user_id, i.project_id, i.image_ref,
       i.kernel_id, i.ramdisk_id, i.launch_index, i.key_name, i.key_data, i.power_state, i.vm_state, i.memory_mb,
       i.vcpus, i.hostname, i.host, i.user_data, i.reservation_id, i.scheduled_at, i.launched_at, i.terminated_at,
       i.display_name, i.display_description, i.availability_zone, i.locked, i.os_type, i.launched_on,
       i.instance_type_id, i.vm_mode, i.uuid, i.architecture, i.root_device_name, i.access_ip_v4, i.access_ip_v6,
       i.config_drive, i.task_state, i.default_ephemeral_device, i.default_swap_device, i.progress,
       i.auto_disk_config, i.shutdown_terminate, i.disable_terminate, i.root_gb, i.ephemeral_gb, i.cell_name, i.node,
       i.deleted, i.locked_by, i.cleaned, i.ephemeral_key_uuid
FROM security_group_instance_association a
JOIN security_groups g ON g.id = a.security_group_id AND g.deleted = 0
JOIN instances i ON i.uuid = a.instance_uuid AND i.deleted = 0
WHERE a.security_group_id = ANY(:group_ids) AND a.deleted = 0
ORDER BY i.id, a.id

-- name: system_metadata_of_instances
-- The live system metadata items of some instances, in insertion order.
SELECT instance_uuid, "key", value
FROM instance_system_metadata
WHERE instance_uuid = ANY(:uuids) AND deleted = 0
ORDER BY id

-- name: info_caches_of_instances
-- The network info cache rows of some instances (one per instance).
SELECT id, instance_uuid, network_info, created_at, updated_at, deleted_at, deleted
FROM instance_info_caches
WHERE instance_uuid = ANY(:uuids)
ORDER BY id
