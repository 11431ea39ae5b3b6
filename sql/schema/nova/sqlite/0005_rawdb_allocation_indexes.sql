-- rawdb's indexes for address allocation (spec D.5), SQLite.

-- fixed_ip_associate_pool hands out the oldest free address (updated_at, NULL first, then id):
-- the free rows in that order, so that a claim reads the first one instead of sorting every
-- free address of the pool (a /16 is 65,536 rows).
CREATE INDEX IF NOT EXISTS ix_fixed_ips_free_updated_at_id ON fixed_ips (updated_at, id)
    WHERE deleted = 0 AND reserved = FALSE AND instance_uuid IS NULL AND host IS NULL AND leased = FALSE;

-- floating_ip_allocate_address takes any free address of a pool.
CREATE INDEX IF NOT EXISTS ix_floating_ips_free_pool_id ON floating_ips (pool, id)
    WHERE deleted = 0 AND fixed_ip_id IS NULL AND project_id IS NULL;
