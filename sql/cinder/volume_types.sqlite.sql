-- SQLite: a type's live extra specs come as JSON text (json_group_array over rows in id order) in
-- the row of the type; lists of extra specs arrive as one JSON array of {"k", "v"} objects, read
-- with json_each.  Writers hold the database (BEGIN IMMEDIATE): nothing needs a row lock.

-- name: type_lock
-- Whether a volume type's row exists, whatever its state (no lock needed: one writer at a time).
SELECT id FROM volume_types WHERE id = :volume_type_id

-- name: type_by_id
-- A volume type by id, visible as :read_deleted says, with its live extra specs as JSON.
SELECT t.id, t.name, t.created_at, t.updated_at, t.deleted_at, t.deleted,
       (SELECT json_group_array(json_array(ss.k, ss.v)) FROM (SELECT s."key" AS k, s.value AS v
        FROM volume_type_extra_specs s WHERE s.volume_type_id = t.id AND NOT s.deleted ORDER BY s.id) AS ss) AS extra_specs
FROM volume_types t
WHERE t.id = :volume_type_id AND READ_DELETED(t.deleted, bool)

-- name: type_by_name
-- A volume type by name (a live one first, should several have it), visible as :read_deleted
-- says, with its live extra specs as JSON.
SELECT t.id, t.name, t.created_at, t.updated_at, t.deleted_at, t.deleted,
       (SELECT json_group_array(json_array(ss.k, ss.v)) FROM (SELECT s."key" AS k, s.value AS v
        FROM volume_type_extra_specs s WHERE s.volume_type_id = t.id AND NOT s.deleted ORDER BY s.id) AS ss) AS extra_specs
FROM volume_types t
WHERE t.name = :name AND READ_DELETED(t.deleted, bool)
ORDER BY t.deleted, t.id
LIMIT 1

-- name: types_all
-- The volume types visible as :read_deleted says that have a live extra spec for every {k, v} of
-- :specs (every type when it is empty), with their live extra specs as JSON; by name (NULL first),
-- and of one name the live ones last.
SELECT t.id, t.name, t.created_at, t.updated_at, t.deleted_at, t.deleted,
       (SELECT json_group_array(json_array(ss.k, ss.v)) FROM (SELECT s."key" AS k, s.value AS v
        FROM volume_type_extra_specs s WHERE s.volume_type_id = t.id AND NOT s.deleted ORDER BY s.id) AS ss) AS extra_specs
FROM volume_types t
WHERE READ_DELETED(t.deleted, bool)
  AND NOT EXISTS (SELECT 1 FROM json_each(:specs) AS f
                  WHERE NOT EXISTS (SELECT 1 FROM volume_type_extra_specs s
                                    WHERE s.volume_type_id = t.id AND NOT s.deleted
                                      AND s."key" = json_extract(f.value, '$.k')
                                      AND s.value = json_extract(f.value, '$.v')))
ORDER BY t.name IS NOT NULL, t.name, NOT t.deleted, t.id

-- name: specs_update
-- Give a volume type's live extra specs of the keys in :specs (a JSON array of {k, v}) their new
-- value; a row whose value does not change is left alone (updated_at too).
UPDATE volume_type_extra_specs AS s
SET value = json_extract(f.value, '$.v'), updated_at = :now
FROM json_each(:specs) AS f
WHERE s.volume_type_id = :volume_type_id AND NOT s.deleted
  AND s."key" = json_extract(f.value, '$.k') AND s.value IS NOT json_extract(f.value, '$.v')

-- name: specs_insert_missing
-- Insert, in the order of :specs (a JSON array of {k, v}), the extra specs of a volume type that
-- have no live row of their key.
INSERT INTO volume_type_extra_specs (volume_type_id, "key", value, created_at, deleted)
SELECT :volume_type_id, json_extract(f.value, '$.k'), json_extract(f.value, '$.v'), :now, false
FROM json_each(:specs) AS f
WHERE NOT EXISTS (SELECT 1 FROM volume_type_extra_specs s
                  WHERE s.volume_type_id = :volume_type_id AND NOT s.deleted
                    AND s."key" = json_extract(f.value, '$.k'))
ORDER BY f.key
