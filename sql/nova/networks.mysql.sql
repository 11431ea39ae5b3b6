-- MySQL has no UPDATE ... RETURNING and MySQL 8 no INSERT ... RETURNING: networks.py reads the row back in the
-- same transaction, an inserted one by LAST_INSERT_ID() (this connection's own).

-- name: network_read_back
-- A network by :id whatever its state, or (:id NULL) the one this connection inserted last.
SELECT id, label, injected, cidr, cidr_v6, multi_host, gateway_v6, netmask_v6, netmask, bridge, bridge_interface,
       gateway, broadcast, dns1, dns2, vlan, vpn_public_address, vpn_public_port, vpn_private_address, dhcp_start,
       rxtx_base, priority, project_id, host, uuid, mtu, dhcp_server, enable_dhcp, share_address, created_at,
       updated_at, deleted_at, deleted
FROM networks
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: network_claim
-- Give a (locked) free network to a project.
UPDATE networks SET project_id = :project_id, updated_at = :now
WHERE id = :id AND deleted = 0 AND project_id IS NULL

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
