-- name: versions_table
-- The table recording applied schema versions and their checksums.
CREATE TABLE IF NOT EXISTS rawdb_schema_versions (
    service    VARCHAR(64)  NOT NULL,
    version    INTEGER      NOT NULL,
    name       VARCHAR(255) NOT NULL,
    checksum   VARCHAR(64)  NOT NULL,
    applied_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (service, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin

-- name: bootstrap_lock
-- Serialise concurrent bootstraps of one service on one database: DDL commits implicitly, so
-- no transaction can hold a lock across the scripts; a named lock belongs to the session
-- until RELEASE_LOCK or the connection closes.  locked is 1 when taken, 0 after :timeout
-- seconds (holder: the connection id holding it then).  Per server: on Galera, per node.
SELECT GET_LOCK(LEFT(CONCAT('rawdb-schema-', :service, '@', DATABASE()), 64), :timeout) AS locked,
       IS_USED_LOCK(LEFT(CONCAT('rawdb-schema-', :service, '@', DATABASE()), 64)) AS holder

-- name: bootstrap_unlock (mysql only)
-- Release the lock bootstrap_lock took (1 if this session held it).
SELECT RELEASE_LOCK(LEFT(CONCAT('rawdb-schema-', :service, '@', DATABASE()), 64)) AS released

-- name: versions_table_exists
-- Whether the versions table exists yet (status before any bootstrap).
SELECT count(*) AS n FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'rawdb_schema_versions'

-- name: live_columns
-- Columns of every table of the current database.  type is the column type, without the
-- display width MariaDB shows for integers and MySQL 8 does not (tinyint(1), BOOLEAN, keeps
-- it); collation is that of a string column; expression is a generated column's.
SELECT TABLE_NAME AS table_name,
       COLUMN_NAME AS column_name,
       CASE WHEN DATA_TYPE IN ('int', 'bigint', 'smallint', 'mediumint')
            THEN CONCAT(DATA_TYPE, IF(INSTR(COLUMN_TYPE, 'unsigned') > 0, ' unsigned', ''))
            ELSE COLUMN_TYPE END AS type,
       COLLATION_NAME AS collation,
       NULLIF(GENERATION_EXPRESSION, '') AS expression,
       IS_NULLABLE = 'NO' AS not_null,
       COLUMN_DEFAULT AS "default"
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, ORDINAL_POSITION

-- name: live_indexes
-- Indexes of every table of the current database (PRIMARY included), as one line each.
-- foreign_key_index: an index InnoDB made by itself for a foreign key (no declared index led
-- with its columns); it is named after the constraint, or after the column when the
-- constraint was left unnamed, so such names say nothing about the schema.
SELECT i.table_name, i.index_name, i.definition,
       EXISTS (
           SELECT 1 FROM (
               SELECT TABLE_NAME AS table_name, CONSTRAINT_NAME AS constraint_name,
                      GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) AS column_list,
                      MAX(IF(ORDINAL_POSITION = 1, COLUMN_NAME, NULL)) AS first_column
               FROM information_schema.KEY_COLUMN_USAGE
               WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL
               GROUP BY TABLE_NAME, CONSTRAINT_NAME
           ) fk
           WHERE fk.table_name = i.table_name AND fk.column_list = i.column_list
             AND i.index_name IN (fk.constraint_name, fk.first_column)
       ) AND i.non_unique = 1 AS foreign_key_index
FROM (
    SELECT TABLE_NAME AS table_name,
           INDEX_NAME AS index_name,
           MAX(NON_UNIQUE) AS non_unique,
           GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) AS column_list,
           CONCAT(IF(MAX(NON_UNIQUE) = 0, 'unique ', ''), 'index ', INDEX_NAME, ' on ', TABLE_NAME, ' (',
                  GROUP_CONCAT(CONCAT(COLUMN_NAME, IFNULL(CONCAT('(', SUB_PART, ')'), ''))
                               ORDER BY SEQ_IN_INDEX SEPARATOR ', '),
                  ')', IF(MAX(INDEX_TYPE) <> 'BTREE', CONCAT(' using ', MAX(INDEX_TYPE)), '')) AS definition
    FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = DATABASE()
    GROUP BY TABLE_NAME, INDEX_NAME
) i
ORDER BY i.table_name, i.index_name

-- name: current_database (mysql only)
-- The session's database (check applies the scripts in a scratch database, then comes back).
SELECT DATABASE() AS name
