-- MySQL has no INSERT ... RETURNING (MariaDB has; MySQL 8 has not): the row is read back in the
-- same transaction by LAST_INSERT_ID() (this connection's own).

-- name: key_pair_create
-- Insert a key pair; the unique key refuses a second live one by the same user and name.
INSERT INTO key_pairs (name, user_id, fingerprint, public_key, type, created_at, updated_at, deleted)
VALUES (:name, :user_id, :fingerprint, :public_key, :type, :created_at, :updated_at, 0)

-- name: key_pair_read_back
-- A key pair by :id, or (:id NULL) the one this connection inserted last.
SELECT id, name, user_id, fingerprint, public_key, type, created_at, updated_at, deleted_at, deleted
FROM key_pairs
WHERE id = coalesce(:id, LAST_INSERT_ID())
