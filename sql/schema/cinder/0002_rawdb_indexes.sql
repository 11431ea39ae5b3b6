-- rawdb's additions to cinder's schema, the same on every dialect: indexes for the quota
-- engine's statements that cinder HEAD's indexes do not serve.  Partial on live rows, as the
-- statements ask for `NOT deleted`: the index stays as small as the live set.

-- SELECT count(*), sum(size) FROM volumes WHERE project_id = $1 AND NOT deleted
--     [AND volume_type_id = $2]                        (usage sync of volumes / gigabytes)
-- Folsom's volumes table has no index at all: every sync would scan every volume ever made.
CREATE INDEX IF NOT EXISTS ix_volumes_project_id_volume_type_id_live
    ON volumes (project_id, volume_type_id) WHERE NOT deleted;

-- SELECT count(*), sum(volume_size) FROM snapshots WHERE project_id = $1 AND NOT deleted
--                                                      (usage sync of snapshots / gigabytes)
CREATE INDEX IF NOT EXISTS ix_snapshots_project_id_live
    ON snapshots (project_id) WHERE NOT deleted;

-- SELECT ... FROM reservations WHERE uuid = ANY($1) AND deleted = false   (commit, rollback)
-- SELECT ... FROM reservations WHERE deleted = false AND expire < $1      (reservation_expire)
-- Served by HEAD's (deleted, uuid) and (deleted, expire) on both backends, because the
-- statements say `deleted = false` (SQLite cannot use an index for `NOT deleted`).  No more
-- indexes on reservations: every reservation inserted pays for each one.

-- Served by HEAD's quota_usage_project_resource_idx (project_id, resource), no index added:
-- SELECT ... FROM quota_usages WHERE project_id = $1 AND resource = ANY($2) AND NOT deleted
--     ORDER BY id FOR UPDATE

-- One live limit per project and resource: quota_create of an existing limit is QuotaExists
-- (nova has UNIQUE (project_id, resource, deleted); cinder's quotas table has no key at all,
-- so a second quota_create silently made a second row that quota_get might or might not see).
CREATE UNIQUE INDEX IF NOT EXISTS uq_quotas_project_id_resource_live
    ON quotas (project_id, resource) WHERE NOT deleted;
