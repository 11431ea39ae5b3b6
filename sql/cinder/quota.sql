-- name: quota_create
-- Set a project's limit for a resource.
INSERT INTO quotas (project_id, resource, hard_limit, created_at, updated_at, deleted)
VALUES (:project_id, :resource, :hard_limit, :now, :now, false)
RETURNING id, project_id, resource, hard_limit, created_at, updated_at, deleted_at, deleted

-- name: quota_get
-- A project's live limit row for a resource.
SELECT id, project_id, resource, hard_limit, created_at, updated_at, deleted_at, deleted
FROM quotas WHERE project_id = :project_id AND resource = :resource AND NOT deleted
ORDER BY id LIMIT 1

-- name: quota_get_all_by_project
-- A project's live limits.
SELECT resource, hard_limit FROM quotas WHERE project_id = :project_id AND NOT deleted ORDER BY id

-- name: quota_update
-- Change a project's limit for a resource.
UPDATE quotas SET hard_limit = :hard_limit, updated_at = :now
WHERE project_id = :project_id AND resource = :resource AND NOT deleted
RETURNING id, project_id, resource, hard_limit, created_at, updated_at, deleted_at, deleted

-- name: quotas_destroy_by_project
-- Soft-delete a project's limits.
UPDATE quotas SET deleted = true, deleted_at = :now WHERE project_id = :project_id AND NOT deleted

-- name: usages_destroy_by_project
-- Soft-delete a project's usage rows (race_preventer NULL, so a new live row may follow).
UPDATE quota_usages SET deleted = true, deleted_at = :now, race_preventer = NULL
WHERE project_id = :project_id AND NOT deleted

-- name: reservations_destroy_by_project
-- Soft-delete a project's live reservations.
UPDATE reservations SET deleted = true, deleted_at = :now WHERE project_id = :project_id AND NOT deleted

-- name: quota_class_create
-- Set a quota class's limit for a resource.
INSERT INTO quota_classes (class_name, resource, hard_limit, created_at, updated_at, deleted)
VALUES (:class_name, :resource, :hard_limit, :now, :now, false)
RETURNING id, class_name, resource, hard_limit, created_at, updated_at, deleted_at, deleted

-- name: quota_class_get
-- A quota class's live row for a resource.
SELECT id, class_name, resource, hard_limit, created_at, updated_at, deleted_at, deleted
FROM quota_classes WHERE class_name = :class_name AND resource = :resource AND NOT deleted
ORDER BY id LIMIT 1

-- name: quota_class_get_all_by_name
-- A quota class's live limits.
SELECT resource, hard_limit FROM quota_classes WHERE class_name = :class_name AND NOT deleted ORDER BY id

-- name: quota_class_update
-- Change a quota class's limit for a resource.
UPDATE quota_classes SET hard_limit = :hard_limit, updated_at = :now
WHERE class_name = :class_name AND resource = :resource AND NOT deleted

-- name: quota_class_destroy_all_by_name
-- Soft-delete a quota class.
UPDATE quota_classes SET deleted = true, deleted_at = :now WHERE class_name = :class_name AND NOT deleted

-- name: limits
-- The limit rows that decide the effective limits of some resources: the project's own,
-- the project's quota class and the 'default' class.
SELECT 'project' AS source, resource, hard_limit FROM quotas
WHERE project_id = :project_id AND resource = ANY(:resources) AND NOT deleted
UNION ALL
SELECT CASE WHEN class_name = 'default' THEN 'default' ELSE 'class' END, resource, hard_limit FROM quota_classes
WHERE (class_name = 'default' OR class_name = :quota_class) AND resource = ANY(:resources) AND NOT deleted

-- name: usage_get
-- A project's live usage row for a resource.
SELECT id, project_id, resource, in_use, reserved, until_refresh, created_at, updated_at, deleted_at, deleted
FROM quota_usages WHERE project_id = :project_id AND resource = :resource AND NOT deleted
ORDER BY id LIMIT 1

-- name: usages_of_project
-- A project's live usage rows.
SELECT resource, in_use, reserved FROM quota_usages WHERE project_id = :project_id AND NOT deleted ORDER BY id

-- name: usage_update
-- Set a usage row's counters (values not given keep theirs).
UPDATE quota_usages
SET in_use = coalesce(:in_use, in_use), reserved = coalesce(:reserved, reserved),
    until_refresh = CASE WHEN :set_until_refresh THEN :until_refresh ELSE until_refresh END, updated_at = :now
WHERE project_id = :project_id AND resource = :resource AND NOT deleted

-- name: usage_create
-- Create a live usage row unless one exists (a concurrent creator wins; the caller relocks).
INSERT INTO quota_usages (project_id, resource, in_use, reserved, until_refresh, created_at, updated_at, deleted,
                          race_preventer)
VALUES (:project_id, :resource, :in_use, 0, :until_refresh, :now, :now, false, true)
ON CONFLICT DO NOTHING

-- name: usage_set
-- Write a usage row's refreshed counter and until_refresh.
UPDATE quota_usages SET in_use = :in_use, until_refresh = :until_refresh, updated_at = :now WHERE id = :id

-- name: reservation_create
-- Insert one reservation.
INSERT INTO reservations (uuid, usage_id, project_id, resource, delta, expire, created_at, updated_at, deleted)
VALUES (:uuid, :usage_id, :project_id, :resource, :delta, :expire, :now, :now, false)
RETURNING id, uuid, usage_id, project_id, resource, delta, expire, created_at, updated_at, deleted_at, deleted

-- name: reservation_get
-- A live reservation by uuid.
SELECT id, uuid, usage_id, project_id, resource, delta, expire, created_at, updated_at, deleted_at, deleted
FROM reservations WHERE uuid = :uuid AND NOT deleted

-- name: reservations_of_project
-- A project's live reservations.
SELECT uuid, resource, delta FROM reservations WHERE project_id = :project_id AND NOT deleted ORDER BY id

-- name: usage_projects
-- The projects that have live usage rows (quota check and sync walk them one by one).
SELECT DISTINCT project_id FROM quota_usages WHERE NOT deleted AND project_id IS NOT NULL
