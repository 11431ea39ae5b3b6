-- PostgreSQL: an instance's system metadata comes as two text arrays, keys and values in id order
-- (as rawdb's instance dicts read them).

-- name: migration_instances
-- The live instances with these uuids, each with its live system metadata (nova's Migration.instance
-- joins live instances only).
SELECT i.*,
       (SELECT ARRAY[array_agg(m.key ORDER BY m.id), array_agg(m.value ORDER BY m.id)]
        FROM instance_system_metadata m
        WHERE m.instance_uuid = i.uuid AND m.deleted = 0) AS system_metadata
FROM instances i
WHERE i.uuid = ANY(:uuids) AND i.deleted = 0
ORDER BY i.id
