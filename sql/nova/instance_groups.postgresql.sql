-- PostgreSQL: a group's policies and members come as text arrays in id order; writers lock the group
-- row FOR NO KEY UPDATE (new children's foreign key checks take only KEY SHARE); lists of new children
-- come as JSON arrays read with jsonb functions.

-- name: group_get
-- A group by uuid with its policies and members, as :read_deleted and PROJECT_ONLY say: the live one
-- before deleted ones.
SELECT g.created_at, g.updated_at, g.deleted_at, g.deleted, g.id, g.user_id, g.project_id, g.uuid, g.name,
       (SELECT array_agg(p.policy ORDER BY p.id) FROM instance_group_policy p
        WHERE p.group_id = g.id AND p.deleted = 0 AND g.deleted = 0) AS policies,
       (SELECT array_agg(m.instance_id ORDER BY m.id) FROM instance_group_member m
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
       (SELECT array_agg(p.policy ORDER BY p.id) FROM instance_group_policy p
        WHERE p.group_id = g.id AND p.deleted = 0 AND g.deleted = 0) AS policies,
       (SELECT array_agg(m.instance_id ORDER BY m.id) FROM instance_group_member m
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
       (SELECT array_agg(p.policy ORDER BY p.id) FROM instance_group_policy p
        WHERE p.group_id = g.id AND p.deleted = 0 AND g.deleted = 0) AS policies,
       (SELECT array_agg(m.instance_id ORDER BY m.id) FROM instance_group_member m
        WHERE m.group_id = g.id AND m.deleted = 0 AND g.deleted = 0) AS members
FROM instance_groups g
WHERE READ_DELETED(g.deleted, int) AND PROJECT_ONLY(g.project_id)
  AND (:all_projects OR g.project_id = :project_id)
ORDER BY g.id

-- name: group_lock
-- Lock the group with this uuid that writers change (its children too), as :read_deleted and
-- PROJECT_ONLY say: the live one before deleted ones.
SELECT id FROM instance_groups
WHERE uuid = :group_uuid AND READ_DELETED(deleted, int) AND PROJECT_ONLY(project_id)
ORDER BY CASE WHEN deleted = 0 THEN 0 ELSE 1 END, id
LIMIT 1
FOR NO KEY UPDATE

-- name: policies_add
-- Add, in order, the policies of the JSON array :items that the group has no live row for.
INSERT INTO instance_group_policy (policy, group_id, created_at, deleted)
SELECT x.value, :group_id, :now, 0
FROM jsonb_array_elements_text(CAST(:items AS jsonb)) WITH ORDINALITY AS x(value, n)
WHERE NOT EXISTS (SELECT 1 FROM instance_group_policy p
                  WHERE p.group_id = :group_id AND p.deleted = 0 AND p.policy = x.value)
ORDER BY x.n

-- name: members_add
-- Add, in order, the instances of the JSON array :items that the group has no live member row for.
INSERT INTO instance_group_member (instance_id, group_id, created_at, deleted)
SELECT x.value, :group_id, :now, 0
FROM jsonb_array_elements_text(CAST(:items AS jsonb)) WITH ORDINALITY AS x(value, n)
WHERE NOT EXISTS (SELECT 1 FROM instance_group_member m
                  WHERE m.group_id = :group_id AND m.deleted = 0 AND m.instance_id = x.value)
ORDER BY x.n
