-- Bandwidth and volume usage caches and the task log (rawdb/nova/usage.py, nova 14.0.0).
-- bw_usage_cache and volume_usage_cache have no unique key: an upsert first serialises the writers of
-- its key (PostgreSQL: a transaction-scoped advisory lock, in the dialect file; SQLite: writers hold
-- the database already; MySQL: a locking read, and a locking check for a rival after inserting), then
-- updates the key's first row or inserts one.  task_log's unique key (task_name, host,
-- period_beginning, period_ending) admits one row per task, host and period, deleted or not.

-- name: bw_lock
-- Serialise the writers of one bandwidth usage key until the transaction ends.  This text is a no-op:
-- PostgreSQL's variant takes an advisory lock, and the module runs it on PostgreSQL only.
SELECT CAST(:lock_key AS VARCHAR(400)) IS NOT NULL AS locked

-- name: bw_get
-- The (first) bandwidth usage of an instance's interface in a period, deleted or not.
SELECT created_at, updated_at, deleted_at, deleted, id, uuid, mac, start_period, last_refreshed, bw_in, bw_out,
       last_ctr_in, last_ctr_out
FROM bw_usage_cache
WHERE start_period = :start_period AND uuid = :uuid AND mac = :mac
ORDER BY id
LIMIT 1

-- name: bw_get_by_uuids
-- The bandwidth usages of some instances in a period, deleted or not, oldest first.
SELECT created_at, updated_at, deleted_at, deleted, id, uuid, mac, start_period, last_refreshed, bw_in, bw_out,
       last_ctr_in, last_ctr_out
FROM bw_usage_cache
WHERE uuid = ANY(:uuids) AND start_period = :start_period
ORDER BY id

-- name: bw_find
-- The id of the first row of a bandwidth usage key, deleted or not (the row an update changes).
SELECT id FROM bw_usage_cache
WHERE start_period = :start_period AND uuid = :uuid AND mac = :mac
ORDER BY id
LIMIT 1

-- name: bw_rival
-- The first row of the key other than :id (run on MySQL only, after inserting: see the dialect file).
SELECT id FROM bw_usage_cache
WHERE start_period = :start_period AND uuid = :uuid AND mac = :mac AND id <> :id
ORDER BY id
LIMIT 1

-- name: bw_discard
-- Remove the row this transaction inserted (MySQL found a rival's): no other transaction saw it.
DELETE FROM bw_usage_cache WHERE id = :id

-- name: bw_update
-- Store the counters of a bandwidth usage row.
UPDATE bw_usage_cache
SET last_refreshed = :last_refreshed, bw_in = :bw_in, bw_out = :bw_out, last_ctr_in = :last_ctr_in,
    last_ctr_out = :last_ctr_out, updated_at = :now
WHERE id = :id
RETURNING created_at, updated_at, deleted_at, deleted, id, uuid, mac, start_period, last_refreshed, bw_in, bw_out,
          last_ctr_in, last_ctr_out

-- name: bw_insert
-- Insert the bandwidth usage of an instance's interface in a period.
INSERT INTO bw_usage_cache (uuid, mac, start_period, last_refreshed, bw_in, bw_out, last_ctr_in, last_ctr_out,
                            created_at, deleted)
VALUES (:uuid, :mac, :start_period, :last_refreshed, :bw_in, :bw_out, :last_ctr_in, :last_ctr_out, :now, 0)
RETURNING created_at, updated_at, deleted_at, deleted, id, uuid, mac, start_period, last_refreshed, bw_in, bw_out,
          last_ctr_in, last_ctr_out

-- name: bw_read_back
-- A bandwidth usage row by id (MySQL's read-back after an insert or update, with :id NULL for the
-- last insert: the other backends have RETURNING).
SELECT created_at, updated_at, deleted_at, deleted, id, uuid, mac, start_period, last_refreshed, bw_in, bw_out,
       last_ctr_in, last_ctr_out
FROM bw_usage_cache
WHERE id = :id

-- name: vol_lock
-- Serialise the writers of one volume's usage until the transaction ends.  This text is a no-op:
-- PostgreSQL's variant takes an advisory lock, and the module runs it on PostgreSQL only.
SELECT CAST(:volume_id AS VARCHAR(36)) IS NOT NULL AS locked

-- name: vol_get_usage_by_time
-- The volume usages refreshed after :begin (or never, totals or current), deleted or not, oldest first.
SELECT created_at, updated_at, deleted_at, deleted, id, volume_id, instance_uuid, project_id, user_id,
       availability_zone, tot_last_refreshed, tot_reads, tot_read_bytes, tot_writes, tot_write_bytes,
       curr_last_refreshed, curr_reads, curr_read_bytes, curr_writes, curr_write_bytes
FROM volume_usage_cache
WHERE tot_last_refreshed IS NULL OR tot_last_refreshed > :begin
   OR curr_last_refreshed IS NULL OR curr_last_refreshed > :begin
ORDER BY id

-- name: vol_find
-- The first usage row of a volume, deleted or not (the row an update changes; the writers of the
-- volume are serialised, so the counters read here are the ones the update starts from).
SELECT id, tot_reads, tot_read_bytes, tot_writes, tot_write_bytes,
       curr_reads, curr_read_bytes, curr_writes, curr_write_bytes
FROM volume_usage_cache
WHERE volume_id = :volume_id
ORDER BY id
LIMIT 1

-- name: vol_rival
-- The first usage row of the volume other than :id (run on MySQL only, after inserting).
SELECT id FROM volume_usage_cache
WHERE volume_id = :volume_id AND id <> :id
ORDER BY id
LIMIT 1

-- name: vol_discard
-- Remove the row this transaction inserted (MySQL found a rival's): no other transaction saw it.
DELETE FROM volume_usage_cache WHERE id = :id

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
RETURNING created_at, updated_at, deleted_at, deleted, id, volume_id, instance_uuid, project_id, user_id,
          availability_zone, tot_last_refreshed, tot_reads, tot_read_bytes, tot_writes, tot_write_bytes,
          curr_last_refreshed, curr_reads, curr_read_bytes, curr_writes, curr_write_bytes

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
RETURNING created_at, updated_at, deleted_at, deleted, id, volume_id, instance_uuid, project_id, user_id,
          availability_zone, tot_last_refreshed, tot_reads, tot_read_bytes, tot_writes, tot_write_bytes,
          curr_last_refreshed, curr_reads, curr_read_bytes, curr_writes, curr_write_bytes

-- name: vol_read_back
-- A volume usage row by id (MySQL's read-back after an insert or update, with :id NULL for the last
-- insert: the other backends have RETURNING).
SELECT created_at, updated_at, deleted_at, deleted, id, volume_id, instance_uuid, project_id, user_id,
       availability_zone, tot_last_refreshed, tot_reads, tot_read_bytes, tot_writes, tot_write_bytes,
       curr_last_refreshed, curr_reads, curr_read_bytes, curr_writes, curr_write_bytes
FROM volume_usage_cache
WHERE id = :id

-- name: task_begin
-- Open a task log (state RUNNING); the unique key refuses a second row for the task, host and period.
INSERT INTO task_log (task_name, state, host, period_beginning, period_ending, message, task_items, errors,
                      created_at, deleted)
VALUES (:task_name, 'RUNNING', :host, :period_beginning, :period_ending, :message, :task_items, 0, :now, 0)

-- name: task_end
-- Close the task log of a task and period (on :host, or on every host when it is NULL), visible as
-- :read_deleted says, whatever its state: state DONE, the errors, the message when :set_message.
UPDATE task_log
SET state = 'DONE', errors = :errors, message = CASE WHEN :set_message THEN :message ELSE message END,
    updated_at = :now
WHERE task_name = :task_name AND period_beginning = :period_beginning AND period_ending = :period_ending
  AND (CAST(:host AS VARCHAR(255)) IS NULL OR host = :host) AND READ_DELETED(deleted, int)

-- name: task_get_all
-- The task logs of a task and period (on :host and in :state when not NULL), visible as :read_deleted
-- says, oldest first.
SELECT created_at, updated_at, deleted_at, deleted, id, task_name, state, host, period_beginning, period_ending,
       message, task_items, errors
FROM task_log
WHERE task_name = :task_name AND period_beginning = :period_beginning AND period_ending = :period_ending
  AND (CAST(:host AS VARCHAR(255)) IS NULL OR host = :host)
  AND (CAST(:state AS VARCHAR(255)) IS NULL OR state = :state) AND READ_DELETED(deleted, int)
ORDER BY id
