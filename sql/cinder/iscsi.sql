-- Cinder's iSCSI targets (rawdb.cinder.iscsi): pre-provisioned per host, claimed by volumes.
-- SQLite's text: writers hold the database (BEGIN IMMEDIATE), so a claim is one plain UPDATE.

-- name: count_by_host
-- How many targets a host has, as :read_deleted allows.
SELECT count(*) AS targets FROM iscsi_targets WHERE host = :host AND READ_DELETED(deleted, bool)

-- name: create_safe
-- Insert a target; nothing when the host has this target number already (UNIQUE (target_num, host)).
INSERT INTO iscsi_targets (target_num, host, volume_id, created_at, updated_at, deleted_at, deleted)
VALUES (:target_num, :host, :volume_id, :created_at, :updated_at, :deleted_at, coalesce(:deleted, false))
ON CONFLICT (target_num, host) DO NOTHING
RETURNING id, target_num, host, volume_id, created_at, updated_at, deleted_at, deleted

-- name: read_back
-- A target by id (MySQL's read-back of the row it inserted).
SELECT id, target_num, host, volume_id, created_at, updated_at, deleted_at, deleted
FROM iscsi_targets
WHERE id = :id

-- name: allocate
-- Give a volume the host's free live target with the lowest number and return that number; none
-- when the host has no free target.
UPDATE iscsi_targets
SET volume_id = :volume_id, updated_at = :now
WHERE id = (SELECT id FROM iscsi_targets
            WHERE host = :host AND NOT deleted AND volume_id IS NULL
            ORDER BY target_num, id
            LIMIT 1)
RETURNING target_num

-- name: allocate_many (postgresql, sqlite only)
-- allocate for the volumes of a JSON array in one statement: the host's :count free live
-- targets with the lowest numbers, the k-th lowest to the k-th volume; the targets come back as
-- (id, target_num), whose order is the volumes'.
WITH picked AS (
    SELECT id, row_number() OVER (ORDER BY target_num, id) AS n
    FROM (SELECT id, target_num FROM iscsi_targets
          WHERE host = :host AND NOT deleted AND volume_id IS NULL
          ORDER BY target_num, id
          LIMIT :count)
)
UPDATE iscsi_targets
SET volume_id = v.value, updated_at = :now
FROM picked AS p
JOIN json_each(:volumes) AS v ON v.key = p.n - 1
WHERE iscsi_targets.id = p.id
RETURNING id, target_num

-- name: allocate_pick
-- The host's :count free live targets with the lowest numbers (MySQL's allocation locks them,
-- then allocate_claim or allocate_claim_many takes them).
SELECT id, target_num FROM iscsi_targets
WHERE host = :host AND NOT deleted AND volume_id IS NULL
ORDER BY target_num, id
LIMIT :count

-- name: allocate_claim
-- Give a volume the free target allocate_pick locked.
UPDATE iscsi_targets SET volume_id = :volume_id, updated_at = :now WHERE id = :id

-- name: allocate_read_back
-- The number of a target (MySQL's allocate returns none: it names the row it claimed by
-- LAST_INSERT_ID(), read with :id NULL).
SELECT target_num FROM iscsi_targets WHERE id = :id

-- name: target_num_for_volume
-- The number of the (first) target a volume holds or held, deleted or not.
SELECT target_num FROM iscsi_targets WHERE volume_id = :volume_id ORDER BY id LIMIT 1
