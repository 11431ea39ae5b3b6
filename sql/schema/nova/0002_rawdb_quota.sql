-- rawdb's additions to nova's quota tables (spec C.3, C.6), the same on every dialect.

-- C.6: quota_reserve / quota_usage_refresh create a missing usage row after
--   SELECT ... FROM quota_usages WHERE project_id = :p AND deleted = 0 ORDER BY id FOR UPDATE
-- locked nothing, so two transactions can both INSERT the same (project, user, resource)
-- (nova bug 1484343's race).  Newton has no unique key on quota_usages at all, and a key on
-- (project_id, user_id, resource, deleted) would not catch it: per-project resources
-- (fixed_ips, floating_ips, networks) have user_id NULL, and NULLs never collide.  Only live
-- rows are unique; coalesce(user_id, '') makes the NULL user one value.  The loser of the race
-- gets DBDuplicateEntry and the caller retries the whole reservation.  The index also serves
-- quota_usage_get(p, r, user_id) and quota_usage_update(p, u, r) among live rows.
CREATE UNIQUE INDEX IF NOT EXISTS uq_quota_usages_live
    ON quota_usages (project_id, coalesce(user_id, ''), resource) WHERE deleted = 0;

-- C.3: reservation_commit / reservation_rollback lock
--   SELECT ... FROM reservations WHERE uuid IN (...) AND deleted = 0 FOR UPDATE
-- and Newton's reservations_uuid_idx (uuid) already serves it: a uuid names one reservation,
-- so the deleted filter reads one row per uuid.  reservation_expire uses Newton's
-- reservations_deleted_expire_idx (deleted, expire).  Nothing is added for reservations.
