-- SQLite: one writer at a time (BEGIN IMMEDIATE), so an allocation needs no row lock.  The
-- allocations of one shared transaction pick their rows in one statement and take them in another.

-- name: allocate_pick_many (mysql, sqlite only)
-- Up to :count free floating IPs of the pool (live, no project, no fixed IP) with ids in
-- (:after, :upto], in id order.
SELECT id, address FROM floating_ips
WHERE pool = :pool AND deleted = 0 AND fixed_ip_id IS NULL AND project_id IS NULL AND id > :after AND id <= :upto
ORDER BY id
LIMIT :count

-- name: allocate_claim_many (mysql, sqlite only)
-- Give each project of a JSON array the floating IP of its id (allocate_pick_many found them).
UPDATE floating_ips
SET project_id = json_extract(c.value, '$.project_id'),
    auto_assigned = json_extract(c.value, '$.auto_assigned'),
    updated_at = :now
FROM json_each(:claims) AS c
WHERE floating_ips.id = json_extract(c.value, '$.id')
