-- Cinder's volume types and their extra specs (rawdb/cinder/volume_types.py; cinder 2012.2, spec
-- A.5 "Volume types").  Reading whole types (their live extra specs aggregated as JSON) and the
-- extra-spec writes that take a JSON list differ per dialect: they are in the dialect files.
-- Cinder's schema has no unique key on a type's name nor on (volume_type_id, key): the module
-- serialises the writers of one name (name_lock / name_taken) and of one type's specs (type_lock).

-- name: name_lock
-- Serialise the creators of one type name until the transaction ends.  This text is a no-op:
-- PostgreSQL's variant takes a transaction-scoped advisory lock, and the module runs it there only
-- (SQLite writers hold the database already; MySQL checks again after writing, see name_taken).
SELECT :name IS NOT NULL AS locked

-- name: name_taken
-- The id of a live volume type other than :id named :name (a plain read here: PostgreSQL holds
-- the name's lock, SQLite has one writer at a time).
SELECT id FROM volume_types
WHERE name = :name AND NOT deleted AND id <> :id
ORDER BY id
LIMIT 1

-- name: type_create
-- Insert a volume type (its name checked free by the caller).
INSERT INTO volume_types (name, created_at, updated_at, deleted)
VALUES (:name, :created_at, :updated_at, false)
RETURNING id, name, created_at, updated_at, deleted_at, deleted

-- name: type_read_back
-- A volume type's own columns by id, whatever its state (run on MySQL only, after an insert:
-- its variant reads the last inserted row when :id is NULL).
SELECT id, name, created_at, updated_at, deleted_at, deleted
FROM volume_types
WHERE id = :id

-- name: type_discard
-- Undo the insert of a volume type this transaction made (MySQL, which checks the name after
-- writing, found a rival): no other transaction has seen the row.
DELETE FROM volume_types WHERE id = :id

-- name: type_lock
-- Lock a volume type's row, whatever its state, until the transaction ends: the extra-spec writers
-- of one type take turns on it (SQLite's variant only reads: its writers take turns anyway).
SELECT id FROM volume_types WHERE id = :volume_type_id FOR UPDATE

-- name: type_id_by_name
-- The id of the volume type named :name visible as :read_deleted says (a live one first).
SELECT id FROM volume_types
WHERE name = :name AND READ_DELETED(deleted, bool)
ORDER BY deleted, id
LIMIT 1

-- name: type_destroy
-- Soft-delete a live volume type (updated_at kept, as cinder's bulk update did).
UPDATE volume_types SET SOFT_DELETE(bool, bulk)
WHERE id = :volume_type_id AND NOT deleted

-- name: specs_destroy_all
-- Soft-delete every live extra spec of a volume type (updated_at kept).
UPDATE volume_type_extra_specs SET SOFT_DELETE(bool, bulk)
WHERE volume_type_id = :volume_type_id AND NOT deleted

-- name: specs_get
-- A volume type's live extra specs, in insertion order.
SELECT "key", value FROM volume_type_extra_specs
WHERE volume_type_id = :volume_type_id AND NOT deleted
ORDER BY id

-- name: spec_delete
-- Soft-delete a volume type's live extra specs of one key (updated_at kept).
UPDATE volume_type_extra_specs SET SOFT_DELETE(bool, bulk)
WHERE volume_type_id = :volume_type_id AND "key" = :key AND NOT deleted
