-- Nova's floating IPs (nova/db/sqlalchemy/api.py at 14.0.0; 2013.1 for the Grizzly-only calls).
-- The unique key (address, deleted) admits one live row per address.  Addresses are text as
-- PostgreSQL's INET prints it (rawdb.nova.floating_ips normalises every address it is given).
-- A floating IP's fixed_ip comes as f__<column> columns of a LEFT JOIN that, as nova's
-- relationship, sees only a live fixed IP of a live floating IP.  This file is SQLite's text
-- where the dialects differ: writers run one at a time there (BEGIN IMMEDIATE), so nothing locks.

-- name: get_by_id
-- A floating IP by id, as :read_deleted and PROJECT_ONLY let the caller see it, with its fixed IP.
SELECT fl.created_at, fl.updated_at, fl.deleted_at, fl.id, fl.address, fl.fixed_ip_id, fl.project_id, fl.host,
       fl.auto_assigned, fl.pool, fl.interface, fl.deleted,
       f.created_at AS f__created_at, f.updated_at AS f__updated_at, f.deleted_at AS f__deleted_at, f.id AS f__id,
       f.address AS f__address, f.network_id AS f__network_id, f.allocated AS f__allocated, f.leased AS f__leased,
       f.reserved AS f__reserved, f.virtual_interface_id AS f__virtual_interface_id, f.host AS f__host,
       f.instance_uuid AS f__instance_uuid, f.deleted AS f__deleted
FROM floating_ips fl
LEFT JOIN fixed_ips f ON f.id = fl.fixed_ip_id AND fl.deleted = 0 AND f.deleted = 0
WHERE fl.id = :id AND READ_DELETED(fl.deleted, int) AND PROJECT_ONLY(fl.project_id)

-- name: get_by_address
-- The (first) floating IP with an address, as :read_deleted lets the caller see it, with its fixed IP.
SELECT fl.created_at, fl.updated_at, fl.deleted_at, fl.id, fl.address, fl.fixed_ip_id, fl.project_id, fl.host,
       fl.auto_assigned, fl.pool, fl.interface, fl.deleted,
       f.created_at AS f__created_at, f.updated_at AS f__updated_at, f.deleted_at AS f__deleted_at, f.id AS f__id,
       f.address AS f__address, f.network_id AS f__network_id, f.allocated AS f__allocated, f.leased AS f__leased,
       f.reserved AS f__reserved, f.virtual_interface_id AS f__virtual_interface_id, f.host AS f__host,
       f.instance_uuid AS f__instance_uuid, f.deleted AS f__deleted
FROM floating_ips fl
LEFT JOIN fixed_ips f ON f.id = fl.fixed_ip_id AND fl.deleted = 0 AND f.deleted = 0
WHERE fl.address = :address AND READ_DELETED(fl.deleted, int)
ORDER BY fl.id
LIMIT 1

-- name: get_all
-- Every live floating IP, oldest first, with its fixed IP.
SELECT fl.created_at, fl.updated_at, fl.deleted_at, fl.id, fl.address, fl.fixed_ip_id, fl.project_id, fl.host,
       fl.auto_assigned, fl.pool, fl.interface, fl.deleted,
       f.created_at AS f__created_at, f.updated_at AS f__updated_at, f.deleted_at AS f__deleted_at, f.id AS f__id,
       f.address AS f__address, f.network_id AS f__network_id, f.allocated AS f__allocated, f.leased AS f__leased,
       f.reserved AS f__reserved, f.virtual_interface_id AS f__virtual_interface_id, f.host AS f__host,
       f.instance_uuid AS f__instance_uuid, f.deleted AS f__deleted
FROM floating_ips fl
LEFT JOIN fixed_ips f ON f.id = fl.fixed_ip_id AND f.deleted = 0
WHERE fl.deleted = 0
ORDER BY fl.id

-- name: get_all_by_host
-- A host's live floating IPs, oldest first, with their fixed IPs.
SELECT fl.created_at, fl.updated_at, fl.deleted_at, fl.id, fl.address, fl.fixed_ip_id, fl.project_id, fl.host,
       fl.auto_assigned, fl.pool, fl.interface, fl.deleted,
       f.created_at AS f__created_at, f.updated_at AS f__updated_at, f.deleted_at AS f__deleted_at, f.id AS f__id,
       f.address AS f__address, f.network_id AS f__network_id, f.allocated AS f__allocated, f.leased AS f__leased,
       f.reserved AS f__reserved, f.virtual_interface_id AS f__virtual_interface_id, f.host AS f__host,
       f.instance_uuid AS f__instance_uuid, f.deleted AS f__deleted
FROM floating_ips fl
LEFT JOIN fixed_ips f ON f.id = fl.fixed_ip_id AND f.deleted = 0
WHERE fl.host = :host AND fl.deleted = 0
ORDER BY fl.id

-- name: get_all_by_project
-- A project's live floating IPs that were not auto-assigned, oldest first, with their fixed IPs.
SELECT fl.created_at, fl.updated_at, fl.deleted_at, fl.id, fl.address, fl.fixed_ip_id, fl.project_id, fl.host,
       fl.auto_assigned, fl.pool, fl.interface, fl.deleted,
       f.created_at AS f__created_at, f.updated_at AS f__updated_at, f.deleted_at AS f__deleted_at, f.id AS f__id,
       f.address AS f__address, f.network_id AS f__network_id, f.allocated AS f__allocated, f.leased AS f__leased,
       f.reserved AS f__reserved, f.virtual_interface_id AS f__virtual_interface_id, f.host AS f__host,
       f.instance_uuid AS f__instance_uuid, f.deleted AS f__deleted
FROM floating_ips fl
LEFT JOIN fixed_ips f ON f.id = fl.fixed_ip_id AND f.deleted = 0
WHERE fl.project_id = :project_id AND fl.auto_assigned = false AND fl.deleted = 0
ORDER BY fl.id

-- name: instances_by_uuids
-- The live instances some fixed IPs belong to (nova's FixedIp.instance relationship).
SELECT created_at, updated_at, deleted_at, id, internal_id, user_id, project_id, image_ref, kernel_id, ramdisk_id,
       launch_index, key_name, key_data, power_state, vm_state, memory_mb, vcpus, hostname, host, user_data,
       reservation_id, scheduled_at, launched_at, terminated_at, display_name, display_description,
       availability_zone, locked, os_type, launched_on, instance_type_id, vm_mode, uuid, architecture,
       root_device_name, access_ip_v4, access_ip_v6, config_drive, task_state, default_ephemeral_device,
       default_swap_device, progress, auto_disk_config, shutdown_terminate, disable_terminate, root_gb,
       ephemeral_gb, cell_name, node, deleted, locked_by, cleaned, ephemeral_key_uuid
FROM instances
WHERE uuid = ANY(:uuids) AND deleted = 0
ORDER BY id

-- name: get_by_fixed_address
-- The floating IPs (as :read_deleted says) pointing at a fixed IP with an address, oldest first.
SELECT fl.created_at, fl.updated_at, fl.deleted_at, fl.id, fl.address, fl.fixed_ip_id, fl.project_id, fl.host,
       fl.auto_assigned, fl.pool, fl.interface, fl.deleted
FROM floating_ips fl
JOIN fixed_ips f ON f.id = fl.fixed_ip_id
WHERE f.address = :fixed_address AND READ_DELETED(fl.deleted, int)
ORDER BY fl.id

-- name: get_by_fixed_ip_id
-- The floating IPs (as :read_deleted says) pointing at a fixed IP, oldest first.
SELECT created_at, updated_at, deleted_at, id, address, fixed_ip_id, project_id, host, auto_assigned, pool,
       interface, deleted
FROM floating_ips
WHERE fixed_ip_id = :fixed_ip_id AND READ_DELETED(deleted, int)
ORDER BY id

-- name: pools
-- The pools of the floating IPs :read_deleted lets the caller see, each once.
SELECT DISTINCT pool FROM floating_ips WHERE READ_DELETED(deleted, int)

-- name: count_by_project
-- The number of a project's live floating IPs that were not auto-assigned.
SELECT count(*) AS n FROM floating_ips
WHERE project_id = :project_id AND auto_assigned = false AND deleted = 0

-- name: create
-- Insert a floating IP; the unique key refuses a second live row with the address.
INSERT INTO floating_ips (address, fixed_ip_id, project_id, host, auto_assigned, pool, interface, created_at,
                          updated_at, deleted)
VALUES (:address, :fixed_ip_id, :project_id, :host, coalesce(:auto_assigned, false), :pool, :interface, :created_at,
        :updated_at, 0)
RETURNING created_at, updated_at, deleted_at, id, address, fixed_ip_id, project_id, host, auto_assigned, pool,
          interface, deleted

-- name: bulk_create
-- Insert the floating IPs of a JSON array of objects (one per row, in order: ids follow it); the
-- unique key refuses the whole statement when one address has a live row already.
INSERT INTO floating_ips (address, fixed_ip_id, project_id, host, auto_assigned, pool, interface, created_at,
                          updated_at, deleted)
SELECT json_extract(x.value, '$.address'), json_extract(x.value, '$.fixed_ip_id'),
       json_extract(x.value, '$.project_id'), json_extract(x.value, '$.host'),
       json_extract(x.value, '$.auto_assigned'), json_extract(x.value, '$.pool'),
       json_extract(x.value, '$.interface'), json_extract(x.value, '$.created_at'),
       json_extract(x.value, '$.updated_at'), 0
FROM json_each(:ips) AS x
ORDER BY x.key

-- name: get_live_by_addresses
-- The live floating IPs with one of some addresses, oldest first (what bulk_create inserted).
SELECT created_at, updated_at, deleted_at, id, address, fixed_ip_id, project_id, host, auto_assigned, pool,
       interface, deleted
FROM floating_ips
WHERE address = ANY(:addresses) AND deleted = 0
ORDER BY id

-- name: bulk_destroy_lock
-- Lock the live floating IPs with one of some addresses (their projects and auto_assigned say
-- whose quota usage their deletion gives back).
SELECT project_id, auto_assigned FROM floating_ips
WHERE address = ANY(:addresses) AND deleted = 0
ORDER BY id

-- name: bulk_destroy
-- Soft-delete the live floating IPs with one of some addresses (upstream's Query.soft_delete:
-- updated_at kept).
UPDATE floating_ips SET SOFT_DELETE(int, bulk)
WHERE address = ANY(:addresses) AND deleted = 0

-- name: usage_give_back
-- Take :count deleted floating IPs off the project's live floating_ips usage (a per-project
-- resource: user_id NULL), never below zero as reservation_commit does; no row, nothing to do.
UPDATE quota_usages
SET in_use = CASE WHEN in_use > :count THEN in_use - :count ELSE 0 END, updated_at = :now
WHERE project_id = :project_id AND user_id IS NULL AND resource = 'floating_ips' AND deleted = 0

-- name: allocate
-- Give a project one free floating IP of the pool (live, no project, no fixed IP) and return its
-- address; none when the pool has none free.
UPDATE floating_ips
SET project_id = :project_id, auto_assigned = :auto_assigned, updated_at = :now
WHERE id = (SELECT id FROM floating_ips
            WHERE pool = :pool AND deleted = 0 AND fixed_ip_id IS NULL AND project_id IS NULL
            LIMIT 1)
RETURNING address

-- name: allocate_pick
-- One free floating IP of the pool (MySQL's allocation locks it, then allocate_claim takes it).
SELECT id, address FROM floating_ips
WHERE pool = :pool AND deleted = 0 AND fixed_ip_id IS NULL AND project_id IS NULL
LIMIT 1

-- name: allocate_claim
-- Give a project the free floating IP allocate_pick locked.
UPDATE floating_ips
SET project_id = :project_id, auto_assigned = :auto_assigned, updated_at = :now
WHERE id = :id

-- name: allocate_read_back
-- The address of a floating IP (MySQL's allocate returns none: it names the row it claimed by
-- LAST_INSERT_ID(), read with :id NULL).
SELECT address FROM floating_ips WHERE id = :id

-- name: deallocate
-- Take a floating IP (as :read_deleted says) that is not associated back from its project.
UPDATE floating_ips
SET project_id = NULL, host = NULL, auto_assigned = false, updated_at = :now
WHERE address = :address AND READ_DELETED(deleted, int) AND project_id IS NOT NULL AND fixed_ip_id IS NULL

-- name: destroy
-- Delete the rows of the floating IPs with an address (as :read_deleted says): a hard delete.
DELETE FROM floating_ips WHERE address = :address AND READ_DELETED(deleted, int)

-- name: lock_by_address
-- The (first) floating IP with an address (as :read_deleted says): what associating and
-- disassociating it check, read where writers run one at a time.
SELECT id, project_id, fixed_ip_id, host FROM floating_ips
WHERE address = :address AND READ_DELETED(deleted, int)
ORDER BY id
LIMIT 1

-- name: associate
-- Point a floating IP at a fixed IP served by a host.
UPDATE floating_ips SET fixed_ip_id = :fixed_ip_id, host = :host, updated_at = :now WHERE id = :id

-- name: disassociate
-- Point a floating IP at no fixed IP and no host (unchanged if it points at none already).
UPDATE floating_ips SET fixed_ip_id = NULL, host = NULL, updated_at = :now
WHERE id = :id AND (fixed_ip_id IS NOT NULL OR host IS NOT NULL)

-- name: fixed_ip_by_address
-- The (first) fixed IP with an address (as :read_deleted says), with its network as n__<column>
-- columns (nova's FixedIp.network: a live network of a live fixed IP).
SELECT f.created_at, f.updated_at, f.deleted_at, f.id, f.address, f.network_id, f.allocated, f.leased, f.reserved,
       f.virtual_interface_id, f.host, f.instance_uuid, f.deleted,
       n.created_at AS n__created_at, n.updated_at AS n__updated_at, n.deleted_at AS n__deleted_at, n.id AS n__id,
       n.injected AS n__injected, n.cidr AS n__cidr, n.netmask AS n__netmask, n.bridge AS n__bridge,
       n.gateway AS n__gateway, n.broadcast AS n__broadcast, n.dns1 AS n__dns1, n.vlan AS n__vlan,
       n.vpn_public_address AS n__vpn_public_address, n.vpn_public_port AS n__vpn_public_port,
       n.vpn_private_address AS n__vpn_private_address, n.dhcp_start AS n__dhcp_start,
       n.project_id AS n__project_id, n.host AS n__host, n.cidr_v6 AS n__cidr_v6, n.gateway_v6 AS n__gateway_v6,
       n.label AS n__label, n.netmask_v6 AS n__netmask_v6, n.bridge_interface AS n__bridge_interface,
       n.multi_host AS n__multi_host, n.dns2 AS n__dns2, n.uuid AS n__uuid, n.priority AS n__priority,
       n.rxtx_base AS n__rxtx_base, n.deleted AS n__deleted, n.mtu AS n__mtu, n.dhcp_server AS n__dhcp_server,
       n.enable_dhcp AS n__enable_dhcp, n.share_address AS n__share_address
FROM fixed_ips f
LEFT JOIN networks n ON n.id = f.network_id AND f.deleted = 0 AND n.deleted = 0
WHERE f.address = :address AND READ_DELETED(f.deleted, int)
ORDER BY f.id
LIMIT 1

-- name: fixed_ip_by_id
-- A fixed IP by id (as :read_deleted says), with its network as n__<column> columns.
SELECT f.created_at, f.updated_at, f.deleted_at, f.id, f.address, f.network_id, f.allocated, f.leased, f.reserved,
       f.virtual_interface_id, f.host, f.instance_uuid, f.deleted,
       n.created_at AS n__created_at, n.updated_at AS n__updated_at, n.deleted_at AS n__deleted_at, n.id AS n__id,
       n.injected AS n__injected, n.cidr AS n__cidr, n.netmask AS n__netmask, n.bridge AS n__bridge,
       n.gateway AS n__gateway, n.broadcast AS n__broadcast, n.dns1 AS n__dns1, n.vlan AS n__vlan,
       n.vpn_public_address AS n__vpn_public_address, n.vpn_public_port AS n__vpn_public_port,
       n.vpn_private_address AS n__vpn_private_address, n.dhcp_start AS n__dhcp_start,
       n.project_id AS n__project_id, n.host AS n__host, n.cidr_v6 AS n__cidr_v6, n.gateway_v6 AS n__gateway_v6,
       n.label AS n__label, n.netmask_v6 AS n__netmask_v6, n.bridge_interface AS n__bridge_interface,
       n.multi_host AS n__multi_host, n.dns2 AS n__dns2, n.uuid AS n__uuid, n.priority AS n__priority,
       n.rxtx_base AS n__rxtx_base, n.deleted AS n__deleted, n.mtu AS n__mtu, n.dhcp_server AS n__dhcp_server,
       n.enable_dhcp AS n__enable_dhcp, n.share_address AS n__share_address
FROM fixed_ips f
LEFT JOIN networks n ON n.id = f.network_id AND f.deleted = 0 AND n.deleted = 0
WHERE f.id = :id AND READ_DELETED(f.deleted, int)

-- name: set_auto_assigned
-- Mark the floating IPs with an address (as :read_deleted says) auto-assigned.
UPDATE floating_ips SET auto_assigned = true, updated_at = :now
WHERE address = :address AND READ_DELETED(deleted, int)

-- name: update
-- Change the columns the caller gave of one floating IP (a column whose :set_ flag is false keeps
-- its value) and set updated_at; the unique key refuses an address another live row has.
UPDATE floating_ips
SET address = CASE WHEN :set_address THEN :address ELSE address END,
    fixed_ip_id = CASE WHEN :set_fixed_ip_id THEN :fixed_ip_id ELSE fixed_ip_id END,
    project_id = CASE WHEN :set_project_id THEN :project_id ELSE project_id END,
    host = CASE WHEN :set_host THEN :host ELSE host END,
    auto_assigned = CASE WHEN :set_auto_assigned THEN :auto_assigned ELSE auto_assigned END,
    pool = CASE WHEN :set_pool THEN :pool ELSE pool END,
    interface = CASE WHEN :set_interface THEN :interface ELSE interface END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = :id

-- name: instance_floating_address
-- Grizzly's instance_get_floating_address: whether the instance (by integer id, as :read_deleted
-- and PROJECT_ONLY let the caller see it) exists, and the address of the first floating IP (as
-- :read_deleted says) of its first live fixed IP.
SELECT i.id,
       (SELECT fl.address FROM floating_ips fl
        WHERE fl.fixed_ip_id = (SELECT f.id FROM fixed_ips f
                                WHERE f.instance_uuid = i.uuid AND f.deleted = 0
                                ORDER BY f.id
                                LIMIT 1)
          AND READ_DELETED(fl.deleted, int)
        ORDER BY fl.id
        LIMIT 1) AS address
FROM instances i
WHERE i.id = :instance_id AND READ_DELETED(i.deleted, int) AND PROJECT_ONLY(i.project_id)

-- name: instance_floating_addresses
-- The addresses of the floating IPs of an instance's fixed IPs (both live), oldest first.
SELECT fl.address FROM floating_ips fl
JOIN fixed_ips f ON f.id = fl.fixed_ip_id AND fl.deleted = 0 AND f.deleted = 0
WHERE f.instance_uuid = :instance_uuid AND READ_DELETED(fl.deleted, int)
ORDER BY fl.id
