-- Flavors (instance types), their extra specs and their project access list (nova 14.0.0 and
-- 2013.1).  The reads of whole flavors (getters and listings, with their extra specs aggregated)
-- are built per call shape in rawdb/nova/_flavor_rows.py; these are the fixed statements.

-- name: flavor_create
-- Insert a flavor; the unique keys (name, deleted) and (flavorid, deleted) refuse a second live
-- name or flavorid.  Defaults (swap, rxtx_factor, disabled, is_public) are filled in by the caller.
INSERT INTO instance_types (name, memory_mb, vcpus, root_gb, ephemeral_gb, flavorid, swap, rxtx_factor,
                            vcpu_weight, disabled, is_public, created_at, updated_at, deleted)
VALUES (:name, :memory_mb, :vcpus, :root_gb, :ephemeral_gb, :flavorid, :swap, :rxtx_factor,
        :vcpu_weight, :disabled, :is_public, :created_at, :updated_at, 0)
RETURNING id, name, memory_mb, vcpus, root_gb, ephemeral_gb, flavorid, swap, rxtx_factor, vcpu_weight,
          disabled, is_public, created_at, updated_at, deleted_at, deleted

-- name: flavor_taken
-- Which of a name and a flavorid a live flavor holds (after a duplicate-key error on create).
SELECT max(CASE WHEN name = :name THEN 1 ELSE 0 END) AS name_taken,
       max(CASE WHEN flavorid = :flavorid THEN 1 ELSE 0 END) AS flavorid_taken
FROM instance_types
WHERE deleted = 0 AND (name = :name OR flavorid = :flavorid)

-- name: flavor_id_by_flavorid
-- The id of the live flavor with this flavorid (the unique key admits one).
SELECT id FROM instance_types WHERE flavorid = :flavorid AND deleted = 0

-- name: flavor_id_by_name
-- The id of the live flavor with this name (the unique key admits one).
SELECT id FROM instance_types WHERE name = :name AND deleted = 0

-- name: flavor_destroy_object
-- Soft-delete a live flavor as Newton's model soft_delete() does: updated_at becomes now.
UPDATE instance_types SET SOFT_DELETE(int, object) WHERE id = :instance_type_id AND deleted = 0

-- name: flavor_destroy_bulk
-- Soft-delete a live flavor as Grizzly's query soft_delete() does: updated_at is kept.
UPDATE instance_types SET SOFT_DELETE(int, bulk) WHERE id = :instance_type_id AND deleted = 0

-- name: specs_destroy_all
-- Soft-delete every live extra spec of a flavor (updated_at kept).
UPDATE instance_type_extra_specs SET SOFT_DELETE(int, bulk) WHERE instance_type_id = :instance_type_id AND deleted = 0

-- name: access_destroy_all
-- Soft-delete every live access row of a flavor (updated_at kept): nova bug 1172153's fix.
UPDATE instance_type_projects SET SOFT_DELETE(int, bulk) WHERE instance_type_id = :instance_type_id AND deleted = 0

-- name: access_get_by_flavor_id
-- The live access rows of the live flavor with this flavorid, in insertion order.
SELECT p.id, p.instance_type_id, p.project_id, p.created_at, p.updated_at, p.deleted_at, p.deleted
FROM instance_type_projects p
JOIN instance_types f ON f.id = p.instance_type_id AND f.deleted = 0
WHERE f.flavorid = :flavorid AND p.deleted = 0
ORDER BY p.id

-- name: access_add
-- Give a project access to a flavor; the unique key (instance_type_id, project_id, deleted)
-- refuses a second live row.
INSERT INTO instance_type_projects (instance_type_id, project_id, created_at, deleted)
VALUES (:instance_type_id, :project_id, :now, 0)
RETURNING id, instance_type_id, project_id, created_at, updated_at, deleted_at, deleted

-- name: access_remove
-- Soft-delete a project's live access row for a flavor (updated_at kept).
UPDATE instance_type_projects SET SOFT_DELETE(int, bulk)
WHERE instance_type_id = :instance_type_id AND project_id = :project_id AND deleted = 0

-- name: specs_get
-- The live extra specs of the live flavor with this flavorid, in insertion order.
SELECT s."key", s.value
FROM instance_type_extra_specs s
JOIN instance_types f ON f.id = s.instance_type_id AND f.deleted = 0
WHERE f.flavorid = :flavorid AND s.deleted = 0
ORDER BY s.id

-- name: spec_delete
-- Soft-delete the live extra spec with this key of the live flavor with this flavorid (updated_at kept).
UPDATE instance_type_extra_specs SET SOFT_DELETE(int, bulk)
WHERE "key" = :key AND deleted = 0
  AND instance_type_id IN (SELECT f.id FROM instance_types f WHERE f.flavorid = :flavorid AND f.deleted = 0)
