-- MySQL 8 has no INSERT ... RETURNING (MariaDB has): security_group_rules.py reads a new provider firewall
-- rule back in the same transaction by LAST_INSERT_ID() (this connection's own).

-- name: provider_fw_rule_create
-- Insert a provider-level firewall rule (applied on every host, to every instance).
INSERT INTO provider_fw_rules (protocol, from_port, to_port, cidr, created_at, updated_at, deleted)
VALUES (:protocol, :from_port, :to_port, :cidr, :created_at, :updated_at, 0)

-- name: provider_fw_rule_read_back
-- A provider firewall rule by :id, or (:id NULL) the one this connection inserted last.
SELECT id, protocol, from_port, to_port, cidr, created_at, updated_at, deleted_at, deleted
FROM provider_fw_rules
WHERE id = coalesce(:id, LAST_INSERT_ID())
