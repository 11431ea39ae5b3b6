-- Console pools and consoles (rawdb/nova/consoles.py, nova 14.0.0).
-- The unique key (host, console_type, compute_host, deleted) admits one live pool per proxy host,
-- type and compute host.  Consoles are transient: deleting one removes its row.  A console's pool
-- comes as pool__<column> columns of a LEFT JOIN (the pool relationship sees deleted pools too).

-- name: pool_create
-- Insert a console pool; the unique key refuses a second live pool for the same host, type and
-- compute host.
INSERT INTO console_pools (address, username, password, console_type, public_hostname, host, compute_host,
                           created_at, updated_at, deleted)
VALUES (:address, :username, :password, :console_type, :public_hostname, :host, :compute_host,
        :created_at, :updated_at, 0)
RETURNING created_at, updated_at, deleted_at, deleted, id, address, username, password, console_type,
          public_hostname, host, compute_host

-- name: pool_read_back
-- A console pool by id, whatever its state (MySQL's read-back after an insert, with :id NULL for
-- the last insert: the other backends have RETURNING).
SELECT created_at, updated_at, deleted_at, deleted, id, address, username, password, console_type,
       public_hostname, host, compute_host
FROM console_pools
WHERE id = :id

-- name: pool_get_by_host_type
-- The (first) live pool of a type serving a compute host on a proxy host.
SELECT created_at, updated_at, deleted_at, deleted, id, address, username, password, console_type,
       public_hostname, host, compute_host
FROM console_pools
WHERE host = :host AND console_type = :console_type AND compute_host = :compute_host AND deleted = 0
ORDER BY id
LIMIT 1

-- name: pools_get_all_by_host_type
-- The live pools of a type on a proxy host, oldest first.
SELECT created_at, updated_at, deleted_at, deleted, id, address, username, password, console_type,
       public_hostname, host, compute_host
FROM console_pools
WHERE host = :host AND console_type = :console_type AND deleted = 0
ORDER BY id

-- name: pools_consoles
-- The consoles of some pools (the pools' relationship: every row, in id order).
SELECT created_at, updated_at, deleted_at, deleted, id, instance_name, instance_uuid, password, port, pool_id
FROM consoles
WHERE pool_id = ANY(:pool_ids)
ORDER BY id

-- name: console_create
-- Insert a console of an instance in a pool (both must exist: foreign keys).
INSERT INTO consoles (instance_name, instance_uuid, password, port, pool_id, created_at, updated_at, deleted)
VALUES (:instance_name, :instance_uuid, :password, :port, :pool_id, :created_at, :updated_at, 0)
RETURNING created_at, updated_at, deleted_at, deleted, id, instance_name, instance_uuid, password, port, pool_id

-- name: console_read_back
-- A console by id (MySQL's read-back after an insert, with :id NULL for the last insert: the other
-- backends have RETURNING).
SELECT created_at, updated_at, deleted_at, deleted, id, instance_name, instance_uuid, password, port, pool_id
FROM consoles
WHERE id = :id

-- name: console_delete
-- Remove a console (a HARD delete, as upstream: consoles are transient).
DELETE FROM consoles WHERE id = :console_id

-- name: console_get_by_pool_instance
-- The (first) console of an instance in a pool, deleted or not, with its pool.
SELECT c.created_at, c.updated_at, c.deleted_at, c.deleted, c.id, c.instance_name, c.instance_uuid, c.password,
       c.port, c.pool_id,
       p.created_at AS pool__created_at, p.updated_at AS pool__updated_at, p.deleted_at AS pool__deleted_at,
       p.deleted AS pool__deleted, p.id AS pool__id, p.address AS pool__address, p.username AS pool__username,
       p.password AS pool__password, p.console_type AS pool__console_type,
       p.public_hostname AS pool__public_hostname, p.host AS pool__host, p.compute_host AS pool__compute_host
FROM consoles c
LEFT JOIN console_pools p ON p.id = c.pool_id
WHERE c.pool_id = :pool_id AND c.instance_uuid = :instance_uuid
ORDER BY c.id
LIMIT 1

-- name: consoles_get_all_by_instance
-- An instance's consoles, deleted or not, oldest first, each with its pool (which the module drops
-- unless the caller asked to join it).
SELECT c.created_at, c.updated_at, c.deleted_at, c.deleted, c.id, c.instance_name, c.instance_uuid, c.password,
       c.port, c.pool_id,
       p.created_at AS pool__created_at, p.updated_at AS pool__updated_at, p.deleted_at AS pool__deleted_at,
       p.deleted AS pool__deleted, p.id AS pool__id, p.address AS pool__address, p.username AS pool__username,
       p.password AS pool__password, p.console_type AS pool__console_type,
       p.public_hostname AS pool__public_hostname, p.host AS pool__host, p.compute_host AS pool__compute_host
FROM consoles c
LEFT JOIN console_pools p ON p.id = c.pool_id
WHERE c.instance_uuid = :instance_uuid
ORDER BY c.id

-- name: console_get
-- A console by id, deleted or not, with its pool; when :instance_uuid is not NULL, only if it is
-- that instance's.
SELECT c.created_at, c.updated_at, c.deleted_at, c.deleted, c.id, c.instance_name, c.instance_uuid, c.password,
       c.port, c.pool_id,
       p.created_at AS pool__created_at, p.updated_at AS pool__updated_at, p.deleted_at AS pool__deleted_at,
       p.deleted AS pool__deleted, p.id AS pool__id, p.address AS pool__address, p.username AS pool__username,
       p.password AS pool__password, p.console_type AS pool__console_type,
       p.public_hostname AS pool__public_hostname, p.host AS pool__host, p.compute_host AS pool__compute_host
FROM consoles c
LEFT JOIN console_pools p ON p.id = c.pool_id
WHERE c.id = :console_id AND (CAST(:instance_uuid AS VARCHAR(36)) IS NULL OR c.instance_uuid = :instance_uuid)
