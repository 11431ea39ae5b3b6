-- The relationships of nova's FixedIp model (rawdb/nova/_fixed_ip_rows.py, nova 14.0.0): one query
-- per relationship for every fixed IP asked about.

-- name: networks_by_id
-- The networks with these ids: live ones only when :live (FixedIp.network), else any.
SELECT n.*
FROM networks n
WHERE n.id = ANY(:ids) AND (n.deleted = 0 OR NOT :live)
ORDER BY n.id

-- name: instances_by_uuid
-- The instances with these uuids: live ones only when :live (FixedIp.instance), else any.
SELECT i.*
FROM instances i
WHERE i.uuid = ANY(:uuids) AND (i.deleted = 0 OR NOT :live)
ORDER BY i.id

-- name: vifs_by_id
-- The live virtual interfaces with these ids (FixedIp.virtual_interface).
SELECT created_at, updated_at, deleted_at, id, address, network_id, uuid, instance_uuid, deleted, tag
FROM virtual_interfaces
WHERE id = ANY(:ids) AND deleted = 0
ORDER BY id

-- name: floating_ips_of
-- The live floating IPs pointing at these fixed IPs (FixedIp.floating_ips), in id order.
SELECT created_at, updated_at, deleted_at, id, address, fixed_ip_id, project_id, host, auto_assigned, pool,
       interface, deleted
FROM floating_ips
WHERE fixed_ip_id = ANY(:fixed_ip_ids) AND deleted = 0
ORDER BY id
