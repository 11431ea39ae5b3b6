-- MariaDB/MySQL: a type's live extra specs come as JSON text (JSON_ARRAYAGG in id order; the
-- session's group_concat_max_len keeps it whole) in the row of the type; lists of extra specs
-- arrive as one JSON array of {"k", "v"} objects, read with JSON_TABLE (columns in the schema's
-- binary collation); no INSERT ... RETURNING: a new type is read back by LAST_INSERT_ID() (this
-- connection's own).

-- name: name_taken
-- The id of a live volume type other than :id named :name, locking what it reads; run before and
-- again after this transaction inserts its own row: a rival's row not yet committed is waited for,
-- so of two creators of one name the later reader sees the other's (an uncommitted rival that is
-- waiting in turn makes a deadlock, and the victim's transaction is retried whole).
SELECT id FROM volume_types
WHERE name = :name AND NOT deleted AND id <> :id
ORDER BY id
LIMIT 1
FOR UPDATE

-- name: type_create
-- Insert a volume type (its name checked again afterwards by name_taken).
INSERT INTO volume_types (name, created_at, updated_at, deleted)
VALUES (:name, :created_at, :updated_at, false)

-- name: type_read_back
-- A volume type's own columns: the one this connection inserted last (:id NULL), or by id.
SELECT id, name, created_at, updated_at, deleted_at, deleted
FROM volume_types
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: type_by_id
-- A volume type by id, visible as :read_deleted says, with its live extra specs as JSON.
SELECT t.id, t.name, t.created_at, t.updated_at, t.deleted_at, t.deleted,
       coalesce((SELECT JSON_ARRAYAGG(JSON_ARRAY(s."key", s.value) ORDER BY s.id) FROM volume_type_extra_specs s
                 WHERE s.volume_type_id = t.id AND NOT s.deleted), '[]') AS extra_specs
FROM volume_types t
WHERE t.id = :volume_type_id AND READ_DELETED(t.deleted, bool)

-- name: type_by_name
-- A volume type by name (a live one first, should several have it), visible as :read_deleted
-- says, with its live extra specs as JSON.
SELECT t.id, t.name, t.created_at, t.updated_at, t.deleted_at, t.deleted,
       coalesce((SELECT JSON_ARRAYAGG(JSON_ARRAY(s."key", s.value) ORDER BY s.id) FROM volume_type_extra_specs s
                 WHERE s.volume_type_id = t.id AND NOT s.deleted), '[]') AS extra_specs
FROM volume_types t
WHERE t.name = :name AND READ_DELETED(t.deleted, bool)
ORDER BY t.deleted, t.id
LIMIT 1

-- name: types_all
-- The volume types visible as :read_deleted says that have a live extra spec for every {k, v} of
-- :specs (every type when it is empty), with their live extra specs as JSON; by name (NULL first),
-- and of one name the live ones last.
SELECT t.id, t.name, t.created_at, t.updated_at, t.deleted_at, t.deleted,
       coalesce((SELECT JSON_ARRAYAGG(JSON_ARRAY(s."key", s.value) ORDER BY s.id) FROM volume_type_extra_specs s
                 WHERE s.volume_type_id = t.id AND NOT s.deleted), '[]') AS extra_specs
FROM volume_types t
WHERE READ_DELETED(t.deleted, bool)
  AND NOT EXISTS (SELECT 1 FROM JSON_TABLE(:specs, '$[*]' COLUMNS (
                                    k VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.k',
                                    v VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.v')) AS f
                  WHERE NOT EXISTS (SELECT 1 FROM volume_type_extra_specs s
                                    WHERE s.volume_type_id = t.id AND NOT s.deleted
                                      AND s."key" = f.k AND s.value = f.v))
ORDER BY t.name IS NOT NULL, t.name, NOT t.deleted, t.id

-- name: specs_update
-- Give a volume type's live extra specs of the keys in :specs (a JSON array of {k, v}) their new
-- value; a row whose value does not change is left alone (updated_at too).
UPDATE volume_type_extra_specs AS s
JOIN JSON_TABLE(:specs, '$[*]' COLUMNS (
         k VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.k',
         v VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.v')) AS f ON s."key" = f.k
SET s.value = f.v, s.updated_at = :now
WHERE s.volume_type_id = :volume_type_id AND NOT s.deleted AND NOT (s.value <=> f.v)

-- name: specs_insert_missing
-- Insert, in the order of :specs (a JSON array of {k, v}), the extra specs of a volume type that
-- have no live row of their key.
INSERT INTO volume_type_extra_specs (volume_type_id, "key", value, created_at, deleted)
SELECT :volume_type_id, f.k, f.v, :now, false
FROM JSON_TABLE(:specs, '$[*]' COLUMNS (
         n FOR ORDINALITY,
         k VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.k',
         v VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.v')) AS f
WHERE NOT EXISTS (SELECT 1 FROM volume_type_extra_specs s
                  WHERE s.volume_type_id = :volume_type_id AND NOT s.deleted AND s."key" = f.k)
ORDER BY f.n
