-- MariaDB has no UPDATE ... RETURNING: the changed node is read back in the same transaction
-- (compute_nodes.py runs compute_node_read_back after it).

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
