-- SQLite: one writer at a time (BEGIN IMMEDIATE), so a claim needs no row lock; a bulk create reads
-- the rows from one JSON parameter.

-- name: associate_target
-- The live fixed IP with :address in the network (or in none yet) and of the :reserved kind: why
-- an association failed.
SELECT created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
       virtual_interface_id, host, instance_uuid, deleted
FROM fixed_ips
WHERE deleted = 0 AND (network_id = :network_id OR network_id IS NULL) AND reserved = :reserved
  AND address = :address
ORDER BY id
LIMIT 1

-- name: pool_claim
-- Claim the oldest free fixed IP of the network (or of none yet) in one statement, under the
-- writer's lock: sets allocated, the network when it had none, and the instance, host and
-- interface given.  Free: live, not reserved, no instance, no host, not leased.  SQLite sorts
-- NULL first by itself; the free-row index (schema 0005) gives the order, named because the
-- planner, without statistics, would rather sort the rows an index on deleted finds.
UPDATE fixed_ips
SET allocated = :allocated,
    network_id = COALESCE(network_id, :network_id),
    instance_uuid = CASE WHEN :set_instance_uuid THEN :instance_uuid ELSE instance_uuid END,
    host = CASE WHEN :set_host THEN :host ELSE host END,
    virtual_interface_id = CASE WHEN :set_virtual_interface_id THEN :virtual_interface_id
                                ELSE virtual_interface_id END,
    updated_at = :now
WHERE id = (SELECT c.id FROM fixed_ips c INDEXED BY ix_fixed_ips_free_updated_at_id
            WHERE c.deleted = 0 AND (c.network_id = :network_id OR c.network_id IS NULL)
              AND c.reserved = FALSE AND c.instance_uuid IS NULL AND c.host IS NULL AND c.leased = FALSE
            ORDER BY c.updated_at, c.id
            LIMIT 1)
RETURNING created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
          virtual_interface_id, host, instance_uuid, deleted

-- name: fixed_ip_bulk_create
-- Insert the fixed IPs of a JSON array of objects (keys: the columns given; booleans default false).
INSERT INTO fixed_ips (address, network_id, allocated, leased, reserved, virtual_interface_id, host, instance_uuid,
                       created_at, updated_at, deleted)
SELECT json_extract(j.value, '$.address'), json_extract(j.value, '$.network_id'),
       COALESCE(json_extract(j.value, '$.allocated'), 0), COALESCE(json_extract(j.value, '$.leased'), 0),
       COALESCE(json_extract(j.value, '$.reserved'), 0), json_extract(j.value, '$.virtual_interface_id'),
       json_extract(j.value, '$.host'), json_extract(j.value, '$.instance_uuid'),
       json_extract(j.value, '$.created_at'), json_extract(j.value, '$.updated_at'), 0
FROM json_each(:ips) AS j
ORDER BY j.key

-- name: pool_take (mysql, sqlite only)
-- The :count oldest free fixed IPs of the network (or of none yet), as pool_claim picks them,
-- for the claims of one shared transaction (SQLite's writer holds the database: nothing to
-- lock); claim_many sets them.
SELECT created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
       virtual_interface_id, host, instance_uuid, deleted
FROM fixed_ips INDEXED BY ix_fixed_ips_free_updated_at_id
WHERE deleted = 0 AND (network_id = :network_id OR network_id IS NULL)
  AND reserved = FALSE AND instance_uuid IS NULL AND host IS NULL AND leased = FALSE
ORDER BY updated_at, id
LIMIT :count

-- name: claim_many (sqlite only)
-- Set what each claim of a JSON array sets on the fixed IP of its id: pool_claim's SET for
-- several callers in one statement (MySQL's is built per batch size: rawdb/nova/_fixed_ip_rows.py).
UPDATE fixed_ips
SET allocated = json_extract(c.value, '$.allocated'),
    network_id = COALESCE(fixed_ips.network_id, :network_id),
    instance_uuid = CASE WHEN json_extract(c.value, '$.set_instance_uuid')
                         THEN json_extract(c.value, '$.instance_uuid') ELSE fixed_ips.instance_uuid END,
    host = CASE WHEN json_extract(c.value, '$.set_host') THEN json_extract(c.value, '$.host')
                ELSE fixed_ips.host END,
    virtual_interface_id = CASE WHEN json_extract(c.value, '$.set_virtual_interface_id')
                                THEN json_extract(c.value, '$.virtual_interface_id')
                                ELSE fixed_ips.virtual_interface_id END,
    updated_at = :now
FROM json_each(:claims) AS c
WHERE fixed_ips.id = json_extract(c.value, '$.id')
