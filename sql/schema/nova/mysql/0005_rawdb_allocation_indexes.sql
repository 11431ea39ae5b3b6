-- rawdb's indexes for address allocation (spec D.5), MariaDB/MySQL.

-- fixed_ip_associate_pool hands out the oldest free address (updated_at, then id; MariaDB sorts
-- NULL first): a free row is live, not reserved, not leased, with no instance and no host, and
-- with those as the index's leading columns MariaDB reads the free rows in updated_at order
-- instead of sorting every free address of the pool (a /16 is 65,536 rows).  floating IPs:
-- nova's own (pool, deleted, fixed_ip_id, project_id) serves the allocation.
CREATE INDEX IF NOT EXISTS ix_fixed_ips_free_updated_at_id
    ON fixed_ips (deleted, reserved, leased, instance_uuid, host, updated_at, id);
