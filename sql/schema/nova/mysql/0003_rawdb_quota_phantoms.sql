-- Nothing to create on MariaDB/MySQL.  PostgreSQL needs a function that counts a project's
-- live usage rows with a fresh snapshot (see postgresql/0003_rawdb_quota_phantoms.sql); in
-- InnoDB a locking read (FOR UPDATE, LOCK IN SHARE MODE) already reads the newest committed
-- rows, whatever the transaction's snapshot, so the reservation's own locking reads see a
-- usage row another transaction created.  `DO 0` keeps the version a statement: a script of
-- comments alone is an empty query (error 1065) to the server.
DO 0;
