-- PostgreSQL: a type's live extra specs come as JSON text (json_agg in id order) in the row of the
-- type; lists of extra specs arrive as one JSON array of {"k", "v"} objects; names sort by code point
-- (COLLATE "C"), as SQLite's and MariaDB's binary collations sort them; a type name is locked
-- with a transaction-scoped advisory lock.

-- name: name_lock
-- Serialise the creators of one type name until the transaction ends (cinder has no unique key on
-- the name: it checks in code).  Names that hash alike merely wait for each other.
SELECT pg_advisory_xact_lock(1986359156, hashtext(CAST(:name AS VARCHAR(255)))) IS NULL AS locked

-- name: type_by_id
-- A volume type by id, visible as :read_deleted says, with its live extra specs as JSON.
SELECT t.id, t.name, t.created_at, t.updated_at, t.deleted_at, t.deleted,
       CAST(coalesce((SELECT json_agg(json_build_array(s."key", s.value) ORDER BY s.id) FROM volume_type_extra_specs s
                      WHERE s.volume_type_id = t.id AND NOT s.deleted), '[]') AS TEXT) AS extra_specs
FROM volume_types t
WHERE t.id = :volume_type_id AND READ_DELETED(t.deleted, bool)

-- name: type_by_name
-- A volume type by name (a live one first, should several have it), visible as :read_deleted
-- says, with its live extra specs as JSON.
SELECT t.id, t.name, t.created_at, t.updated_at, t.deleted_at, t.deleted,
       CAST(coalesce((SELECT json_agg(json_build_array(s."key", s.value) ORDER BY s.id) FROM volume_type_extra_specs s
                      WHERE s.volume_type_id = t.id AND NOT s.deleted), '[]') AS TEXT) AS extra_specs
FROM volume_types t
WHERE t.name = :name AND READ_DELETED(t.deleted, bool)
ORDER BY t.deleted, t.id
LIMIT 1

-- name: types_all
-- The volume types visible as :read_deleted says that have a live extra spec for every {k, v} of
-- :specs (every type when it is empty), with their live extra specs as JSON; by name (NULL first),
-- and of one name the live ones last.
SELECT t.id, t.name, t.created_at, t.updated_at, t.deleted_at, t.deleted,
       CAST(coalesce((SELECT json_agg(json_build_array(s."key", s.value) ORDER BY s.id) FROM volume_type_extra_specs s
                      WHERE s.volume_type_id = t.id AND NOT s.deleted), '[]') AS TEXT) AS extra_specs
FROM volume_types t
WHERE READ_DELETED(t.deleted, bool)
  AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset(CAST(:specs AS jsonb)) AS f(k TEXT, v TEXT)
                  WHERE NOT EXISTS (SELECT 1 FROM volume_type_extra_specs s
                                    WHERE s.volume_type_id = t.id AND NOT s.deleted
                                      AND s."key" = f.k AND s.value = f.v))
ORDER BY t.name COLLATE "C" NULLS FIRST, NOT t.deleted, t.id

-- name: specs_update
-- Give a volume type's live extra specs of the keys in :specs (a JSON array of {k, v}) their new
-- value; a row whose value does not change is left alone (updated_at too).
UPDATE volume_type_extra_specs AS s
SET value = f.v, updated_at = CAST(:now AS TIMESTAMP)
FROM jsonb_to_recordset(CAST(:specs AS jsonb)) AS f(k TEXT, v TEXT)
WHERE s.volume_type_id = CAST(:volume_type_id AS INTEGER) AND NOT s.deleted
  AND s."key" = f.k AND s.value IS DISTINCT FROM f.v

-- name: specs_insert_missing
-- Insert, in the order of :specs (a JSON array of {k, v}), the extra specs of a volume type that
-- have no live row of their key.
INSERT INTO volume_type_extra_specs (volume_type_id, "key", value, created_at, deleted)
SELECT CAST(:volume_type_id AS INTEGER), f.item ->> 'k', f.item ->> 'v', CAST(:now AS TIMESTAMP), false
FROM jsonb_array_elements(CAST(:specs AS jsonb)) WITH ORDINALITY AS f(item, n)
WHERE NOT EXISTS (SELECT 1 FROM volume_type_extra_specs s
                  WHERE s.volume_type_id = CAST(:volume_type_id AS INTEGER) AND NOT s.deleted
                    AND s."key" = f.item ->> 'k')
ORDER BY f.n
