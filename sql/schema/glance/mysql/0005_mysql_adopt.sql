-- Adopting a database glance-manage made on MySQL/MariaDB: its seven tables get the
-- collation and timestamp precision rawdb's own tables have (0001), so that rawdb gives the
-- results it gives on PostgreSQL and SQLite.  On a database rawdb made, nothing needs
-- changing and every step below is `DO 0`.
--
-- * utf8mb3_general_ci -> utf8mb4 with utf8mb4_nopad_bin: comparisons, unique keys, ORDER BY
--   and GROUP BY become exact, by code point (glance on PostgreSQL already works so), and
--   4-byte characters are accepted.  Lossless: utf8mb3 text is the same bytes in utf8mb4, and
--   an exact collation never makes two distinct values equal, so no unique key can fail.
-- * DATETIME -> DATETIME(6): timestamps keep their microseconds, which the other dialects
--   keep and rawdb's keyset markers and updated_at rely on.  Existing values are unchanged.
-- TEXT columns stay TEXT (CONVERT TO alone would make them MEDIUMTEXT), ENUMs and defaults
-- stay as they are.  Glance's other tables (tasks, metadef_*, alembic_version) are left alone.
--
-- MariaDB refuses to change a column used by a foreign key (errors 1832, 1833, even with
-- foreign_key_checks=0), so the four foreign keys to images.id are dropped first and added
-- back, under their old names, once both ends are converted; the re-add skips validation
-- (the rows were checked by the same key a moment before) so no table is rebuilt twice.
--
-- Each converted table is copied (DATETIME(6) is a type change: ALGORITHM=COPY) and takes no
-- writes meanwhile: adopt with glance stopped.  Every step checks information_schema first,
-- so a run that stopped halfway can be run again.  The script leaves no session state behind
-- (it restores foreign_key_checks and clears its variables) unless a statement fails midway;
-- a connection a failed script ran on is better closed than reused.

-- The names of the foreign keys to images.id, to add them back under the same names.
SET @rawdb_fk_image_properties = (SELECT MAX(CONSTRAINT_NAME) FROM information_schema.REFERENTIAL_CONSTRAINTS
    WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'image_properties' AND REFERENCED_TABLE_NAME = 'images');
SET @rawdb_fk_image_locations = (SELECT MAX(CONSTRAINT_NAME) FROM information_schema.REFERENTIAL_CONSTRAINTS
    WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'image_locations' AND REFERENCED_TABLE_NAME = 'images');
SET @rawdb_fk_image_members = (SELECT MAX(CONSTRAINT_NAME) FROM information_schema.REFERENTIAL_CONSTRAINTS
    WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'image_members' AND REFERENCED_TABLE_NAME = 'images');
SET @rawdb_fk_image_tags = (SELECT MAX(CONSTRAINT_NAME) FROM information_schema.REFERENTIAL_CONSTRAINTS
    WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'image_tags' AND REFERENCED_TABLE_NAME = 'images');

-- Whether an image id column is still to be converted (then the foreign keys must go).
SET @rawdb_ids = (SELECT COUNT(*) FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME IN ('id', 'image_id') AND COLLATION_NAME <> 'utf8mb4_nopad_bin'
      AND TABLE_NAME IN ('images', 'image_properties', 'image_locations', 'image_members', 'image_tags'));

SET @rawdb_sql = IF(@rawdb_ids > 0 AND @rawdb_fk_image_properties IS NOT NULL,
    CONCAT('ALTER TABLE image_properties DROP FOREIGN KEY `', @rawdb_fk_image_properties, '`'), 'DO 0');
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;
SET @rawdb_sql = IF(@rawdb_ids > 0 AND @rawdb_fk_image_locations IS NOT NULL,
    CONCAT('ALTER TABLE image_locations DROP FOREIGN KEY `', @rawdb_fk_image_locations, '`'), 'DO 0');
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;
SET @rawdb_sql = IF(@rawdb_ids > 0 AND @rawdb_fk_image_members IS NOT NULL,
    CONCAT('ALTER TABLE image_members DROP FOREIGN KEY `', @rawdb_fk_image_members, '`'), 'DO 0');
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;
SET @rawdb_sql = IF(@rawdb_ids > 0 AND @rawdb_fk_image_tags IS NOT NULL,
    CONCAT('ALTER TABLE image_tags DROP FOREIGN KEY `', @rawdb_fk_image_tags, '`'), 'DO 0');
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;

-- Each table is converted while its default collation or one of its columns is not yet
-- utf8mb4_nopad_bin or DATETIME(6).  Every information_schema read in this script is limited
-- by constants to this database (TABLE_SCHEMA = DATABASE(), and TABLE_NAME = '...' wherever
-- one table is meant), so MariaDB opens only this database's tables: a read that scans the
-- server (a correlated subquery does) skips a table another database is changing at that
-- moment with warning 1684, which strict sql_mode turns into an error.
SET @rawdb_sql = IF(
    (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'images'
       AND TABLE_COLLATION <> 'utf8mb4_nopad_bin')
    + (SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'images'
         AND (COLLATION_NAME <> 'utf8mb4_nopad_bin' OR DATETIME_PRECISION < 6)) = 0, 'DO 0',
    'ALTER TABLE images CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
         MODIFY created_at DATETIME(6) NOT NULL, MODIFY updated_at DATETIME(6), MODIFY deleted_at DATETIME(6)');
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;
SET @rawdb_sql = IF(
    (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'image_properties'
       AND TABLE_COLLATION <> 'utf8mb4_nopad_bin')
    + (SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'image_properties'
         AND (COLLATION_NAME <> 'utf8mb4_nopad_bin' OR DATETIME_PRECISION < 6)) = 0, 'DO 0',
    'ALTER TABLE image_properties CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, MODIFY value TEXT,
         MODIFY created_at DATETIME(6) NOT NULL, MODIFY updated_at DATETIME(6), MODIFY deleted_at DATETIME(6)');
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;
SET @rawdb_sql = IF(
    (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'image_locations'
       AND TABLE_COLLATION <> 'utf8mb4_nopad_bin')
    + (SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'image_locations'
         AND (COLLATION_NAME <> 'utf8mb4_nopad_bin' OR DATETIME_PRECISION < 6)) = 0, 'DO 0',
    'ALTER TABLE image_locations CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
         MODIFY value TEXT NOT NULL, MODIFY meta_data TEXT,
         MODIFY created_at DATETIME(6) NOT NULL, MODIFY updated_at DATETIME(6), MODIFY deleted_at DATETIME(6)');
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;
SET @rawdb_sql = IF(
    (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'image_members'
       AND TABLE_COLLATION <> 'utf8mb4_nopad_bin')
    + (SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'image_members'
         AND (COLLATION_NAME <> 'utf8mb4_nopad_bin' OR DATETIME_PRECISION < 6)) = 0, 'DO 0',
    'ALTER TABLE image_members CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
         MODIFY created_at DATETIME(6) NOT NULL, MODIFY updated_at DATETIME(6), MODIFY deleted_at DATETIME(6)');
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;
SET @rawdb_sql = IF(
    (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'image_tags'
       AND TABLE_COLLATION <> 'utf8mb4_nopad_bin')
    + (SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'image_tags'
         AND (COLLATION_NAME <> 'utf8mb4_nopad_bin' OR DATETIME_PRECISION < 6)) = 0, 'DO 0',
    'ALTER TABLE image_tags CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
         MODIFY created_at DATETIME(6) NOT NULL, MODIFY updated_at DATETIME(6), MODIFY deleted_at DATETIME(6)');
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;
SET @rawdb_sql = IF(
    (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'node_reference'
       AND TABLE_COLLATION <> 'utf8mb4_nopad_bin')
    + (SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'node_reference'
         AND (COLLATION_NAME <> 'utf8mb4_nopad_bin' OR DATETIME_PRECISION < 6)) = 0, 'DO 0',
    'ALTER TABLE node_reference CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin');
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;
SET @rawdb_sql = IF(
    (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'cached_images'
       AND TABLE_COLLATION <> 'utf8mb4_nopad_bin')
    + (SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'cached_images'
         AND (COLLATION_NAME <> 'utf8mb4_nopad_bin' OR DATETIME_PRECISION < 6)) = 0, 'DO 0',
    'ALTER TABLE cached_images CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
         MODIFY last_accessed DATETIME(6) NOT NULL, MODIFY last_modified DATETIME(6) NOT NULL');
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;

-- Add back each foreign key to images.id that is missing, under its old name (or, after a
-- run that stopped halfway, PostgreSQL's name, as 0001 gives it).
SET @rawdb_fk_checks = @@SESSION.foreign_key_checks;
SET SESSION foreign_key_checks = 0;
SET @rawdb_sql = IF((SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS
                     WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'image_properties'
                       AND REFERENCED_TABLE_NAME = 'images') > 0, 'DO 0',
    CONCAT('ALTER TABLE image_properties ADD CONSTRAINT `',
           COALESCE(@rawdb_fk_image_properties, 'image_properties_image_id_fkey'),
           '` FOREIGN KEY (image_id) REFERENCES images (id)'));
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;
SET @rawdb_sql = IF((SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS
                     WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'image_locations'
                       AND REFERENCED_TABLE_NAME = 'images') > 0, 'DO 0',
    CONCAT('ALTER TABLE image_locations ADD CONSTRAINT `',
           COALESCE(@rawdb_fk_image_locations, 'image_locations_image_id_fkey'),
           '` FOREIGN KEY (image_id) REFERENCES images (id)'));
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;
SET @rawdb_sql = IF((SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS
                     WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'image_members'
                       AND REFERENCED_TABLE_NAME = 'images') > 0, 'DO 0',
    CONCAT('ALTER TABLE image_members ADD CONSTRAINT `',
           COALESCE(@rawdb_fk_image_members, 'image_members_image_id_fkey'),
           '` FOREIGN KEY (image_id) REFERENCES images (id)'));
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;
SET @rawdb_sql = IF((SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS
                     WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'image_tags'
                       AND REFERENCED_TABLE_NAME = 'images') > 0, 'DO 0',
    CONCAT('ALTER TABLE image_tags ADD CONSTRAINT `',
           COALESCE(@rawdb_fk_image_tags, 'image_tags_image_id_fkey'),
           '` FOREIGN KEY (image_id) REFERENCES images (id)'));
PREPARE rawdb_adopt FROM @rawdb_sql;
EXECUTE rawdb_adopt;
SET SESSION foreign_key_checks = @rawdb_fk_checks;

DEALLOCATE PREPARE rawdb_adopt;
SET @rawdb_sql = NULL, @rawdb_ids = NULL, @rawdb_fk_checks = NULL, @rawdb_fk_image_properties = NULL,
    @rawdb_fk_image_locations = NULL, @rawdb_fk_image_members = NULL, @rawdb_fk_image_tags = NULL;
