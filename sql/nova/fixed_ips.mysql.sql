-- MySQL/MariaDB: no UPDATE ... RETURNING, and no subquery on the table an UPDATE changes: the pool
-- claim picks the oldest free rows and locks them (pool_pick, then pool_take for any claim left
-- over) and sets them (claim; for several rows claim_many, built per batch size in
-- rawdb/nova/_fixed_ip_rows.py).

-- name: fixed_ip_create
-- Insert a fixed IP; allocated, leased and reserved default to false.
INSERT INTO fixed_ips (address, network_id, allocated, leased, reserved, virtual_interface_id, host, instance_uuid,
                       created_at, updated_at, deleted)
VALUES (:address, :network_id, COALESCE(:allocated, FALSE), COALESCE(:leased, FALSE), COALESCE(:reserved, FALSE),
        :virtual_interface_id, :host, :instance_uuid, :created_at, :updated_at, 0)

-- name: fixed_ip_read_back
-- The fixed IP the last statement inserted (:id NULL) or one by id.
SELECT created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
       virtual_interface_id, host, instance_uuid, deleted
FROM fixed_ips
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: associate
-- Associate the live fixed IP with :address in the network (or in none yet) and of the :reserved
-- kind with an instance, if no instance has it (the unique key's index finds and locks it); the
-- module reads it back with associate_target.
UPDATE fixed_ips
SET instance_uuid = :instance_uuid,
    allocated = :allocated,
    network_id = COALESCE(network_id, :network_id),
    virtual_interface_id = CASE WHEN :set_virtual_interface_id THEN :virtual_interface_id
                                ELSE virtual_interface_id END,
    updated_at = :now
WHERE deleted = 0 AND (network_id = :network_id OR network_id IS NULL) AND reserved = :reserved
  AND address = :address AND instance_uuid IS NULL
ORDER BY id
LIMIT 1

-- name: pool_claim
-- The pool claim as one statement.  Not run on MySQL (an UPDATE cannot skip locked rows there:
-- the module runs pool_take and claim).
UPDATE fixed_ips
SET allocated = :allocated,
    network_id = COALESCE(network_id, :network_id),
    instance_uuid = CASE WHEN :set_instance_uuid THEN :instance_uuid ELSE instance_uuid END,
    host = CASE WHEN :set_host THEN :host ELSE host END,
    virtual_interface_id = CASE WHEN :set_virtual_interface_id THEN :virtual_interface_id
                                ELSE virtual_interface_id END,
    updated_at = :now
WHERE deleted = 0 AND (network_id = :network_id OR network_id IS NULL)
  AND reserved = FALSE AND instance_uuid IS NULL AND host IS NULL AND leased = FALSE
ORDER BY updated_at, id
LIMIT 1

-- name: pool_pick (mysql only)
-- The :count oldest free fixed IPs of the network (or of none yet), locked: found by a plain read
-- of ix_fixed_ips_free_updated_at_id, then locked by id skipping those another claimer holds, and
-- checked again (a locking read sees the latest version: those taken since the plain read drop
-- out).  Fewer rows than :count when another claimer holds or took some of them: pool_take finds
-- the rest.  A locking walk of the index (pool_take) costs more than the two reads (8 rows: 1.2
-- against 0.5 ms): it locks its way over the entries each recent claim left behind until InnoDB
-- purges them.  Both reads name their index, so that the optimizer weighs no other (it
-- estimates rows in range for each index it may use: in one sample 0.46 against 0.28 ms of
-- planning).  The rows come in no set order: the module puts them oldest first (an outer ORDER
-- BY sorts them in a temporary table: 8 rows, 0.37 against 0.34 ms).
SELECT f.created_at, f.updated_at, f.deleted_at, f.id, f.address, f.network_id, f.allocated, f.leased, f.reserved,
       f.virtual_interface_id, f.host, f.instance_uuid, f.deleted
FROM (SELECT id
      FROM fixed_ips FORCE INDEX (ix_fixed_ips_free_updated_at_id)
      WHERE deleted = 0 AND (network_id = :network_id OR network_id IS NULL)
        AND reserved = FALSE AND instance_uuid IS NULL AND host IS NULL AND leased = FALSE
      ORDER BY updated_at, id
      LIMIT :count) AS oldest
JOIN fixed_ips f FORCE INDEX (PRIMARY) ON f.id = oldest.id
WHERE f.deleted = 0 AND (f.network_id = :network_id OR f.network_id IS NULL)
  AND f.reserved = FALSE AND f.instance_uuid IS NULL AND f.host IS NULL AND f.leased = FALSE
FOR UPDATE SKIP LOCKED

-- name: pool_take (mysql, sqlite only)
-- The :count oldest free fixed IPs of the network (or of none yet), locked, skipping those other
-- claimers hold; claim (one) or claim_many (several callers of one shared transaction) sets
-- them (on MySQL for the claims pool_pick left over).  MariaDB sorts NULL first by itself and
-- reads the free rows in this order from ix_fixed_ips_free_updated_at_id, locking only the rows
-- it returns.
SELECT created_at, updated_at, deleted_at, id, address, network_id, allocated, leased, reserved,
       virtual_interface_id, host, instance_uuid, deleted
FROM fixed_ips
WHERE deleted = 0 AND (network_id = :network_id OR network_id IS NULL)
  AND reserved = FALSE AND instance_uuid IS NULL AND host IS NULL AND leased = FALSE
ORDER BY updated_at, id
LIMIT :count
FOR UPDATE SKIP LOCKED

-- name: disassociate_all_by_timeout
-- Release the host's unallocated fixed IPs not updated since :time: those of its instances on
-- multi-host networks and every one of the networks it hosts (instance, network: any state).
UPDATE fixed_ips f
JOIN networks n ON n.id = f.network_id
JOIN instances i ON i.uuid = f.instance_uuid
SET f.instance_uuid = NULL, f.leased = FALSE, f.updated_at = :now
WHERE f.deleted = 0 AND READ_DELETED(f.deleted, int) AND f.allocated = FALSE AND f.updated_at < :time
  AND ((i.host = :host AND n.multi_host = TRUE) OR n.host = :host)

-- name: fixed_ip_bulk_create
-- Insert the fixed IPs of a JSON array of objects (keys: the columns given; booleans default false).
INSERT INTO fixed_ips (address, network_id, allocated, leased, reserved, virtual_interface_id, host, instance_uuid,
                       created_at, updated_at, deleted)
SELECT j.address, j.network_id, COALESCE(j.allocated, FALSE), COALESCE(j.leased, FALSE), COALESCE(j.reserved, FALSE),
       j.virtual_interface_id, j.host, j.instance_uuid, j.created_at, j.updated_at, 0
FROM JSON_TABLE(:ips, '$[*]' COLUMNS (
         ord FOR ORDINALITY,
         address VARCHAR(39) PATH '$.address',
         network_id INTEGER PATH '$.network_id',
         allocated BOOLEAN PATH '$.allocated',
         leased BOOLEAN PATH '$.leased',
         reserved BOOLEAN PATH '$.reserved',
         virtual_interface_id INTEGER PATH '$.virtual_interface_id',
         host VARCHAR(255) PATH '$.host',
         instance_uuid VARCHAR(36) PATH '$.instance_uuid',
         created_at DATETIME(6) PATH '$.created_at',
         updated_at DATETIME(6) PATH '$.updated_at')) AS j
ORDER BY j.ord
