-- MariaDB: an aggregate's hosts and metadata come as JSON text (JSON_ARRAYAGG in id order; the
-- session's group_concat_max_len keeps it whole) in the row of the aggregate; JSON arrays of
-- {"key", "value"} (metadata) or {"id", "uuid"} objects are read with JSON_TABLE, whose columns take
-- the schema's binary collation; no INSERT ... RETURNING on MySQL: rows are read back by
-- LAST_INSERT_ID() (this connection's own).

-- name: name_taken
-- The id of a live aggregate other than :id that has the name :name, locking what it reads; run
-- before and again after this transaction writes its own row (insert or rename): a rival's row not
-- yet committed is waited for, so of two writers of one name the later reader sees the other's (an uncommitted rival
-- that is waiting in turn makes a deadlock, and the victim's transaction is retried whole).  The
-- module undoes its write without a savepoint (aggregate_discard, or the rename's original values):
-- a deadlock ends the whole transaction, savepoints included.
SELECT id FROM aggregates
WHERE name = :name AND deleted = 0 AND id <> :id
ORDER BY id
LIMIT 1
FOR UPDATE

-- name: aggregate_create
-- Insert an aggregate (its name checked afterwards by name_taken).
INSERT INTO aggregates (name, uuid, created_at, updated_at, deleted)
VALUES (:name, :uuid, :created_at, :updated_at, 0)

-- name: aggregate_read_back
-- An aggregate's own columns, locked: the last inserted (:id NULL), or by id (a rename's original
-- values, to restore should name_taken find a rival).
SELECT created_at, updated_at, deleted_at, deleted, id, uuid, name
FROM aggregates
WHERE id = coalesce(:id, LAST_INSERT_ID())
FOR UPDATE

-- name: host_add
-- Add a host to an aggregate; a live row for the pair (a concurrent adder's too, once it commits) is
-- a duplicate entry, which the module rolls back to a savepoint (INSERT IGNORE would also hide a
-- foreign key failure).
INSERT INTO aggregate_hosts (host, aggregate_id, created_at, deleted)
VALUES (:host, :aggregate_id, :now, 0)

-- name: host_read_back
-- A host row: the last inserted (:id NULL) or by id.
SELECT created_at, updated_at, deleted_at, deleted, id, host, aggregate_id
FROM aggregate_hosts
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: aggregate_by_id
-- An aggregate by id, visible as :read_deleted says, with its live hosts and metadata as JSON (none
-- for a deleted aggregate, as nova's relationships say).
SELECT a.created_at, a.updated_at, a.deleted_at, a.deleted, a.id, a.uuid, a.name,
       coalesce((SELECT JSON_ARRAYAGG(h.host ORDER BY h.id) FROM aggregate_hosts h
                 WHERE h.aggregate_id = a.id AND h.deleted = 0 AND a.deleted = 0), '[]') AS hosts,
       coalesce((SELECT JSON_ARRAYAGG(JSON_ARRAY(m."key", m.value) ORDER BY m.id) FROM aggregate_metadata m
                 WHERE m.aggregate_id = a.id AND m.deleted = 0 AND a.deleted = 0), '[]') AS metadetails
FROM aggregates a
WHERE a.id = :aggregate_id AND READ_DELETED(a.deleted, int)

-- name: aggregate_by_uuid
-- An aggregate by uuid (the first, should two share one), visible as :read_deleted says, with its
-- live hosts and metadata as JSON.
SELECT a.created_at, a.updated_at, a.deleted_at, a.deleted, a.id, a.uuid, a.name,
       coalesce((SELECT JSON_ARRAYAGG(h.host ORDER BY h.id) FROM aggregate_hosts h
                 WHERE h.aggregate_id = a.id AND h.deleted = 0 AND a.deleted = 0), '[]') AS hosts,
       coalesce((SELECT JSON_ARRAYAGG(JSON_ARRAY(m."key", m.value) ORDER BY m.id) FROM aggregate_metadata m
                 WHERE m.aggregate_id = a.id AND m.deleted = 0 AND a.deleted = 0), '[]') AS metadetails
FROM aggregates a
WHERE a.uuid = :uuid AND READ_DELETED(a.deleted, int)
ORDER BY a.id
LIMIT 1

-- name: aggregates_all
-- Every aggregate visible as :read_deleted says, with its live hosts and metadata as JSON.
SELECT a.created_at, a.updated_at, a.deleted_at, a.deleted, a.id, a.uuid, a.name,
       coalesce((SELECT JSON_ARRAYAGG(h.host ORDER BY h.id) FROM aggregate_hosts h
                 WHERE h.aggregate_id = a.id AND h.deleted = 0 AND a.deleted = 0), '[]') AS hosts,
       coalesce((SELECT JSON_ARRAYAGG(JSON_ARRAY(m."key", m.value) ORDER BY m.id) FROM aggregate_metadata m
                 WHERE m.aggregate_id = a.id AND m.deleted = 0 AND a.deleted = 0), '[]') AS metadetails
FROM aggregates a
WHERE READ_DELETED(a.deleted, int)
ORDER BY a.id

-- name: aggregates_by_host
-- The live aggregates with a live row for :host (and a live metadata row of key :key when :by_key:
-- nova bugs 1187708/1201277), with all their live hosts and metadata as JSON.
SELECT a.created_at, a.updated_at, a.deleted_at, a.deleted, a.id, a.uuid, a.name,
       coalesce((SELECT JSON_ARRAYAGG(h.host ORDER BY h.id) FROM aggregate_hosts h
                 WHERE h.aggregate_id = a.id AND h.deleted = 0), '[]') AS hosts,
       coalesce((SELECT JSON_ARRAYAGG(JSON_ARRAY(m."key", m.value) ORDER BY m.id) FROM aggregate_metadata m
                 WHERE m.aggregate_id = a.id AND m.deleted = 0), '[]') AS metadetails
FROM aggregates a
WHERE a.deleted = 0 AND READ_DELETED(a.deleted, int)
  AND EXISTS (SELECT 1 FROM aggregate_hosts h WHERE h.aggregate_id = a.id AND h.deleted = 0 AND h.host = :host)
  AND (NOT :by_key
       OR EXISTS (SELECT 1 FROM aggregate_metadata m
                  WHERE m.aggregate_id = a.id AND m.deleted = 0 AND m."key" = :key))
ORDER BY a.id

-- name: aggregates_by_metadata_key
-- The live aggregates with a live metadata row of key :key, with all their live hosts and, as nova's
-- contains_eager load gives them, only that key's metadata, as JSON.
SELECT a.created_at, a.updated_at, a.deleted_at, a.deleted, a.id, a.uuid, a.name,
       coalesce((SELECT JSON_ARRAYAGG(h.host ORDER BY h.id) FROM aggregate_hosts h
                 WHERE h.aggregate_id = a.id AND h.deleted = 0), '[]') AS hosts,
       JSON_ARRAY(JSON_ARRAY(m."key", m.value)) AS metadetails
FROM aggregates a
JOIN aggregate_metadata m ON m.aggregate_id = a.id AND m.deleted = 0 AND m."key" = :key
WHERE a.deleted = 0 AND READ_DELETED(a.deleted, int)
ORDER BY a.id

-- name: metadata_upsert
-- Set an aggregate's live metadata keys listed in a JSON array of {key, value} to their values,
-- inserting (in order) the keys it has no live row for; a concurrent writer's row of the same key is
-- waited for and then updated (the unique key (aggregate_id, key, deleted)), never duplicated.  A row
-- whose value does not change keeps its updated_at (assigned first: MariaDB reads the new value of
-- a column assigned before).
INSERT INTO aggregate_metadata (aggregate_id, "key", value, created_at, deleted)
SELECT :aggregate_id, x.k, x.v, :now, 0
FROM JSON_TABLE(:items, '$[*]' COLUMNS (
         n FOR ORDINALITY,
         k VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.key',
         v VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.value')) AS x
ORDER BY x.n
ON DUPLICATE KEY UPDATE
    updated_at = IF(aggregate_metadata.value = VALUES(value), aggregate_metadata.updated_at, :now),
    value = VALUES(value)

-- name: uuids_set
-- Give the aggregates of a JSON array of {id, uuid} that still have no uuid the uuid listed.
UPDATE aggregates AS a
JOIN JSON_TABLE(:items, '$[*]' COLUMNS (
         i INTEGER PATH '$.id',
         u VARCHAR(36) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$.uuid')) AS x
  ON a.id = x.i
SET a.uuid = x.u, a.updated_at = :now
WHERE a.uuid IS NULL
