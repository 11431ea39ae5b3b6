-- rawdb's schema for archive_deleted_rows (spec D.8), MariaDB/MySQL: nothing to add.  The
-- other dialects index the child columns of the foreign keys that nova left without an
-- index; MariaDB made those indexes with the foreign keys, and its shadow tables take
-- locked_by as it is (an ENUM of the same labels in both tables).
DO 0;
