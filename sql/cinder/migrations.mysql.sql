-- MySQL has no UPDATE ... RETURNING, nor (MySQL 8) INSERT ... RETURNING: migrations.py reads the
-- row back in the same transaction, a changed one with migration_get, a new one by LAST_INSERT_ID()
-- (this connection's own).

-- name: migration_create
-- Insert a migration from the caller's values, live; created_at given or now.
INSERT INTO migrations (source_compute, dest_compute, dest_host, old_instance_type_id, new_instance_type_id,
                        instance_uuid, status, created_at, updated_at, deleted_at, deleted)
VALUES (:source_compute, :dest_compute, :dest_host, :old_instance_type_id, :new_instance_type_id,
        :instance_uuid, :status, :created_at, :updated_at, :deleted_at, FALSE)

-- name: migration_read_back
-- A migration by :id, or (:id NULL) the one this connection inserted last (after migration_create).
SELECT id, source_compute, dest_compute, dest_host, old_instance_type_id, new_instance_type_id, instance_uuid,
       status, created_at, updated_at, deleted_at, deleted
FROM migrations
WHERE id = coalesce(:id, LAST_INSERT_ID())

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
