-- Fixed IPs (rawdb/nova/fixed_ips.py, nova 14.0.0).  A fixed IP is *associated* when instance_uuid is
-- set, *allocated* when its virtual interface is, *leased* when DHCP saw it.  The unique key
-- (address, deleted) admits one live row per address.  Addresses are the text PostgreSQL's INET
-- prints (the module normalises them before they get here).

-- name: fixed_ip_create
-- Insert a fixed IP; allocated, leased and reserved default to false.
INSERT INTO fixed_ips (address, network_id, allocated, leased, reserved, virtual_interface_id, host, instance_uuid,
                       created_at, updated_at, deleted)
VALUES (:address, :network_id, COALESCE(:allocated, FALSE), COALESCE(:leased, FALSE), COALESCE(:reserved, FALSE),
        :virtual_interface_id, :host, :instance_uuid, :created_at, :updated_at, 0)
RETURNING created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
          virtual_interface_id, host, instance_uuid, deleted

-- name: fixed_ip_read_back
-- A fixed IP by id, whatever its state (MySQL's read-back after an insert, with :id NULL for the
-- last insert: the other backends have RETURNING).
SELECT created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
       virtual_interface_id, host, instance_uuid, deleted
FROM fixed_ips
WHERE id = :id

-- name: first_existing_address
-- The first of these addresses a live fixed IP already has (which one a failed bulk create hit).
SELECT address
FROM fixed_ips
WHERE address = ANY(:addresses) AND deleted = 0
ORDER BY id
LIMIT 1

-- name: associate
-- Associate the live fixed IP with :address in the network (or in none yet) and of the :reserved
-- kind with an instance, if no instance has it: locks the row, waiting for a concurrent claimer,
-- then sets instance_uuid, allocated, the network when it had none, the interface when given.
UPDATE fixed_ips
SET instance_uuid = :instance_uuid,
    allocated = :allocated,
    network_id = COALESCE(network_id, :network_id),
    virtual_interface_id = CASE WHEN :set_virtual_interface_id THEN :virtual_interface_id
                                ELSE virtual_interface_id END,
    updated_at = :now
WHERE id = (SELECT c.id FROM fixed_ips c
            WHERE c.deleted = 0 AND (c.network_id = :network_id OR c.network_id IS NULL)
              AND c.reserved = :reserved AND c.address = :address
            ORDER BY c.id
            LIMIT 1)
  AND instance_uuid IS NULL
RETURNING created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
          virtual_interface_id, host, instance_uuid, deleted

-- name: associate_target
-- The live fixed IP with :address in the network (or in none yet) and of the :reserved kind,
-- locked: why an association failed, or (MySQL) the row it just changed.
SELECT created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
       virtual_interface_id, host, instance_uuid, deleted
FROM fixed_ips
WHERE deleted = 0 AND (network_id = :network_id OR network_id IS NULL) AND reserved = :reserved
  AND address = :address
ORDER BY id
LIMIT 1
FOR UPDATE

-- name: claim
-- Set what a claim sets on the fixed IP with :id (MySQL, which has no UPDATE ... RETURNING: the
-- row was locked and checked first).
UPDATE fixed_ips
SET allocated = :allocated,
    network_id = COALESCE(network_id, :network_id),
    instance_uuid = CASE WHEN :set_instance_uuid THEN :instance_uuid ELSE instance_uuid END,
    host = CASE WHEN :set_host THEN :host ELSE host END,
    virtual_interface_id = CASE WHEN :set_virtual_interface_id THEN :virtual_interface_id
                                ELSE virtual_interface_id END,
    updated_at = :now
WHERE id = :id

-- name: disassociate
-- Take the instance and the interface off a fixed IP (updated_at moves only if something changes).
UPDATE fixed_ips
SET instance_uuid = NULL, virtual_interface_id = NULL, updated_at = :now
WHERE id = :id AND (instance_uuid IS NOT NULL OR virtual_interface_id IS NOT NULL)

-- name: disassociate_all_by_timeout
-- Release the host's unallocated fixed IPs not updated since :time: those of its instances on
-- multi-host networks and every one of the networks it hosts (instance, network: any state).
UPDATE fixed_ips
SET instance_uuid = NULL, leased = FALSE, updated_at = :now
WHERE READ_DELETED(deleted, int)
  AND id IN (SELECT f.id
             FROM fixed_ips f
             JOIN networks n ON n.id = f.network_id
             JOIN instances i ON i.uuid = f.instance_uuid
             WHERE f.deleted = 0 AND f.allocated = FALSE AND f.updated_at < :time
               AND ((i.host = :host AND n.multi_host = TRUE) OR n.host = :host))

-- name: fixed_ip_get
-- A fixed IP by id, as :read_deleted says.
SELECT created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
       virtual_interface_id, host, instance_uuid, deleted
FROM fixed_ips
WHERE id = :id AND READ_DELETED(deleted, int)
ORDER BY id
LIMIT 1

-- name: fixed_ip_get_all
-- Every fixed IP, deleted or not, in id order.
SELECT created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
       virtual_interface_id, host, instance_uuid, deleted
FROM fixed_ips
ORDER BY id

-- name: fixed_ip_get_by_address
-- The (first) fixed IP with an address, as :read_deleted says.
SELECT created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
       virtual_interface_id, host, instance_uuid, deleted
FROM fixed_ips
WHERE address = :address AND READ_DELETED(deleted, int)
ORDER BY id
LIMIT 1

-- name: instance_project
-- The project of the instance with this uuid, deleted or not (may a user context see its fixed IP?).
SELECT project_id
FROM instances
WHERE uuid = :uuid
ORDER BY id
LIMIT 1

-- name: fixed_ip_get_by_floating_address
-- The (first) fixed IP a floating address points at, as :read_deleted says.
SELECT f.created_at, f.updated_at, f.deleted_at, f.id, f.address, f.network_id, f.allocated, f.leased, f.reserved,
       f.virtual_interface_id, f.host, f.instance_uuid, f.deleted
FROM fixed_ips f
JOIN floating_ips fl ON fl.fixed_ip_id = f.id
WHERE fl.address = :floating_address AND READ_DELETED(f.deleted, int)
ORDER BY f.id
LIMIT 1

-- name: fixed_ip_get_by_instance
-- An instance's live fixed IPs in the order of their live interfaces (created_at, id; those
-- without one last), then by id.
SELECT f.created_at, f.updated_at, f.deleted_at, f.id, f.address, f.network_id, f.allocated, f.leased, f.reserved,
       f.virtual_interface_id, f.host, f.instance_uuid, f.deleted
FROM fixed_ips f
LEFT JOIN virtual_interfaces v ON v.id = f.virtual_interface_id AND v.deleted = 0
WHERE f.instance_uuid = :instance_uuid AND f.deleted = 0
ORDER BY v.id IS NULL, v.created_at IS NULL, v.created_at, v.id, f.id

-- name: fixed_ip_get_by_host
-- The fixed IPs (as :read_deleted says) of the live instances on a host, in id order.
SELECT created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
       virtual_interface_id, host, instance_uuid, deleted
FROM fixed_ips
WHERE instance_uuid IN (SELECT i.uuid FROM instances i WHERE i.host = :host AND i.deleted = 0)
  AND READ_DELETED(deleted, int)
ORDER BY id

-- name: fixed_ip_get_by_network_host
-- The (first) live fixed IP of a host in a network.
SELECT created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
       virtual_interface_id, host, instance_uuid, deleted
FROM fixed_ips
WHERE network_id = :network_id AND host = :host AND deleted = 0
ORDER BY id
LIMIT 1

-- name: fixed_ips_by_virtual_interface
-- The live fixed IPs of a virtual interface, in id order.
SELECT created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
       virtual_interface_id, host, instance_uuid, deleted
FROM fixed_ips
WHERE virtual_interface_id = :vif_id AND deleted = 0
ORDER BY id

-- name: fixed_ip_update
-- Change the columns the caller gave of one fixed IP (a column whose :set_ flag is false keeps its
-- value) and set updated_at.
UPDATE fixed_ips
SET address = CASE WHEN :set_address THEN :address ELSE address END,
    network_id = CASE WHEN :set_network_id THEN :network_id ELSE network_id END,
    allocated = CASE WHEN :set_allocated THEN :allocated ELSE allocated END,
    leased = CASE WHEN :set_leased THEN :leased ELSE leased END,
    reserved = CASE WHEN :set_reserved THEN :reserved ELSE reserved END,
    virtual_interface_id = CASE WHEN :set_virtual_interface_id THEN :virtual_interface_id
                                ELSE virtual_interface_id END,
    host = CASE WHEN :set_host THEN :host ELSE host END,
    instance_uuid = CASE WHEN :set_instance_uuid THEN :instance_uuid ELSE instance_uuid END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = :id

-- name: fixed_ip_count_by_project
-- How many live fixed IPs the project's instances (any state) hold (nova bug 1171161 fixed:
-- Grizzly compared instances.uuid with the project id).
SELECT count(*) AS n
FROM fixed_ips f
JOIN instances i ON i.uuid = f.instance_uuid
WHERE f.deleted = 0 AND i.project_id = :project_id
