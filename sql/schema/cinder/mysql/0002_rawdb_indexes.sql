-- rawdb's additions to cinder's schema, for MariaDB/MySQL: indexes for the quota engine's
-- statements that cinder HEAD's indexes do not serve.  This replaces ../0002_rawdb_indexes.sql
-- on this dialect, which has no partial (`WHERE NOT deleted`) indexes (spec mariadb.md 2.13);
-- the index names are the same.  The two listing indexes cover every row, with deleted as
-- their last column: MariaDB turns `NOT deleted` into `deleted = 0` and checks it inside the
-- index, so deleted rows cost index entries but are never read.

-- SELECT count(*), sum(size) FROM volumes WHERE project_id = $1 AND NOT deleted
--     [AND volume_type_id = $2]                        (usage sync of volumes / gigabytes)
-- Folsom's volumes table has no index at all: every sync would scan every volume ever made.
CREATE INDEX IF NOT EXISTS ix_volumes_project_id_volume_type_id_live
    ON volumes (project_id, volume_type_id, deleted);

-- SELECT count(*), sum(volume_size) FROM snapshots WHERE project_id = $1 AND NOT deleted
--                                                      (usage sync of snapshots / gigabytes)
CREATE INDEX IF NOT EXISTS ix_snapshots_project_id_live
    ON snapshots (project_id, deleted);

-- SELECT ... FROM reservations WHERE uuid = ANY($1) AND deleted = false   (commit, rollback)
-- SELECT ... FROM reservations WHERE deleted = false AND expire < $1      (reservation_expire)
-- Served by HEAD's (deleted, uuid) and (deleted, expire).  No more indexes on reservations:
-- every reservation inserted pays for each one.

-- Served by HEAD's quota_usage_project_resource_idx (project_id, resource), no index added:
-- SELECT ... FROM quota_usages WHERE project_id = $1 AND resource = ANY($2) AND NOT deleted
--     ORDER BY id FOR UPDATE

-- One live limit per project and resource: quota_create of an existing limit is QuotaExists
-- (nova has UNIQUE (project_id, resource, deleted); cinder's quotas table has no key at all,
-- so a second quota_create silently made a second row that quota_get might or might not see).
-- The other dialects index (project_id, resource) WHERE NOT deleted; here a VIRTUAL column
-- holds resource on a live row and NULL on a deleted one (or one whose deleted is NULL, which
-- `NOT deleted` leaves out too), and NULLs never collide.  The column is computed, never
-- written: no rawdb statement names it (MariaDB refuses a value for it, error 1906), and
-- cinder's models do not have it.
ALTER TABLE quotas ADD COLUMN IF NOT EXISTS live_resource VARCHAR(300)
    CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin AS (IF(deleted = 0, resource, NULL)) VIRTUAL;
CREATE UNIQUE INDEX IF NOT EXISTS uq_quotas_project_id_resource_live
    ON quotas (project_id, live_resource);
