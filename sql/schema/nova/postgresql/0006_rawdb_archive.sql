-- rawdb's schema for archive_deleted_rows (spec D.8), PostgreSQL.

-- A batch moves instances with INSERT INTO shadow_instances SELECT * FROM the deleted rows:
-- locked_by is of type instances0locked_by there and shadow_instances0locked_by in the shadow
-- table (216_havana made two enum types with the same labels), and PostgreSQL has no cast
-- between two enum types.  This one goes through the label, when a row is assigned.
DO $$
BEGIN
    CREATE CAST (instances0locked_by AS shadow_instances0locked_by) WITH INOUT AS ASSIGNMENT;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

-- The child columns of foreign keys that nova left without an index.  Archiving a parent
-- looks for rows still referring to it (NOT EXISTS), and deleting it makes PostgreSQL check
-- the foreign key: without these both read the whole child table for every parent row
-- (instance_actions_events for every action).  MariaDB indexes a foreign key by itself.
CREATE INDEX IF NOT EXISTS ix_instance_actions_events_action_id ON instance_actions_events (action_id);
CREATE INDEX IF NOT EXISTS ix_migrations_instance_uuid ON migrations (instance_uuid);
CREATE INDEX IF NOT EXISTS ix_consoles_pool_id ON consoles (pool_id);
CREATE INDEX IF NOT EXISTS ix_reservations_usage_id ON reservations (usage_id);
CREATE INDEX IF NOT EXISTS ix_aggregate_hosts_aggregate_id ON aggregate_hosts (aggregate_id);
CREATE INDEX IF NOT EXISTS ix_instance_group_member_group_id ON instance_group_member (group_id);
CREATE INDEX IF NOT EXISTS ix_instance_group_policy_group_id ON instance_group_policy (group_id);
