-- Instance children (nova 14.0.0): network info cache, metadata, system metadata, instance_extra, tags.
-- Statements that differ per dialect (JSON sources, row locks, RETURNING) are in the dialect files.

-- name: info_cache_get
-- An instance's network info cache row, live or deleted as :read_deleted says (instance_uuid is unique).
SELECT created_at, updated_at, deleted_at, deleted, id, network_info, instance_uuid
FROM instance_info_caches
WHERE instance_uuid = :instance_uuid AND READ_DELETED(deleted, int)
ORDER BY id LIMIT 1

-- name: info_cache_create
-- Create an instance's network info cache row; the unique instance_uuid refuses a second one.
INSERT INTO instance_info_caches (instance_uuid, network_info, created_at, updated_at, deleted)
VALUES (:instance_uuid, :network_info, :created_at, :updated_at, 0)

-- name: info_cache_update
-- Update an instance's live cache row, each column only when its :set_ flag says so.
UPDATE instance_info_caches
SET network_info = CASE WHEN :set_network_info THEN :network_info ELSE network_info END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at,
    instance_uuid = CASE WHEN :set_instance_uuid THEN :new_instance_uuid ELSE instance_uuid END
WHERE instance_uuid = :instance_uuid AND deleted = 0
RETURNING created_at, updated_at, deleted_at, deleted, id, network_info, instance_uuid

-- name: info_cache_soft_delete
-- Soft-delete an instance's live cache row (when :read_deleted lets the caller see live rows).
UPDATE instance_info_caches SET SOFT_DELETE(int, bulk)
WHERE instance_uuid = :instance_uuid AND deleted = 0 AND READ_DELETED(deleted, int)

-- name: metadata_get
-- An instance's metadata rows, live or deleted as :read_deleted says, oldest first.
SELECT "key", value FROM instance_metadata
WHERE instance_uuid = :instance_uuid AND READ_DELETED(deleted, int)
ORDER BY id

-- name: metadata_delete
-- Soft-delete an instance's live metadata rows of one key.
UPDATE instance_metadata SET SOFT_DELETE(int, bulk)
WHERE instance_uuid = :instance_uuid AND "key" = :key AND deleted = 0

-- name: metadata_delete_others
-- Soft-delete an instance's live metadata rows whose key is not in :keys.
UPDATE instance_metadata SET SOFT_DELETE(int, bulk)
WHERE instance_uuid = :instance_uuid AND deleted = 0 AND READ_DELETED(deleted, int) AND "key" <> ALL(:keys)

-- name: system_metadata_get
-- An instance's system metadata rows, live or deleted as :read_deleted says, oldest first.
SELECT "key", value FROM instance_system_metadata
WHERE instance_uuid = :instance_uuid AND READ_DELETED(deleted, int)
ORDER BY id

-- name: system_metadata_delete_others
-- Soft-delete an instance's live system metadata rows whose key is not in :keys.
UPDATE instance_system_metadata SET SOFT_DELETE(int, bulk)
WHERE instance_uuid = :instance_uuid AND deleted = 0 AND READ_DELETED(deleted, int) AND "key" <> ALL(:keys)

-- name: extra_get
-- An instance's instance_extra row; each deferred TEXT column is read only when its :load_ flag is set.
SELECT created_at, updated_at, deleted_at, deleted, id, instance_uuid,
       CASE WHEN :load_device_metadata THEN device_metadata END AS device_metadata,
       CASE WHEN :load_numa_topology THEN numa_topology END AS numa_topology,
       CASE WHEN :load_pci_requests THEN pci_requests END AS pci_requests,
       CASE WHEN :load_flavor THEN flavor END AS flavor,
       CASE WHEN :load_vcpu_model THEN vcpu_model END AS vcpu_model,
       CASE WHEN :load_migration_context THEN migration_context END AS migration_context,
       CASE WHEN :load_keypairs THEN keypairs END AS keypairs
FROM instance_extra
WHERE instance_uuid = :instance_uuid AND READ_DELETED(deleted, int)
ORDER BY id LIMIT 1

-- name: extra_update
-- Update an instance's instance_extra rows visible to :read_deleted, each column only when its :set_ flag says so.
UPDATE instance_extra
SET device_metadata = CASE WHEN :set_device_metadata THEN :device_metadata ELSE device_metadata END,
    numa_topology = CASE WHEN :set_numa_topology THEN :numa_topology ELSE numa_topology END,
    pci_requests = CASE WHEN :set_pci_requests THEN :pci_requests ELSE pci_requests END,
    flavor = CASE WHEN :set_flavor THEN :flavor ELSE flavor END,
    vcpu_model = CASE WHEN :set_vcpu_model THEN :vcpu_model ELSE vcpu_model END,
    migration_context = CASE WHEN :set_migration_context THEN :migration_context ELSE migration_context END,
    keypairs = CASE WHEN :set_keypairs THEN :keypairs ELSE keypairs END,
    updated_at = :updated_at
WHERE instance_uuid = :instance_uuid AND READ_DELETED(deleted, int)

-- name: extra_create
-- Create an instance's instance_extra row.
INSERT INTO instance_extra (instance_uuid, device_metadata, numa_topology, pci_requests, flavor, vcpu_model,
                            migration_context, keypairs, created_at, updated_at, deleted)
VALUES (:instance_uuid, :device_metadata, :numa_topology, :pci_requests, :flavor, :vcpu_model,
        :migration_context, :keypairs, :created_at, :updated_at, 0)

-- name: tag_add
-- Tag an instance; a tag it has already is left as it is.
INSERT INTO tags (resource_id, tag) VALUES (:instance_uuid, :tag)
ON CONFLICT (resource_id, tag) DO NOTHING

-- name: tags_delete_others
-- Remove an instance's tags that are not in :tags.
DELETE FROM tags WHERE resource_id = :instance_uuid AND tag <> ALL(:tags)

-- name: tag_delete
-- Remove one tag of an instance.
DELETE FROM tags WHERE resource_id = :instance_uuid AND tag = :tag

-- name: tags_delete_all
-- Remove every tag of an instance.
DELETE FROM tags WHERE resource_id = :instance_uuid

-- name: tags_get
-- The instance if it is live and in the caller's project (else no row), with each of its tags
-- (one row with a NULL tag when it has none).
SELECT i.uuid AS resource_id, t.tag
FROM instances AS i LEFT JOIN tags AS t ON t.resource_id = i.uuid
WHERE i.uuid = :instance_uuid AND READ_DELETED(i.deleted, int) AND PROJECT_ONLY(i.project_id)

-- name: tag_exists
-- Whether the instance (live, in the caller's project; else no row) has the tag.
SELECT EXISTS (SELECT 1 FROM tags AS t WHERE t.resource_id = i.uuid AND t.tag = :tag) AS tagged
FROM instances AS i
WHERE i.uuid = :instance_uuid AND READ_DELETED(i.deleted, int) AND PROJECT_ONLY(i.project_id)
