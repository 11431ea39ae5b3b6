-- rawdb's indexes for cinder's volume statements, MariaDB/MySQL (no partial indexes: the free
-- rows' columns lead, MariaDB turns `NOT deleted` into `deleted = 0`).  volume_metadata's
-- volume_id has its foreign-key index here already.

-- volume_allocate_iscsi_target: the host's free target with the lowest number.  With the
-- free-row columns leading, the locking read walks the free targets in target_num order and
-- locks only the one it returns (sorting first, it locked every free target it sorted).
CREATE INDEX IF NOT EXISTS ix_iscsi_targets_host_free
    ON iscsi_targets (host, deleted, volume_id, target_num, id);
