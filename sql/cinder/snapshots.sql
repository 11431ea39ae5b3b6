-- Cinder's snapshots (rawdb/cinder/snapshots.py; cinder 2012.2, spec A.5 "Snapshots").
-- Soft delete is cinder's boolean one: deleted = true, deleted_at = now, updated_at kept.

-- name: snapshot_create
-- Insert a snapshot (its id chosen by the caller: a new uuid unless given).
INSERT INTO snapshots (id, user_id, project_id, volume_id, status, progress, volume_size, display_name,
                       display_description, created_at, updated_at, deleted)
VALUES (:id, :user_id, :project_id, :volume_id, :status, :progress, :volume_size, :display_name,
        :display_description, :created_at, :updated_at, false)
RETURNING id, user_id, project_id, volume_id, status, progress, volume_size, display_name, display_description,
          created_at, updated_at, deleted_at, deleted

-- name: snapshot_read_back
-- A snapshot by id, whatever its state (run on MySQL only: the read-back after an insert).
SELECT id, user_id, project_id, volume_id, status, progress, volume_size, display_name, display_description,
       created_at, updated_at, deleted_at, deleted
FROM snapshots
WHERE id = :id

-- name: snapshot_destroy
-- Soft-delete a live snapshot (updated_at kept, as cinder's bulk update did).
UPDATE snapshots SET SOFT_DELETE(bool, bulk)
WHERE id = :snapshot_id AND NOT deleted

-- name: snapshot_get
-- A snapshot by id, visible as :read_deleted says, and to a user context only in its project.
SELECT id, user_id, project_id, volume_id, status, progress, volume_size, display_name, display_description,
       created_at, updated_at, deleted_at, deleted
FROM snapshots
WHERE id = :snapshot_id AND READ_DELETED(deleted, bool) AND PROJECT_ONLY(project_id)

-- name: snapshot_get_all
-- Every snapshot visible as :read_deleted says, oldest first.
SELECT id, user_id, project_id, volume_id, status, progress, volume_size, display_name, display_description,
       created_at, updated_at, deleted_at, deleted
FROM snapshots
WHERE READ_DELETED(deleted, bool)
ORDER BY created_at, id

-- name: snapshot_get_all_by_project
-- A project's snapshots visible as :read_deleted says, oldest first.
SELECT id, user_id, project_id, volume_id, status, progress, volume_size, display_name, display_description,
       created_at, updated_at, deleted_at, deleted
FROM snapshots
WHERE project_id = :project_id AND READ_DELETED(deleted, bool)
ORDER BY created_at, id

-- name: snapshot_get_all_for_volume
-- A volume's live snapshots (a user context sees its project's only), oldest first.
SELECT id, user_id, project_id, volume_id, status, progress, volume_size, display_name, display_description,
       created_at, updated_at, deleted_at, deleted
FROM snapshots
WHERE volume_id = :volume_id AND NOT deleted AND PROJECT_ONLY(project_id)
ORDER BY created_at, id

-- name: snapshot_update
-- Change the given columns of a snapshot visible as :read_deleted says (and to a user context only
-- in its project); a column whose :set_ flag is false keeps its value.  updated_at is now unless given.
UPDATE snapshots
SET user_id = CASE WHEN :set_user_id THEN :user_id ELSE user_id END,
    project_id = CASE WHEN :set_project_id THEN :project_id ELSE project_id END,
    volume_id = CASE WHEN :set_volume_id THEN :volume_id ELSE volume_id END,
    status = CASE WHEN :set_status THEN :status ELSE status END,
    progress = CASE WHEN :set_progress THEN :progress ELSE progress END,
    volume_size = CASE WHEN :set_volume_size THEN :volume_size ELSE volume_size END,
    display_name = CASE WHEN :set_display_name THEN :display_name ELSE display_name END,
    display_description = CASE WHEN :set_display_description THEN :display_description ELSE display_description END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = :snapshot_id AND READ_DELETED(deleted, bool) AND PROJECT_ONLY(project_id)
