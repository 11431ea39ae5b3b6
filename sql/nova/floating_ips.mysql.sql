-- MariaDB/MySQL: no UPDATE ... RETURNING, no UPDATE of a row a subquery of the same table picks,
-- and no SKIP LOCKED in an UPDATE: allocate_pick locks a free address, skipping the ones
-- concurrent allocations hold, and allocate_claim takes it; allocate (waiting) is the fallback when
-- every free address is held.  JSON arrays are read with JSON_TABLE (string columns in the
-- schema's binary collation); the lookups that decide a write lock what they read.  The free
-- rows are read through nova's (pool, deleted, fixed_ip_id, project_id) index, named: left to
-- itself MariaDB reads the fixed_ip_id index's NULL entries instead, every address of the pool
-- taken but not associated included (30,000 taken: 30,001 rows and 20 ms for a pick of one,
-- against one row and 0.04 ms).

-- name: allocate_pick
-- Lock one free floating IP of the pool (live, no project, no fixed IP), skipping the ones
-- concurrent allocations hold; none when no free one is unheld.  allocate_claim takes it.
SELECT id, address FROM floating_ips FORCE INDEX (floating_ips_pool_deleted_fixed_ip_id_project_id_idx)
WHERE pool = :pool AND deleted = 0 AND fixed_ip_id IS NULL AND project_id IS NULL
LIMIT 1
FOR UPDATE SKIP LOCKED

-- name: allocate_pick_many (mysql only)
-- Lock up to :count free floating IPs of the pool with ids in (:after, :upto], in id order,
-- skipping the ones concurrent allocations hold: allocate_pick for the callers of one shared
-- transaction; allocate_claim_many takes them.  The caller starts past the rows it took last
-- (next fit): the index's entries of the rows taken lately stay behind until InnoDB purges them.
-- The free rows are found by a plain read, then locked by id, skipping those another allocation
-- holds, and checked again (a locking read sees the latest version: those taken since drop out):
-- a locking walk of the index costs more, as it locks its way over those entries.
SELECT f.id, f.address
FROM (SELECT id FROM floating_ips FORCE INDEX (floating_ips_pool_deleted_fixed_ip_id_project_id_idx)
      WHERE pool = :pool AND deleted = 0 AND fixed_ip_id IS NULL AND project_id IS NULL
        AND id > :after AND id <= :upto
      ORDER BY id
      LIMIT :count) AS free
JOIN floating_ips f FORCE INDEX (PRIMARY) ON f.id = free.id
WHERE f.pool = :pool AND f.deleted = 0 AND f.fixed_ip_id IS NULL AND f.project_id IS NULL
ORDER BY f.id
FOR UPDATE SKIP LOCKED

-- name: allocate_claim_many (mysql only)
-- Give each project of a JSON array the floating IP of its id (allocate_pick_many locked them).
UPDATE floating_ips f
JOIN JSON_TABLE(:claims, '$[*]' COLUMNS (
         id INTEGER PATH '$.id',
         project_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.project_id',
         auto_assigned BOOLEAN PATH '$.auto_assigned')) c ON f.id = c.id
SET f.project_id = c.project_id, f.auto_assigned = c.auto_assigned, f.updated_at = :now

-- name: allocate
-- Give a project one free floating IP of the pool, waiting for the rows concurrent transactions
-- hold (READ COMMITTED: a row another allocation took no longer matches once it commits, and
-- the scan goes on); LAST_INSERT_ID() names the row for allocate_read_back.  Run only when
-- allocate_pick found every free row held: an UPDATE cannot skip them.
UPDATE floating_ips FORCE INDEX (floating_ips_pool_deleted_fixed_ip_id_project_id_idx)
SET project_id = :project_id, auto_assigned = :auto_assigned, updated_at = :now, id = LAST_INSERT_ID(id)
WHERE pool = :pool AND deleted = 0 AND fixed_ip_id IS NULL AND project_id IS NULL
LIMIT 1

-- name: allocate_read_back
-- The address of the floating IP allocate claimed (:id NULL: the one LAST_INSERT_ID() names).
SELECT address FROM floating_ips WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: bulk_create
-- Insert the floating IPs of a JSON array of objects (one per row, in order: ids follow it); the
-- unique key refuses the whole statement when one address has a live row already.
INSERT INTO floating_ips (address, fixed_ip_id, project_id, host, auto_assigned, pool, interface, created_at,
                          updated_at, deleted)
SELECT x.address, x.fixed_ip_id, x.project_id, x.host, x.auto_assigned, x.pool, x.iface, x.created_at,
       x.updated_at, 0
FROM JSON_TABLE(:ips, '$[*]' COLUMNS (
         n FOR ORDINALITY,
         address VARCHAR(39) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.address',
         fixed_ip_id INTEGER PATH '$.fixed_ip_id',
         project_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.project_id',
         host VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.host',
         auto_assigned BOOLEAN PATH '$.auto_assigned',
         pool VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.pool',
         iface VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.interface',
         created_at DATETIME(6) PATH '$.created_at',
         updated_at DATETIME(6) PATH '$.updated_at')) AS x
ORDER BY x.n

-- name: bulk_destroy_lock
-- Lock the live floating IPs with one of some addresses (their projects and auto_assigned say
-- whose quota usage their deletion gives back); a concurrent destroyer waits, then sees them deleted.
SELECT project_id, auto_assigned FROM floating_ips
WHERE address = ANY(:addresses) AND deleted = 0
ORDER BY id
FOR UPDATE

-- name: lock_by_address
-- Lock the (first) floating IP with an address (as :read_deleted says): what associating and
-- disassociating it check stays true until the transaction ends.
SELECT id, project_id, fixed_ip_id, host FROM floating_ips
WHERE address = :address AND READ_DELETED(deleted, int)
ORDER BY id
LIMIT 1
FOR UPDATE
