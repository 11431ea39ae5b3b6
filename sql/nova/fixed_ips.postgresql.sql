-- PostgreSQL: claims lock the row they take in the statement that takes it (FOR UPDATE; SKIP LOCKED
-- for the pool, so concurrent claimers each get another address); a bulk create reads the rows
-- from one JSON parameter.

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
            LIMIT 1
            FOR UPDATE)
  AND instance_uuid IS NULL
RETURNING created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
          virtual_interface_id, host, instance_uuid, deleted

-- name: pool_claim
-- Claim the oldest free fixed IP of the network (or of none yet) in one statement: skips rows
-- another claimer holds, sets allocated, the network when it had none, and the instance, host and
-- interface given.  Free: live, not reserved, no instance, no host, not leased.
UPDATE fixed_ips
SET allocated = :allocated,
    network_id = COALESCE(network_id, :network_id),
    instance_uuid = CASE WHEN :set_instance_uuid THEN :instance_uuid ELSE instance_uuid END,
    host = CASE WHEN :set_host THEN :host ELSE host END,
    virtual_interface_id = CASE WHEN :set_virtual_interface_id THEN :virtual_interface_id
                                ELSE virtual_interface_id END,
    updated_at = :now
WHERE id = (SELECT c.id FROM fixed_ips c
            WHERE c.deleted = 0 AND (c.network_id = :network_id OR c.network_id IS NULL)
              AND c.reserved = FALSE AND c.instance_uuid IS NULL AND c.host IS NULL AND c.leased = FALSE
            ORDER BY c.updated_at NULLS FIRST, c.id
            LIMIT 1
            FOR UPDATE SKIP LOCKED)
RETURNING created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
          virtual_interface_id, host, instance_uuid, deleted

-- name: fixed_ip_bulk_create
-- Insert the fixed IPs of a JSON array of objects (keys: the columns given; booleans default false).
INSERT INTO fixed_ips (address, network_id, allocated, leased, reserved, virtual_interface_id, host, instance_uuid,
                       created_at, updated_at, deleted)
SELECT x.address, x.network_id, COALESCE(x.allocated, FALSE), COALESCE(x.leased, FALSE),
       COALESCE(x.reserved, FALSE), x.virtual_interface_id, x.host, x.instance_uuid, x.created_at, x.updated_at, 0
FROM jsonb_to_recordset(CAST(:ips AS jsonb))
     AS x(address inet, network_id integer, allocated boolean, leased boolean, reserved boolean,
          virtual_interface_id integer, host varchar, instance_uuid varchar, created_at timestamp,
          updated_at timestamp)
