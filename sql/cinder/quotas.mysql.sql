-- MySQL has no INSERT ... RETURNING (MariaDB has; MySQL 8 has not): the row is read back in the
-- same transaction by LAST_INSERT_ID() (this connection's own).

-- name: quota_usage_create
-- Insert a project's live usage row for a resource; the race_preventer key refuses a second live one.
INSERT INTO quota_usages (project_id, resource, in_use, reserved, until_refresh, created_at, updated_at, deleted,
                          race_preventer)
VALUES (:project_id, :resource, :in_use, :reserved, :until_refresh, :now, :now, false, true)

-- name: quota_usage_read_back
-- A usage row by :id, or (:id NULL) the one this connection inserted last.
SELECT id, project_id, resource, in_use, reserved, until_refresh, created_at, updated_at, deleted_at, deleted
FROM quota_usages WHERE id = coalesce(:id, LAST_INSERT_ID())
