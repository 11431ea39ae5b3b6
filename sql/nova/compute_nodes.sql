-- Nova's compute nodes (nova/db/sqlalchemy/api.py at 14.0.0): the compute_nodes table's columns, nothing
-- joined.  `stats` is JSON text here (compute_nodes.py decodes it).  Newton's _compute_node_select
-- hides deleted nodes only when read_deleted is 'no' (:live_only); model_query's lookups
-- (compute_node_get_model, the search, update and delete) follow read_deleted fully.

-- name: compute_node_get
-- A compute node by id (a deleted one too unless :live_only).
SELECT cn.id, cn.service_id, cn.host, cn.uuid, cn.vcpus, cn.memory_mb, cn.local_gb, cn.vcpus_used,
       cn.memory_mb_used, cn.local_gb_used, cn.hypervisor_type, cn.hypervisor_version,
       cn.hypervisor_hostname, cn.free_ram_mb, cn.free_disk_gb, cn.current_workload, cn.running_vms,
       cn.cpu_info, cn.disk_available_least, cn.host_ip, cn.supported_instances, cn.metrics, cn.pci_stats,
       cn.extra_resources, cn.stats, cn.numa_topology, cn.ram_allocation_ratio, cn.cpu_allocation_ratio,
       cn.disk_allocation_ratio, cn.created_at, cn.updated_at, cn.deleted_at, cn.deleted
FROM compute_nodes cn
WHERE cn.id = :compute_id AND (cn.deleted = 0 OR NOT :live_only)

-- name: compute_node_get_model
-- A compute node by id, live or deleted as :read_deleted says.
SELECT id, service_id, host, uuid, vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used, local_gb_used,
       hypervisor_type, hypervisor_version, hypervisor_hostname, free_ram_mb, free_disk_gb, current_workload,
       running_vms, cpu_info, disk_available_least, host_ip, supported_instances, metrics, pci_stats,
       extra_resources, stats, numa_topology, ram_allocation_ratio, cpu_allocation_ratio,
       disk_allocation_ratio, created_at, updated_at, deleted_at, deleted
FROM compute_nodes
WHERE id = :compute_id AND READ_DELETED(deleted, int)

-- name: compute_node_read_back
-- A compute node by id, deleted or not (after a change in the same transaction).
SELECT id, service_id, host, uuid, vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used, local_gb_used,
       hypervisor_type, hypervisor_version, hypervisor_hostname, free_ram_mb, free_disk_gb, current_workload,
       running_vms, cpu_info, disk_available_least, host_ip, supported_instances, metrics, pci_stats,
       extra_resources, stats, numa_topology, ram_allocation_ratio, cpu_allocation_ratio,
       disk_allocation_ratio, created_at, updated_at, deleted_at, deleted
FROM compute_nodes
WHERE id = :compute_id

-- name: compute_nodes_get_by_service_id
-- The compute nodes naming a service (deleted ones too unless :live_only).
SELECT cn.id, cn.service_id, cn.host, cn.uuid, cn.vcpus, cn.memory_mb, cn.local_gb, cn.vcpus_used,
       cn.memory_mb_used, cn.local_gb_used, cn.hypervisor_type, cn.hypervisor_version,
       cn.hypervisor_hostname, cn.free_ram_mb, cn.free_disk_gb, cn.current_workload, cn.running_vms,
       cn.cpu_info, cn.disk_available_least, cn.host_ip, cn.supported_instances, cn.metrics, cn.pci_stats,
       cn.extra_resources, cn.stats, cn.numa_topology, cn.ram_allocation_ratio, cn.cpu_allocation_ratio,
       cn.disk_allocation_ratio, cn.created_at, cn.updated_at, cn.deleted_at, cn.deleted
FROM compute_nodes cn
WHERE cn.service_id = :service_id AND (cn.deleted = 0 OR NOT :live_only)
ORDER BY cn.id

-- name: compute_node_get_by_host_and_nodename
-- The (first) compute node of a host with a hypervisor hostname (deleted ones too unless :live_only).
SELECT cn.id, cn.service_id, cn.host, cn.uuid, cn.vcpus, cn.memory_mb, cn.local_gb, cn.vcpus_used,
       cn.memory_mb_used, cn.local_gb_used, cn.hypervisor_type, cn.hypervisor_version,
       cn.hypervisor_hostname, cn.free_ram_mb, cn.free_disk_gb, cn.current_workload, cn.running_vms,
       cn.cpu_info, cn.disk_available_least, cn.host_ip, cn.supported_instances, cn.metrics, cn.pci_stats,
       cn.extra_resources, cn.stats, cn.numa_topology, cn.ram_allocation_ratio, cn.cpu_allocation_ratio,
       cn.disk_allocation_ratio, cn.created_at, cn.updated_at, cn.deleted_at, cn.deleted
FROM compute_nodes cn
WHERE cn.host = :host AND cn.hypervisor_hostname = :nodename AND (cn.deleted = 0 OR NOT :live_only)
ORDER BY cn.id
LIMIT 1

-- name: compute_node_get_all_by_host
-- The compute nodes of a host (deleted ones too unless :live_only).
SELECT cn.id, cn.service_id, cn.host, cn.uuid, cn.vcpus, cn.memory_mb, cn.local_gb, cn.vcpus_used,
       cn.memory_mb_used, cn.local_gb_used, cn.hypervisor_type, cn.hypervisor_version,
       cn.hypervisor_hostname, cn.free_ram_mb, cn.free_disk_gb, cn.current_workload, cn.running_vms,
       cn.cpu_info, cn.disk_available_least, cn.host_ip, cn.supported_instances, cn.metrics, cn.pci_stats,
       cn.extra_resources, cn.stats, cn.numa_topology, cn.ram_allocation_ratio, cn.cpu_allocation_ratio,
       cn.disk_allocation_ratio, cn.created_at, cn.updated_at, cn.deleted_at, cn.deleted
FROM compute_nodes cn
WHERE cn.host = :host AND (cn.deleted = 0 OR NOT :live_only)
ORDER BY cn.id

-- name: compute_node_get_all
-- Every compute node (deleted ones too unless :live_only).
SELECT cn.id, cn.service_id, cn.host, cn.uuid, cn.vcpus, cn.memory_mb, cn.local_gb, cn.vcpus_used,
       cn.memory_mb_used, cn.local_gb_used, cn.hypervisor_type, cn.hypervisor_version,
       cn.hypervisor_hostname, cn.free_ram_mb, cn.free_disk_gb, cn.current_workload, cn.running_vms,
       cn.cpu_info, cn.disk_available_least, cn.host_ip, cn.supported_instances, cn.metrics, cn.pci_stats,
       cn.extra_resources, cn.stats, cn.numa_topology, cn.ram_allocation_ratio, cn.cpu_allocation_ratio,
       cn.disk_allocation_ratio, cn.created_at, cn.updated_at, cn.deleted_at, cn.deleted
FROM compute_nodes cn
WHERE (cn.deleted = 0 OR NOT :live_only)
ORDER BY cn.id

-- name: compute_node_get_all_by_pagination
-- A page of compute nodes by id after the :marker node (NULL: from the first), at most :limit,
-- deleted ones too unless :live_only; every row carries marker_found (is the marker a node one
-- can see?), and a page with no nodes is one row of NULLs, so one statement answers both.
SELECT m.marker_found, cn.id, cn.service_id, cn.host, cn.uuid, cn.vcpus, cn.memory_mb, cn.local_gb, cn.vcpus_used,
       cn.memory_mb_used, cn.local_gb_used, cn.hypervisor_type, cn.hypervisor_version,
       cn.hypervisor_hostname, cn.free_ram_mb, cn.free_disk_gb, cn.current_workload, cn.running_vms,
       cn.cpu_info, cn.disk_available_least, cn.host_ip, cn.supported_instances, cn.metrics, cn.pci_stats,
       cn.extra_resources, cn.stats, cn.numa_topology, cn.ram_allocation_ratio, cn.cpu_allocation_ratio,
       cn.disk_allocation_ratio, cn.created_at, cn.updated_at, cn.deleted_at, cn.deleted
FROM (SELECT COUNT(*) AS marker_found FROM compute_nodes mk
      WHERE mk.id = :marker AND (mk.deleted = 0 OR NOT :live_only)) m
LEFT JOIN (SELECT * FROM compute_nodes page
           WHERE (page.deleted = 0 OR NOT :live_only) AND (page.id > :marker OR :marker IS NULL)
           ORDER BY page.id
           LIMIT :limit) cn ON 1 = 1
ORDER BY cn.id

-- name: compute_node_search_by_hypervisor
-- The compute nodes, visible as :read_deleted says, whose hypervisor hostname matches :pattern
-- (compute_nodes.py makes it '%<text>%' with the text's own %, _ and ! escaped by !).
SELECT id, service_id, host, uuid, vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used, local_gb_used,
       hypervisor_type, hypervisor_version, hypervisor_hostname, free_ram_mb, free_disk_gb, current_workload,
       running_vms, cpu_info, disk_available_least, host_ip, supported_instances, metrics, pci_stats,
       extra_resources, stats, numa_topology, ram_allocation_ratio, cpu_allocation_ratio,
       disk_allocation_ratio, created_at, updated_at, deleted_at, deleted
FROM compute_nodes
WHERE hypervisor_hostname LIKE :pattern ESCAPE '!' AND READ_DELETED(deleted, int)
ORDER BY id

-- name: compute_node_create
-- Create a compute node; stats '{}' (the model's default) when the caller gives none.
INSERT INTO compute_nodes (service_id, host, uuid, vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used,
                           local_gb_used, hypervisor_type, hypervisor_version, hypervisor_hostname, free_ram_mb,
                           free_disk_gb, current_workload, running_vms, cpu_info, disk_available_least,
                           host_ip, supported_instances, metrics, pci_stats, extra_resources, stats,
                           numa_topology, ram_allocation_ratio, cpu_allocation_ratio, disk_allocation_ratio,
                           created_at, updated_at, deleted_at, deleted)
VALUES (:service_id, :host, :uuid, :vcpus, :memory_mb, :local_gb, :vcpus_used, :memory_mb_used, :local_gb_used,
        :hypervisor_type, :hypervisor_version, :hypervisor_hostname, :free_ram_mb, :free_disk_gb,
        :current_workload, :running_vms, :cpu_info, :disk_available_least, :host_ip, :supported_instances,
        :metrics, :pci_stats, :extra_resources, COALESCE(:stats, '{}'), :numa_topology,
        :ram_allocation_ratio, :cpu_allocation_ratio, :disk_allocation_ratio, :created_at, :updated_at,
        :deleted_at, 0)
RETURNING id, service_id, host, uuid, vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used, local_gb_used,
          hypervisor_type, hypervisor_version, hypervisor_hostname, free_ram_mb, free_disk_gb,
          current_workload, running_vms, cpu_info, disk_available_least, host_ip, supported_instances,
          metrics, pci_stats, extra_resources, stats, numa_topology, ram_allocation_ratio,
          cpu_allocation_ratio, disk_allocation_ratio, created_at, updated_at, deleted_at, deleted

-- name: compute_node_lock
-- Lock a compute node visible as :read_deleted says for an update, and read its stats (the update
-- merges into them: a concurrent update of other keys waits here, then sees them).
SELECT id, stats
FROM compute_nodes
WHERE id = :compute_id AND READ_DELETED(deleted, int)
FOR UPDATE

-- name: compute_node_update
-- Change the columns the caller gave of a (locked) compute node (a column whose :set_ flag is
-- false keeps its value); updated_at always moves (Newton: the scheduler's cache sees the change).
UPDATE compute_nodes
SET service_id = CASE WHEN :set_service_id THEN :service_id ELSE service_id END,
    host = CASE WHEN :set_host THEN :host ELSE host END,
    uuid = CASE WHEN :set_uuid THEN :uuid ELSE uuid END,
    vcpus = CASE WHEN :set_vcpus THEN :vcpus ELSE vcpus END,
    memory_mb = CASE WHEN :set_memory_mb THEN :memory_mb ELSE memory_mb END,
    local_gb = CASE WHEN :set_local_gb THEN :local_gb ELSE local_gb END,
    vcpus_used = CASE WHEN :set_vcpus_used THEN :vcpus_used ELSE vcpus_used END,
    memory_mb_used = CASE WHEN :set_memory_mb_used THEN :memory_mb_used ELSE memory_mb_used END,
    local_gb_used = CASE WHEN :set_local_gb_used THEN :local_gb_used ELSE local_gb_used END,
    hypervisor_type = CASE WHEN :set_hypervisor_type THEN :hypervisor_type ELSE hypervisor_type END,
    hypervisor_version = CASE WHEN :set_hypervisor_version THEN :hypervisor_version ELSE hypervisor_version END,
    hypervisor_hostname = CASE WHEN :set_hypervisor_hostname THEN :hypervisor_hostname ELSE hypervisor_hostname END,
    free_ram_mb = CASE WHEN :set_free_ram_mb THEN :free_ram_mb ELSE free_ram_mb END,
    free_disk_gb = CASE WHEN :set_free_disk_gb THEN :free_disk_gb ELSE free_disk_gb END,
    current_workload = CASE WHEN :set_current_workload THEN :current_workload ELSE current_workload END,
    running_vms = CASE WHEN :set_running_vms THEN :running_vms ELSE running_vms END,
    cpu_info = CASE WHEN :set_cpu_info THEN :cpu_info ELSE cpu_info END,
    disk_available_least = CASE WHEN :set_disk_available_least THEN :disk_available_least ELSE disk_available_least END,
    host_ip = CASE WHEN :set_host_ip THEN :host_ip ELSE host_ip END,
    supported_instances = CASE WHEN :set_supported_instances THEN :supported_instances ELSE supported_instances END,
    metrics = CASE WHEN :set_metrics THEN :metrics ELSE metrics END,
    pci_stats = CASE WHEN :set_pci_stats THEN :pci_stats ELSE pci_stats END,
    extra_resources = CASE WHEN :set_extra_resources THEN :extra_resources ELSE extra_resources END,
    stats = CASE WHEN :set_stats THEN :stats ELSE stats END,
    numa_topology = CASE WHEN :set_numa_topology THEN :numa_topology ELSE numa_topology END,
    ram_allocation_ratio = CASE WHEN :set_ram_allocation_ratio THEN :ram_allocation_ratio ELSE ram_allocation_ratio END,
    cpu_allocation_ratio = CASE WHEN :set_cpu_allocation_ratio THEN :cpu_allocation_ratio ELSE cpu_allocation_ratio END,
    disk_allocation_ratio = CASE WHEN :set_disk_allocation_ratio THEN :disk_allocation_ratio ELSE disk_allocation_ratio END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    deleted_at = CASE WHEN :set_deleted_at THEN :deleted_at ELSE deleted_at END,
    updated_at = :updated_at
WHERE id = :compute_id
RETURNING id, service_id, host, uuid, vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used, local_gb_used,
          hypervisor_type, hypervisor_version, hypervisor_hostname, free_ram_mb, free_disk_gb,
          current_workload, running_vms, cpu_info, disk_available_least, host_ip, supported_instances,
          metrics, pci_stats, extra_resources, stats, numa_topology, ram_allocation_ratio,
          cpu_allocation_ratio, disk_allocation_ratio, created_at, updated_at, deleted_at, deleted

-- name: compute_node_delete
-- Soft-delete (bulk: updated_at kept) a compute node visible as :read_deleted says.
UPDATE compute_nodes SET SOFT_DELETE(int, bulk)
WHERE id = :compute_id AND READ_DELETED(deleted, int)

-- name: compute_node_statistics
-- Totals over the live compute nodes whose host (or service_id) names a live, enabled nova-compute
-- service; each node counted once, however many services match.
SELECT COUNT(*) AS "count",
       COALESCE(SUM(cn.vcpus), 0) AS vcpus,
       COALESCE(SUM(cn.memory_mb), 0) AS memory_mb,
       COALESCE(SUM(cn.local_gb), 0) AS local_gb,
       COALESCE(SUM(cn.vcpus_used), 0) AS vcpus_used,
       COALESCE(SUM(cn.memory_mb_used), 0) AS memory_mb_used,
       COALESCE(SUM(cn.local_gb_used), 0) AS local_gb_used,
       COALESCE(SUM(cn.free_ram_mb), 0) AS free_ram_mb,
       COALESCE(SUM(cn.free_disk_gb), 0) AS free_disk_gb,
       COALESCE(SUM(cn.current_workload), 0) AS current_workload,
       COALESCE(SUM(cn.running_vms), 0) AS running_vms,
       COALESCE(SUM(cn.disk_available_least), 0) AS disk_available_least
FROM compute_nodes cn
WHERE cn.deleted = 0
  AND EXISTS (SELECT 1 FROM services s
              WHERE (s.host = cn.host OR s.id = cn.service_id)
                AND s."binary" = 'nova-compute' AND s.disabled = FALSE AND s.deleted = 0)

-- name: compute_node_uuid_missing
-- Up to :max_count compute nodes, visible as :read_deleted says, that have no uuid yet.
SELECT id
FROM compute_nodes
WHERE uuid IS NULL AND READ_DELETED(deleted, int)
ORDER BY id
LIMIT :max_count

-- name: compute_node_uuid_set
-- Give a compute node a uuid unless a concurrent migration gave it one first.
UPDATE compute_nodes SET uuid = :uuid, updated_at = :now
WHERE id = :compute_id AND uuid IS NULL
