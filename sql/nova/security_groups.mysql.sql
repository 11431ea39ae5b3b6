-- name: default_group_create
-- Create the project's 'default' group.  MariaDB has no ON CONFLICT DO NOTHING, and INSERT IGNORE
-- would make every loser of the race log a warning (asked for with SHOW WARNINGS): here a
-- concurrent creator's live row (committed, or committed while this waits for it) is a duplicate
-- entry, which security_groups.py rolls back to a savepoint.
INSERT INTO security_groups (name, description, user_id, project_id, created_at, deleted)
VALUES ('default', 'default', :user_id, :project_id, :now, 0)
RETURNING id, name, description, user_id, project_id, created_at, updated_at, deleted_at, deleted

-- name: default_usage_bump
-- Count the new default group in the user's live security_groups usage row, creating the row
-- (in_use 1) if it has none; uq_quota_usages_live (project_id, live_user_id, resource) makes a
-- concurrent creator's row the one bumped.
INSERT INTO quota_usages (project_id, user_id, resource, in_use, reserved, until_refresh, created_at, updated_at,
                          deleted)
VALUES (:project_id, :user_id, 'security_groups', 1, 0, NULL, :now, :now, 0)
ON DUPLICATE KEY UPDATE in_use = in_use + 1, updated_at = :now
