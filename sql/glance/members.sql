-- name: member_create
-- Insert a membership; the live-row unique index refuses a second live one.
INSERT INTO image_members (image_id, member, can_share, status, created_at, updated_at, deleted)
VALUES (:image_id, :member, :can_share, :status, :now, :now, false)
RETURNING id, image_id, member, can_share, status, created_at, updated_at, deleted

-- name: member_update
-- Update a membership, live or deleted: it becomes live again with deleted_at cleared, and
-- can_share changes only when given (glance reset it on every status change).
UPDATE image_members
SET status = coalesce(:status, status), can_share = coalesce(:can_share, can_share),
    deleted = false, deleted_at = NULL, updated_at = :now
WHERE id = :member_id
RETURNING id, image_id, member, can_share, status, created_at, updated_at, deleted

-- name: member_soft_delete
-- Soft-delete a membership (an already deleted one keeps its deleted_at).  deleted_at is set
-- before deleted: MariaDB's assignments see the ones before them.
UPDATE image_members
SET deleted_at = CASE WHEN deleted THEN deleted_at ELSE :now END, deleted = true, updated_at = :now
WHERE id = :member_id

-- name: member_count
-- The number of live memberships of an image.
SELECT count(*) AS n FROM image_members WHERE image_id = :image_id AND NOT deleted

-- name: member_get
-- One membership by id, live or deleted (MariaDB's read-back after member_update).
SELECT id, image_id, member, can_share, status, created_at, updated_at, deleted
FROM image_members
WHERE id = :member_id
