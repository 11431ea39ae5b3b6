-- MySQL: no INSERT ... RETURNING on MySQL 8 (the row is read back by LAST_INSERT_ID(), this
-- connection's own); an update by name locks the cells it changes first.

-- name: cell_create
-- Insert a cell; the unique key refuses a second live cell by the same name.
INSERT INTO cells (name, api_url, transport_url, weight_offset, weight_scale, is_parent, created_at, updated_at,
                   deleted)
VALUES (:name, :api_url, :transport_url, coalesce(:weight_offset, 0.0), coalesce(:weight_scale, 1.0), :is_parent,
        :created_at, :updated_at, 0)

-- name: cell_read_back
-- A cell by :id, or (:id NULL) the one this connection inserted last.
SELECT created_at, updated_at, deleted_at, deleted, id, name, api_url, transport_url, weight_offset,
       weight_scale, is_parent
FROM cells
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: cell_lock
-- Lock the cells by this name visible as :read_deleted says (rows an update by name changes).
SELECT id FROM cells
WHERE name = :cell_name AND READ_DELETED(deleted, int)
ORDER BY id
FOR UPDATE
