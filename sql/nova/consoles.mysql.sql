-- MySQL has no INSERT ... RETURNING (MariaDB's is not MySQL's): an inserted row is read back in the
-- same transaction by LAST_INSERT_ID() (this connection's own).

-- name: pool_create
-- Insert a console pool; the unique key refuses a second live pool for the same host, type and
-- compute host.
INSERT INTO console_pools (address, username, password, console_type, public_hostname, host, compute_host,
                           created_at, updated_at, deleted)
VALUES (:address, :username, :password, :console_type, :public_hostname, :host, :compute_host,
        :created_at, :updated_at, 0)

-- name: pool_read_back
-- A console pool by :id, or (:id NULL) the one this connection inserted last.
SELECT created_at, updated_at, deleted_at, deleted, id, address, username, password, console_type,
       public_hostname, host, compute_host
FROM console_pools
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: console_create
-- Insert a console of an instance in a pool (both must exist: foreign keys).
INSERT INTO consoles (instance_name, instance_uuid, password, port, pool_id, created_at, updated_at, deleted)
VALUES (:instance_name, :instance_uuid, :password, :port, :pool_id, :created_at, :updated_at, 0)

-- name: console_read_back
-- A console by :id, or (:id NULL) the one this connection inserted last.
SELECT created_at, updated_at, deleted_at, deleted, id, instance_name, instance_uuid, password, port, pool_id
FROM consoles
WHERE id = coalesce(:id, LAST_INSERT_ID())
