-- Cinder's volumes and their metadata (rawdb.cinder.volumes).  A volume comes back with its live
-- volume type (LEFT JOIN, columns prefixed type_) and, from a second statement, its live metadata.
-- Lists have no upstream order: oldest first (a NULL created_at last), then by id.

-- name: volume_create
-- Insert a volume row (its metadata rows follow, from metadata_insert).
INSERT INTO volumes (id, ec2_id, user_id, project_id, snapshot_id, host, size, availability_zone, instance_uuid,
                     mountpoint, attach_time, status, attach_status, scheduled_at, launched_at, terminated_at,
                     display_name, display_description, provider_location, provider_auth, volume_type_id,
                     created_at, updated_at, deleted_at, deleted)
VALUES (:id, :ec2_id, :user_id, :project_id, :snapshot_id, :host, :size, :availability_zone, :instance_uuid,
        :mountpoint, :attach_time, :status, :attach_status, :scheduled_at, :launched_at, :terminated_at,
        :display_name, :display_description, :provider_location, :provider_auth, :volume_type_id,
        :created_at, :updated_at, :deleted_at, coalesce(:deleted, false))

-- name: volume_get
-- One volume as :read_deleted and project_only allow, with its live volume type.
SELECT v.id, v.ec2_id, v.user_id, v.project_id, v.snapshot_id, v.host, v.size, v.availability_zone,
       v.instance_uuid, v.mountpoint, v.attach_time, v.status, v.attach_status, v.scheduled_at, v.launched_at,
       v.terminated_at, v.display_name, v.display_description, v.provider_location, v.provider_auth,
       v.volume_type_id, v.created_at, v.updated_at, v.deleted_at, v.deleted,
       t.id AS type_id, t.name AS type_name, t.created_at AS type_created_at, t.updated_at AS type_updated_at,
       t.deleted_at AS type_deleted_at, t.deleted AS type_deleted
FROM volumes v
LEFT JOIN volume_types t ON t.id = v.volume_type_id AND NOT t.deleted
WHERE v.id = :volume_id AND READ_DELETED(v.deleted, bool) AND PROJECT_ONLY(v.project_id)

-- name: volume_get_all
-- Every volume as :read_deleted allows, with its live volume type.
SELECT v.id, v.ec2_id, v.user_id, v.project_id, v.snapshot_id, v.host, v.size, v.availability_zone,
       v.instance_uuid, v.mountpoint, v.attach_time, v.status, v.attach_status, v.scheduled_at, v.launched_at,
       v.terminated_at, v.display_name, v.display_description, v.provider_location, v.provider_auth,
       v.volume_type_id, v.created_at, v.updated_at, v.deleted_at, v.deleted,
       t.id AS type_id, t.name AS type_name, t.created_at AS type_created_at, t.updated_at AS type_updated_at,
       t.deleted_at AS type_deleted_at, t.deleted AS type_deleted
FROM volumes v
LEFT JOIN volume_types t ON t.id = v.volume_type_id AND NOT t.deleted
WHERE READ_DELETED(v.deleted, bool)
ORDER BY v.created_at IS NULL, v.created_at, v.id

-- name: volume_get_all_by_host
-- The volumes of a host as :read_deleted allows, with their live volume types.
SELECT v.id, v.ec2_id, v.user_id, v.project_id, v.snapshot_id, v.host, v.size, v.availability_zone,
       v.instance_uuid, v.mountpoint, v.attach_time, v.status, v.attach_status, v.scheduled_at, v.launched_at,
       v.terminated_at, v.display_name, v.display_description, v.provider_location, v.provider_auth,
       v.volume_type_id, v.created_at, v.updated_at, v.deleted_at, v.deleted,
       t.id AS type_id, t.name AS type_name, t.created_at AS type_created_at, t.updated_at AS type_updated_at,
       t.deleted_at AS type_deleted_at, t.deleted AS type_deleted
FROM volumes v
LEFT JOIN volume_types t ON t.id = v.volume_type_id AND NOT t.deleted
WHERE v.host = :host AND READ_DELETED(v.deleted, bool)
ORDER BY v.created_at IS NULL, v.created_at, v.id

-- name: volume_get_all_by_instance_uuid
-- The live volumes attached to an instance, with their live volume types.
SELECT v.id, v.ec2_id, v.user_id, v.project_id, v.snapshot_id, v.host, v.size, v.availability_zone,
       v.instance_uuid, v.mountpoint, v.attach_time, v.status, v.attach_status, v.scheduled_at, v.launched_at,
       v.terminated_at, v.display_name, v.display_description, v.provider_location, v.provider_auth,
       v.volume_type_id, v.created_at, v.updated_at, v.deleted_at, v.deleted,
       t.id AS type_id, t.name AS type_name, t.created_at AS type_created_at, t.updated_at AS type_updated_at,
       t.deleted_at AS type_deleted_at, t.deleted AS type_deleted
FROM volumes v
LEFT JOIN volume_types t ON t.id = v.volume_type_id AND NOT t.deleted
WHERE v.instance_uuid = :instance_uuid AND NOT v.deleted
ORDER BY v.created_at IS NULL, v.created_at, v.id

-- name: volume_get_all_by_project
-- The volumes of a project as :read_deleted allows, with their live volume types.
SELECT v.id, v.ec2_id, v.user_id, v.project_id, v.snapshot_id, v.host, v.size, v.availability_zone,
       v.instance_uuid, v.mountpoint, v.attach_time, v.status, v.attach_status, v.scheduled_at, v.launched_at,
       v.terminated_at, v.display_name, v.display_description, v.provider_location, v.provider_auth,
       v.volume_type_id, v.created_at, v.updated_at, v.deleted_at, v.deleted,
       t.id AS type_id, t.name AS type_name, t.created_at AS type_created_at, t.updated_at AS type_updated_at,
       t.deleted_at AS type_deleted_at, t.deleted AS type_deleted
FROM volumes v
LEFT JOIN volume_types t ON t.id = v.volume_type_id AND NOT t.deleted
WHERE v.project_id = :project_id AND READ_DELETED(v.deleted, bool)
ORDER BY v.created_at IS NULL, v.created_at, v.id

-- name: volume_get_active_by_window
-- The volumes, deleted or not, that existed during a window: not deleted before :begin, created
-- before :end (when :has_end), of one project (when :has_project); with their live volume types.
SELECT v.id, v.ec2_id, v.user_id, v.project_id, v.snapshot_id, v.host, v.size, v.availability_zone,
       v.instance_uuid, v.mountpoint, v.attach_time, v.status, v.attach_status, v.scheduled_at, v.launched_at,
       v.terminated_at, v.display_name, v.display_description, v.provider_location, v.provider_auth,
       v.volume_type_id, v.created_at, v.updated_at, v.deleted_at, v.deleted,
       t.id AS type_id, t.name AS type_name, t.created_at AS type_created_at, t.updated_at AS type_updated_at,
       t.deleted_at AS type_deleted_at, t.deleted AS type_deleted
FROM volumes v
LEFT JOIN volume_types t ON t.id = v.volume_type_id AND NOT t.deleted
WHERE (v.deleted_at IS NULL OR v.deleted_at > :begin)
  AND (NOT :has_end OR v.created_at < :end)
  AND (NOT :has_project OR v.project_id = :project_id)
ORDER BY v.created_at IS NULL, v.created_at, v.id

-- name: metadata_of_volumes
-- The live metadata rows of some volumes, oldest first (nested in each volume as volume_metadata).
SELECT id, "key", value, volume_id, created_at, updated_at, deleted_at, deleted
FROM volume_metadata
WHERE volume_id = ANY(:volume_ids) AND NOT deleted
ORDER BY id

-- name: volume_exists
-- Whether a volume is there as :read_deleted and project_only allow (what reads of its metadata check).
SELECT id FROM volumes
WHERE id = :volume_id AND READ_DELETED(deleted, bool) AND PROJECT_ONLY(project_id)

-- name: volume_lock
-- volume_exists for a writer of the volume's metadata; PostgreSQL and MariaDB lock the volume row,
-- so concurrent writers of one volume's metadata take turns (SQLite's writers always do).
SELECT id FROM volumes
WHERE id = :volume_id AND READ_DELETED(deleted, bool) AND PROJECT_ONLY(project_id)

-- name: volume_update
-- Change the columns the caller gave of a volume visible as :read_deleted and project_only allow
-- (a column whose :set_ flag is false keeps its value) and set updated_at.
UPDATE volumes
SET ec2_id = CASE WHEN :set_ec2_id THEN :ec2_id ELSE ec2_id END,
    user_id = CASE WHEN :set_user_id THEN :user_id ELSE user_id END,
    project_id = CASE WHEN :set_project_id THEN :project_id ELSE project_id END,
    snapshot_id = CASE WHEN :set_snapshot_id THEN :snapshot_id ELSE snapshot_id END,
    host = CASE WHEN :set_host THEN :host ELSE host END,
    size = CASE WHEN :set_size THEN :size ELSE size END,
    availability_zone = CASE WHEN :set_availability_zone THEN :availability_zone ELSE availability_zone END,
    instance_uuid = CASE WHEN :set_instance_uuid THEN :instance_uuid ELSE instance_uuid END,
    mountpoint = CASE WHEN :set_mountpoint THEN :mountpoint ELSE mountpoint END,
    attach_time = CASE WHEN :set_attach_time THEN :attach_time ELSE attach_time END,
    status = CASE WHEN :set_status THEN :status ELSE status END,
    attach_status = CASE WHEN :set_attach_status THEN :attach_status ELSE attach_status END,
    scheduled_at = CASE WHEN :set_scheduled_at THEN :scheduled_at ELSE scheduled_at END,
    launched_at = CASE WHEN :set_launched_at THEN :launched_at ELSE launched_at END,
    terminated_at = CASE WHEN :set_terminated_at THEN :terminated_at ELSE terminated_at END,
    display_name = CASE WHEN :set_display_name THEN :display_name ELSE display_name END,
    display_description = CASE WHEN :set_display_description THEN :display_description
                               ELSE display_description END,
    provider_location = CASE WHEN :set_provider_location THEN :provider_location ELSE provider_location END,
    provider_auth = CASE WHEN :set_provider_auth THEN :provider_auth ELSE provider_auth END,
    volume_type_id = CASE WHEN :set_volume_type_id THEN :volume_type_id ELSE volume_type_id END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    deleted_at = CASE WHEN :set_deleted_at THEN :deleted_at ELSE deleted_at END,
    deleted = CASE WHEN :set_deleted THEN :deleted ELSE deleted END,
    updated_at = :updated_at
WHERE id = :volume_id AND READ_DELETED(deleted, bool) AND PROJECT_ONLY(project_id)

-- name: volume_attached
-- Attach a volume visible as :read_deleted allows to an instance at a mountpoint (attach_time untouched).
UPDATE volumes
SET status = 'in-use', mountpoint = :mountpoint, attach_status = 'attached', instance_uuid = :instance_uuid,
    updated_at = :now
WHERE id = :volume_id AND READ_DELETED(deleted, bool)

-- name: volume_detached
-- Detach a volume visible as :read_deleted allows.
UPDATE volumes
SET status = 'available', mountpoint = NULL, attach_status = 'detached', instance_uuid = NULL, updated_at = :now
WHERE id = :volume_id AND READ_DELETED(deleted, bool)

-- name: volume_destroy
-- Soft-delete a live volume (bulk: updated_at kept).
UPDATE volumes SET SOFT_DELETE(bool, bulk) WHERE id = :volume_id AND NOT deleted

-- name: volume_release_iscsi_target
-- Give back the iSCSI targets a volume holds (volume_destroy's cascade; updated_at bumped, as the
-- ORM's bulk update did).
UPDATE iscsi_targets SET volume_id = NULL, updated_at = :now WHERE volume_id = :volume_id

-- name: volume_destroy_metadata
-- Soft-delete a volume's live metadata (volume_destroy's cascade; bulk: updated_at kept).
UPDATE volume_metadata SET SOFT_DELETE(bool, bulk) WHERE volume_id = :volume_id AND NOT deleted

-- name: volume_data_get_for_project
-- A project's live volumes: how many, and their total size (0 for none).
SELECT count(id) AS volumes, coalesce(sum(size), 0) AS gigabytes
FROM volumes
WHERE project_id = :project_id AND NOT deleted

-- name: metadata_live
-- A volume's live metadata rows, oldest first.
SELECT id, "key", value FROM volume_metadata
WHERE volume_id = :volume_id AND NOT deleted
ORDER BY id

-- name: metadata_delete
-- Soft-delete a volume's live metadata with a key (bulk: updated_at kept).
UPDATE volume_metadata SET SOFT_DELETE(bool, bulk)
WHERE volume_id = :volume_id AND "key" = :key AND NOT deleted

-- name: metadata_delete_rows
-- Soft-delete metadata rows by id (a replacing update dropping keys: updated_at bumped, as the
-- ORM's save of each row did).
UPDATE volume_metadata SET SOFT_DELETE(bool, object) WHERE id = ANY(:ids)
