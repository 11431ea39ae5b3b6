-- name: volumes
-- Live volumes of a project (of one volume type when :volume_type_id is given): count and GB.
SELECT count(*) AS volumes, coalesce(sum(size), 0) AS gigabytes FROM volumes
WHERE project_id = :project_id AND NOT deleted
  AND (CAST(:volume_type_id AS INTEGER) IS NULL OR volume_type_id = :volume_type_id)

-- name: snapshots
-- Live snapshots of a project (of volumes of one type when :volume_type_id is given): count and GB.
SELECT count(*) AS snapshots, coalesce(sum(s.volume_size), 0) AS gigabytes
FROM snapshots s
WHERE s.project_id = :project_id AND NOT s.deleted
  AND (CAST(:volume_type_id AS INTEGER) IS NULL
       OR EXISTS (SELECT 1 FROM volumes v WHERE v.id = s.volume_id AND v.volume_type_id = :volume_type_id))

-- name: volume_types
-- The live volume types, by name (for the per-type quota resources).
SELECT id, name FROM volume_types WHERE NOT deleted ORDER BY id
