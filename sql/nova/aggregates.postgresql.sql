-- PostgreSQL: an aggregate's hosts and metadata come as JSON text (json_agg, in id order) in the row
-- of the aggregate; JSON arrays of {"key", "value"} (metadata) or {"id", "uuid"} objects are read
-- with jsonb functions; a name is locked with a transaction-scoped advisory lock.

-- name: name_lock
-- Serialise the writers of one aggregate name until the transaction ends (there is no unique key on
-- the name: nova checks it in code).  Names that hash alike merely wait for each other.
SELECT pg_advisory_xact_lock(1634166649, hashtext(CAST(:name AS VARCHAR(255)))) IS NULL AS locked

-- name: aggregate_by_id
-- An aggregate by id, visible as :read_deleted says, with its live hosts and metadata as JSON (none
-- for a deleted aggregate, as nova's relationships say).
SELECT a.created_at, a.updated_at, a.deleted_at, a.deleted, a.id, a.uuid, a.name,
       CAST(coalesce((SELECT json_agg(h.host ORDER BY h.id) FROM aggregate_hosts h
                      WHERE h.aggregate_id = a.id AND h.deleted = 0 AND a.deleted = 0), '[]') AS TEXT) AS hosts,
       CAST(coalesce((SELECT json_agg(json_build_array(m."key", m.value) ORDER BY m.id) FROM aggregate_metadata m
                      WHERE m.aggregate_id = a.id AND m.deleted = 0 AND a.deleted = 0), '[]') AS TEXT) AS metadetails
FROM aggregates a
WHERE a.id = :aggregate_id AND READ_DELETED(a.deleted, int)

-- name: aggregate_by_uuid
-- An aggregate by uuid (the first, should two share one), visible as :read_deleted says, with its
-- live hosts and metadata as JSON.
SELECT a.created_at, a.updated_at, a.deleted_at, a.deleted, a.id, a.uuid, a.name,
       CAST(coalesce((SELECT json_agg(h.host ORDER BY h.id) FROM aggregate_hosts h
                      WHERE h.aggregate_id = a.id AND h.deleted = 0 AND a.deleted = 0), '[]') AS TEXT) AS hosts,
       CAST(coalesce((SELECT json_agg(json_build_array(m."key", m.value) ORDER BY m.id) FROM aggregate_metadata m
                      WHERE m.aggregate_id = a.id AND m.deleted = 0 AND a.deleted = 0), '[]') AS TEXT) AS metadetails
FROM aggregates a
WHERE a.uuid = :uuid AND READ_DELETED(a.deleted, int)
ORDER BY a.id
LIMIT 1

-- name: aggregates_all
-- Every aggregate visible as :read_deleted says, with its live hosts and metadata as JSON.
SELECT a.created_at, a.updated_at, a.deleted_at, a.deleted, a.id, a.uuid, a.name,
       CAST(coalesce((SELECT json_agg(h.host ORDER BY h.id) FROM aggregate_hosts h
                      WHERE h.aggregate_id = a.id AND h.deleted = 0 AND a.deleted = 0), '[]') AS TEXT) AS hosts,
       CAST(coalesce((SELECT json_agg(json_build_array(m."key", m.value) ORDER BY m.id) FROM aggregate_metadata m
                      WHERE m.aggregate_id = a.id AND m.deleted = 0 AND a.deleted = 0), '[]') AS TEXT) AS metadetails
FROM aggregates a
WHERE READ_DELETED(a.deleted, int)
ORDER BY a.id

-- name: aggregates_by_host
-- The live aggregates with a live row for :host (and a live metadata row of key :key when :by_key:
-- nova bugs 1187708/1201277), with all their live hosts and metadata as JSON.
SELECT a.created_at, a.updated_at, a.deleted_at, a.deleted, a.id, a.uuid, a.name,
       CAST(coalesce((SELECT json_agg(h.host ORDER BY h.id) FROM aggregate_hosts h
                      WHERE h.aggregate_id = a.id AND h.deleted = 0), '[]') AS TEXT) AS hosts,
       CAST(coalesce((SELECT json_agg(json_build_array(m."key", m.value) ORDER BY m.id) FROM aggregate_metadata m
                      WHERE m.aggregate_id = a.id AND m.deleted = 0), '[]') AS TEXT) AS metadetails
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
       CAST(coalesce((SELECT json_agg(h.host ORDER BY h.id) FROM aggregate_hosts h
                      WHERE h.aggregate_id = a.id AND h.deleted = 0), '[]') AS TEXT) AS hosts,
       CAST(json_build_array(json_build_array(m."key", m.value)) AS TEXT) AS metadetails
FROM aggregates a
JOIN aggregate_metadata m ON m.aggregate_id = a.id AND m.deleted = 0 AND m."key" = :key
WHERE a.deleted = 0 AND READ_DELETED(a.deleted, int)
ORDER BY a.id

-- name: metadata_upsert
-- Set an aggregate's live metadata keys listed in a JSON array of {key, value} to their values,
-- inserting (in order) the keys it has no live row for; a concurrent writer's row of the same key is
-- waited for and then updated (the unique key (aggregate_id, key, deleted)), never duplicated.  A row
-- whose value does not change is left alone.
INSERT INTO aggregate_metadata (aggregate_id, "key", value, created_at, deleted)
SELECT CAST(:aggregate_id AS INTEGER), x.item ->> 'key', x.item ->> 'value', CAST(:now AS TIMESTAMP), 0
FROM jsonb_array_elements(CAST(:items AS jsonb)) WITH ORDINALITY AS x(item, n)
ORDER BY x.n
ON CONFLICT (aggregate_id, "key", deleted) DO UPDATE
SET value = excluded.value, updated_at = CAST(:now AS TIMESTAMP)
WHERE aggregate_metadata.value IS DISTINCT FROM excluded.value

-- name: uuids_set
-- Give the aggregates of a JSON array of {id, uuid} that still have no uuid the uuid listed.
UPDATE aggregates AS a
SET uuid = x.item ->> 'uuid', updated_at = :now
FROM jsonb_array_elements(CAST(:items AS jsonb)) AS x(item)
WHERE a.id = CAST(x.item ->> 'id' AS INTEGER) AND a.uuid IS NULL
