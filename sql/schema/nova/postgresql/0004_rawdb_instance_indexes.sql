-- rawdb's indexes for the instance listing and the security group joins (spec D.1), PostgreSQL.

-- Keyset pages of instance_get_all_by_filters_sort in its default order (created_at, id), where
-- rawdb sorts COALESCE(created_at, <year 1>) so that NULL is the smallest value and one row
-- comparison starts a page: an admin's pages (deleted = 0) and a project's.  nova's own
-- (deleted, created_at) and (project_id, deleted) cannot serve the order with its ties.
CREATE INDEX IF NOT EXISTS ix_instances_deleted_created_at_id
    ON instances (deleted, (COALESCE(created_at, TIMESTAMP '0001-01-02 00:00:00')), id);
CREATE INDEX IF NOT EXISTS ix_instances_project_id_deleted_created_at_id
    ON instances (project_id, deleted, (COALESCE(created_at, TIMESTAMP '0001-01-02 00:00:00')), id);

-- An instance's security groups carry their rules (every instance read joins them), a group's
-- grantee rules and its members are looked up by group: MariaDB has these as foreign-key
-- indexes, PostgreSQL and SQLite do not index foreign keys by themselves.
CREATE INDEX IF NOT EXISTS ix_security_group_rules_parent_group_id ON security_group_rules (parent_group_id);
CREATE INDEX IF NOT EXISTS ix_security_group_rules_group_id ON security_group_rules (group_id);
CREATE INDEX IF NOT EXISTS ix_security_group_instance_association_security_group_id
    ON security_group_instance_association (security_group_id);

-- changes-since listings (nova's periodic tasks, its API's changes-since): instances updated
-- since a time, by project; Newton has no index on updated_at.  nova 34 has this one, by name.
CREATE INDEX IF NOT EXISTS instances_updated_at_project_id_idx ON instances (updated_at, project_id);
