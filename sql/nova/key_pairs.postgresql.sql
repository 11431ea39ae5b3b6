-- PostgreSQL: names compare by code point (COLLATE "C"), as SQLite's and MariaDB's binary
-- collations do, whatever the database's own collation, so every backend pages alike.

-- name: key_pair_get_all_by_user
-- A page of the user's live key pairs by name: at most :limit, after the name :marker (NULL: from the first).
SELECT id, name, user_id, fingerprint, public_key, type, created_at, updated_at, deleted_at, deleted
FROM key_pairs
WHERE user_id = :user_id AND deleted = 0 AND (CAST(:marker AS VARCHAR) IS NULL OR name COLLATE "C" > CAST(:marker AS VARCHAR))
ORDER BY name COLLATE "C"
LIMIT :limit
