-- rawdb's statistics for property filters (spec glance.md G.7): PostgreSQL records how often
-- a value goes with a property name.  SQLite keeps no statistics on value combinations; its
-- planner reads the selectivity of each index from sqlite_stat1, which ANALYZE refreshes.
ANALYZE image_properties;
