-- PostgreSQL: a free address is claimed by one statement that locks it with SKIP LOCKED
-- (concurrent allocations take different rows without waiting for each other) and changes it;
-- allocate_pick and allocate_claim are MySQL's way, unused here.  JSON arrays are read with
-- jsonb_array_elements; the lookups that decide a write lock what they read.

-- name: allocate
-- Give a project one free floating IP of the pool (live, no project, no fixed IP) and return its
-- address.  The first subquery skips the rows concurrent allocations hold; only when it finds no
-- free row does the second run (COALESCE evaluates its subqueries lazily), waiting for the held
-- rows: a row another allocation took no longer matches once it commits, and its scan goes on.
-- None only when the pool has no free row.
UPDATE floating_ips
SET project_id = :project_id, auto_assigned = :auto_assigned, updated_at = :now
WHERE id = coalesce((SELECT id FROM floating_ips
                     WHERE pool = :pool AND deleted = 0 AND fixed_ip_id IS NULL AND project_id IS NULL
                     LIMIT 1
                     FOR UPDATE SKIP LOCKED),
                    (SELECT id FROM floating_ips
                     WHERE pool = :pool AND deleted = 0 AND fixed_ip_id IS NULL AND project_id IS NULL
                     LIMIT 1
                     FOR UPDATE))
RETURNING address

-- name: allocate_many (postgresql, sqlite only)
-- allocate for the claims of a JSON array in one statement: :count free floating IPs of the pool
-- that no concurrent allocation holds, the one with the k-th smallest id given to the k-th
-- claim's project; the rows come back as (id, address).
WITH picked AS (
    SELECT c.id, row_number() OVER (ORDER BY c.id) AS n
    FROM (SELECT id FROM floating_ips
          WHERE pool = :pool AND deleted = 0 AND fixed_ip_id IS NULL AND project_id IS NULL
          LIMIT :count
          FOR UPDATE SKIP LOCKED) c
)
UPDATE floating_ips f
SET project_id = j.claim ->> 'project_id', auto_assigned = CAST(j.claim ->> 'auto_assigned' AS boolean),
    updated_at = :now
FROM picked p
JOIN jsonb_array_elements(CAST(:claims AS jsonb)) WITH ORDINALITY AS j(claim, n) ON j.n = p.n
WHERE f.id = p.id
RETURNING f.id, f.address

-- name: bulk_create
-- Insert the floating IPs of a JSON array of objects (one per row, in order: ids follow it); the
-- unique key refuses the whole statement when one address has a live row already.
INSERT INTO floating_ips (address, fixed_ip_id, project_id, host, auto_assigned, pool, interface, created_at,
                          updated_at, deleted)
SELECT CAST(x.item ->> 'address' AS inet), CAST(x.item ->> 'fixed_ip_id' AS integer), x.item ->> 'project_id',
       x.item ->> 'host', CAST(x.item ->> 'auto_assigned' AS boolean), x.item ->> 'pool', x.item ->> 'interface',
       CAST(x.item ->> 'created_at' AS timestamp), CAST(x.item ->> 'updated_at' AS timestamp), 0
FROM jsonb_array_elements(CAST(:ips AS jsonb)) WITH ORDINALITY AS x(item, n)
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
