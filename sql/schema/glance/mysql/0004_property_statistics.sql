-- rawdb's statistics for property filters (spec glance.md G.7), on MariaDB/MySQL.
--
-- PostgreSQL needs a statistics object because it would estimate `name = n AND value = v` as
-- if names and values were independent.  MariaDB estimates an equality on an index's leading
-- columns by diving into the index (eq_range_index_dive_limit), and 0002's
-- ix_image_properties_name_value_live leads with (name, value): the estimate counts the
-- combination itself, and nothing needs to be created.  ANALYZE refreshes InnoDB's persistent
-- statistics of the table now, as the other dialects' scripts do, rather than at InnoDB's next
-- automatic recalculation.
ANALYZE TABLE image_properties;
