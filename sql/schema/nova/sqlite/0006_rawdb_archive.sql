-- rawdb's schema for archive_deleted_rows (spec D.8), SQLite.

-- The child columns of foreign keys that nova left without an index.  Archiving a parent
-- looks for rows still referring to it (NOT EXISTS), and deleting it makes SQLite check the
-- foreign key: without these both read the whole child table for every parent row
-- (instance_actions_events for every action).
CREATE INDEX IF NOT EXISTS ix_instance_actions_events_action_id ON instance_actions_events (action_id);
CREATE INDEX IF NOT EXISTS ix_migrations_instance_uuid ON migrations (instance_uuid);
CREATE INDEX IF NOT EXISTS ix_consoles_pool_id ON consoles (pool_id);
CREATE INDEX IF NOT EXISTS ix_reservations_usage_id ON reservations (usage_id);
CREATE INDEX IF NOT EXISTS ix_aggregate_hosts_aggregate_id ON aggregate_hosts (aggregate_id);
CREATE INDEX IF NOT EXISTS ix_instance_group_member_group_id ON instance_group_member (group_id);
CREATE INDEX IF NOT EXISTS ix_instance_group_policy_group_id ON instance_group_policy (group_id);
