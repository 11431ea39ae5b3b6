-- Key pairs (nova 14.0.0): a user's public keys, by name.
-- The unique key (user_id, name, deleted) admits one live key pair per user and name.

-- name: key_pair_create
-- Insert a key pair; the unique key refuses a second live one by the same user and name.
INSERT INTO key_pairs (name, user_id, fingerprint, public_key, type, created_at, updated_at, deleted)
VALUES (:name, :user_id, :fingerprint, :public_key, :type, :created_at, :updated_at, 0)
RETURNING id, name, user_id, fingerprint, public_key, type, created_at, updated_at, deleted_at, deleted

-- name: key_pair_read_back
-- A key pair by id, whatever its state (read back after an insert on MySQL, with :id NULL for the last insert).
SELECT id, name, user_id, fingerprint, public_key, type, created_at, updated_at, deleted_at, deleted
FROM key_pairs
WHERE id = :id

-- name: key_pair_destroy
-- Soft-delete the user's live key pair by this name (when :read_deleted lets the caller see live rows;
-- updated_at kept).
UPDATE key_pairs SET SOFT_DELETE(int, bulk)
WHERE user_id = :user_id AND name = :name AND deleted = 0 AND READ_DELETED(deleted, int)

-- name: key_pair_get
-- A user's key pair by name as :read_deleted says: the live one before deleted ones, then the oldest.
SELECT id, name, user_id, fingerprint, public_key, type, created_at, updated_at, deleted_at, deleted
FROM key_pairs
WHERE user_id = :user_id AND name = :name AND READ_DELETED(deleted, int)
ORDER BY CASE WHEN deleted = 0 THEN 0 ELSE 1 END, id
LIMIT 1

-- name: key_pair_marker
-- The user's live key pair named :marker (a listing's page starts after it).
SELECT id FROM key_pairs
WHERE user_id = :user_id AND name = :marker AND deleted = 0

-- name: key_pair_get_all_by_user
-- A page of the user's live key pairs by name: at most :limit, after the name :marker (NULL: from the first).
SELECT id, name, user_id, fingerprint, public_key, type, created_at, updated_at, deleted_at, deleted
FROM key_pairs
WHERE user_id = :user_id AND deleted = 0 AND (:marker IS NULL OR name > :marker)
ORDER BY name
LIMIT :limit

-- name: key_pair_count_by_user
-- How many live key pairs the user has.
SELECT count(*) AS n FROM key_pairs
WHERE user_id = :user_id AND deleted = 0
