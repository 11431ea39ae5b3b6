-- name: prestep_instance_actions
-- Soft-delete the live actions of the instances deleted in the chunk (:after, :upto], as deleted when their instance was.
UPDATE instance_actions a JOIN instances i ON i.uuid = a.instance_uuid
SET a.deleted = a.id, a.deleted_at = COALESCE(i.deleted_at, :now)
WHERE i.id > :after AND i.id <= :upto AND i.deleted <> 0 AND a.deleted = 0

-- name: prestep_migrations
-- Soft-delete the live migrations of the instances deleted in the chunk (:after, :upto], as deleted when their instance was.
UPDATE migrations m JOIN instances i ON i.uuid = m.instance_uuid
SET m.deleted = m.id, m.deleted_at = COALESCE(i.deleted_at, :now)
WHERE i.id > :after AND i.id <= :upto AND i.deleted <> 0 AND m.deleted = 0

-- name: prestep_instance_actions_events
-- Soft-delete the live events of the actions of the instances deleted in the chunk (:after, :upto], as deleted when their instance was.
UPDATE instance_actions_events e
JOIN instance_actions a ON a.id = e.action_id
JOIN instances i ON i.uuid = a.instance_uuid
SET e.deleted = e.id, e.deleted_at = COALESCE(i.deleted_at, :now)
WHERE i.id > :after AND i.id <= :upto AND i.deleted <> 0 AND e.deleted = 0
