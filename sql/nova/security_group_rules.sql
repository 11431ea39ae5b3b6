-- name: rule_get
-- A security group rule by id, live or deleted as :read_deleted says.
SELECT id, parent_group_id, protocol, from_port, to_port, cidr, group_id, created_at, updated_at, deleted_at, deleted
FROM security_group_rules
WHERE id = :rule_id AND READ_DELETED(deleted, int)

-- name: rules_by_group
-- The rules of a security group (its parent group), as :read_deleted says.
SELECT id, parent_group_id, protocol, from_port, to_port, cidr, group_id, created_at, updated_at, deleted_at, deleted
FROM security_group_rules
WHERE parent_group_id = :security_group_id AND READ_DELETED(deleted, int)
ORDER BY id

-- name: rules_by_grantee
-- The rules that grant a security group access, as :read_deleted says.
SELECT id, parent_group_id, protocol, from_port, to_port, cidr, group_id, created_at, updated_at, deleted_at, deleted
FROM security_group_rules
WHERE group_id = :security_group_id AND READ_DELETED(deleted, int)
ORDER BY id

-- name: rules_by_instance
-- The live rules of the live groups a live instance belongs to through a live association.
SELECT r.id, r.parent_group_id, r.protocol, r.from_port, r.to_port, r.cidr, r.group_id, r.created_at, r.updated_at,
       r.deleted_at, r.deleted
FROM security_group_rules r
WHERE r.deleted = 0
  AND EXISTS (SELECT 1 FROM security_groups g
              JOIN security_group_instance_association a ON a.security_group_id = g.id AND a.deleted = 0
              JOIN instances i ON i.uuid = a.instance_uuid AND i.deleted = 0
              WHERE g.id = r.parent_group_id AND g.deleted = 0 AND a.instance_uuid = :instance_uuid)
ORDER BY r.id

-- name: rule_create
-- Insert a security group rule.
INSERT INTO security_group_rules (parent_group_id, protocol, from_port, to_port, cidr, group_id, created_at,
                                  updated_at, deleted)
VALUES (:parent_group_id, :protocol, :from_port, :to_port, :cidr, :group_id, :created_at, :updated_at, 0)
RETURNING id, parent_group_id, protocol, from_port, to_port, cidr, group_id, created_at, updated_at, deleted_at,
          deleted

-- name: rule_destroy
-- Soft-delete a live security group rule (updated_at kept, as nova's bulk soft delete).
UPDATE security_group_rules SET SOFT_DELETE(int, bulk) WHERE id = :rule_id AND deleted = 0

-- name: rule_count_by_group
-- The number of live rules of a security group.
SELECT count(*) AS n FROM security_group_rules WHERE parent_group_id = :security_group_id AND deleted = 0

-- name: default_rule_get
-- A default rule by id, live or deleted as :read_deleted says.
SELECT id, protocol, from_port, to_port, cidr, created_at, updated_at, deleted_at, deleted
FROM security_group_default_rules
WHERE id = :rule_id AND READ_DELETED(deleted, int)

-- name: default_rule_list
-- Every default rule, live or deleted as :read_deleted says.
SELECT id, protocol, from_port, to_port, cidr, created_at, updated_at, deleted_at, deleted
FROM security_group_default_rules
WHERE READ_DELETED(deleted, int)
ORDER BY id

-- name: default_rule_create
-- Insert a default rule (copied into every new default group).
INSERT INTO security_group_default_rules (protocol, from_port, to_port, cidr, created_at, updated_at, deleted)
VALUES (:protocol, :from_port, :to_port, :cidr, :created_at, :updated_at, 0)
RETURNING id, protocol, from_port, to_port, cidr, created_at, updated_at, deleted_at, deleted

-- name: default_rule_destroy
-- Soft-delete a live default rule (updated_at kept).
UPDATE security_group_default_rules SET SOFT_DELETE(int, bulk) WHERE id = :rule_id AND deleted = 0

-- name: provider_fw_rule_create
-- Insert a provider-level firewall rule (applied on every host, to every instance).
INSERT INTO provider_fw_rules (protocol, from_port, to_port, cidr, created_at, updated_at, deleted)
VALUES (:protocol, :from_port, :to_port, :cidr, :created_at, :updated_at, 0)
RETURNING id, protocol, from_port, to_port, cidr, created_at, updated_at, deleted_at, deleted

-- name: provider_fw_rule_read_back
-- A provider firewall rule by id (MySQL's read-back after an insert: the other backends have RETURNING).
SELECT id, protocol, from_port, to_port, cidr, created_at, updated_at, deleted_at, deleted
FROM provider_fw_rules
WHERE id = :id

-- name: provider_fw_rule_get_all
-- Every provider firewall rule, live or deleted as :read_deleted says, in insertion order.
SELECT id, protocol, from_port, to_port, cidr, created_at, updated_at, deleted_at, deleted
FROM provider_fw_rules
WHERE READ_DELETED(deleted, int)
ORDER BY id

-- name: provider_fw_rule_destroy
-- Soft-delete a live provider firewall rule (updated_at kept, as nova's bulk soft delete).
UPDATE provider_fw_rules SET SOFT_DELETE(int, bulk) WHERE id = :rule_id AND deleted = 0
