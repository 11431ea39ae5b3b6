-- Cinder's tables, column for column as cinder 2012.2 (Folsom) models create them, with the
-- quota tables (quotas, quota_classes, quota_usages, reservations) as cinder HEAD's models
-- have them: race_preventer and its unique key, nullable usage_id, resource VARCHAR(300),
-- HEAD's indexes; for MariaDB.  The same columns, keys and indexes as
-- postgresql/0001_cinder_tables.sql, whose comments say where the models and Folsom's
-- migrations 001/002 disagreed and which was taken, and the same constraint names.
-- Where this departs from cinder's MySQL tables, so that rawdb returns what it returns on
-- PostgreSQL and SQLite (spec mariadb.md 2.9, 2.11): utf8mb4 with utf8mb4_nopad_bin (strings
-- compare and sort by code point; cinder makes utf8 tables with a case-insensitive
-- collation) and DATETIME(6) (cinder makes DATETIME, which drops microseconds).  Where no
-- index leads with a foreign key's columns InnoDB adds one under the constraint's name.
-- Cinder's Python-side defaults are server defaults here (deleted 0, race_preventer 1,
-- report_count 0, disabled 0, availability_zone 'cinder').
-- IF NOT EXISTS throughout, and indexes inside CREATE TABLE: bootstrapping a database
-- cinder's own tools made adopts its tables whole.

CREATE TABLE IF NOT EXISTS sm_flavors (
    id          INTEGER      NOT NULL AUTO_INCREMENT,
    label       VARCHAR(255),
    description VARCHAR(255),
    created_at  DATETIME(6),
    updated_at  DATETIME(6),
    deleted_at  DATETIME(6),
    deleted     BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS sm_backend_config (
    id            INTEGER       NOT NULL AUTO_INCREMENT,
    flavor_id     INTEGER       NOT NULL,
    sr_uuid       VARCHAR(255),
    sr_type       VARCHAR(255),
    config_params VARCHAR(2047),
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    deleted       BOOLEAN       DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT sm_backend_config_flavor_id_fkey FOREIGN KEY (flavor_id) REFERENCES sm_flavors (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS volume_types (
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    name       VARCHAR(255),
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- ec2_id INTEGER and provider_location/provider_auth VARCHAR(255) as the model has them
-- (migration 001: VARCHAR(255) and VARCHAR(256)); attach_time is VARCHAR(255) in both.
-- volume_type_id has no foreign key in the model or the migration.
CREATE TABLE IF NOT EXISTS volumes (
    id                  VARCHAR(36)  NOT NULL,
    ec2_id              INTEGER,
    user_id             VARCHAR(255),
    project_id          VARCHAR(255),
    snapshot_id         VARCHAR(36),
    host                VARCHAR(255),
    size                INTEGER,
    availability_zone   VARCHAR(255),
    instance_uuid       VARCHAR(36),
    mountpoint          VARCHAR(255),
    attach_time         VARCHAR(255),
    status              VARCHAR(255),
    attach_status       VARCHAR(255),
    scheduled_at        DATETIME(6),
    launched_at         DATETIME(6),
    terminated_at       DATETIME(6),
    display_name        VARCHAR(255),
    display_description VARCHAR(255),
    provider_location   VARCHAR(255),
    provider_auth       VARCHAR(255),
    volume_type_id      INTEGER,
    created_at          DATETIME(6),
    updated_at          DATETIME(6),
    deleted_at          DATETIME(6),
    deleted             BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS volume_metadata (
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    `key`      VARCHAR(255),
    value      VARCHAR(255),
    volume_id  VARCHAR(36)  NOT NULL,
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT volume_metadata_volume_id_fkey FOREIGN KEY (volume_id) REFERENCES volumes (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS volume_type_extra_specs (
    id             INTEGER      NOT NULL AUTO_INCREMENT,
    `key`          VARCHAR(255),
    value          VARCHAR(255),
    volume_type_id INTEGER      NOT NULL,
    created_at     DATETIME(6),
    updated_at     DATETIME(6),
    deleted_at     DATETIME(6),
    deleted        BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT volume_type_extra_specs_volume_type_id_fkey FOREIGN KEY (volume_type_id) REFERENCES volume_types (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- volume_id NOT NULL as migration 001 made it (the model leaves it nullable); no foreign
-- key (neither has one in Folsom); migration 001's unused scheduled_at is left out.
CREATE TABLE IF NOT EXISTS snapshots (
    id                  VARCHAR(36)  NOT NULL,
    user_id             VARCHAR(255),
    project_id          VARCHAR(255),
    volume_id           VARCHAR(36)  NOT NULL,
    status              VARCHAR(255),
    progress            VARCHAR(255),
    volume_size         INTEGER,
    display_name        VARCHAR(255),
    display_description VARCHAR(255),
    created_at          DATETIME(6),
    updated_at          DATETIME(6),
    deleted_at          DATETIME(6),
    deleted             BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The model's UNIQUE (target_num, host), which migration 001 did not create:
-- iscsi_target_create_safe relies on it to swallow duplicate targets.
CREATE TABLE IF NOT EXISTS iscsi_targets (
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    target_num INTEGER,
    host       VARCHAR(255),
    volume_id  VARCHAR(36),
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT iscsi_targets_volume_id_fkey FOREIGN KEY (volume_id) REFERENCES volumes (id),
    CONSTRAINT iscsi_targets_target_num_host_key UNIQUE (target_num, host)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS sm_volume (
    id         VARCHAR(36)  NOT NULL,
    backend_id INTEGER      NOT NULL,
    vdi_uuid   VARCHAR(255),
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT sm_volume_id_fkey FOREIGN KEY (id) REFERENCES volumes (id),
    CONSTRAINT sm_volume_backend_id_fkey FOREIGN KEY (backend_id) REFERENCES sm_backend_config (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS services (
    id                INTEGER      NOT NULL AUTO_INCREMENT,
    host              VARCHAR(255),
    `binary`          VARCHAR(255),
    topic             VARCHAR(255),
    report_count      INTEGER      NOT NULL DEFAULT 0,
    disabled          BOOLEAN      DEFAULT 0,
    availability_zone VARCHAR(255) DEFAULT 'cinder',
    created_at        DATETIME(6),
    updated_at        DATETIME(6),
    deleted_at        DATETIME(6),
    deleted           BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The model's instance_uuid foreign key points at nova's instances table, which cinder
-- does not have; migration 001 created none, nor does this.
CREATE TABLE IF NOT EXISTS migrations (
    id                   INTEGER      NOT NULL AUTO_INCREMENT,
    source_compute       VARCHAR(255),
    dest_compute         VARCHAR(255),
    dest_host            VARCHAR(255),
    old_instance_type_id INTEGER,
    new_instance_type_id INTEGER,
    instance_uuid        VARCHAR(255),
    status               VARCHAR(255),
    created_at           DATETIME(6),
    updated_at           DATETIME(6),
    deleted_at           DATETIME(6),
    deleted              BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Quota tables as cinder HEAD has them (HEAD dropped quotas.allocated and
-- reservations.allocated_id, which belonged to nested quotas).  Folsom's model index on
-- quotas.project_id is kept: quota_get_all_by_project looks rows up by project.
CREATE TABLE IF NOT EXISTS quotas (
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    project_id VARCHAR(255),
    resource   VARCHAR(300) NOT NULL,
    hard_limit INTEGER,
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    KEY ix_quotas_project_id (project_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS quota_classes (
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    class_name VARCHAR(255),
    resource   VARCHAR(300),
    hard_limit INTEGER,
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    KEY ix_quota_classes_class_name (class_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- race_preventer is true on live rows and NULL once soft-deleted, so the unique key allows
-- one live usage row per (project, resource) and any number of deleted ones.
CREATE TABLE IF NOT EXISTS quota_usages (
    id             INTEGER      NOT NULL AUTO_INCREMENT,
    project_id     VARCHAR(255),
    resource       VARCHAR(300),
    in_use         INTEGER      NOT NULL,
    reserved       INTEGER      NOT NULL,
    until_refresh  INTEGER,
    race_preventer BOOLEAN      DEFAULT 1,
    created_at     DATETIME(6),
    updated_at     DATETIME(6),
    deleted_at     DATETIME(6),
    deleted        BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT quota_usages_project_id_resource_race_preventer_key UNIQUE (project_id, resource, race_preventer),
    KEY ix_quota_usages_project_id (project_id),
    KEY quota_usage_project_resource_idx (project_id, resource)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS reservations (
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    uuid       VARCHAR(36)  NOT NULL,
    usage_id   INTEGER,
    project_id VARCHAR(255),
    resource   VARCHAR(300),
    delta      INTEGER      NOT NULL,
    expire     DATETIME(6),
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT reservations_usage_id_fkey FOREIGN KEY (usage_id) REFERENCES quota_usages (id),
    KEY ix_reservations_usage_id (usage_id),
    KEY ix_reservations_project_id (project_id),
    KEY reservations_deleted_expire_idx (deleted, expire),
    KEY reservations_deleted_uuid_idx (deleted, uuid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The 'default' quota class rows a fresh cinder database gets from its migrations (the
-- initial one, plus 9c74c1c6971f for backups; the initial one's consistencygroups row is
-- soft-deleted again by b7b88f50aab5, so it is not seeded), with cinder's configured
-- defaults.  Like cinder's migrations, a resource that already has a live 'default' row
-- is left alone.  (MariaDB takes no WITH before INSERT: the rows are a derived table.)
INSERT INTO quota_classes (class_name, resource, hard_limit, created_at, deleted)
SELECT 'default', d.resource, d.hard_limit, UTC_TIMESTAMP(6), 0
FROM (
    SELECT 1 AS n, 'volumes' AS resource, 10 AS hard_limit
    UNION ALL SELECT 2, 'snapshots', 10
    UNION ALL SELECT 3, 'gigabytes', 1000
    UNION ALL SELECT 4, 'per_volume_gigabytes', -1
    UNION ALL SELECT 5, 'groups', 10
    UNION ALL SELECT 6, 'backups', 10
    UNION ALL SELECT 7, 'backup_gigabytes', 1000
) AS d
WHERE NOT EXISTS (
    SELECT 1 FROM quota_classes q
    WHERE q.class_name = 'default' AND q.resource = d.resource AND NOT q.deleted
)
ORDER BY d.n;
