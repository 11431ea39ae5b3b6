-- Glance's image tables and the centralized image-cache tables, column for column as
-- glance's models create them (glance HEAD, alembic head 2024_1_contract01), for MariaDB
-- 10.6+ / MySQL 8.0+.
--
-- Where this departs from what glance-manage makes on MySQL, so that rawdb gives the results
-- it gives on PostgreSQL and SQLite (spec mariadb.md 2.9, 2.11):
-- * utf8mb4 with utf8mb4_nopad_bin: strings compare and sort by code point, case, accents
--   and trailing spaces included (glance makes utf8mb3_general_ci tables);
-- * DATETIME(6): timestamps keep their microseconds (glance makes DATETIME);
-- * foreign keys carry the names PostgreSQL gives them (glance's are image_properties_ibfk_1
--   and so on); glance's CHECK (deleted IN (0,1)) on its BOOLEAN columns is left out, as
--   on SQLite.
-- 0005_mysql_adopt.sql brings a database glance made to these collations and timestamps.
--
-- Indexes are declared inside CREATE TABLE: a table glance already made is adopted whole,
-- with its own indexes (their names are these), and InnoDB uses a declared index for a
-- foreign key instead of adding one of its own.  IF NOT EXISTS throughout.

CREATE TABLE IF NOT EXISTS images (
    id               VARCHAR(36)  NOT NULL,
    name             VARCHAR(255),
    disk_format      VARCHAR(20),
    container_format VARCHAR(20),
    size             BIGINT,
    virtual_size     BIGINT,
    status           VARCHAR(30)  NOT NULL,
    visibility       ENUM('private', 'public', 'shared', 'community') NOT NULL DEFAULT 'shared',
    checksum         VARCHAR(32),
    os_hash_algo     VARCHAR(64),
    os_hash_value    VARCHAR(128),
    min_disk         INTEGER      NOT NULL,
    min_ram          INTEGER      NOT NULL,
    owner            VARCHAR(255),
    protected        BOOLEAN      NOT NULL DEFAULT 0,
    os_hidden        BOOLEAN      NOT NULL DEFAULT 0,
    created_at       DATETIME(6)  NOT NULL,
    updated_at       DATETIME(6),
    deleted_at       DATETIME(6),
    deleted          BOOLEAN      NOT NULL,
    PRIMARY KEY (id),
    KEY checksum_image_idx (checksum),
    KEY visibility_image_idx (visibility),
    KEY ix_images_deleted (deleted),
    KEY owner_image_idx (owner),
    KEY created_at_image_idx (created_at),
    KEY updated_at_image_idx (updated_at),
    KEY os_hidden_image_idx (os_hidden),
    KEY os_hash_value_image_idx (os_hash_value)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS image_properties (
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    image_id   VARCHAR(36)  NOT NULL,
    name       VARCHAR(255) NOT NULL,
    value      TEXT,
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    BOOLEAN      NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT image_properties_image_id_fkey FOREIGN KEY (image_id) REFERENCES images (id),
    UNIQUE KEY ix_image_properties_image_id_name (image_id, name),
    KEY ix_image_properties_image_id (image_id),
    KEY ix_image_properties_deleted (deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS image_locations (
    id         INTEGER     NOT NULL AUTO_INCREMENT,
    image_id   VARCHAR(36) NOT NULL,
    value      TEXT        NOT NULL,
    meta_data  TEXT,
    status     VARCHAR(30) NOT NULL DEFAULT 'active',
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    BOOLEAN     NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT image_locations_image_id_fkey FOREIGN KEY (image_id) REFERENCES images (id),
    KEY ix_image_locations_image_id (image_id),
    KEY ix_image_locations_deleted (deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS image_members (
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    image_id   VARCHAR(36)  NOT NULL,
    member     VARCHAR(255) NOT NULL,
    can_share  BOOLEAN      NOT NULL,
    status     VARCHAR(20)  NOT NULL DEFAULT 'pending',
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    BOOLEAN      NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT image_members_image_id_fkey FOREIGN KEY (image_id) REFERENCES images (id),
    UNIQUE KEY image_members_image_id_member_deleted_at_key (image_id, member, deleted_at),
    KEY ix_image_members_deleted (deleted),
    KEY ix_image_members_image_id (image_id),
    KEY ix_image_members_image_id_member (image_id, member)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS image_tags (
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    image_id   VARCHAR(36)  NOT NULL,
    value      VARCHAR(255) NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    BOOLEAN      NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT image_tags_image_id_fkey FOREIGN KEY (image_id) REFERENCES images (id),
    KEY ix_image_tags_image_id (image_id),
    KEY ix_image_tags_image_id_tag_value (image_id, value)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS node_reference (
    node_reference_id  BIGINT       NOT NULL AUTO_INCREMENT,
    node_reference_url VARCHAR(255) NOT NULL,
    PRIMARY KEY (node_reference_id),
    UNIQUE KEY uq_node_reference_node_reference_url (node_reference_url)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- InnoDB indexes node_reference_id for the foreign key (as cached_images_node_reference_id_fkey;
-- glance's table has it as `node_reference_id`) until 0003's ix_cached_images_node_last_accessed,
-- which leads with it, takes over: InnoDB then drops the index it made, in either database.
CREATE TABLE IF NOT EXISTS cached_images (
    id                BIGINT      NOT NULL AUTO_INCREMENT,
    image_id          VARCHAR(36) NOT NULL,
    last_accessed     DATETIME(6) NOT NULL,
    last_modified     DATETIME(6) NOT NULL,
    size              BIGINT      NOT NULL,
    hits              INTEGER     NOT NULL,
    checksum          VARCHAR(32),
    node_reference_id BIGINT      NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT cached_images_node_reference_id_fkey
        FOREIGN KEY (node_reference_id) REFERENCES node_reference (node_reference_id),
    UNIQUE KEY ix_cached_images_image_id_node_reference_id (image_id, node_reference_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
