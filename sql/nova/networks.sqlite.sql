-- SQLite has no SELECT ... FOR UPDATE: a writer's BEGIN IMMEDIATE already keeps every other writer out until it
-- ends, so concurrent network_associate calls run one after the other.

-- name: networks_lock_free
-- The live networks without a project, in id order (the writer's BEGIN IMMEDIATE is the lock).
SELECT id FROM networks
WHERE deleted = 0 AND project_id IS NULL
ORDER BY id
