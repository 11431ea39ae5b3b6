-- name: quota_create
-- Set a project's limit for a resource (read back by id: MySQL has no INSERT ... RETURNING).
INSERT INTO quotas (project_id, resource, hard_limit, created_at, updated_at, deleted)
VALUES (:project_id, :resource, :hard_limit, :now, :now, 0)

-- name: quota_read_back (mysql only)
-- The limit row this session's last INSERT made.
SELECT id, project_id, resource, hard_limit, created_at, updated_at, deleted_at, deleted
FROM quotas WHERE id = LAST_INSERT_ID()

-- name: user_quota_create
-- Set a user's limit for a resource within a project (read back by id).
INSERT INTO project_user_quotas (project_id, user_id, resource, hard_limit, created_at, updated_at, deleted)
VALUES (:project_id, :user_id, :resource, :hard_limit, :now, :now, 0)

-- name: user_quota_read_back (mysql only)
-- The user limit row this session's last INSERT made.
SELECT id, project_id, user_id, resource, hard_limit, created_at, updated_at, deleted_at, deleted
FROM project_user_quotas WHERE id = LAST_INSERT_ID()

-- name: quota_class_create
-- Set a quota class's limit for a resource (read back by id).
INSERT INTO quota_classes (class_name, resource, hard_limit, created_at, updated_at, deleted)
VALUES (:class_name, :resource, :hard_limit, :now, :now, 0)

-- name: quota_class_read_back (mysql only)
-- The quota class row this session's last INSERT made.
SELECT id, class_name, resource, hard_limit, created_at, updated_at, deleted_at, deleted
FROM quota_classes WHERE id = LAST_INSERT_ID()

-- name: reservation_create
-- Insert one reservation (read back by id).
INSERT INTO reservations (uuid, usage_id, project_id, user_id, resource, delta, expire, created_at, updated_at,
                          deleted)
VALUES (:uuid, :usage_id, :project_id, :user_id, :resource, :delta, :expire, :now, :now, 0)

-- name: reservation_read_back (mysql only)
-- The reservation this session's last INSERT made.
SELECT id, uuid, usage_id, project_id, user_id, resource, delta, expire, created_at, updated_at, deleted_at,
       deleted
FROM reservations WHERE id = LAST_INSERT_ID()

-- name: usage_get
-- A live usage row: the user's, or the project's (user_id NULL) for per-project resources;
-- without a user, the project's first row of the resource (Newton applies no user filter then).
SELECT id, project_id, user_id, resource, in_use, reserved, until_refresh, created_at, updated_at, deleted_at, deleted
FROM quota_usages
WHERE project_id = :project_id AND resource = :resource AND deleted = 0
  AND (:user_id IS NULL OR user_id = :user_id OR (user_id IS NULL AND :per_project))
ORDER BY id LIMIT 1

-- name: usages_lock
-- Lock every user's live usage rows of some resources in a project, in id order
-- (ix_quota_usages_project_id holds (project_id, id), so the scan locks in id order).
SELECT id, resource, user_id, in_use, reserved, until_refresh, updated_at
FROM quota_usages WHERE project_id = :project_id AND resource = ANY(:resources) AND deleted = 0
ORDER BY id
FOR UPDATE

-- name: fence (mysql only)
-- Galera only: bump the project's fence row of each resource in :resources (a JSON array),
-- creating it at the first reservation.  Every reservation of a resource in the project
-- writes the same row, so two that ran on different nodes conflict in certification
-- (schema 0007_rawdb_quota_fences).  Resource order: concurrent callers on one node queue.
INSERT INTO rawdb_quota_fences (project_id, resource, generation)
SELECT :project_id, x.resource, 1
FROM JSON_TABLE(:resources, '$[*]' COLUMNS (resource VARCHAR(255) PATH '$')) AS x
ORDER BY x.resource
ON DUPLICATE KEY UPDATE generation = generation + 1

-- name: usages_lock_limits (mysql only)
-- usages_lock, then (once those locks are held) the limit rows of `limits`, in one round
-- trip: kind 'usage' rows are locked usage rows; the others are limits by source (these
-- parts read without locking, so reservations never lock the shared class rows).
(SELECT 'usage' AS kind, id, resource, user_id, in_use, reserved, until_refresh, updated_at, NULL AS hard_limit
 FROM quota_usages WHERE project_id = :project_id AND resource = ANY(:resources) AND deleted = 0
 ORDER BY id
 FOR UPDATE)
UNION ALL
(SELECT 'user', NULL, resource, NULL, NULL, NULL, NULL, NULL, hard_limit FROM project_user_quotas
 WHERE project_id = :project_id AND user_id = :user_id AND resource = ANY(:resources) AND deleted = 0)
UNION ALL
(SELECT 'project', NULL, resource, NULL, NULL, NULL, NULL, NULL, hard_limit FROM quotas
 WHERE project_id = :project_id AND resource = ANY(:resources) AND deleted = 0)
UNION ALL
(SELECT CASE WHEN class_name = 'default' THEN 'default' ELSE 'class' END, NULL, resource, NULL, NULL, NULL, NULL,
        NULL, hard_limit
 FROM quota_classes
 WHERE (class_name = 'default' OR class_name = :quota_class) AND resource = ANY(:resources) AND deleted = 0)

-- name: usage_create
-- Create a live usage row unless one exists: the live-unique key (project_id, live_user_id,
-- resource) makes a concurrent creator's row a duplicate, which changes nothing here (the
-- caller relocks); every other error stays an error, unlike INSERT IGNORE.
INSERT INTO quota_usages (project_id, user_id, resource, in_use, reserved, until_refresh, created_at, updated_at,
                          deleted)
VALUES (:project_id, :user_id, :resource, :in_use, 0, :until_refresh, :now, :now, 0)
ON DUPLICATE KEY UPDATE id = id

-- name: reserve_apply
-- Add positive deltas to reserved: :bumps is a JSON array of [usage_id, delta].
UPDATE quota_usages u
JOIN JSON_TABLE(:bumps, '$[*]' COLUMNS (id INTEGER PATH '$[0]', delta INTEGER PATH '$[1]')) AS x ON u.id = x.id
SET u.reserved = u.reserved + x.delta, u.updated_at = :now

-- name: reservations_insert
-- Insert the caller's reservations from a JSON array of [uuid, usage_id, resource, delta], in that order.
INSERT INTO reservations (uuid, usage_id, project_id, user_id, resource, delta, expire, created_at, updated_at,
                          deleted)
SELECT x.uuid, x.usage_id, :project_id, :user_id, x.resource, x.delta, :expire, :now, :now, 0
FROM JSON_TABLE(:rows, '$[*]' COLUMNS (n FOR ORDINALITY, uuid VARCHAR(36) PATH '$[0]', usage_id INTEGER PATH '$[1]',
                                       resource VARCHAR(255) PATH '$[2]', delta INTEGER PATH '$[3]')) AS x
ORDER BY x.n

-- name: finish_lock (mysql only)
-- Lock the given live reservations, reading their newest committed state: a reservation
-- another caller finished first is not returned.  :uuids is a JSON array of uuids;
-- STRAIGHT_JOIN and the index hint make each one a lookup on the uuid index, so only these
-- rows are locked (left to itself the optimizer may scan every live reservation through
-- (deleted, expire) and lock them all in turn: concurrent finishes then deadlock).
SELECT r.id, r.usage_id, r.delta
FROM JSON_TABLE(:uuids, '$[*]' COLUMNS (uuid VARCHAR(255) PATH '$')) AS x
STRAIGHT_JOIN reservations r FORCE INDEX (reservations_uuid_idx) ON r.uuid = x.uuid
WHERE r.deleted = 0 AND (:project_id IS NULL OR r.project_id = :project_id)
FOR UPDATE

-- name: finish_apply (mysql only)
-- Finish the reservations finish_lock returned, in one statement: :picked is a JSON array of
-- their ids in usage id order, :sums one of [usage_id, positive deltas, all deltas].  The
-- join runs in :picked's order (STRAIGHT_JOIN, then primary key lookups), so the usage rows
-- are locked in id order as reserve locks them: a commit and a reserve queue, never deadlock.
-- reserved loses the positive deltas (never below 0); on commit (:commit true) in_use gains
-- all deltas (never below 0); the reservations are soft-deleted (deleted = id).  A
-- multi-table UPDATE changes each usage row once, however many reservations join it.
UPDATE JSON_TABLE(:picked, '$[*]' COLUMNS (id INTEGER PATH '$')) AS p
STRAIGHT_JOIN reservations r FORCE INDEX (PRIMARY) ON r.id = p.id
LEFT JOIN JSON_TABLE(:sums, '$[*]' COLUMNS (usage_id INTEGER PATH '$[0]', positive BIGINT PATH '$[1]',
                                            total BIGINT PATH '$[2]')) AS s ON s.usage_id = r.usage_id
LEFT JOIN quota_usages u ON u.id = s.usage_id
SET r.deleted = r.id, r.deleted_at = :now, r.updated_at = :now,
    u.reserved = u.reserved - LEAST(s.positive, u.reserved),
    u.in_use = CASE WHEN :commit THEN GREATEST(u.in_use + s.total, 0) ELSE u.in_use END,
    u.updated_at = :now

-- name: expired
-- The uuids of live reservations past their expiry.
SELECT uuid FROM reservations WHERE deleted = 0 AND expire < :now ORDER BY id
