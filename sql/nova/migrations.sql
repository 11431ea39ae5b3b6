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
RETURNING created_at, updated_at, deleted_at, id, source_compute, dest_compute, dest_host, status,
          instance_uuid, old_instance_type_id, new_instance_type_id, source_node, dest_node, deleted,
          migration_type, hidden, memory_total, memory_processed, memory_remaining, disk_total,
          disk_processed, disk_remaining

-- name: migration_read_back
-- A migration by :id, deleted or not (MySQL's read-back after an insert or update, with :id NULL for
-- the last insert: the other backends have RETURNING).
SELECT created_at, updated_at, deleted_at, id, source_compute, dest_compute, dest_host, status, instance_uuid,
       old_instance_type_id, new_instance_type_id, source_node, dest_node, deleted, migration_type, hidden,
       memory_total, memory_processed, memory_remaining, disk_total, disk_processed, disk_remaining
FROM migrations
WHERE id = :id

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
RETURNING created_at, updated_at, deleted_at, id, source_compute, dest_compute, dest_host, status,
          instance_uuid, old_instance_type_id, new_instance_type_id, source_node, dest_node, deleted,
          migration_type, hidden, memory_total, memory_processed, memory_remaining, disk_total,
          disk_processed, disk_remaining

-- name: migration_get
-- A migration by id, as :read_deleted says.
SELECT created_at, updated_at, deleted_at, id, source_compute, dest_compute, dest_host, status, instance_uuid,
       old_instance_type_id, new_instance_type_id, source_node, dest_node, deleted, migration_type, hidden,
       memory_total, memory_processed, memory_remaining, disk_total, disk_processed, disk_remaining
FROM migrations
WHERE id = :id AND READ_DELETED(deleted, int)

-- name: migration_get_by_id_and_instance
-- A migration by id if it is the instance's, as :read_deleted says.
SELECT created_at, updated_at, deleted_at, id, source_compute, dest_compute, dest_host, status, instance_uuid,
       old_instance_type_id, new_instance_type_id, source_node, dest_node, deleted, migration_type, hidden,
       memory_total, memory_processed, memory_remaining, disk_total, disk_processed, disk_remaining
FROM migrations
WHERE id = :id AND instance_uuid = :instance_uuid AND READ_DELETED(deleted, int)

-- name: migration_get_by_instance_and_status
-- The instance's (first) migration in a status, as :read_deleted says.
SELECT created_at, updated_at, deleted_at, id, source_compute, dest_compute, dest_host, status, instance_uuid,
       old_instance_type_id, new_instance_type_id, source_node, dest_node, deleted, migration_type, hidden,
       memory_total, memory_processed, memory_remaining, disk_total, disk_processed, disk_remaining
FROM migrations
WHERE instance_uuid = :instance_uuid AND status = :status AND READ_DELETED(deleted, int)
ORDER BY id
LIMIT 1

-- name: migrations_unconfirmed_by_dest_compute
-- Finished migrations to a compute host last updated at or before :before, as :read_deleted says.
SELECT created_at, updated_at, deleted_at, id, source_compute, dest_compute, dest_host, status, instance_uuid,
       old_instance_type_id, new_instance_type_id, source_node, dest_node, deleted, migration_type, hidden,
       memory_total, memory_processed, memory_remaining, disk_total, disk_processed, disk_remaining
FROM migrations
WHERE dest_compute = :dest_compute AND status = 'finished' AND updated_at <= :before
  AND READ_DELETED(deleted, int)
ORDER BY id

-- name: migrations_in_progress_by_host_and_node
-- Migrations from or to a host's node that have not ended (Newton's terminal states), as
-- :read_deleted says, in creation order.
SELECT created_at, updated_at, deleted_at, id, source_compute, dest_compute, dest_host, status, instance_uuid,
       old_instance_type_id, new_instance_type_id, source_node, dest_node, deleted, migration_type, hidden,
       memory_total, memory_processed, memory_remaining, disk_total, disk_processed, disk_remaining
FROM migrations
WHERE ((source_compute = :host AND source_node = :node) OR (dest_compute = :host AND dest_node = :node))
  AND status NOT IN ('accepted', 'confirmed', 'reverted', 'error', 'failed', 'completed', 'cancelled')
  AND READ_DELETED(deleted, int)
ORDER BY id

-- name: migrations_in_progress_by_instance
-- The instance's running migrations (Newton's live-migration states), of one type unless
-- :any_type, as :read_deleted says, in creation order.
SELECT created_at, updated_at, deleted_at, id, source_compute, dest_compute, dest_host, status, instance_uuid,
       old_instance_type_id, new_instance_type_id, source_node, dest_node, deleted, migration_type, hidden,
       memory_total, memory_processed, memory_remaining, disk_total, disk_processed, disk_remaining
FROM migrations
WHERE instance_uuid = :instance_uuid AND status IN ('queued', 'preparing', 'running', 'post-migrating')
  AND (:any_type OR migration_type = :migration_type)
  AND READ_DELETED(deleted, int)
ORDER BY id

-- name: migrations_by_filters
-- Migrations matching the filters whose :by_ flag is set (a NULL value matches NULL, as nova's
-- == None did), as :read_deleted says, in creation order.
SELECT created_at, updated_at, deleted_at, id, source_compute, dest_compute, dest_host, status, instance_uuid,
       old_instance_type_id, new_instance_type_id, source_node, dest_node, deleted, migration_type, hidden,
       memory_total, memory_processed, memory_remaining, disk_total, disk_processed, disk_remaining
FROM migrations
WHERE READ_DELETED(deleted, int)
  AND (NOT :by_status OR status = ANY(:statuses))
  AND (NOT :by_host OR source_compute = :host OR dest_compute = :host
       OR (:host_null AND (source_compute IS NULL OR dest_compute IS NULL)))
  AND (NOT :by_source OR source_compute = :source_compute OR (:source_null AND source_compute IS NULL))
  AND (NOT :by_type OR migration_type = :migration_type OR (:type_null AND migration_type IS NULL))
  AND (NOT :by_hidden OR hidden = :hidden OR (:hidden_null AND hidden IS NULL))
  AND (NOT :by_instance OR instance_uuid = :instance_uuid OR (:instance_null AND instance_uuid IS NULL))
ORDER BY id

-- name: migration_instances
-- The live instances with these uuids, each with its live system metadata as a JSON array of
-- [id, key, value] (nova's Migration.instance joins live instances only).
SELECT i.*,
       (SELECT json_group_array(json_array(m.id, m.key, m.value))
        FROM instance_system_metadata m
        WHERE m.instance_uuid = i.uuid AND m.deleted = 0) AS system_metadata
FROM instances i
WHERE i.uuid = ANY(:uuids) AND i.deleted = 0
ORDER BY i.id
