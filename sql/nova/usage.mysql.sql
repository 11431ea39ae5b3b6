-- MySQL (READ COMMITTED, no gap locks): a locking read finds a usage key's row and waits for a rival's
-- uncommitted insert of the key; a writer that inserts checks for a rival again with a locking read
-- before it commits.  Of two concurrent inserters each then waits for the other: InnoDB picks a
-- deadlock victim, whose whole transaction is retried (and then finds the survivor's row).  No
-- INSERT/UPDATE ... RETURNING: rows are read back, an inserted one by LAST_INSERT_ID().

-- name: bw_find
-- The id of the first row of a bandwidth usage key, deleted or not, locked (the row an update changes).
SELECT id FROM bw_usage_cache
WHERE start_period = :start_period AND uuid = :uuid AND mac = :mac
ORDER BY id
LIMIT 1
FOR UPDATE

-- name: bw_rival
-- The first row of the key other than the one this transaction inserted (:id), locking: a rival's
-- uncommitted row is waited for.
SELECT id FROM bw_usage_cache
WHERE start_period = :start_period AND uuid = :uuid AND mac = :mac AND id <> :id
ORDER BY id
LIMIT 1
FOR UPDATE

-- name: bw_update
-- Store the counters of a bandwidth usage row.
UPDATE bw_usage_cache
SET last_refreshed = :last_refreshed, bw_in = :bw_in, bw_out = :bw_out, last_ctr_in = :last_ctr_in,
    last_ctr_out = :last_ctr_out, updated_at = :now
WHERE id = :id

-- name: bw_insert
-- Insert the bandwidth usage of an instance's interface in a period.
INSERT INTO bw_usage_cache (uuid, mac, start_period, last_refreshed, bw_in, bw_out, last_ctr_in, last_ctr_out,
                            created_at, deleted)
VALUES (:uuid, :mac, :start_period, :last_refreshed, :bw_in, :bw_out, :last_ctr_in, :last_ctr_out, :now, 0)

-- name: bw_read_back
-- A bandwidth usage row by :id, or (:id NULL) the one this connection inserted last.
SELECT created_at, updated_at, deleted_at, deleted, id, uuid, mac, start_period, last_refreshed, bw_in, bw_out,
       last_ctr_in, last_ctr_out
FROM bw_usage_cache
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: vol_find
-- The first usage row of a volume, deleted or not, locked (the row an update changes, and the
-- counters it starts from).
SELECT id, tot_reads, tot_read_bytes, tot_writes, tot_write_bytes,
       curr_reads, curr_read_bytes, curr_writes, curr_write_bytes
FROM volume_usage_cache
WHERE volume_id = :volume_id
ORDER BY id
LIMIT 1
FOR UPDATE

-- name: vol_rival
-- The first usage row of the volume other than the one this transaction inserted (:id), locking: a
-- rival's uncommitted row is waited for.
SELECT id FROM volume_usage_cache
WHERE volume_id = :volume_id AND id <> :id
ORDER BY id
LIMIT 1
FOR UPDATE

-- name: vol_update
-- Store a volume usage row's counters, as the module computed them from the row it locked, and
-- refresh the half (:tot_ or :curr_last_refreshed, the other NULL) the call changed.
UPDATE volume_usage_cache
SET tot_reads = :tot_reads, tot_read_bytes = :tot_read_bytes, tot_writes = :tot_writes,
    tot_write_bytes = :tot_write_bytes,
    tot_last_refreshed = coalesce(:tot_last_refreshed, tot_last_refreshed),
    curr_reads = :curr_reads, curr_read_bytes = :curr_read_bytes, curr_writes = :curr_writes,
    curr_write_bytes = :curr_write_bytes,
    curr_last_refreshed = coalesce(:curr_last_refreshed, curr_last_refreshed),
    instance_uuid = :instance_uuid, project_id = :project_id, user_id = :user_id,
    availability_zone = :availability_zone, updated_at = :now
WHERE id = :id

-- name: vol_insert
-- Insert a volume's usage: current counters (:curr_last_refreshed now) or totals (:tot_last_refreshed now).
INSERT INTO volume_usage_cache (volume_id, instance_uuid, project_id, user_id, availability_zone,
                                tot_last_refreshed, tot_reads, tot_read_bytes, tot_writes, tot_write_bytes,
                                curr_last_refreshed, curr_reads, curr_read_bytes, curr_writes, curr_write_bytes,
                                created_at, deleted)
VALUES (:volume_id, :instance_uuid, :project_id, :user_id, :availability_zone,
        :tot_last_refreshed, :tot_reads, :tot_read_bytes, :tot_writes, :tot_write_bytes,
        :curr_last_refreshed, :curr_reads, :curr_read_bytes, :curr_writes,
        :curr_write_bytes, :now, 0)

-- name: vol_read_back
-- A volume usage row by :id, or (:id NULL) the one this connection inserted last.
SELECT created_at, updated_at, deleted_at, deleted, id, volume_id, instance_uuid, project_id, user_id,
       availability_zone, tot_last_refreshed, tot_reads, tot_read_bytes, tot_writes, tot_write_bytes,
       curr_last_refreshed, curr_reads, curr_read_bytes, curr_writes, curr_write_bytes
FROM volume_usage_cache
WHERE id = coalesce(:id, LAST_INSERT_ID())
