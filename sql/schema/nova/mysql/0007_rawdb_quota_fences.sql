-- rawdb's quota fences, for Galera clusters.  On one server a reservation holds the row locks
-- of every user's usage rows of its resources in the project while it checks the project's
-- total; Galera does not carry row locks from node to node, and two reservations of different
-- users of one project, on two nodes, write different usage rows, so both would pass
-- certification and the project could go over its limit.  On Galera each reservation also
-- bumps its (project, resource) rows here: two reservations that counted the same totals
-- now write one row, and the later commit fails certification (1213, retried whole).  A
-- single server never writes to this table (it exists on every backend, so that nova's schema
-- is the same everywhere).
CREATE TABLE IF NOT EXISTS rawdb_quota_fences (
    project_id VARCHAR(255) NOT NULL,
    resource   VARCHAR(255) NOT NULL,
    generation BIGINT       NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, resource)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
