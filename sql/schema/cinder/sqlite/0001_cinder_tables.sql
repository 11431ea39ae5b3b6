-- Cinder's tables as cinder 2012.2 (Folsom) models create them on SQLite (DATETIME text,
-- BOOLEAN 0/1, INTEGER rowid keys), with the quota tables (quotas, quota_classes,
-- quota_usages, reservations) as cinder HEAD's models have them: race_preventer and its
-- unique key, nullable usage_id, resource VARCHAR(300), HEAD's indexes.
-- The same columns, keys and indexes as postgresql/0001_cinder_tables.sql, whose comments
-- say where the models and Folsom's migrations 001/002 disagreed and which was taken.
-- Cinder's Python-side defaults are server defaults here (deleted 0, race_preventer 1,
-- report_count 0, disabled 0, availability_zone 'cinder').
-- IF NOT EXISTS throughout: bootstrapping a database cinder's own tools made adopts it.

CREATE TABLE IF NOT EXISTS sm_flavors (
    id          INTEGER      NOT NULL,
    label       VARCHAR(255),
    description VARCHAR(255),
    created_at  DATETIME,
    updated_at  DATETIME,
    deleted_at  DATETIME,
    deleted     BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS sm_backend_config (
    id            INTEGER       NOT NULL,
    flavor_id     INTEGER       NOT NULL,
    sr_uuid       VARCHAR(255),
    sr_type       VARCHAR(255),
    config_params VARCHAR(2047),
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    deleted       BOOLEAN       DEFAULT 0,
    PRIMARY KEY (id),
    FOREIGN KEY (flavor_id) REFERENCES sm_flavors (id)
);

CREATE TABLE IF NOT EXISTS volume_types (
    id         INTEGER      NOT NULL,
    name       VARCHAR(255),
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id)
);

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
    scheduled_at        DATETIME,
    launched_at         DATETIME,
    terminated_at       DATETIME,
    display_name        VARCHAR(255),
    display_description VARCHAR(255),
    provider_location   VARCHAR(255),
    provider_auth       VARCHAR(255),
    volume_type_id      INTEGER,
    created_at          DATETIME,
    updated_at          DATETIME,
    deleted_at          DATETIME,
    deleted             BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS volume_metadata (
    id         INTEGER      NOT NULL,
    "key"      VARCHAR(255),
    value      VARCHAR(255),
    volume_id  VARCHAR(36)  NOT NULL,
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    FOREIGN KEY (volume_id) REFERENCES volumes (id)
);

CREATE TABLE IF NOT EXISTS volume_type_extra_specs (
    id             INTEGER      NOT NULL,
    "key"          VARCHAR(255),
    value          VARCHAR(255),
    volume_type_id INTEGER      NOT NULL,
    created_at     DATETIME,
    updated_at     DATETIME,
    deleted_at     DATETIME,
    deleted        BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    FOREIGN KEY (volume_type_id) REFERENCES volume_types (id)
);

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
    created_at          DATETIME,
    updated_at          DATETIME,
    deleted_at          DATETIME,
    deleted             BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id)
);

-- The model's UNIQUE (target_num, host), which migration 001 did not create:
-- iscsi_target_create_safe relies on it to swallow duplicate targets.
CREATE TABLE IF NOT EXISTS iscsi_targets (
    id         INTEGER      NOT NULL,
    target_num INTEGER,
    host       VARCHAR(255),
    volume_id  VARCHAR(36),
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    FOREIGN KEY (volume_id) REFERENCES volumes (id),
    CONSTRAINT iscsi_targets_target_num_host_key UNIQUE (target_num, host)
);

CREATE TABLE IF NOT EXISTS sm_volume (
    id         VARCHAR(36)  NOT NULL,
    backend_id INTEGER      NOT NULL,
    vdi_uuid   VARCHAR(255),
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    FOREIGN KEY (id) REFERENCES volumes (id),
    FOREIGN KEY (backend_id) REFERENCES sm_backend_config (id)
);

CREATE TABLE IF NOT EXISTS services (
    id                INTEGER      NOT NULL,
    host              VARCHAR(255),
    "binary"          VARCHAR(255),
    topic             VARCHAR(255),
    report_count      INTEGER      NOT NULL DEFAULT 0,
    disabled          BOOLEAN      DEFAULT 0,
    availability_zone VARCHAR(255) DEFAULT 'cinder',
    created_at        DATETIME,
    updated_at        DATETIME,
    deleted_at        DATETIME,
    deleted           BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id)
);

-- The model's instance_uuid foreign key points at nova's instances table, which cinder
-- does not have; migration 001 created none, nor does this.
CREATE TABLE IF NOT EXISTS migrations (
    id                   INTEGER      NOT NULL,
    source_compute       VARCHAR(255),
    dest_compute         VARCHAR(255),
    dest_host            VARCHAR(255),
    old_instance_type_id INTEGER,
    new_instance_type_id INTEGER,
    instance_uuid        VARCHAR(255),
    status               VARCHAR(255),
    created_at           DATETIME,
    updated_at           DATETIME,
    deleted_at           DATETIME,
    deleted              BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id)
);

-- Quota tables as cinder HEAD has them (HEAD dropped quotas.allocated and
-- reservations.allocated_id, which belonged to nested quotas).  Folsom's model index on
-- quotas.project_id is kept: quota_get_all_by_project looks rows up by project.
CREATE TABLE IF NOT EXISTS quotas (
    id         INTEGER      NOT NULL,
    project_id VARCHAR(255),
    resource   VARCHAR(300) NOT NULL,
    hard_limit INTEGER,
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_quotas_project_id ON quotas (project_id);

CREATE TABLE IF NOT EXISTS quota_classes (
    id         INTEGER      NOT NULL,
    class_name VARCHAR(255),
    resource   VARCHAR(300),
    hard_limit INTEGER,
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_quota_classes_class_name ON quota_classes (class_name);

-- race_preventer is true on live rows and NULL once soft-deleted, so the unique key allows
-- one live usage row per (project, resource) and any number of deleted ones.
CREATE TABLE IF NOT EXISTS quota_usages (
    id             INTEGER      NOT NULL,
    project_id     VARCHAR(255),
    resource       VARCHAR(300),
    in_use         INTEGER      NOT NULL,
    reserved       INTEGER      NOT NULL,
    until_refresh  INTEGER,
    race_preventer BOOLEAN      DEFAULT 1,
    created_at     DATETIME,
    updated_at     DATETIME,
    deleted_at     DATETIME,
    deleted        BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT quota_usages_project_id_resource_race_preventer_key UNIQUE (project_id, resource, race_preventer)
);
CREATE INDEX IF NOT EXISTS ix_quota_usages_project_id ON quota_usages (project_id);
CREATE INDEX IF NOT EXISTS quota_usage_project_resource_idx ON quota_usages (project_id, resource);

CREATE TABLE IF NOT EXISTS reservations (
    id         INTEGER      NOT NULL,
    uuid       VARCHAR(36)  NOT NULL,
    usage_id   INTEGER,
    project_id VARCHAR(255),
    resource   VARCHAR(300),
    delta      INTEGER      NOT NULL,
    expire     DATETIME,
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    FOREIGN KEY (usage_id) REFERENCES quota_usages (id)
);
CREATE INDEX IF NOT EXISTS ix_reservations_usage_id ON reservations (usage_id);
CREATE INDEX IF NOT EXISTS ix_reservations_project_id ON reservations (project_id);
CREATE INDEX IF NOT EXISTS reservations_deleted_expire_idx ON reservations (deleted, expire);
CREATE INDEX IF NOT EXISTS reservations_deleted_uuid_idx ON reservations (deleted, uuid);

-- The 'default' quota class rows a fresh cinder database gets from its migrations (the
-- initial one, plus 9c74c1c6971f for backups; the initial one's consistencygroups row is
-- soft-deleted again by b7b88f50aab5, so it is not seeded), with cinder's configured
-- defaults.  Like cinder's migrations, a resource that already has a live 'default' row
-- is left alone.
WITH defaults (n, resource, hard_limit) AS (
    VALUES (1, 'volumes', 10),
           (2, 'snapshots', 10),
           (3, 'gigabytes', 1000),
           (4, 'per_volume_gigabytes', -1),
           (5, 'groups', 10),
           (6, 'backups', 10),
           (7, 'backup_gigabytes', 1000)
)
INSERT INTO quota_classes (class_name, resource, hard_limit, created_at, deleted)
SELECT 'default', d.resource, d.hard_limit, strftime('%Y-%m-%d %H:%M:%f000', 'now'), 0
FROM defaults d
WHERE NOT EXISTS (
    SELECT 1 FROM quota_classes q
    WHERE q.class_name = 'default' AND q.resource = d.resource AND NOT q.deleted
)
ORDER BY d.n;
