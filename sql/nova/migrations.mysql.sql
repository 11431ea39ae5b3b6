-- MySQL has no INSERT/UPDATE ... RETURNING (MariaDB has it for INSERT only): the row is read back in
-- the same transaction, an inserted one by LAST_INSERT_ID() (this connection's own); system metadata
-- comes as a JSON array (NULL when there is none).

-- name: migration_create
-- Insert a migration from the caller's values; live, created_at given or now.
INSERT INTO migrations (created_at, updated_at, deleted_at, source_compute, dest_compute, dest_host, status,
                      instance_uuid, old_instance_type_id, new_instance_type_id, source_node, dest_node,
                      migration_type, hidden, memory_total, memory_processed, memory_remaining, disk_total,
                      disk_processed, disk_remaining, deleted)
VALUES (:created_at, :updated_at, :deleted_at, :source_compute, :dest_compute, :dest_host, :status,
        :instance_uuid, :old_instance_type_id, :new_instance_type_id, :source_node, :dest_node,
        :migration_type, :hidden, :memory_total, :memory_processed, :memory_remaining, :disk_total,
        :disk_processed, :disk_remaining, 0)

-- name: migration_read_back
-- The migration the last statement inserted (:id NULL) or changed (:id).
SELECT created_at, updated_at, deleted_at, id, source_compute, dest_compute, dest_host, status, instance_uuid,
       old_instance_type_id, new_instance_type_id, source_node, dest_node, deleted, migration_type, hidden,
       memory_total, memory_processed, memory_remaining, disk_total, disk_processed, disk_remaining
FROM migrations
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: migration_update
-- Change the columns the caller gave (a column whose :set_ flag is false keeps its value) of one
-- migration, deleted or not; updated_at as given.
UPDATE migrations
SET created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    deleted_at = CASE WHEN :set_deleted_at THEN :deleted_at ELSE deleted_at END,
    source_compute = CASE WHEN :set_source_compute THEN :source_compute ELSE source_compute END,
    dest_compute = CASE WHEN :set_dest_compute THEN :dest_compute ELSE dest_compute END,
    dest_host = CASE WHEN :set_dest_host THEN :dest_host ELSE dest_host END,
    status = CASE WHEN :set_status THEN :status ELSE status END,
    instance_uuid = CASE WHEN :set_instance_uuid THEN :instance_uuid ELSE instance_uuid END,
    old_instance_type_id = CASE WHEN :set_old_instance_type_id THEN :old_instance_type_id ELSE old_instance_type_id END,
    new_instance_type_id = CASE WHEN :set_new_instance_type_id THEN :new_instance_type_id ELSE new_instance_type_id END,
    source_node = CASE WHEN :set_source_node THEN :source_node ELSE source_node END,
    dest_node = CASE WHEN :set_dest_node THEN :dest_node ELSE dest_node END,
    migration_type = CASE WHEN :set_migration_type THEN :migration_type ELSE migration_type END,
    hidden = CASE WHEN :set_hidden THEN :hidden ELSE hidden END,
    memory_total = CASE WHEN :set_memory_total THEN :memory_total ELSE memory_total END,
    memory_processed = CASE WHEN :set_memory_processed THEN :memory_processed ELSE memory_processed END,
    memory_remaining = CASE WHEN :set_memory_remaining THEN :memory_remaining ELSE memory_remaining END,
    disk_total = CASE WHEN :set_disk_total THEN :disk_total ELSE disk_total END,
    disk_processed = CASE WHEN :set_disk_processed THEN :disk_processed ELSE disk_processed END,
    disk_remaining = CASE WHEN :set_disk_remaining THEN :disk_remaining ELSE disk_remaining END,
    updated_at = :updated_at
WHERE id = :id

-- name: migration_instances
-- The live instances with these uuids, each with its live system metadata as a JSON array of
-- [id, key, value] (nova's Migration.instance joins live instances only).
SELECT i.*,
       (SELECT JSON_ARRAYAGG(JSON_ARRAY(m.id, m.key, m.value))
        FROM instance_system_metadata m
        WHERE m.instance_uuid = i.uuid AND m.deleted = 0) AS system_metadata
FROM instances i
WHERE i.uuid = ANY(:uuids) AND i.deleted = 0
ORDER BY i.id
