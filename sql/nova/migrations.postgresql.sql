-- PostgreSQL: an instance's system metadata comes as two text arrays, keys and values in id order
-- (as rawdb's instance dicts read them).

-- name: migration_instances
-- The live instances with these uuids, each with its live system metadata (nova's Migration.instance
-- joins live instances only).
SELECT i.*,
       (SELECT ARRAY[array_agg(s.key), array_agg(s.value)]
        FROM (SELECT m.key, m.value
              FROM instance_system_metadata m
              WHERE m.instance_uuid = i.uuid AND m.deleted = 0
              ORDER BY m.id) s) AS system_metadata
FROM instances i
WHERE i.uuid = ANY(:uuids) AND i.deleted = 0
ORDER BY i.id
