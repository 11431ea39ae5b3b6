-- PostgreSQL: the writers of one usage key take turns on a transaction-scoped advisory lock (the usage
-- caches have no unique key to upsert on); keys that hash alike merely wait for each other.

-- name: bw_lock
-- Serialise the writers of one bandwidth usage key (uuid, mac, start_period) until the transaction ends.
SELECT pg_advisory_xact_lock(1651987795, hashtext(CAST(:lock_key AS VARCHAR(400)))) IS NULL AS locked

-- name: vol_lock
-- Serialise the writers of one volume's usage until the transaction ends.
SELECT pg_advisory_xact_lock(1986014293, hashtext(CAST(:volume_id AS VARCHAR(36)))) IS NULL AS locked
