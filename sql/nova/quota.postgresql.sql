-- name: usages_lock
-- Lock every user's live usage rows of some resources in a project, in id order.
SELECT id, resource, user_id, in_use, reserved, until_refresh, updated_at
FROM quota_usages WHERE project_id = :project_id AND resource = ANY(:resources) AND deleted = 0
ORDER BY id
FOR UPDATE

-- name: reserve_apply
-- Add positive deltas to reserved: :bumps is a JSON array of [usage_id, delta].
UPDATE quota_usages u SET reserved = u.reserved + x.delta, updated_at = :now
FROM (SELECT CAST(e ->> 0 AS integer) AS id, CAST(e ->> 1 AS integer) AS delta
      FROM jsonb_array_elements(CAST(:bumps AS jsonb)) AS e) AS x
WHERE u.id = x.id

-- name: reservations_insert
-- Insert the caller's reservations from a JSON array of [uuid, usage_id, resource, delta], in that order.
INSERT INTO reservations (uuid, usage_id, project_id, user_id, resource, delta, expire, created_at, updated_at,
                          deleted)
SELECT e ->> 0, CAST(e ->> 1 AS integer), :project_id, :user_id, e ->> 2, CAST(e ->> 3 AS integer), :expire,
       :now, :now, 0
FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS r(e, n) ORDER BY r.n

-- name: finish_usages (postgresql, sqlite only)
-- Commit (:commit true) or roll back the given live reservations' effect on their usage rows:
-- reserved loses the positive deltas (never below 0); on commit in_use gains all deltas (never below 0).
UPDATE quota_usages u
SET reserved = u.reserved - least(s.positive, u.reserved),
    in_use = CASE WHEN :commit THEN greatest(u.in_use + s.total, 0) ELSE u.in_use END,
    updated_at = :now
FROM (SELECT usage_id, sum(greatest(delta, 0)) AS positive, sum(delta) AS total
      FROM reservations
      WHERE uuid = ANY(:uuids) AND deleted = 0 AND (CAST(:project_id AS VARCHAR) IS NULL OR project_id = :project_id)
      GROUP BY usage_id) AS s
WHERE u.id = s.usage_id

-- name: finish_reservations (postgresql, sqlite only)
-- Soft-delete (deleted = id) the given live reservations once their usage rows are adjusted.
UPDATE reservations SET deleted = id, deleted_at = :now, updated_at = :now
WHERE uuid = ANY(:uuids) AND deleted = 0 AND (CAST(:project_id AS VARCHAR) IS NULL OR project_id = :project_id)

-- name: expired
-- The uuids of live reservations past their expiry.
SELECT uuid FROM reservations WHERE deleted = 0 AND expire < :now ORDER BY id

-- name: reserve (postgresql only)
-- Reserve in one statement when every usage row exists and none needs a refresh: lock every
-- user's usage rows of the resources in the project in id order, resolve the project limits
-- (given, project row, quota class, 'default' class, configured default) and the user limits
-- (given, the user's row, the project limit), check every delta against the project total
-- and the user's row all-or-nothing, and only then add the positive deltas to the user's
-- reserved and insert the reservations.  One row per resource; `go` false: nothing written.
WITH want AS (
    SELECT w.resource, w.delta, w.project_given, w.user_given, w.fallback, w.uuid, w.row_user, w.n
    FROM unnest(CAST(:resources AS text[]), CAST(:deltas AS integer[]), CAST(:project_given AS integer[]),
                CAST(:user_given AS integer[]), CAST(:fallbacks AS integer[]), CAST(:uuids AS text[]),
                CAST(:row_users AS text[]))
         WITH ORDINALITY AS w(resource, delta, project_given, user_given, fallback, uuid, row_user, n)
),
locked AS (
    SELECT u.id, u.resource, u.user_id, u.in_use, u.reserved, u.until_refresh, u.updated_at
    FROM quota_usages u
    WHERE u.project_id = :project_id AND u.resource = ANY(CAST(:resources AS text[])) AND u.deleted = 0
    ORDER BY u.id
    FOR UPDATE
),
totals AS (
    SELECT resource, sum(in_use) AS in_use, sum(reserved) AS reserved FROM locked GROUP BY resource
),
limited AS (
    SELECT w.*,
           coalesce(w.project_given,
                    (SELECT q.hard_limit FROM quotas q
                     WHERE q.project_id = :project_id AND q.resource = w.resource AND q.deleted = 0 LIMIT 1),
                    (SELECT c.hard_limit FROM quota_classes c
                     WHERE c.class_name = :quota_class AND c.resource = w.resource AND c.deleted = 0 LIMIT 1),
                    (SELECT c.hard_limit FROM quota_classes c
                     WHERE c.class_name = 'default' AND c.resource = w.resource AND c.deleted = 0 LIMIT 1),
                    w.fallback) AS project_limit
    FROM want w
),
checked AS (
    SELECT l.resource, l.delta, l.uuid, l.n, l.row_user, l.project_limit,
           coalesce(l.user_given,
                    CASE WHEN l.row_user IS NOT NULL THEN
                        (SELECT pu.hard_limit FROM project_user_quotas pu
                         WHERE pu.project_id = :project_id AND pu.user_id = l.row_user
                           AND pu.resource = l.resource AND pu.deleted = 0 LIMIT 1)
                    END,
                    l.project_limit) AS user_limit,
           m.id AS usage_id, CAST(m.in_use AS bigint) AS in_use, CAST(m.reserved AS bigint) AS reserved, t.in_use AS project_in_use, t.reserved AS project_reserved,
           m.id IS NULL OR m.in_use < 0 OR m.until_refresh IS NOT NULL OR :refresh_always
               OR coalesce(m.updated_at <= CAST(:stale_before AS timestamp), false) AS slow
    FROM limited l
    LEFT JOIN locked m ON m.resource = l.resource AND m.user_id IS NOT DISTINCT FROM l.row_user
    LEFT JOIN totals t ON t.resource = l.resource
),
judged AS (
    SELECT c.*,
           c.delta > 0 AND (c.in_use + c.reserved + c.delta > 2147483647 OR c.reserved + c.delta > 2147483647)
               AS overflow,
           c.delta >= 0 AND (
               (c.project_limit >= 0 AND c.project_limit < c.delta + c.project_in_use + c.project_reserved)
               OR (c.user_limit >= 0 AND c.user_limit < c.delta + c.in_use + c.reserved)) AS over
    FROM checked c
),
verdict AS (
    -- a usage row another user created after this statement began is not in `locked`: the
    -- freshly counted rows then differ, and the slow path (a transaction) counts again
    SELECT NOT bool_or(j.slow OR coalesce(j.overflow, false) OR coalesce(j.over, false))
           AND (SELECT count(*) FROM locked) = rawdb_live_usage_rows(:project_id, CAST(:resources AS text[])) AS go
    FROM judged j
),
bumped AS (
    UPDATE quota_usages u SET reserved = u.reserved + j.delta, updated_at = :now
    FROM judged j, verdict v
    WHERE v.go AND u.id = j.usage_id AND j.delta > 0
    RETURNING u.id
),
inserted AS (
    INSERT INTO reservations (uuid, usage_id, project_id, user_id, resource, delta, expire, created_at, updated_at,
                              deleted)
    SELECT j.uuid, j.usage_id, :project_id, :user_id, j.resource, j.delta, :expire, :now, :now, 0
    FROM judged j, verdict v WHERE v.go ORDER BY j.n
    RETURNING id
)
SELECT j.resource, j.delta, j.project_limit, j.user_limit, j.usage_id, j.in_use, j.reserved, j.project_in_use,
       j.project_reserved, j.slow OR NOT v.go AND NOT coalesce(j.over, false) AND NOT coalesce(j.overflow, false)
           AND (SELECT count(*) FROM locked) <> rawdb_live_usage_rows(:project_id, CAST(:resources AS text[]))
           AS slow,
       j.overflow, j.over, v.go,
       (SELECT count(*) FROM bumped) + (SELECT count(*) FROM inserted) AS written
FROM judged j, verdict v ORDER BY j.n

-- name: finish (postgresql only)
-- Commit (:commit true) or roll back reservations in one statement: lock their usage rows in
-- id order first, then take the still-live reservations (so each applies exactly once), and
-- adjust the usages with the clamps of finish_usages.  Its cost must not grow with the
-- reservations finished before (they are never purged unless asked): the reservations are
-- looked up from the given uuids, one index probe each, and `done` waits for `locked` through
-- a one-time filter, not a join on usage_id.  With `uuid = ANY(...)` and that join a generic
-- plan walked a usage row's or the project's past reservations instead (30,000 of them: a
-- commit 0.69 -> 1.39 ms).  `targets` is MATERIALIZED, so those probes come first: inlined,
-- a generic plan without column statistics for reservations (a new database, analyzed while
-- it had none) scanned every usage row and probed each one's reservations by usage_id
-- (400 usage rows, 20,000 past reservations: a commit 0.48 -> 4.15 ms).
WITH targets AS MATERIALIZED (
    SELECT r.usage_id FROM unnest(CAST(:uuids AS text[])) AS x(uuid) JOIN reservations r ON r.uuid = x.uuid
    WHERE r.deleted = 0 AND (CAST(:project_id AS VARCHAR) IS NULL OR r.project_id = :project_id)
),
locked AS (
    SELECT u.id FROM quota_usages u WHERE u.id IN (SELECT usage_id FROM targets) ORDER BY u.id FOR UPDATE
),
done AS (
    UPDATE reservations r SET deleted = r.id, deleted_at = :now, updated_at = :now
    FROM unnest(CAST(:uuids AS text[])) AS x(uuid)
    WHERE r.uuid = x.uuid AND r.deleted = 0 AND (SELECT count(*) FROM locked) > 0
      AND (CAST(:project_id AS VARCHAR) IS NULL OR r.project_id = :project_id)
    RETURNING r.usage_id, r.delta
),
sums AS (
    SELECT usage_id, sum(greatest(delta, 0)) AS positive, sum(delta) AS total FROM done GROUP BY usage_id
)
UPDATE quota_usages u
SET reserved = u.reserved - least(s.positive, u.reserved),
    in_use = CASE WHEN :commit THEN greatest(u.in_use + s.total, 0) ELSE u.in_use END,
    updated_at = :now
FROM sums s WHERE u.id = s.usage_id
RETURNING u.id

-- name: project_lock (postgresql only)
-- Serialise the slow path (which may create usage rows) per project until the transaction
-- ends: two users' first reservations would otherwise each create their own row, each miss
-- the other's uncommitted row, and pass the project limit together.
SELECT pg_advisory_xact_lock(:key) IS NULL AS locked
