-- SQLite has no SELECT ... FOR UPDATE (a writer's BEGIN IMMEDIATE already excludes every other
-- writer), and its LIKE ignores case: GLOB matches case-sensitively, as the other backends' LIKE does.

-- name: compute_node_lock
-- Read a compute node visible as :read_deleted says, and its stats, for an update (the writer's
-- BEGIN IMMEDIATE holds off every concurrent update until this transaction ends).
SELECT id, stats
FROM compute_nodes
WHERE id = :compute_id AND READ_DELETED(deleted, int)

-- name: compute_node_search_by_hypervisor
-- The compute nodes, visible as :read_deleted says, whose hypervisor hostname matches :pattern
-- (compute_nodes.py makes it '*<text>*' with the text's own *, ? and [ in brackets).
SELECT id, service_id, host, uuid, vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used, local_gb_used,
       hypervisor_type, hypervisor_version, hypervisor_hostname, free_ram_mb, free_disk_gb, current_workload,
       running_vms, cpu_info, disk_available_least, host_ip, supported_instances, metrics, pci_stats,
       extra_resources, stats, numa_topology, ram_allocation_ratio, cpu_allocation_ratio,
       disk_allocation_ratio, created_at, updated_at, deleted_at, deleted
FROM compute_nodes
WHERE hypervisor_hostname GLOB :pattern AND READ_DELETED(deleted, int)
ORDER BY id
