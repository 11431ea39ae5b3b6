-- name: member_update
-- Update a membership, live or deleted: it becomes live again with deleted_at cleared, and
-- can_share changes only when given (glance reset it on every status change).  MariaDB's
-- UPDATE returns no rows: members.py reads the row back with member_get.
UPDATE image_members
SET status = coalesce(:status, status), can_share = coalesce(:can_share, can_share),
    deleted = false, deleted_at = NULL, updated_at = :now
WHERE id = :member_id
