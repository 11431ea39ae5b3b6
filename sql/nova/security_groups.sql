-- name: group_get_all
-- Every security group, live or deleted as :read_deleted says.
SELECT id, name, description, user_id, project_id, created_at, updated_at, deleted_at, deleted
FROM security_groups
WHERE READ_DELETED(deleted, int)
ORDER BY id

-- name: group_get
-- A security group by id, as :read_deleted says, restricted to the caller's project for user contexts.
SELECT id, name, description, user_id, project_id, created_at, updated_at, deleted_at, deleted
FROM security_groups
WHERE id = :security_group_id AND READ_DELETED(deleted, int) AND PROJECT_ONLY(project_id)

-- name: group_get_by_name
-- A project's live security group by name (the unique key admits one).
SELECT id, name, description, user_id, project_id, created_at, updated_at, deleted_at, deleted
FROM security_groups
WHERE project_id = :project_id AND name = :name AND deleted = 0
ORDER BY id LIMIT 1

-- name: groups_get_by_project
-- A project's live security groups.
SELECT id, name, description, user_id, project_id, created_at, updated_at, deleted_at, deleted
FROM security_groups
WHERE project_id = :project_id AND deleted = 0
ORDER BY id

-- name: groups_get_by_instance
-- The live security groups a live instance belongs to through a live association.
SELECT g.id, g.name, g.description, g.user_id, g.project_id, g.created_at, g.updated_at, g.deleted_at, g.deleted
FROM security_groups g
WHERE g.deleted = 0
  AND EXISTS (SELECT 1 FROM security_group_instance_association a
              JOIN instances i ON i.uuid = a.instance_uuid AND i.deleted = 0
              WHERE a.security_group_id = g.id AND a.deleted = 0 AND a.instance_uuid = :instance_uuid)
ORDER BY g.id

-- name: group_read_back
-- A security group by id, whatever its state (read back after an update).
SELECT id, name, description, user_id, project_id, created_at, updated_at, deleted_at, deleted
FROM security_groups
WHERE id = :security_group_id

-- name: group_in_use
-- One row if a live association ties the group to a live instance.
SELECT 1 AS in_use
FROM security_group_instance_association a
JOIN instances i ON i.uuid = a.instance_uuid AND i.deleted = 0
WHERE a.security_group_id = :group_id AND a.deleted = 0
LIMIT 1

-- name: group_count_by_project
-- The number of a project's live security groups.
SELECT count(*) AS n FROM security_groups WHERE project_id = :project_id AND deleted = 0

-- name: group_create
-- Insert a security group; the unique key (project_id, name, deleted) refuses a second live name.
INSERT INTO security_groups (name, description, user_id, project_id, created_at, updated_at, deleted)
VALUES (:name, :description, :user_id, :project_id, :created_at, :updated_at, 0)
RETURNING id, name, description, user_id, project_id, created_at, updated_at, deleted_at, deleted

-- name: group_update
-- Change the given columns of a security group visible as :read_deleted says.
UPDATE security_groups
SET name = CASE WHEN :set_name THEN :name ELSE name END,
    description = CASE WHEN :set_description THEN :description ELSE description END,
    user_id = CASE WHEN :set_user_id THEN :user_id ELSE user_id END,
    project_id = CASE WHEN :set_project_id THEN :project_id ELSE project_id END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = :security_group_id AND READ_DELETED(deleted, int)

-- name: group_destroy
-- Soft-delete a live security group (updated_at kept, as nova's bulk soft delete).
UPDATE security_groups SET SOFT_DELETE(int, bulk) WHERE id = :security_group_id AND deleted = 0

-- name: group_destroy_associations
-- Soft-delete a security group's live instance associations.
UPDATE security_group_instance_association SET SOFT_DELETE(int, bulk)
WHERE security_group_id = :security_group_id AND deleted = 0

-- name: group_destroy_rules
-- Soft-delete the live rules of a security group and the live rules that grant it access.
UPDATE security_group_rules SET SOFT_DELETE(int, bulk)
WHERE (parent_group_id = :security_group_id OR group_id = :security_group_id) AND deleted = 0

-- name: default_group_create
-- Create the project's 'default' group unless a live one exists: a concurrent creator's row
-- (committed, or committed while this waits for it) makes this insert nothing and return no row.
INSERT INTO security_groups (name, description, user_id, project_id, created_at, deleted)
VALUES ('default', 'default', :user_id, :project_id, :now, 0)
ON CONFLICT (project_id, name, deleted) DO NOTHING
RETURNING id, name, description, user_id, project_id, created_at, updated_at, deleted_at, deleted

-- name: default_usage_bump
-- Count the new default group in the user's live security_groups usage row, creating the row
-- (in_use 1) if it has none; uq_quota_usages_live makes a concurrent creator's row the one bumped.
INSERT INTO quota_usages (project_id, user_id, resource, in_use, reserved, until_refresh, created_at, updated_at,
                          deleted)
VALUES (:project_id, :user_id, 'security_groups', 1, 0, NULL, :now, :now, 0)
ON CONFLICT (project_id, coalesce(user_id, ''), resource) WHERE deleted = 0
DO UPDATE SET in_use = quota_usages.in_use + 1, updated_at = :now

-- name: default_rules_copy
-- Copy the live default rules into a new default group, in their order.
INSERT INTO security_group_rules (parent_group_id, protocol, from_port, to_port, cidr, created_at, deleted)
SELECT :group_id, protocol, from_port, to_port, cidr, :now, 0
FROM security_group_default_rules
WHERE deleted = 0
ORDER BY id
