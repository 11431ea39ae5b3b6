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

-- name: pool_claim_many (postgresql only)
-- pool_claim for the claims of a JSON array in one statement: the :count oldest free fixed IPs
-- of the network (or of none yet) that no other claimer holds, the k-th oldest set as the k-th
-- claim says; each row comes back with the position n (from 1) of its claim.
WITH picked AS (
    SELECT c.id, row_number() OVER (ORDER BY c.updated_at NULLS FIRST, c.id) AS n
    FROM (SELECT id, updated_at FROM fixed_ips
          WHERE deleted = 0 AND (network_id = :network_id OR network_id IS NULL)
            AND reserved = FALSE AND instance_uuid IS NULL AND host IS NULL AND leased = FALSE
          ORDER BY updated_at NULLS FIRST, id
          LIMIT :count
          FOR UPDATE SKIP LOCKED) c
)
UPDATE fixed_ips f
SET allocated = CAST(j.claim ->> 'allocated' AS boolean),
    network_id = COALESCE(f.network_id, :network_id),
    instance_uuid = CASE WHEN CAST(j.claim ->> 'set_instance_uuid' AS boolean) THEN j.claim ->> 'instance_uuid'
                         ELSE f.instance_uuid END,
    host = CASE WHEN CAST(j.claim ->> 'set_host' AS boolean) THEN j.claim ->> 'host' ELSE f.host END,
    virtual_interface_id = CASE WHEN CAST(j.claim ->> 'set_virtual_interface_id' AS boolean)
                                THEN CAST(j.claim ->> 'virtual_interface_id' AS integer)
                                ELSE f.virtual_interface_id END,
    updated_at = :now
FROM picked p
JOIN jsonb_array_elements(CAST(:claims AS jsonb)) WITH ORDINALITY AS j(claim, n) ON j.n = p.n
WHERE f.id = p.id
RETURNING p.n, f.created_at, f.updated_at, f.deleted_at, f.id, f.address, f.network_id, f.allocated, f.leased,
          f.reserved, f.virtual_interface_id, f.host, f.instance_uuid, f.deleted
