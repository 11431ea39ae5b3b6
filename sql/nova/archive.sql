-- name: deleted_instances_upto
-- The id that ends the next chunk of deleted instances after :after (:n of them), or NULL when none is left.
SELECT max(id) AS upto FROM (
    SELECT id FROM instances WHERE deleted <> 0 AND id > :after ORDER BY id LIMIT :n) chunk

-- name: prestep_instance_actions
-- Soft-delete the live actions of the instances deleted in the chunk (:after, :upto], as deleted when their instance was.
UPDATE instance_actions
SET deleted = instance_actions.id, deleted_at = COALESCE(i.deleted_at, :now)
FROM instances i
WHERE i.uuid = instance_actions.instance_uuid AND i.id > :after AND i.id <= :upto AND i.deleted <> 0
  AND instance_actions.deleted = 0

-- name: prestep_migrations
-- Soft-delete the live migrations of the instances deleted in the chunk (:after, :upto], as deleted when their instance was.
UPDATE migrations
SET deleted = migrations.id, deleted_at = COALESCE(i.deleted_at, :now)
FROM instances i
WHERE i.uuid = migrations.instance_uuid AND i.id > :after AND i.id <= :upto AND i.deleted <> 0
  AND migrations.deleted = 0

-- name: prestep_instance_actions_events
-- Soft-delete the live events of the actions of the instances deleted in the chunk (:after, :upto], as deleted when their instance was.
UPDATE instance_actions_events
SET deleted = instance_actions_events.id, deleted_at = COALESCE(i.deleted_at, :now)
FROM instance_actions a JOIN instances i ON i.uuid = a.instance_uuid
WHERE a.id = instance_actions_events.action_id AND i.id > :after AND i.id <= :upto AND i.deleted <> 0
  AND instance_actions_events.deleted = 0
