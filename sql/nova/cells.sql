-- Cells (nova 14.0.0): the parent and child cells this cell talks to, by name.
-- The unique key (name, deleted) admits one live cell per name.

-- name: cell_create
-- Insert a cell; the unique key refuses a second live cell by the same name.
INSERT INTO cells (name, api_url, transport_url, weight_offset, weight_scale, is_parent, created_at, updated_at,
                   deleted)
VALUES (:name, :api_url, :transport_url, coalesce(:weight_offset, 0.0), coalesce(:weight_scale, 1.0), :is_parent,
        :created_at, :updated_at, 0)
RETURNING created_at, updated_at, deleted_at, deleted, id, name, api_url, transport_url, weight_offset,
          weight_scale, is_parent

-- name: cell_read_back
-- A cell by id, whatever its state (read back after an insert on MySQL, with :id NULL for the last insert).
SELECT created_at, updated_at, deleted_at, deleted, id, name, api_url, transport_url, weight_offset,
       weight_scale, is_parent
FROM cells
WHERE id = :id

-- name: cell_lock
-- The ids of the cells by this name visible as :read_deleted says (rows an update by name changes).
SELECT id FROM cells
WHERE name = :cell_name AND READ_DELETED(deleted, int)
ORDER BY id

-- name: cell_update
-- Change the given columns of some cells (a column whose :set_ flag is false keeps its value) and set
-- updated_at.
UPDATE cells
SET name = CASE WHEN :set_name THEN :name ELSE name END,
    api_url = CASE WHEN :set_api_url THEN :api_url ELSE api_url END,
    transport_url = CASE WHEN :set_transport_url THEN :transport_url ELSE transport_url END,
    weight_offset = CASE WHEN :set_weight_offset THEN :weight_offset ELSE weight_offset END,
    weight_scale = CASE WHEN :set_weight_scale THEN :weight_scale ELSE weight_scale END,
    is_parent = CASE WHEN :set_is_parent THEN :is_parent ELSE is_parent END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = ANY(:ids)

-- name: cell_first
-- The first of some cells: a live one before deleted ones, then the oldest.
SELECT created_at, updated_at, deleted_at, deleted, id, name, api_url, transport_url, weight_offset,
       weight_scale, is_parent
FROM cells
WHERE id = ANY(:ids)
ORDER BY CASE WHEN deleted = 0 THEN 0 ELSE 1 END, id
LIMIT 1

-- name: cell_delete
-- Soft-delete the live cell by this name (when :read_deleted lets the caller see live rows; updated_at kept).
UPDATE cells SET SOFT_DELETE(int, bulk)
WHERE name = :cell_name AND deleted = 0 AND READ_DELETED(deleted, int)

-- name: cell_get
-- A cell by name as :read_deleted says: the live one before deleted ones, then the oldest.
SELECT created_at, updated_at, deleted_at, deleted, id, name, api_url, transport_url, weight_offset,
       weight_scale, is_parent
FROM cells
WHERE name = :cell_name AND READ_DELETED(deleted, int)
ORDER BY CASE WHEN deleted = 0 THEN 0 ELSE 1 END, id
LIMIT 1

-- name: cell_get_all
-- Every live cell, oldest first.
SELECT created_at, updated_at, deleted_at, deleted, id, name, api_url, transport_url, weight_offset,
       weight_scale, is_parent
FROM cells
WHERE deleted = 0
ORDER BY id
