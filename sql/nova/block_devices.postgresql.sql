-- PostgreSQL: the writers of an instance's mappings lock its row FOR NO KEY UPDATE (the foreign key
-- checks of new mappings take only KEY SHARE, so they do not wait on it).

-- name: instance_lock
-- Serialise the writers of one instance's mappings (no unique key covers instance and device).
SELECT id FROM instances WHERE uuid = :instance_uuid FOR NO KEY UPDATE
