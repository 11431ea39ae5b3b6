-- SQLite: one writer at a time (BEGIN IMMEDIATE), so an allocation needs no row lock.

-- name: allocate_many (postgresql, sqlite only)
-- allocate for the claims of a JSON array in one statement: :count free floating IPs of the pool,
-- the one with the k-th smallest id given to the k-th claim's project; the rows come back as
-- (id, address).
WITH picked AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n
    FROM (SELECT id FROM floating_ips
          WHERE pool = :pool AND deleted = 0 AND fixed_ip_id IS NULL AND project_id IS NULL
          ORDER BY id
          LIMIT :count)
)
UPDATE floating_ips
SET project_id = json_extract(j.value, '$.project_id'),
    auto_assigned = json_extract(j.value, '$.auto_assigned'),
    updated_at = :now
FROM picked AS p
JOIN json_each(:claims) AS j ON j.key = p.n - 1
WHERE floating_ips.id = p.id
RETURNING id, address
