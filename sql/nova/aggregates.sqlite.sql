-- SQLite: an aggregate's hosts and metadata come as JSON text (json_group_array over rows in id
-- order) in the row of the aggregate; JSON arrays of {"key", "value"} (metadata) or {"id", "uuid"}
-- objects are read with json_each.  Writers hold the database (BEGIN IMMEDIATE): names need no lock.

-- name: aggregate_by_id
-- An aggregate by id, visible as :read_deleted says, with its live hosts and metadata as JSON (none
-- for a deleted aggregate, as nova's relationships say).
SELECT a.created_at, a.updated_at, a.deleted_at, a.deleted, a.id, a.uuid, a.name,
       (SELECT json_group_array(hs.host) FROM (SELECT h.host FROM aggregate_hosts h
        WHERE h.aggregate_id = a.id AND h.deleted = 0 AND a.deleted = 0 ORDER BY h.id) AS hs) AS hosts,
       (SELECT json_group_array(json_array(ms.k, ms.v)) FROM (SELECT m."key" AS k, m.value AS v FROM aggregate_metadata m
        WHERE m.aggregate_id = a.id AND m.deleted = 0 AND a.deleted = 0 ORDER BY m.id) AS ms) AS metadetails
FROM aggregates a
WHERE a.id = :aggregate_id AND READ_DELETED(a.deleted, int)

-- name: aggregate_by_uuid
-- An aggregate by uuid (the first, should two share one), visible as :read_deleted says, with its
-- live hosts and metadata as JSON.
SELECT a.created_at, a.updated_at, a.deleted_at, a.deleted, a.id, a.uuid, a.name,
       (SELECT json_group_array(hs.host) FROM (SELECT h.host FROM aggregate_hosts h
        WHERE h.aggregate_id = a.id AND h.deleted = 0 AND a.deleted = 0 ORDER BY h.id) AS hs) AS hosts,
       (SELECT json_group_array(json_array(ms.k, ms.v)) FROM (SELECT m."key" AS k, m.value AS v FROM aggregate_metadata m
        WHERE m.aggregate_id = a.id AND m.deleted = 0 AND a.deleted = 0 ORDER BY m.id) AS ms) AS metadetails
FROM aggregates a
WHERE a.uuid = :uuid AND READ_DELETED(a.deleted, int)
ORDER BY a.id
LIMIT 1

-- name: aggregates_all
-- Every aggregate visible as :read_deleted says, with its live hosts and metadata as JSON.
SELECT a.created_at, a.updated_at, a.deleted_at, a.deleted, a.id, a.uuid, a.name,
       (SELECT json_group_array(hs.host) FROM (SELECT h.host FROM aggregate_hosts h
        WHERE h.aggregate_id = a.id AND h.deleted = 0 AND a.deleted = 0 ORDER BY h.id) AS hs) AS hosts,
       (SELECT json_group_array(json_array(ms.k, ms.v)) FROM (SELECT m."key" AS k, m.value AS v FROM aggregate_metadata m
        WHERE m.aggregate_id = a.id AND m.deleted = 0 AND a.deleted = 0 ORDER BY m.id) AS ms) AS metadetails
FROM aggregates a
WHERE READ_DELETED(a.deleted, int)
ORDER BY a.id

-- name: aggregates_by_host
-- The live aggregates with a live row for :host (and a live metadata row of key :key when :by_key:
-- nova bugs 1187708/1201277), with all their live hosts and metadata as JSON.
SELECT a.created_at, a.updated_at, a.deleted_at, a.deleted, a.id, a.uuid, a.name,
       (SELECT json_group_array(hs.host) FROM (SELECT h.host FROM aggregate_hosts h
        WHERE h.aggregate_id = a.id AND h.deleted = 0 ORDER BY h.id) AS hs) AS hosts,
       (SELECT json_group_array(json_array(ms.k, ms.v)) FROM (SELECT m."key" AS k, m.value AS v FROM aggregate_metadata m
        WHERE m.aggregate_id = a.id AND m.deleted = 0 ORDER BY m.id) AS ms) AS metadetails
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
       (SELECT json_group_array(hs.host) FROM (SELECT h.host FROM aggregate_hosts h
        WHERE h.aggregate_id = a.id AND h.deleted = 0 ORDER BY h.id) AS hs) AS hosts,
       json_array(json_array(m."key", m.value)) AS metadetails
FROM aggregates a
JOIN aggregate_metadata m ON m.aggregate_id = a.id AND m.deleted = 0 AND m."key" = :key
WHERE a.deleted = 0 AND READ_DELETED(a.deleted, int)
ORDER BY a.id

-- name: metadata_upsert
-- Set an aggregate's live metadata keys listed in a JSON array of {key, value} to their values,
-- inserting (in order) the keys it has no live row for (the unique key (aggregate_id, key, deleted)
-- finds the live row).  A row whose value does not change is left alone.
INSERT INTO aggregate_metadata (aggregate_id, "key", value, created_at, deleted)
SELECT :aggregate_id, json_extract(x.value, '$.key'), json_extract(x.value, '$.value'), :now, 0
FROM json_each(:items) AS x
WHERE true
ORDER BY x.key
ON CONFLICT (aggregate_id, "key", deleted) DO UPDATE
SET value = excluded.value, updated_at = :now
WHERE aggregate_metadata.value IS NOT excluded.value

-- name: uuids_set
-- Give the aggregates of a JSON array of {id, uuid} that still have no uuid the uuid listed.
UPDATE aggregates
SET uuid = json_extract(x.value, '$.uuid'), updated_at = :now
FROM json_each(:items) AS x
WHERE aggregates.id = json_extract(x.value, '$.id') AND aggregates.uuid IS NULL
