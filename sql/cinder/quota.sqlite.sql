-- name: usages_lock
-- The project's live usage rows of some resources (BEGIN IMMEDIATE already holds the write lock).
SELECT id, resource, in_use, reserved, until_refresh, updated_at
FROM quota_usages WHERE project_id = :project_id AND resource = ANY(:resources) AND NOT deleted
ORDER BY id

-- name: reserve_apply
-- Add positive deltas to reserved: :bumps is a JSON array of [usage_id, delta].
UPDATE quota_usages SET reserved = reserved + x.delta, updated_at = :now
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS delta FROM json_each(:bumps)) AS x
WHERE quota_usages.id = x.id

-- name: reservations_insert
-- Insert reservations from a JSON array of [uuid, usage_id, resource, delta], in that order.
INSERT INTO reservations (uuid, usage_id, project_id, resource, delta, expire, created_at, updated_at, deleted)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), :project_id, json_extract(value, '$[2]'),
       json_extract(value, '$[3]'), :expire, :now, :now, false
FROM json_each(:rows) ORDER BY key

-- name: finish_usages (postgresql, sqlite only)
-- Commit (:commit true) or roll back the given live reservations' effect on their usage rows:
-- reserved loses the positive deltas (never below 0); on commit in_use gains all deltas (never below 0).
UPDATE quota_usages
SET reserved = reserved - min(s.positive, reserved),
    in_use = CASE WHEN :commit THEN max(in_use + s.total, 0) ELSE in_use END,
    updated_at = :now
FROM (SELECT usage_id, sum(max(delta, 0)) AS positive, sum(delta) AS total
      FROM reservations
      WHERE uuid = ANY(:uuids) AND deleted = false AND (:project_id IS NULL OR project_id = :project_id)
      GROUP BY usage_id) AS s
WHERE quota_usages.id = s.usage_id

-- name: finish_reservations (postgresql, sqlite only)
-- Soft-delete the given live reservations once their usage rows are adjusted.
UPDATE reservations SET deleted = true, deleted_at = :now, updated_at = :now
WHERE uuid = ANY(:uuids) AND deleted = false AND (:project_id IS NULL OR project_id = :project_id)

-- name: expired
-- The uuids of live reservations past their expiry.
SELECT uuid FROM reservations WHERE deleted = false AND expire < :now ORDER BY id
