-- PostgreSQL: an update by name locks the cells it changes first.

-- name: cell_lock
-- Lock the cells by this name visible as :read_deleted says (rows an update by name changes).
SELECT id FROM cells
WHERE name = :cell_name AND READ_DELETED(deleted, int)
ORDER BY id
FOR UPDATE
