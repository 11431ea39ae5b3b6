-- nova-network's networks (nova 14.0.0, with 2013.1's network_get_all_by_instance), and the fixed IP and
-- instance rows their queries read.  Address columns are INET on PostgreSQL and VARCHAR elsewhere; networks.py
-- binds them as the same text on every backend.  The unique key (vlan, deleted) admits one live network per vlan.

-- name: network_get
-- A network by id, visible as :read_deleted and project_only say.
SELECT id, label, injected, cidr, cidr_v6, multi_host, gateway_v6, netmask_v6, netmask, bridge, bridge_interface,
       gateway, broadcast, dns1, dns2, vlan, vpn_public_address, vpn_public_port, vpn_private_address, dhcp_start,
       rxtx_base, priority, project_id, host, uuid, mtu, dhcp_server, enable_dhcp, share_address, created_at,
       updated_at, deleted_at, deleted
FROM networks
WHERE id = :network_id AND READ_DELETED(deleted, int) AND PROJECT_ONLY(project_id)

-- name: network_read_back
-- A network by id, whatever its state (MySQL's read-back after an insert or update: the other backends have
-- RETURNING).
SELECT id, label, injected, cidr, cidr_v6, multi_host, gateway_v6, netmask_v6, netmask, bridge, bridge_interface,
       gateway, broadcast, dns1, dns2, vlan, vpn_public_address, vpn_public_port, vpn_private_address, dhcp_start,
       rxtx_base, priority, project_id, host, uuid, mtu, dhcp_server, enable_dhcp, share_address, created_at,
       updated_at, deleted_at, deleted
FROM networks
WHERE id = :id

-- name: network_get_all
-- The live networks project_only lets through, oldest first.
SELECT id, label, injected, cidr, cidr_v6, multi_host, gateway_v6, netmask_v6, netmask, bridge, bridge_interface,
       gateway, broadcast, dns1, dns2, vlan, vpn_public_address, vpn_public_port, vpn_private_address, dhcp_start,
       rxtx_base, priority, project_id, host, uuid, mtu, dhcp_server, enable_dhcp, share_address, created_at,
       updated_at, deleted_at, deleted
FROM networks
WHERE deleted = 0 AND PROJECT_ONLY(project_id)
ORDER BY id

-- name: network_get_all_by_uuids
-- The live networks with one of the uuids that project_only lets through, oldest first.
SELECT id, label, injected, cidr, cidr_v6, multi_host, gateway_v6, netmask_v6, netmask, bridge, bridge_interface,
       gateway, broadcast, dns1, dns2, vlan, vpn_public_address, vpn_public_port, vpn_private_address, dhcp_start,
       rxtx_base, priority, project_id, host, uuid, mtu, dhcp_server, enable_dhcp, share_address, created_at,
       updated_at, deleted_at, deleted
FROM networks
WHERE deleted = 0 AND uuid = ANY(:network_uuids) AND PROJECT_ONLY(project_id)
ORDER BY id

-- name: network_get_by_uuid
-- The (oldest) live network with this uuid.
SELECT id, label, injected, cidr, cidr_v6, multi_host, gateway_v6, netmask_v6, netmask, bridge, bridge_interface,
       gateway, broadcast, dns1, dns2, vlan, vpn_public_address, vpn_public_port, vpn_private_address, dhcp_start,
       rxtx_base, priority, project_id, host, uuid, mtu, dhcp_server, enable_dhcp, share_address, created_at,
       updated_at, deleted_at, deleted
FROM networks
WHERE deleted = 0 AND uuid = :uuid
ORDER BY id
LIMIT 1

-- name: network_get_by_cidr
-- The (oldest) live network whose IPv4 or IPv6 cidr is :cidr (normalised as networks.py stores it).
SELECT id, label, injected, cidr, cidr_v6, multi_host, gateway_v6, netmask_v6, netmask, bridge, bridge_interface,
       gateway, broadcast, dns1, dns2, vlan, vpn_public_address, vpn_public_port, vpn_private_address, dhcp_start,
       rxtx_base, priority, project_id, host, uuid, mtu, dhcp_server, enable_dhcp, share_address, created_at,
       updated_at, deleted_at, deleted
FROM networks
WHERE deleted = 0 AND (cidr = :cidr OR cidr_v6 = :cidr)
ORDER BY id
LIMIT 1

-- name: network_get_all_by_host
-- The live networks :host serves: its own host, or one of its fixed IPs (visible as :read_deleted says) has the
-- host, or belongs to an instance on the host (through the fixed IP's instance, Newton's path, or its virtual
-- interface's, Grizzly's).
SELECT id, label, injected, cidr, cidr_v6, multi_host, gateway_v6, netmask_v6, netmask, bridge, bridge_interface,
       gateway, broadcast, dns1, dns2, vlan, vpn_public_address, vpn_public_port, vpn_private_address, dhcp_start,
       rxtx_base, priority, project_id, host, uuid, mtu, dhcp_server, enable_dhcp, share_address, created_at,
       updated_at, deleted_at, deleted
FROM networks
WHERE deleted = 0
  AND (host = :host
       OR id IN (SELECT f.network_id
                 FROM fixed_ips f
                 LEFT JOIN instances i ON i.uuid = f.instance_uuid
                 LEFT JOIN virtual_interfaces v ON v.id = f.virtual_interface_id
                 LEFT JOIN instances vi ON vi.uuid = v.instance_uuid
                 WHERE READ_DELETED(f.deleted, int) AND (f.host = :host OR i.host = :host OR vi.host = :host)))
ORDER BY id

-- name: network_get_all_by_instance
-- The live networks an instance (by uuid, or by integer id) has a live fixed IP or virtual interface in.
SELECT id, label, injected, cidr, cidr_v6, multi_host, gateway_v6, netmask_v6, netmask, bridge, bridge_interface,
       gateway, broadcast, dns1, dns2, vlan, vpn_public_address, vpn_public_port, vpn_private_address, dhcp_start,
       rxtx_base, priority, project_id, host, uuid, mtu, dhcp_server, enable_dhcp, share_address, created_at,
       updated_at, deleted_at, deleted
FROM networks
WHERE deleted = 0
  AND (id IN (SELECT f.network_id FROM fixed_ips f
              WHERE f.deleted = 0
                AND (f.instance_uuid = :instance_uuid
                     OR f.instance_uuid IN (SELECT uuid FROM instances WHERE id = :instance_number)))
       OR id IN (SELECT v.network_id FROM virtual_interfaces v
                 WHERE v.deleted = 0
                   AND (v.instance_uuid = :instance_uuid
                        OR v.instance_uuid IN (SELECT uuid FROM instances WHERE id = :instance_number))))
ORDER BY id

-- name: networks_of_project
-- A project's live networks, oldest first.
SELECT id, label, injected, cidr, cidr_v6, multi_host, gateway_v6, netmask_v6, netmask, bridge, bridge_interface,
       gateway, broadcast, dns1, dns2, vlan, vpn_public_address, vpn_public_port, vpn_private_address, dhcp_start,
       rxtx_base, priority, project_id, host, uuid, mtu, dhcp_server, enable_dhcp, share_address, created_at,
       updated_at, deleted_at, deleted
FROM networks
WHERE deleted = 0 AND project_id = :project_id
ORDER BY id

-- name: networks_lock_free
-- Lock every live network without a project, in id order: concurrent network_associate calls queue here, so
-- a project's check for a network of its own runs after a rival's claim has committed.
SELECT id FROM networks
WHERE deleted = 0 AND project_id IS NULL
ORDER BY id
FOR UPDATE

-- name: network_claim
-- Give a (locked) free network to a project.
UPDATE networks SET project_id = :project_id, updated_at = :now
WHERE id = :id AND deleted = 0 AND project_id IS NULL
RETURNING id, label, injected, cidr, cidr_v6, multi_host, gateway_v6, netmask_v6, netmask, bridge, bridge_interface,
          gateway, broadcast, dns1, dns2, vlan, vpn_public_address, vpn_public_port, vpn_private_address, dhcp_start,
          rxtx_base, priority, project_id, host, uuid, mtu, dhcp_server, enable_dhcp, share_address, created_at,
          updated_at, deleted_at, deleted

-- name: network_create
-- Insert a network; the unique key (vlan, deleted) refuses a second live network on a vlan.
INSERT INTO networks (label, injected, cidr, cidr_v6, multi_host, gateway_v6, netmask_v6, netmask, bridge,
                      bridge_interface, gateway, broadcast, dns1, dns2, vlan, vpn_public_address, vpn_public_port,
                      vpn_private_address, dhcp_start, rxtx_base, priority, project_id, host, uuid, mtu, dhcp_server,
                      enable_dhcp, share_address, created_at, updated_at, deleted)
VALUES (:label, COALESCE(:injected, FALSE), :cidr, :cidr_v6, COALESCE(:multi_host, FALSE), :gateway_v6, :netmask_v6,
        :netmask, :bridge, :bridge_interface, :gateway, :broadcast, :dns1, :dns2, :vlan, :vpn_public_address,
        :vpn_public_port, :vpn_private_address, :dhcp_start, :rxtx_base, :priority, :project_id, :host, :uuid, :mtu,
        :dhcp_server, COALESCE(:enable_dhcp, TRUE), COALESCE(:share_address, FALSE), :created_at, :updated_at, 0)
RETURNING id, label, injected, cidr, cidr_v6, multi_host, gateway_v6, netmask_v6, netmask, bridge, bridge_interface,
          gateway, broadcast, dns1, dns2, vlan, vpn_public_address, vpn_public_port, vpn_private_address, dhcp_start,
          rxtx_base, priority, project_id, host, uuid, mtu, dhcp_server, enable_dhcp, share_address, created_at,
          updated_at, deleted_at, deleted

-- name: network_update
-- Change the columns the caller gave (a column whose :set_ flag is false keeps its value) of a network visible
-- as :read_deleted and project_only say, and set updated_at.
UPDATE networks
SET label = CASE WHEN :set_label THEN :label ELSE label END,
    injected = CASE WHEN :set_injected THEN :injected ELSE injected END,
    cidr = CASE WHEN :set_cidr THEN :cidr ELSE cidr END,
    cidr_v6 = CASE WHEN :set_cidr_v6 THEN :cidr_v6 ELSE cidr_v6 END,
    multi_host = CASE WHEN :set_multi_host THEN :multi_host ELSE multi_host END,
    gateway_v6 = CASE WHEN :set_gateway_v6 THEN :gateway_v6 ELSE gateway_v6 END,
    netmask_v6 = CASE WHEN :set_netmask_v6 THEN :netmask_v6 ELSE netmask_v6 END,
    netmask = CASE WHEN :set_netmask THEN :netmask ELSE netmask END,
    bridge = CASE WHEN :set_bridge THEN :bridge ELSE bridge END,
    bridge_interface = CASE WHEN :set_bridge_interface THEN :bridge_interface ELSE bridge_interface END,
    gateway = CASE WHEN :set_gateway THEN :gateway ELSE gateway END,
    broadcast = CASE WHEN :set_broadcast THEN :broadcast ELSE broadcast END,
    dns1 = CASE WHEN :set_dns1 THEN :dns1 ELSE dns1 END,
    dns2 = CASE WHEN :set_dns2 THEN :dns2 ELSE dns2 END,
    vlan = CASE WHEN :set_vlan THEN :vlan ELSE vlan END,
    vpn_public_address = CASE WHEN :set_vpn_public_address THEN :vpn_public_address ELSE vpn_public_address END,
    vpn_public_port = CASE WHEN :set_vpn_public_port THEN :vpn_public_port ELSE vpn_public_port END,
    vpn_private_address = CASE WHEN :set_vpn_private_address THEN :vpn_private_address ELSE vpn_private_address END,
    dhcp_start = CASE WHEN :set_dhcp_start THEN :dhcp_start ELSE dhcp_start END,
    rxtx_base = CASE WHEN :set_rxtx_base THEN :rxtx_base ELSE rxtx_base END,
    priority = CASE WHEN :set_priority THEN :priority ELSE priority END,
    project_id = CASE WHEN :set_project_id THEN :project_id ELSE project_id END,
    host = CASE WHEN :set_host THEN :host ELSE host END,
    uuid = CASE WHEN :set_uuid THEN :uuid ELSE uuid END,
    mtu = CASE WHEN :set_mtu THEN :mtu ELSE mtu END,
    dhcp_server = CASE WHEN :set_dhcp_server THEN :dhcp_server ELSE dhcp_server END,
    enable_dhcp = CASE WHEN :set_enable_dhcp THEN :enable_dhcp ELSE enable_dhcp END,
    share_address = CASE WHEN :set_share_address THEN :share_address ELSE share_address END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = :id AND READ_DELETED(deleted, int) AND PROJECT_ONLY(project_id)
RETURNING id, label, injected, cidr, cidr_v6, multi_host, gateway_v6, netmask_v6, netmask, bridge, bridge_interface,
          gateway, broadcast, dns1, dns2, vlan, vpn_public_address, vpn_public_port, vpn_private_address, dhcp_start,
          rxtx_base, priority, project_id, host, uuid, mtu, dhcp_server, enable_dhcp, share_address, created_at,
          updated_at, deleted_at, deleted

-- name: network_set_host
-- Give a live network without a host (NULL or '') this one; a network that has a host keeps it.
UPDATE networks SET host = :host, updated_at = :now
WHERE id = :network_id AND deleted = 0 AND (host IS NULL OR host = '')

-- name: network_exists
-- Whether a live network has this id (1 row) or not (none).
SELECT id FROM networks WHERE id = :network_id AND deleted = 0

-- name: network_count_allocated_ips
-- The number of a network's live fixed IPs that are allocated (to a virtual interface).
SELECT count(*) AS n FROM fixed_ips WHERE network_id = :network_id AND deleted = 0 AND allocated

-- name: network_count_reserved_ips
-- The number of a network's live reserved fixed IPs.
SELECT count(*) AS n FROM fixed_ips WHERE network_id = :network_id AND deleted = 0 AND reserved

-- name: network_delete_fixed_ips
-- Soft-delete a network's live fixed IPs at :now (updated_at kept, as nova's bulk soft delete).
UPDATE fixed_ips SET SOFT_DELETE(int, bulk) WHERE network_id = :network_id AND deleted = 0

-- name: network_deleted_allocated_ips
-- How many of the fixed IPs network_delete_fixed_ips just deleted (at :now) had become allocated meanwhile.
SELECT count(*) AS n
FROM fixed_ips
WHERE network_id = :network_id AND deleted <> 0 AND deleted_at = :now AND allocated

-- name: network_destroy
-- Delete a network row for good (nova deletes the network itself, not softly).
DELETE FROM networks WHERE id = :network_id

-- name: network_associated_fixed_ips
-- The DHCP host file of a network: its live fixed IPs on a live virtual interface of a live instance (on :host
-- unless NULL), with first_vif_id set when the interface is its instance's first (lowest id, of every interface
-- row the instance has, as Newton counts them).
SELECT f.address, f.instance_uuid, f.network_id, f.virtual_interface_id AS vif_id, v.address AS vif_address,
       i.hostname AS instance_hostname, i.updated_at AS instance_updated, i.created_at AS instance_created,
       f.allocated, f.leased, first_vif.id AS first_vif_id
FROM fixed_ips f
JOIN virtual_interfaces v ON v.id = f.virtual_interface_id AND v.deleted = 0
JOIN instances i ON i.uuid = f.instance_uuid AND i.deleted = 0
LEFT JOIN (SELECT min(id) AS id, instance_uuid FROM virtual_interfaces GROUP BY instance_uuid) first_vif
       ON first_vif.id = f.virtual_interface_id AND first_vif.instance_uuid = v.instance_uuid
WHERE f.deleted = 0 AND f.network_id = :network_id
  AND f.instance_uuid IS NOT NULL AND f.virtual_interface_id IS NOT NULL
  AND (i.host = :host OR :host IS NULL)
ORDER BY f.id

-- name: network_in_use_on_host
-- One live fixed IP of the network on a live virtual interface of a live instance (on :host unless NULL), if any.
SELECT f.id
FROM fixed_ips f
JOIN virtual_interfaces v ON v.id = f.virtual_interface_id AND v.deleted = 0
JOIN instances i ON i.uuid = f.instance_uuid AND i.deleted = 0
WHERE f.deleted = 0 AND f.network_id = :network_id
  AND f.instance_uuid IS NOT NULL AND f.virtual_interface_id IS NOT NULL
  AND (i.host = :host OR :host IS NULL)
LIMIT 1
