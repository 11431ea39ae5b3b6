-- PostgreSQL: a free target is claimed by one statement that locks it with SKIP LOCKED (concurrent
-- allocations take different rows without waiting for each other) and changes it (allocate_pick
-- and allocate_claim are MySQL's way, unused here).

-- name: allocate
-- Give a volume the host's free live target with the lowest number and return that number.  The
-- first subquery skips the rows concurrent allocations hold; only when it finds no free row does
-- the second run (COALESCE evaluates its subqueries lazily), waiting for the held rows: a row
-- another allocation took no longer matches once it commits, and its scan goes on.  None only
-- when the host has no free target.
UPDATE iscsi_targets
SET volume_id = :volume_id, updated_at = :now
WHERE id = coalesce((SELECT id FROM iscsi_targets
                     WHERE host = :host AND NOT deleted AND volume_id IS NULL
                     ORDER BY target_num, id
                     LIMIT 1
                     FOR UPDATE SKIP LOCKED),
                    (SELECT id FROM iscsi_targets
                     WHERE host = :host AND NOT deleted AND volume_id IS NULL
                     ORDER BY target_num, id
                     LIMIT 1
                     FOR UPDATE))
RETURNING target_num

-- name: allocate_many (postgresql, sqlite only)
-- allocate for the volumes of a JSON array in one statement: the host's :count free live
-- targets with the lowest numbers that no concurrent allocation holds, the k-th lowest to the
-- k-th volume; the targets come back as (id, target_num), whose order is the volumes'.
WITH picked AS (
    SELECT c.id, row_number() OVER (ORDER BY c.target_num, c.id) AS n
    FROM (SELECT id, target_num FROM iscsi_targets
          WHERE host = :host AND NOT deleted AND volume_id IS NULL
          ORDER BY target_num, id
          LIMIT :count
          FOR UPDATE SKIP LOCKED) c
)
UPDATE iscsi_targets t
SET volume_id = v.volume_id, updated_at = :now
FROM picked p
JOIN jsonb_array_elements_text(CAST(:volumes AS jsonb)) WITH ORDINALITY AS v(volume_id, n) ON v.n = p.n
WHERE t.id = p.id
RETURNING t.id, t.target_num
