-- MariaDB/MySQL: no UPDATE ... RETURNING, and no UPDATE of a row a subquery of the same table
-- picks: allocate_pick locks a free target (SKIP LOCKED, so concurrent allocations take different
-- rows without waiting for each other), allocate_claim then gives it to the volume; only when
-- every free target is held does allocate wait for them.  No INSERT ... ON CONFLICT DO NOTHING
-- either: create_safe is a plain INSERT in a savepoint whose duplicate-key error is swallowed, and
-- the row is read back by LAST_INSERT_ID().

-- name: create_safe
-- Insert a target (a duplicate (target_num, host) is a DBDuplicateEntry, swallowed by the caller).
INSERT INTO iscsi_targets (target_num, host, volume_id, created_at, updated_at, deleted_at, deleted)
VALUES (:target_num, :host, :volume_id, :created_at, :updated_at, :deleted_at, coalesce(:deleted, false))

-- name: read_back
-- The target this connection inserted last (:id NULL), or one by id.
SELECT id, target_num, host, volume_id, created_at, updated_at, deleted_at, deleted
FROM iscsi_targets
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: allocate_pick
-- Lock the host's :count free live targets with the lowest numbers that no concurrent
-- allocation holds; none when no free target is unheld.  allocate_claim (one) or
-- allocate_claim_many (the volumes of one shared transaction) takes them.
SELECT id, target_num FROM iscsi_targets
WHERE host = :host AND NOT deleted AND volume_id IS NULL
ORDER BY target_num, id
LIMIT :count
FOR UPDATE SKIP LOCKED

-- name: allocate_claim_many (mysql only)
-- Give each volume of a JSON array of {id, volume_id} the target of its id (allocate_pick
-- locked them).
UPDATE iscsi_targets t
JOIN JSON_TABLE(:claims, '$[*]' COLUMNS (
         id INTEGER PATH '$.id',
         volume_id VARCHAR(36) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.volume_id')) c ON t.id = c.id
SET t.volume_id = c.volume_id, t.updated_at = :now

-- name: allocate
-- Give a volume the host's free live target with the lowest number, waiting for the rows
-- concurrent transactions hold (READ COMMITTED: a row another allocation took no longer matches
-- once it commits, and the scan goes on); LAST_INSERT_ID() names the row for allocate_read_back.
-- Run only when allocate_pick found every free row held: an UPDATE cannot skip them.
UPDATE iscsi_targets
SET volume_id = :volume_id, updated_at = :now, id = LAST_INSERT_ID(id)
WHERE host = :host AND NOT deleted AND volume_id IS NULL
ORDER BY target_num, id
LIMIT 1

-- name: allocate_read_back
-- The number of the target allocate claimed (:id NULL: the one LAST_INSERT_ID() names).
SELECT target_num FROM iscsi_targets WHERE id = coalesce(:id, LAST_INSERT_ID())
