-- cinder-manage db purge: hard-delete rows soft-deleted before :cutoff, children before parents.
-- Every table has a _batch statement (the next keyset batch of ids: count and last id) and a
-- _delete statement (the rows of that batch, conditions checked again).  A parent some row
-- still refers to (a foreign key, or snapshots.volume_id and volumes.volume_type_id, which
-- have none) is skipped, not an error: it goes in a later run, once its children are gone.
-- A row is old when `deleted AND deleted_at < :cutoff`; a live row or one without
-- deleted_at never is.

-- name: volume_metadata_batch
-- The next batch of volume_metadata rows to purge (child of volumes):
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM volume_metadata t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
    ORDER BY t.id LIMIT :size) AS b

-- name: volume_metadata_delete
-- Hard-delete the volume_metadata rows of a batch (the conditions are checked again: never a live row).
DELETE FROM volume_metadata
WHERE volume_metadata.id > :after AND volume_metadata.id <= :upto
  AND volume_metadata.deleted
  AND volume_metadata.deleted_at < :cutoff

-- name: iscsi_targets_batch
-- The next batch of iscsi_targets rows to purge (child of volumes):
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM iscsi_targets t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
    ORDER BY t.id LIMIT :size) AS b

-- name: iscsi_targets_delete
-- Hard-delete the iscsi_targets rows of a batch (the conditions are checked again: never a live row).
DELETE FROM iscsi_targets
WHERE iscsi_targets.id > :after AND iscsi_targets.id <= :upto
  AND iscsi_targets.deleted
  AND iscsi_targets.deleted_at < :cutoff

-- name: sm_volume_batch
-- The next batch of sm_volume rows to purge (child of volumes and sm_backend_config):
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM sm_volume t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
    ORDER BY t.id LIMIT :size) AS b

-- name: sm_volume_delete
-- Hard-delete the sm_volume rows of a batch (the conditions are checked again: never a live row).
DELETE FROM sm_volume
WHERE sm_volume.id > :after AND sm_volume.id <= :upto
  AND sm_volume.deleted
  AND sm_volume.deleted_at < :cutoff

-- name: snapshots_batch
-- The next batch of snapshots rows to purge (no foreign key to volumes, but a volume waits for them):
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM snapshots t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
    ORDER BY t.id LIMIT :size) AS b

-- name: snapshots_delete
-- Hard-delete the snapshots rows of a batch (the conditions are checked again: never a live row).
DELETE FROM snapshots
WHERE snapshots.id > :after AND snapshots.id <= :upto
  AND snapshots.deleted
  AND snapshots.deleted_at < :cutoff

-- name: volumes_batch
-- The next batch of volumes rows to purge (once nothing refers to it):
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM volumes t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
      AND NOT EXISTS (SELECT 1 FROM volume_metadata c WHERE c.volume_id = t.id)
      AND NOT EXISTS (SELECT 1 FROM iscsi_targets c WHERE c.volume_id = t.id)
      AND NOT EXISTS (SELECT 1 FROM sm_volume c WHERE c.id = t.id)
      AND NOT EXISTS (SELECT 1 FROM snapshots c WHERE c.volume_id = t.id)
    ORDER BY t.id LIMIT :size) AS b

-- name: volumes_delete
-- Hard-delete the volumes rows of a batch (the conditions are checked again: never a live row).
DELETE FROM volumes
WHERE volumes.id > :after AND volumes.id <= :upto
  AND volumes.deleted
  AND volumes.deleted_at < :cutoff
  AND NOT EXISTS (SELECT 1 FROM volume_metadata c WHERE c.volume_id = volumes.id)
  AND NOT EXISTS (SELECT 1 FROM iscsi_targets c WHERE c.volume_id = volumes.id)
  AND NOT EXISTS (SELECT 1 FROM sm_volume c WHERE c.id = volumes.id)
  AND NOT EXISTS (SELECT 1 FROM snapshots c WHERE c.volume_id = volumes.id)

-- name: volume_type_extra_specs_batch
-- The next batch of volume_type_extra_specs rows to purge (child of volume_types):
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM volume_type_extra_specs t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
    ORDER BY t.id LIMIT :size) AS b

-- name: volume_type_extra_specs_delete
-- Hard-delete the volume_type_extra_specs rows of a batch (the conditions are checked again: never a live row).
DELETE FROM volume_type_extra_specs
WHERE volume_type_extra_specs.id > :after AND volume_type_extra_specs.id <= :upto
  AND volume_type_extra_specs.deleted
  AND volume_type_extra_specs.deleted_at < :cutoff

-- name: volume_types_batch
-- The next batch of volume_types rows to purge (once no extra spec and no volume refers to it):
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM volume_types t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
      AND NOT EXISTS (SELECT 1 FROM volume_type_extra_specs c WHERE c.volume_type_id = t.id)
      AND NOT EXISTS (SELECT 1 FROM volumes c WHERE c.volume_type_id = t.id)
    ORDER BY t.id LIMIT :size) AS b

-- name: volume_types_delete
-- Hard-delete the volume_types rows of a batch (the conditions are checked again: never a live row).
DELETE FROM volume_types
WHERE volume_types.id > :after AND volume_types.id <= :upto
  AND volume_types.deleted
  AND volume_types.deleted_at < :cutoff
  AND NOT EXISTS (SELECT 1 FROM volume_type_extra_specs c WHERE c.volume_type_id = volume_types.id)
  AND NOT EXISTS (SELECT 1 FROM volumes c WHERE c.volume_type_id = volume_types.id)

-- name: reservations_batch
-- The next batch of reservations rows to purge (child of quota_usages):
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM reservations t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
    ORDER BY t.id LIMIT :size) AS b

-- name: reservations_delete
-- Hard-delete the reservations rows of a batch (the conditions are checked again: never a live row).
DELETE FROM reservations
WHERE reservations.id > :after AND reservations.id <= :upto
  AND reservations.deleted
  AND reservations.deleted_at < :cutoff

-- name: quota_usages_batch
-- The next batch of quota_usages rows to purge (once no reservation refers to it):
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM quota_usages t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
      AND NOT EXISTS (SELECT 1 FROM reservations c WHERE c.usage_id = t.id)
    ORDER BY t.id LIMIT :size) AS b

-- name: quota_usages_delete
-- Hard-delete the quota_usages rows of a batch (the conditions are checked again: never a live row).
DELETE FROM quota_usages
WHERE quota_usages.id > :after AND quota_usages.id <= :upto
  AND quota_usages.deleted
  AND quota_usages.deleted_at < :cutoff
  AND NOT EXISTS (SELECT 1 FROM reservations c WHERE c.usage_id = quota_usages.id)

-- name: quotas_batch
-- The next batch of quotas rows to purge:
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM quotas t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
    ORDER BY t.id LIMIT :size) AS b

-- name: quotas_delete
-- Hard-delete the quotas rows of a batch (the conditions are checked again: never a live row).
DELETE FROM quotas
WHERE quotas.id > :after AND quotas.id <= :upto
  AND quotas.deleted
  AND quotas.deleted_at < :cutoff

-- name: quota_classes_batch
-- The next batch of quota_classes rows to purge:
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM quota_classes t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
    ORDER BY t.id LIMIT :size) AS b

-- name: quota_classes_delete
-- Hard-delete the quota_classes rows of a batch (the conditions are checked again: never a live row).
DELETE FROM quota_classes
WHERE quota_classes.id > :after AND quota_classes.id <= :upto
  AND quota_classes.deleted
  AND quota_classes.deleted_at < :cutoff

-- name: sm_backend_config_batch
-- The next batch of sm_backend_config rows to purge (once no sm_volume refers to it):
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM sm_backend_config t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
      AND NOT EXISTS (SELECT 1 FROM sm_volume c WHERE c.backend_id = t.id)
    ORDER BY t.id LIMIT :size) AS b

-- name: sm_backend_config_delete
-- Hard-delete the sm_backend_config rows of a batch (the conditions are checked again: never a live row).
DELETE FROM sm_backend_config
WHERE sm_backend_config.id > :after AND sm_backend_config.id <= :upto
  AND sm_backend_config.deleted
  AND sm_backend_config.deleted_at < :cutoff
  AND NOT EXISTS (SELECT 1 FROM sm_volume c WHERE c.backend_id = sm_backend_config.id)

-- name: sm_flavors_batch
-- The next batch of sm_flavors rows to purge (once no sm_backend_config refers to it):
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM sm_flavors t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
      AND NOT EXISTS (SELECT 1 FROM sm_backend_config c WHERE c.flavor_id = t.id)
    ORDER BY t.id LIMIT :size) AS b

-- name: sm_flavors_delete
-- Hard-delete the sm_flavors rows of a batch (the conditions are checked again: never a live row).
DELETE FROM sm_flavors
WHERE sm_flavors.id > :after AND sm_flavors.id <= :upto
  AND sm_flavors.deleted
  AND sm_flavors.deleted_at < :cutoff
  AND NOT EXISTS (SELECT 1 FROM sm_backend_config c WHERE c.flavor_id = sm_flavors.id)

-- name: services_batch
-- The next batch of services rows to purge:
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM services t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
    ORDER BY t.id LIMIT :size) AS b

-- name: services_delete
-- Hard-delete the services rows of a batch (the conditions are checked again: never a live row).
DELETE FROM services
WHERE services.id > :after AND services.id <= :upto
  AND services.deleted
  AND services.deleted_at < :cutoff

-- name: migrations_batch
-- The next batch of migrations rows to purge:
-- how many, and the last id (keyset: ids after :after).
SELECT count(*) AS n, max(b.id) AS upto FROM (
    SELECT t.id FROM migrations t
    WHERE t.id > :after
      AND t.deleted
      AND t.deleted_at < :cutoff
    ORDER BY t.id LIMIT :size) AS b

-- name: migrations_delete
-- Hard-delete the migrations rows of a batch (the conditions are checked again: never a live row).
DELETE FROM migrations
WHERE migrations.id > :after AND migrations.id <= :upto
  AND migrations.deleted
  AND migrations.deleted_at < :cutoff

-- name: purge_count
-- How many rows of each table purge_deleted_rows would delete now (children first, so a parent
-- counts when its children go in the same run).
SELECT
    (SELECT count(*) FROM volume_metadata t
     WHERE t.deleted
       AND t.deleted_at < :cutoff) AS volume_metadata,
    (SELECT count(*) FROM iscsi_targets t
     WHERE t.deleted
       AND t.deleted_at < :cutoff) AS iscsi_targets,
    (SELECT count(*) FROM sm_volume t
     WHERE t.deleted
       AND t.deleted_at < :cutoff) AS sm_volume,
    (SELECT count(*) FROM snapshots t
     WHERE t.deleted
       AND t.deleted_at < :cutoff) AS snapshots,
    (SELECT count(*) FROM volumes t
     WHERE t.deleted
       AND t.deleted_at < :cutoff
       AND NOT EXISTS (SELECT 1 FROM volume_metadata c1 WHERE c1.volume_id = t.id
                       AND NOT coalesce(c1.deleted AND c1.deleted_at < :cutoff, FALSE))
       AND NOT EXISTS (SELECT 1 FROM iscsi_targets c1 WHERE c1.volume_id = t.id
                       AND NOT coalesce(c1.deleted AND c1.deleted_at < :cutoff, FALSE))
       AND NOT EXISTS (SELECT 1 FROM sm_volume c1 WHERE c1.id = t.id
                       AND NOT coalesce(c1.deleted AND c1.deleted_at < :cutoff, FALSE))
       AND NOT EXISTS (SELECT 1 FROM snapshots c1 WHERE c1.volume_id = t.id
                       AND NOT coalesce(c1.deleted AND c1.deleted_at < :cutoff, FALSE))) AS volumes,
    (SELECT count(*) FROM volume_type_extra_specs t
     WHERE t.deleted
       AND t.deleted_at < :cutoff) AS volume_type_extra_specs,
    (SELECT count(*) FROM volume_types t
     WHERE t.deleted
       AND t.deleted_at < :cutoff
       AND NOT EXISTS (SELECT 1 FROM volume_type_extra_specs c1 WHERE c1.volume_type_id = t.id
                       AND NOT coalesce(c1.deleted AND c1.deleted_at < :cutoff, FALSE))
       AND NOT EXISTS (SELECT 1 FROM volumes c1 WHERE c1.volume_type_id = t.id
                       AND (NOT coalesce(c1.deleted AND c1.deleted_at < :cutoff, FALSE)
                        OR EXISTS (SELECT 1 FROM volume_metadata c2 WHERE c2.volume_id = c1.id
                                    AND NOT coalesce(c2.deleted AND c2.deleted_at < :cutoff, FALSE))
                        OR EXISTS (SELECT 1 FROM iscsi_targets c2 WHERE c2.volume_id = c1.id
                                    AND NOT coalesce(c2.deleted AND c2.deleted_at < :cutoff, FALSE))
                        OR EXISTS (SELECT 1 FROM sm_volume c2 WHERE c2.id = c1.id
                                    AND NOT coalesce(c2.deleted AND c2.deleted_at < :cutoff, FALSE))
                        OR EXISTS (SELECT 1 FROM snapshots c2 WHERE c2.volume_id = c1.id
                                    AND NOT coalesce(c2.deleted AND c2.deleted_at < :cutoff, FALSE))))) AS volume_types,
    (SELECT count(*) FROM reservations t
     WHERE t.deleted
       AND t.deleted_at < :cutoff) AS reservations,
    (SELECT count(*) FROM quota_usages t
     WHERE t.deleted
       AND t.deleted_at < :cutoff
       AND NOT EXISTS (SELECT 1 FROM reservations c1 WHERE c1.usage_id = t.id
                       AND NOT coalesce(c1.deleted AND c1.deleted_at < :cutoff, FALSE))) AS quota_usages,
    (SELECT count(*) FROM quotas t
     WHERE t.deleted
       AND t.deleted_at < :cutoff) AS quotas,
    (SELECT count(*) FROM quota_classes t
     WHERE t.deleted
       AND t.deleted_at < :cutoff) AS quota_classes,
    (SELECT count(*) FROM sm_backend_config t
     WHERE t.deleted
       AND t.deleted_at < :cutoff
       AND NOT EXISTS (SELECT 1 FROM sm_volume c1 WHERE c1.backend_id = t.id
                       AND NOT coalesce(c1.deleted AND c1.deleted_at < :cutoff, FALSE))) AS sm_backend_config,
    (SELECT count(*) FROM sm_flavors t
     WHERE t.deleted
       AND t.deleted_at < :cutoff
       AND NOT EXISTS (SELECT 1 FROM sm_backend_config c1 WHERE c1.flavor_id = t.id
                       AND (NOT coalesce(c1.deleted AND c1.deleted_at < :cutoff, FALSE)
                        OR EXISTS (SELECT 1 FROM sm_volume c2 WHERE c2.backend_id = c1.id
                                    AND NOT coalesce(c2.deleted AND c2.deleted_at < :cutoff, FALSE))))) AS sm_flavors,
    (SELECT count(*) FROM services t
     WHERE t.deleted
       AND t.deleted_at < :cutoff) AS services,
    (SELECT count(*) FROM migrations t
     WHERE t.deleted
       AND t.deleted_at < :cutoff) AS migrations
