-- cinder 2012.2's quota DB functions that the shared engine (sql/cinder/quota*.sql) has no use for:
-- one-row soft deletes and quota_usage_create.  A soft delete here is a model delete (spec A.5): deleted
-- true, deleted_at and updated_at now; a usage row's race_preventer becomes NULL, so a new live row may follow.

-- name: quota_destroy
-- Soft-delete a project's live limit for a resource (the live unique index admits one).
UPDATE quotas SET deleted = true, deleted_at = :now, updated_at = :now
WHERE project_id = :project_id AND resource = :resource AND NOT deleted

-- name: quota_class_destroy
-- Soft-delete a quota class's live limits for a resource.
UPDATE quota_classes SET deleted = true, deleted_at = :now, updated_at = :now
WHERE class_name = :class_name AND resource = :resource AND NOT deleted

-- name: quota_usage_create
-- Insert a project's live usage row for a resource; the race_preventer key refuses a second live one.
INSERT INTO quota_usages (project_id, resource, in_use, reserved, until_refresh, created_at, updated_at, deleted,
                          race_preventer)
VALUES (:project_id, :resource, :in_use, :reserved, :until_refresh, :now, :now, false, true)
RETURNING id, project_id, resource, in_use, reserved, until_refresh, created_at, updated_at, deleted_at, deleted

-- name: quota_usage_read_back
-- A usage row by id (read back after an insert on MySQL, there with :id NULL for the last insert).
SELECT id, project_id, resource, in_use, reserved, until_refresh, created_at, updated_at, deleted_at, deleted
FROM quota_usages WHERE id = :id

-- name: quota_usage_destroy
-- Soft-delete a project's live usage row for a resource (race_preventer NULL).
UPDATE quota_usages SET deleted = true, deleted_at = :now, updated_at = :now, race_preventer = NULL
WHERE project_id = :project_id AND resource = :resource AND NOT deleted

-- name: reservation_destroy
-- Soft-delete a live reservation (its usage row's reserved is left as it is, as upstream).
UPDATE reservations SET deleted = true, deleted_at = :now, updated_at = :now
WHERE uuid = :uuid AND deleted = false
