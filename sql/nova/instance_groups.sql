-- Server groups (nova 14.0.0): instance_groups, their policies (instance_group_policy) and members
-- (instance_group_member, instance_id = an instance uuid).  A group's policies and members are its live
-- children while the group itself is live (Newton's relationships), aggregated per group: here (SQLite) as
-- JSON arrays of [id, value] pairs, which instance_groups.py orders by id.  The unique key
-- (uuid, deleted) admits one live group per uuid.  Writers are serialized on SQLite, so its group
-- "lock" is a plain read.

-- name: group_create
-- Insert a group; the unique key refuses a second live group with the same uuid.
INSERT INTO instance_groups (user_id, project_id, uuid, name, created_at, updated_at, deleted)
VALUES (:user_id, :project_id, :uuid, :name, :created_at, :updated_at, 0)
RETURNING created_at, updated_at, deleted_at, deleted, id, user_id, project_id, uuid, name

-- name: group_read_back
-- A group by id, whatever its state (MySQL's read-back after an insert, :id NULL for the last one).
SELECT created_at, updated_at, deleted_at, deleted, id, user_id, project_id, uuid, name
FROM instance_groups
WHERE id = :id

-- name: group_get
-- A group by uuid with its policies and members, as :read_deleted and PROJECT_ONLY say: the live one
-- before deleted ones.
SELECT g.created_at, g.updated_at, g.deleted_at, g.deleted, g.id, g.user_id, g.project_id, g.uuid, g.name,
       (SELECT json_group_array(json_array(p.id, p.policy)) FROM instance_group_policy p
        WHERE p.group_id = g.id AND p.deleted = 0 AND g.deleted = 0) AS policies,
       (SELECT json_group_array(json_array(m.id, m.instance_id)) FROM instance_group_member m
        WHERE m.group_id = g.id AND m.deleted = 0 AND g.deleted = 0) AS members
FROM instance_groups g
WHERE g.uuid = :group_uuid AND READ_DELETED(g.deleted, int) AND PROJECT_ONLY(g.project_id)
ORDER BY CASE WHEN g.deleted = 0 THEN 0 ELSE 1 END, g.id
LIMIT 1

-- name: group_get_by_instance
-- The group of an instance's (first) membership visible as :read_deleted says, with its policies and
-- members: member_group_id is the membership's group, the other columns NULL when that group is not
-- visible (:read_deleted, PROJECT_ONLY); no row without a membership.
SELECT mm.group_id AS member_group_id,
       g.created_at, g.updated_at, g.deleted_at, g.deleted, g.id, g.user_id, g.project_id, g.uuid, g.name,
       (SELECT json_group_array(json_array(p.id, p.policy)) FROM instance_group_policy p
        WHERE p.group_id = g.id AND p.deleted = 0 AND g.deleted = 0) AS policies,
       (SELECT json_group_array(json_array(m.id, m.instance_id)) FROM instance_group_member m
        WHERE m.group_id = g.id AND m.deleted = 0 AND g.deleted = 0) AS members
FROM (SELECT group_id FROM instance_group_member
      WHERE instance_id = :instance_uuid AND READ_DELETED(deleted, int)
      ORDER BY CASE WHEN deleted = 0 THEN 0 ELSE 1 END, id
      LIMIT 1) AS mm
LEFT JOIN instance_groups g
       ON g.id = mm.group_id AND READ_DELETED(g.deleted, int) AND PROJECT_ONLY(g.project_id)

-- name: groups_get_all
-- Every group visible as :read_deleted and PROJECT_ONLY say (only :project_id's unless :all_projects),
-- with its policies and members, oldest first.
SELECT g.created_at, g.updated_at, g.deleted_at, g.deleted, g.id, g.user_id, g.project_id, g.uuid, g.name,
       (SELECT json_group_array(json_array(p.id, p.policy)) FROM instance_group_policy p
        WHERE p.group_id = g.id AND p.deleted = 0 AND g.deleted = 0) AS policies,
       (SELECT json_group_array(json_array(m.id, m.instance_id)) FROM instance_group_member m
        WHERE m.group_id = g.id AND m.deleted = 0 AND g.deleted = 0) AS members
FROM instance_groups g
WHERE READ_DELETED(g.deleted, int) AND PROJECT_ONLY(g.project_id)
  AND (:all_projects OR g.project_id = :project_id)
ORDER BY g.id

-- name: group_lock
-- The id of the group with this uuid that writers change (its children too), as :read_deleted and
-- PROJECT_ONLY say: the live one before deleted ones.
SELECT id FROM instance_groups
WHERE uuid = :group_uuid AND READ_DELETED(deleted, int) AND PROJECT_ONLY(project_id)
ORDER BY CASE WHEN deleted = 0 THEN 0 ELSE 1 END, id
LIMIT 1

-- name: group_update
-- Change the given columns of a group (a column whose :set_ flag is false keeps its value), set updated_at.
UPDATE instance_groups
SET user_id = CASE WHEN :set_user_id THEN :user_id ELSE user_id END,
    project_id = CASE WHEN :set_project_id THEN :project_id ELSE project_id END,
    name = CASE WHEN :set_name THEN :name ELSE name END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = :group_id

-- name: group_delete
-- Soft-delete a live group (updated_at kept, as nova's bulk soft delete).
UPDATE instance_groups SET SOFT_DELETE(int, bulk) WHERE id = :group_id AND deleted = 0

-- name: policies_delete_all
-- Soft-delete every live policy of a group.
UPDATE instance_group_policy SET SOFT_DELETE(int, bulk) WHERE group_id = :group_id AND deleted = 0

-- name: members_delete_all
-- Soft-delete every live member of a group.
UPDATE instance_group_member SET SOFT_DELETE(int, bulk) WHERE group_id = :group_id AND deleted = 0

-- name: policies_delete_others
-- Soft-delete a group's live policies that are not in :keep.
UPDATE instance_group_policy SET SOFT_DELETE(int, bulk)
WHERE group_id = :group_id AND deleted = 0 AND (policy IS NULL OR policy <> ALL(:keep))

-- name: members_delete_others
-- Soft-delete a group's live members whose instance is not in :keep.
UPDATE instance_group_member SET SOFT_DELETE(int, bulk)
WHERE group_id = :group_id AND deleted = 0 AND (instance_id IS NULL OR instance_id <> ALL(:keep))

-- name: policies_add
-- Add, in order, the policies of the JSON array :items that the group has no live row for.
INSERT INTO instance_group_policy (policy, group_id, created_at, deleted)
SELECT x.value, :group_id, :now, 0
FROM json_each(:items) AS x
WHERE NOT EXISTS (SELECT 1 FROM instance_group_policy p
                  WHERE p.group_id = :group_id AND p.deleted = 0 AND p.policy = x.value)
ORDER BY x.key

-- name: members_add
-- Add, in order, the instances of the JSON array :items that the group has no live member row for.
INSERT INTO instance_group_member (instance_id, group_id, created_at, deleted)
SELECT x.value, :group_id, :now, 0
FROM json_each(:items) AS x
WHERE NOT EXISTS (SELECT 1 FROM instance_group_member m
                  WHERE m.group_id = :group_id AND m.deleted = 0 AND m.instance_id = x.value)
ORDER BY x.key

-- name: member_delete
-- Soft-delete a group's live member rows of one instance.
UPDATE instance_group_member SET SOFT_DELETE(int, bulk)
WHERE group_id = :group_id AND deleted = 0 AND instance_id = :instance_id

-- name: members_get
-- The group with this uuid (as :read_deleted and PROJECT_ONLY say, the live one first) and its member rows
-- visible as :read_deleted says, oldest first: one row with member_id NULL for a group without members.
SELECT g.id AS group_id, m.id AS member_id, m.instance_id
FROM (SELECT id FROM instance_groups
      WHERE uuid = :group_uuid AND READ_DELETED(deleted, int) AND PROJECT_ONLY(project_id)
      ORDER BY CASE WHEN deleted = 0 THEN 0 ELSE 1 END, id
      LIMIT 1) AS g
LEFT JOIN instance_group_member m ON m.group_id = g.id AND READ_DELETED(m.deleted, int)
ORDER BY m.id
