-- rawdb's indexes for cinder's volume statements, PostgreSQL and SQLite (partial on the live
-- rows the statements ask for with `NOT deleted`, the same words, so SQLite can use them too).

-- SELECT ... FROM volume_metadata WHERE volume_id = ANY($1) AND NOT deleted  (every volume read)
-- Folsom's volume_metadata has no index: each volume_get scanned every metadata row of the cloud.
CREATE INDEX IF NOT EXISTS ix_volume_metadata_volume_id_live
    ON volume_metadata (volume_id) WHERE NOT deleted;

-- volume_allocate_iscsi_target: the host's free target with the lowest number.  The free
-- targets in that order, so that an allocation reads the first one it can lock instead of
-- sorting the host's whole pool.
CREATE INDEX IF NOT EXISTS ix_iscsi_targets_host_free
    ON iscsi_targets (host, target_num, id) WHERE NOT deleted AND volume_id IS NULL;
