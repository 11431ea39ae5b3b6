-- Cinder's migrations (cinder/db/sqlalchemy/api.py at 2012.2): the migrations table's columns,
-- nothing joined (cinder has no instances table).  Every reader sees deleted rows too, as Folsom's
-- read_deleted="yes" did.

-- name: migration_create
-- Insert a migration from the caller's values, live; created_at given or now.
INSERT INTO migrations (source_compute, dest_compute, dest_host, old_instance_type_id, new_instance_type_id,
                        instance_uuid, status, created_at, updated_at, deleted_at, deleted)
VALUES (:source_compute, :dest_compute, :dest_host, :old_instance_type_id, :new_instance_type_id,
        :instance_uuid, :status, :created_at, :updated_at, :deleted_at, FALSE)
RETURNING id, source_compute, dest_compute, dest_host, old_instance_type_id, new_instance_type_id, instance_uuid,
          status, created_at, updated_at, deleted_at, deleted

-- name: migration_get
-- A migration by id, deleted or not.
SELECT id, source_compute, dest_compute, dest_host, old_instance_type_id, new_instance_type_id, instance_uuid,
       status, created_at, updated_at, deleted_at, deleted
FROM migrations
WHERE id = :id

-- name: migration_read_back
-- A migration by :id, deleted or not (MySQL reads a new migration back with this statement, by
-- LAST_INSERT_ID() for :id NULL; the other backends have INSERT ... RETURNING).
SELECT id, source_compute, dest_compute, dest_host, old_instance_type_id, new_instance_type_id, instance_uuid,
       status, created_at, updated_at, deleted_at, deleted
FROM migrations
WHERE id = :id

-- name: migration_update
-- Change the columns the caller gave (a column whose :set_ flag is false keeps its value) of one
-- migration, deleted or not; updated_at as given.
UPDATE migrations
SET source_compute = CASE WHEN :set_source_compute THEN :source_compute ELSE source_compute END,
    dest_compute = CASE WHEN :set_dest_compute THEN :dest_compute ELSE dest_compute END,
    dest_host = CASE WHEN :set_dest_host THEN :dest_host ELSE dest_host END,
    old_instance_type_id = CASE WHEN :set_old_instance_type_id THEN :old_instance_type_id
                                ELSE old_instance_type_id END,
    new_instance_type_id = CASE WHEN :set_new_instance_type_id THEN :new_instance_type_id
                                ELSE new_instance_type_id END,
    instance_uuid = CASE WHEN :set_instance_uuid THEN :instance_uuid ELSE instance_uuid END,
    status = CASE WHEN :set_status THEN :status ELSE status END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    deleted_at = CASE WHEN :set_deleted_at THEN :deleted_at ELSE deleted_at END,
    updated_at = :updated_at
WHERE id = :id
RETURNING id, source_compute, dest_compute, dest_host, old_instance_type_id, new_instance_type_id, instance_uuid,
          status, created_at, updated_at, deleted_at, deleted

-- name: migration_get_by_instance_and_status
-- The instance's first migration in a status, deleted or not.
SELECT id, source_compute, dest_compute, dest_host, old_instance_type_id, new_instance_type_id, instance_uuid,
       status, created_at, updated_at, deleted_at, deleted
FROM migrations
WHERE instance_uuid = :instance_uuid AND status = :status
ORDER BY id
LIMIT 1

-- name: migration_get_all_unconfirmed
-- Finished migrations, deleted or not, last updated at or before :before (never updated: not
-- listed), in creation order.
SELECT id, source_compute, dest_compute, dest_host, old_instance_type_id, new_instance_type_id, instance_uuid,
       status, created_at, updated_at, deleted_at, deleted
FROM migrations
WHERE status = 'finished' AND updated_at <= :before
ORDER BY id
