-- rawdb's statistics for property filters (spec glance.md G.7).
--
-- A filter `name = n AND value = v` is estimated as if names and values were independent:
-- a value common under one name but rare among all values (os_distro=ubuntu) looks rare, and
-- the planner reads every row of the value instead of walking the listing's index.  Their
-- most common combinations fix that.  The value's prefix (the property-value index's
-- expression, which the filter also compares) is in the same object, so the planner does
-- not count the value twice.  Expressions in statistics need PostgreSQL 14; older servers
-- go without.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
        EXECUTE 'CREATE STATISTICS IF NOT EXISTS st_image_properties_name_value (mcv) '
             || 'ON name, value, (substr(value, 1, 100)) FROM image_properties';
    END IF;
END
$$;
ANALYZE image_properties;
