-- name: usages_lock
-- Lock the project's live usage rows of some resources, in id order (one lock order everywhere).
SELECT id, resource, in_use, reserved, until_refresh, updated_at
FROM quota_usages WHERE project_id = :project_id AND resource = ANY(:resources) AND NOT deleted
ORDER BY id
FOR UPDATE

-- name: reserve_apply
-- Add positive deltas to reserved: :bumps is a JSON array of [usage_id, delta].
UPDATE quota_usages u SET reserved = u.reserved + x.delta, updated_at = :now
FROM (SELECT CAST(e ->> 0 AS integer) AS id, CAST(e ->> 1 AS integer) AS delta
      FROM jsonb_array_elements(CAST(:bumps AS jsonb)) AS e) AS x
WHERE u.id = x.id

-- name: reservations_insert
-- Insert reservations from a JSON array of [uuid, usage_id, resource, delta], in that order.
INSERT INTO reservations (uuid, usage_id, project_id, resource, delta, expire, created_at, updated_at, deleted)
SELECT e ->> 0, CAST(e ->> 1 AS integer), :project_id, e ->> 2, CAST(e ->> 3 AS integer), :expire, :now, :now, false
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
      WHERE uuid = ANY(:uuids) AND deleted = false AND (CAST(:project_id AS VARCHAR) IS NULL OR project_id = :project_id)
      GROUP BY usage_id) AS s
WHERE u.id = s.usage_id

-- name: finish_reservations (postgresql, sqlite only)
-- Soft-delete the given live reservations once their usage rows are adjusted.
UPDATE reservations SET deleted = true, deleted_at = :now, updated_at = :now
WHERE uuid = ANY(:uuids) AND deleted = false AND (CAST(:project_id AS VARCHAR) IS NULL OR project_id = :project_id)

-- name: expired
-- The uuids of live reservations past their expiry.
SELECT uuid FROM reservations WHERE deleted = false AND expire < :now ORDER BY id

-- name: reserve (postgresql only)
-- Reserve in one statement when every usage row exists and none needs a refresh: lock the
-- project's usage rows of the resources in id order, resolve each limit (given, project row,
-- quota class, 'default' class, configured default), check every delta all-or-nothing, and
-- only then add the positive deltas to reserved and insert the reservations.  Returns one
-- row per resource; `go` false means nothing was written (a row is missing or stale: take
-- the slow path; or a limit is exceeded).
WITH want AS (
    SELECT w.resource, w.delta, w.given, w.fallback, w.uuid, w.n
    FROM unnest(CAST(:resources AS text[]), CAST(:deltas AS integer[]), CAST(:given AS integer[]),
                CAST(:fallbacks AS integer[]), CAST(:uuids AS text[]))
         WITH ORDINALITY AS w(resource, delta, given, fallback, uuid, n)
),
locked AS (
    SELECT u.id, u.resource, u.in_use, u.reserved, u.until_refresh, u.updated_at
    FROM quota_usages u
    WHERE u.project_id = :project_id AND u.resource = ANY(CAST(:resources AS text[])) AND NOT u.deleted
    ORDER BY u.id
    FOR UPDATE
),
checked AS (
    SELECT w.resource, w.delta, w.uuid, w.n, u.id AS usage_id, CAST(u.in_use AS bigint) AS in_use, CAST(u.reserved AS bigint) AS reserved,
           coalesce(w.given,
                    (SELECT q.hard_limit FROM quotas q
                     WHERE q.project_id = :project_id AND q.resource = w.resource AND NOT q.deleted LIMIT 1),
                    (SELECT c.hard_limit FROM quota_classes c
                     WHERE c.class_name = :quota_class AND c.resource = w.resource AND NOT c.deleted LIMIT 1),
                    (SELECT c.hard_limit FROM quota_classes c
                     WHERE c.class_name = 'default' AND c.resource = w.resource AND NOT c.deleted LIMIT 1),
                    w.fallback) AS hard_limit,
           u.id IS NULL OR u.in_use < 0 OR u.until_refresh IS NOT NULL OR :refresh_always
               OR coalesce(u.updated_at <= CAST(:stale_before AS timestamp), false) AS slow
    FROM want w LEFT JOIN locked u ON u.resource = w.resource
),
judged AS (
    SELECT c.*,
           c.delta > 0 AND (c.in_use + c.reserved + c.delta > 2147483647 OR c.reserved + c.delta > 2147483647)
               AS overflow,
           c.hard_limit >= 0 AND c.delta >= 0 AND c.hard_limit < c.delta + c.in_use + c.reserved AS over
    FROM checked c
),
verdict AS (
    SELECT NOT bool_or(j.slow OR coalesce(j.overflow, false) OR coalesce(j.over, false)) AS go FROM judged j
),
bumped AS (
    UPDATE quota_usages u SET reserved = u.reserved + j.delta, updated_at = :now
    FROM judged j, verdict v
    WHERE v.go AND u.id = j.usage_id AND j.delta > 0
    RETURNING u.id
),
inserted AS (
    INSERT INTO reservations (uuid, usage_id, project_id, resource, delta, expire, created_at, updated_at, deleted)
    SELECT j.uuid, j.usage_id, :project_id, j.resource, j.delta, :expire, :now, :now, false
    FROM judged j, verdict v WHERE v.go ORDER BY j.n
    RETURNING id
)
SELECT j.resource, j.delta, j.hard_limit, j.usage_id, j.in_use, j.reserved, j.slow, j.overflow, j.over, v.go,
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
    WHERE r.deleted = false AND (CAST(:project_id AS VARCHAR) IS NULL OR r.project_id = :project_id)
),
locked AS (
    SELECT u.id FROM quota_usages u WHERE u.id IN (SELECT usage_id FROM targets) ORDER BY u.id FOR UPDATE
),
done AS (
    UPDATE reservations r SET deleted = true, deleted_at = :now, updated_at = :now
    FROM unnest(CAST(:uuids AS text[])) AS x(uuid)
    WHERE r.uuid = x.uuid AND r.deleted = false AND (SELECT count(*) FROM locked) > 0
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
