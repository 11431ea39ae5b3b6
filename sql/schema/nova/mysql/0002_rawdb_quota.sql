-- rawdb's additions to nova's quota tables (spec C.3, C.6), for MariaDB/MySQL, which has no
-- partial or expression indexes (spec mariadb.md 2.13).  This replaces ../0002_rawdb_quota.sql
-- on this dialect; the index has the same name.

-- C.6: quota_reserve / quota_usage_refresh create a missing usage row after
--   SELECT ... FROM quota_usages WHERE project_id = :p AND deleted = 0 ORDER BY id FOR UPDATE
-- locked nothing, so two transactions can both INSERT the same (project, user, resource)
-- (nova bug 1484343's race).  Newton has no unique key on quota_usages at all, and a key on
-- (project_id, user_id, resource, deleted) would not catch it: per-project resources
-- (fixed_ips, floating_ips, networks) have user_id NULL, and NULLs never collide.  Only live
-- rows are unique, and the NULL user is one value.  The other dialects index
-- (project_id, coalesce(user_id, ''), resource) WHERE deleted = 0; here a VIRTUAL column holds
-- coalesce(user_id, '') on a live row and NULL on a deleted one (NULLs never collide), and
-- the unique key takes it in coalesce's place.  The column is computed, never written: no
-- rawdb statement names it (MariaDB refuses a value for it, error 1906), and nova's models
-- do not have it (archive_deleted_rows copies the models' columns to shadow_quota_usages,
-- which does not have it either).  rawdb creates usage rows with INSERT … ON DUPLICATE KEY
-- UPDATE on this key, so the loser of the race waits for the winner and then finds its row.
-- The key's leading project_id serves lookups of a project's usage rows; MariaDB cannot match
-- `coalesce(user_id, '')` in a query to the column.
ALTER TABLE quota_usages ADD COLUMN IF NOT EXISTS live_user_id VARCHAR(255)
    CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin AS (IF(deleted = 0, COALESCE(user_id, ''), NULL)) VIRTUAL;
CREATE UNIQUE INDEX IF NOT EXISTS uq_quota_usages_live
    ON quota_usages (project_id, live_user_id, resource);

-- C.3: reservation_commit / reservation_rollback lock
--   SELECT ... FROM reservations WHERE uuid IN (...) AND deleted = 0 FOR UPDATE
-- and Newton's reservations_uuid_idx (uuid) already serves it: a uuid names one reservation,
-- so the deleted filter reads one row per uuid.  reservation_expire uses Newton's
-- reservations_deleted_expire_idx (deleted, expire).  Nothing is added for reservations.
