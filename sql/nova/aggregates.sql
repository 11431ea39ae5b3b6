-- Host aggregates, their hosts and their metadata (rawdb/nova/aggregates.py).
-- The statements that build whole aggregates (JSON aggregation of hosts and metadata), the metadata
-- upsert and the uuid migration differ per dialect: they are in the dialect files.

-- name: name_lock
-- Serialise the writers of one aggregate name until the transaction ends.  This text is a no-op:
-- PostgreSQL's variant takes a transaction-scoped advisory lock; SQLite writers hold the database
-- already, and MySQL checks for a rival after writing (name_taken ... FOR UPDATE), so the module
-- runs this on PostgreSQL only.
SELECT :name IS NOT NULL AS locked

-- name: name_taken
-- The id of a live aggregate other than :id that has the name :name (a plain read here: the name
-- is locked on PostgreSQL, and SQLite has one writer at a time).
SELECT id FROM aggregates
WHERE name = :name AND deleted = 0 AND id <> :id
ORDER BY id
LIMIT 1

-- name: aggregate_exists
-- The id of the aggregate, if it is visible as :read_deleted says.
SELECT id FROM aggregates
WHERE id = :aggregate_id AND READ_DELETED(deleted, int)

-- name: aggregate_create
-- Insert an aggregate (its name checked free by the caller).
INSERT INTO aggregates (name, uuid, created_at, updated_at, deleted)
VALUES (:name, :uuid, :created_at, :updated_at, 0)
RETURNING created_at, updated_at, deleted_at, deleted, id, uuid, name

-- name: aggregate_discard
-- Undo the insert of an aggregate this transaction made (MySQL, which checks the name after writing,
-- found a rival): the row was never seen by another transaction.
DELETE FROM aggregates WHERE id = :id

-- name: aggregate_read_back
-- An aggregate's own columns by id, whatever its state (run on MySQL only: the read-back after an
-- insert, with :id NULL for the last insert, and a rename's original values).
SELECT created_at, updated_at, deleted_at, deleted, id, uuid, name
FROM aggregates
WHERE id = :id

-- name: aggregate_update
-- Change the given columns of an aggregate (a column whose :set_ flag is false keeps its value)
-- and set updated_at.
UPDATE aggregates
SET name = CASE WHEN :set_name THEN :name ELSE name END,
    uuid = CASE WHEN :set_uuid THEN :uuid ELSE uuid END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = :aggregate_id

-- name: aggregate_delete
-- Soft-delete an aggregate visible as :read_deleted says (updated_at kept: nova's bulk soft delete).
UPDATE aggregates SET SOFT_DELETE(int, bulk)
WHERE id = :aggregate_id AND READ_DELETED(deleted, int)

-- name: aggregate_delete_metadata
-- Soft-delete an aggregate's metadata rows visible as :read_deleted says (its hosts stay, as in Newton).
UPDATE aggregate_metadata SET SOFT_DELETE(int, bulk)
WHERE aggregate_id = :aggregate_id AND READ_DELETED(deleted, int)

-- name: metadata_get
-- An aggregate's metadata rows, live or deleted as :read_deleted says, oldest first.
SELECT "key", value FROM aggregate_metadata
WHERE aggregate_id = :aggregate_id AND READ_DELETED(deleted, int)
ORDER BY id

-- name: metadata_delete
-- Soft-delete an aggregate's metadata rows of one key visible as :read_deleted says.
UPDATE aggregate_metadata SET SOFT_DELETE(int, bulk)
WHERE aggregate_id = :aggregate_id AND "key" = :key AND READ_DELETED(deleted, int)

-- name: metadata_delete_others
-- Soft-delete an aggregate's live metadata rows whose key is not in :keys (set_delete).
UPDATE aggregate_metadata SET SOFT_DELETE(int, bulk)
WHERE aggregate_id = :aggregate_id AND deleted = 0 AND "key" <> ALL(:keys)

-- name: host_add
-- Add a host to an aggregate; a live row for the pair (a concurrent adder's too, once it commits)
-- makes this insert nothing and return no row.
INSERT INTO aggregate_hosts (host, aggregate_id, created_at, deleted)
VALUES (:host, :aggregate_id, :now, 0)
ON CONFLICT (host, aggregate_id, deleted) DO NOTHING
RETURNING created_at, updated_at, deleted_at, deleted, id, host, aggregate_id

-- name: host_read_back
-- A host row by id (MySQL's read-back after an insert, with :id NULL for the last insert: the other
-- backends have RETURNING).
SELECT created_at, updated_at, deleted_at, deleted, id, host, aggregate_id
FROM aggregate_hosts
WHERE id = :id

-- name: host_get_all
-- An aggregate's hosts, live or deleted as :read_deleted says, in the order they were added.
SELECT host FROM aggregate_hosts
WHERE aggregate_id = :aggregate_id AND READ_DELETED(deleted, int)
ORDER BY id

-- name: host_delete
-- Soft-delete an aggregate's rows for one host visible as :read_deleted says.
UPDATE aggregate_hosts SET SOFT_DELETE(int, bulk)
WHERE aggregate_id = :aggregate_id AND host = :host AND READ_DELETED(deleted, int)

-- name: metadata_by_host
-- The live metadata (only key :key's when :by_key) of the live aggregates that have a live row
-- for :host (nova bug 1201283: the key also restricts what is collected); an aggregate is "live" for
-- :read_deleted 'no' and 'yes' alike, as nova's relationship join says, and none is for 'only'.
SELECT m."key", m.value
FROM aggregate_metadata m
JOIN aggregates a ON a.id = m.aggregate_id AND a.deleted = 0 AND READ_DELETED(a.deleted, int)
WHERE m.deleted = 0 AND (NOT :by_key OR m."key" = :key)
  AND EXISTS (SELECT 1 FROM aggregate_hosts h
              WHERE h.aggregate_id = a.id AND h.deleted = 0 AND h.host = :host)
ORDER BY m.id

-- name: hosts_by_metadata_key
-- Each live host of each live aggregate that has the live metadata key :key, with that key's value
-- (one live row per key and aggregate: the unique key says so).
SELECT h.host, m.value
FROM aggregates a
JOIN aggregate_metadata m ON m.aggregate_id = a.id AND m.deleted = 0 AND m."key" = :key
JOIN aggregate_hosts h ON h.aggregate_id = a.id AND h.deleted = 0
WHERE a.deleted = 0 AND READ_DELETED(a.deleted, int)
ORDER BY h.id

-- name: uuidless_aggregates
-- The ids of up to :max_count aggregates without a uuid, visible as :read_deleted says, oldest first.
SELECT id FROM aggregates
WHERE uuid IS NULL AND READ_DELETED(deleted, int)
ORDER BY id
LIMIT :max_count
