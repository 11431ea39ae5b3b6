-- rawdb's indexes for the instance listing (spec D.1), MariaDB/MySQL.

-- Keyset pages of instance_get_all_by_filters_sort in its default order (created_at, id), which
-- MariaDB reads in index order (it sorts NULL first, as rawdb wants): an admin's pages
-- (deleted = 0) and a project's.  nova's own (deleted, created_at) and (project_id, deleted)
-- cannot serve the order with its ties.  The security group joins use the foreign-key indexes.
CREATE INDEX IF NOT EXISTS ix_instances_deleted_created_at_id ON instances (deleted, created_at, id);
CREATE INDEX IF NOT EXISTS ix_instances_project_id_deleted_created_at_id
    ON instances (project_id, deleted, created_at, id);

-- changes-since listings (nova's periodic tasks, its API's changes-since): instances updated
-- since a time, by project; Newton has no index on updated_at.  nova 34 has this one, by name.
CREATE INDEX IF NOT EXISTS instances_updated_at_project_id_idx ON instances (updated_at, project_id);
