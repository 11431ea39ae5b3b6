-- MySQL has no INSERT ... RETURNING: the module reads a new snapshot back by its id
-- (snapshot_read_back) in the same transaction.

-- name: snapshot_create
-- Insert a snapshot (its id chosen by the caller: a new uuid unless given).
INSERT INTO snapshots (id, user_id, project_id, volume_id, status, progress, volume_size, display_name,
                       display_description, created_at, updated_at, deleted)
VALUES (:id, :user_id, :project_id, :volume_id, :status, :progress, :volume_size, :display_name,
        :display_description, :created_at, :updated_at, false)
