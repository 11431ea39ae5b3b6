-- Nova's main database (not the API database) as Newton (openstack/nova 14.0.0) has it,
-- for MariaDB: every table of the Newton models, column for column, with the names,
-- nullability, unique keys, indexes and foreign keys of the PostgreSQL and SQLite scripts
-- (216_havana.py plus migrations 227..334), so that `rawdb schema check` can compare this with
-- a database nova made, and bootstrapping such a database adopts it (IF NOT EXISTS throughout).
--
-- Rendering, as nova's models create them on MySQL: INTEGER AUTO_INCREMENT ids, VARCHAR(n),
-- TEXT, and MEDIUMTEXT where nova's MediumText() asks for it (216's Folsom-era columns),
-- BOOLEAN (tinyint(1)), BIGINT, VARCHAR(39)/VARCHAR(43) for nova's IPAddress/CIDR types, and
-- ENUM for nova's three enum types.  Where this departs from nova's MySQL tables, so that
-- rawdb returns what it returns on PostgreSQL and SQLite (spec mariadb.md 2.9, 2.11):
-- * utf8mb4 with utf8mb4_nopad_bin: strings compare and sort by code point (nova makes utf8
--   tables with a case-insensitive collation);
-- * DATETIME(6): timestamps keep their microseconds (nova makes DATETIME);
-- * DOUBLE for nova's Float: nova's MySQL FLOAT is single precision (1.1 is stored as
--   1.100000023841858, so `= 1.1` finds nothing and arithmetic drifts), PostgreSQL's FLOAT
--   and SQLite's REAL are double.
-- Foreign keys carry PostgreSQL's default names (216 created them unnamed); where no index
-- leads with a foreign key's columns InnoDB adds one under the constraint's name (nova's MySQL
-- tables have such indexes under other names).  The models' constant defaults are written
-- as DEFAULTs (nova applies them in Python), including `deleted DEFAULT 0`: soft delete writes
-- `deleted = id`, so the `UNIQUE (..., deleted)` keys admit one live row and any number of
-- deleted ones (spec B.1).  `deleted` stays nullable, as nova's migrations left it.
--
-- shadow_<table> (archive_deleted_rows) exists for every soft-deletable table: the same
-- columns and types, the primary key, no foreign keys, unique keys or defaults.  Where a
-- migration altered only the live table the shadow keeps the older definition, exactly as
-- in a nova-made database (noted per table); 252 also indexed shadow_instance_extra.
--
-- Indexes are declared inside CREATE TABLE: a table nova already made is adopted whole, with
-- its own indexes, and InnoDB uses a declared index for a foreign key instead of adding one.

-- instances: 216 + 231 (ephemeral_key_uuid), 267 (uuid NOT NULL, uniq_instances0uuid), 274,
-- 319; 265 dropped instances_host_deleted_idx, 274 dropped the plain project_id index.
CREATE TABLE IF NOT EXISTS instances (
    created_at               DATETIME(6),
    updated_at               DATETIME(6),
    deleted_at               DATETIME(6),
    id                       INTEGER                NOT NULL AUTO_INCREMENT,
    internal_id              INTEGER,
    user_id                  VARCHAR(255),
    project_id               VARCHAR(255),
    image_ref                VARCHAR(255),
    kernel_id                VARCHAR(255),
    ramdisk_id               VARCHAR(255),
    launch_index             INTEGER,
    key_name                 VARCHAR(255),
    key_data                 MEDIUMTEXT,
    power_state              INTEGER,
    vm_state                 VARCHAR(255),
    memory_mb                INTEGER,
    vcpus                    INTEGER,
    hostname                 VARCHAR(255),
    host                     VARCHAR(255),
    user_data                MEDIUMTEXT,
    reservation_id           VARCHAR(255),
    scheduled_at             DATETIME(6),
    launched_at              DATETIME(6),
    terminated_at            DATETIME(6),
    display_name             VARCHAR(255),
    display_description      VARCHAR(255),
    availability_zone        VARCHAR(255),
    locked                   BOOLEAN,
    os_type                  VARCHAR(255),
    launched_on              MEDIUMTEXT,
    instance_type_id         INTEGER,
    vm_mode                  VARCHAR(255),
    uuid                     VARCHAR(36)            NOT NULL,
    architecture             VARCHAR(255),
    root_device_name         VARCHAR(255),
    access_ip_v4             VARCHAR(39),
    access_ip_v6             VARCHAR(39),
    config_drive             VARCHAR(255),
    task_state               VARCHAR(255),
    default_ephemeral_device VARCHAR(255),
    default_swap_device      VARCHAR(255),
    progress                 INTEGER,
    auto_disk_config         BOOLEAN,
    shutdown_terminate       BOOLEAN                DEFAULT 0,
    disable_terminate        BOOLEAN                DEFAULT 0,
    root_gb                  INTEGER,
    ephemeral_gb             INTEGER,
    cell_name                VARCHAR(255),
    node                     VARCHAR(255),
    deleted                  INTEGER                DEFAULT 0,
    locked_by                ENUM('owner', 'admin'),
    cleaned                  INTEGER                DEFAULT 0,
    ephemeral_key_uuid       VARCHAR(36),
    PRIMARY KEY (id),
    CONSTRAINT uniq_instances0uuid UNIQUE (uuid),
    UNIQUE KEY uuid (uuid),
    KEY instances_reservation_id_idx (reservation_id),
    KEY instances_terminated_at_launched_at_idx (terminated_at, launched_at),
    KEY instances_task_state_updated_at_idx (task_state, updated_at),
    KEY instances_uuid_deleted_idx (uuid, deleted),
    KEY instances_host_node_deleted_idx (host, node, deleted),
    KEY instances_host_deleted_cleaned_idx (host, deleted, cleaned),
    KEY instances_project_id_deleted_idx (project_id, deleted),
    KEY instances_deleted_created_at_idx (deleted, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS aggregates (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    name       VARCHAR(255),
    deleted    INTEGER      DEFAULT 0,
    uuid       VARCHAR(36),
    PRIMARY KEY (id),
    KEY aggregate_uuid_idx (uuid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS console_pools (
    created_at      DATETIME(6),
    updated_at      DATETIME(6),
    deleted_at      DATETIME(6),
    id              INTEGER      NOT NULL AUTO_INCREMENT,
    address         VARCHAR(39),
    username        VARCHAR(255),
    password        VARCHAR(255),
    console_type    VARCHAR(255),
    public_hostname VARCHAR(255),
    host            VARCHAR(255),
    compute_host    VARCHAR(255),
    deleted         INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_console_pools0host0console_type0compute_host0deleted UNIQUE (host, console_type, compute_host, deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- instance_types: deprecated here in Newton (flavors moved to the API database); still created
-- and seeded.
CREATE TABLE IF NOT EXISTS instance_types (
    created_at   DATETIME(6),
    updated_at   DATETIME(6),
    deleted_at   DATETIME(6),
    name         VARCHAR(255),
    id           INTEGER      NOT NULL AUTO_INCREMENT,
    memory_mb    INTEGER      NOT NULL,
    vcpus        INTEGER      NOT NULL,
    swap         INTEGER      NOT NULL DEFAULT 0,
    vcpu_weight  INTEGER,
    flavorid     VARCHAR(255),
    rxtx_factor  DOUBLE       DEFAULT 1.0,
    root_gb      INTEGER,
    ephemeral_gb INTEGER,
    disabled     BOOLEAN      DEFAULT 0,
    is_public    BOOLEAN      DEFAULT 1,
    deleted      INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_instance_types0name0deleted UNIQUE (name, deleted),
    CONSTRAINT uniq_instance_types0flavorid0deleted UNIQUE (flavorid, deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS security_groups (
    created_at  DATETIME(6),
    updated_at  DATETIME(6),
    deleted_at  DATETIME(6),
    id          INTEGER      NOT NULL AUTO_INCREMENT,
    name        VARCHAR(255),
    description VARCHAR(255),
    user_id     VARCHAR(255),
    project_id  VARCHAR(255),
    deleted     INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_security_groups0project_id0name0deleted UNIQUE (project_id, name, deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- snapshots: string id: deleted is VARCHAR(36), '' when live, the id when deleted.
CREATE TABLE IF NOT EXISTS snapshots (
    created_at          DATETIME(6),
    updated_at          DATETIME(6),
    deleted_at          DATETIME(6),
    id                  VARCHAR(36)  NOT NULL,
    volume_id           VARCHAR(36)  NOT NULL,
    user_id             VARCHAR(255),
    project_id          VARCHAR(255),
    status              VARCHAR(255),
    progress            VARCHAR(255),
    volume_size         INTEGER,
    scheduled_at        DATETIME(6),
    display_name        VARCHAR(255),
    display_description VARCHAR(255),
    deleted             VARCHAR(36)  DEFAULT '',
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- compute_nodes: 278 dropped the service_id foreign key and made it nullable; 279 put deleted
-- into the unique key.
CREATE TABLE IF NOT EXISTS compute_nodes (
    created_at            DATETIME(6),
    updated_at            DATETIME(6),
    deleted_at            DATETIME(6),
    id                    INTEGER      NOT NULL AUTO_INCREMENT,
    service_id            INTEGER,
    vcpus                 INTEGER      NOT NULL,
    memory_mb             INTEGER      NOT NULL,
    local_gb              INTEGER      NOT NULL,
    vcpus_used            INTEGER      NOT NULL,
    memory_mb_used        INTEGER      NOT NULL,
    local_gb_used         INTEGER      NOT NULL,
    hypervisor_type       MEDIUMTEXT   NOT NULL,
    hypervisor_version    INTEGER      NOT NULL,
    cpu_info              MEDIUMTEXT   NOT NULL,
    disk_available_least  INTEGER,
    free_ram_mb           INTEGER,
    free_disk_gb          INTEGER,
    current_workload      INTEGER,
    running_vms           INTEGER,
    hypervisor_hostname   VARCHAR(255),
    deleted               INTEGER      DEFAULT 0,
    host_ip               VARCHAR(39),
    supported_instances   TEXT,
    pci_stats             TEXT,
    metrics               TEXT,
    extra_resources       TEXT,
    stats                 TEXT         DEFAULT '{}',
    numa_topology         TEXT,
    host                  VARCHAR(255),
    ram_allocation_ratio  DOUBLE,
    cpu_allocation_ratio  DOUBLE,
    uuid                  VARCHAR(36),
    disk_allocation_ratio DOUBLE,
    PRIMARY KEY (id),
    CONSTRAINT uniq_compute_nodes0host0hypervisor_hostname0deleted UNIQUE (host, hypervisor_hostname, deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS services (
    created_at      DATETIME(6),
    updated_at      DATETIME(6),
    deleted_at      DATETIME(6),
    id              INTEGER      NOT NULL AUTO_INCREMENT,
    host            VARCHAR(255),
    `binary`        VARCHAR(255),
    topic           VARCHAR(255),
    report_count    INTEGER      NOT NULL DEFAULT 0,
    disabled        BOOLEAN      DEFAULT 0,
    deleted         INTEGER      DEFAULT 0,
    disabled_reason VARCHAR(255),
    last_seen_up    DATETIME(6),
    forced_down     BOOLEAN      DEFAULT 0,
    version         INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_services0host0topic0deleted UNIQUE (host, topic, deleted),
    CONSTRAINT uniq_services0host0binary0deleted UNIQUE (host, `binary`, deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- quota_usages: 247 made resource NOT NULL (not on the shadow table).
CREATE TABLE IF NOT EXISTS quota_usages (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    project_id    VARCHAR(255),
    resource      VARCHAR(255) NOT NULL,
    in_use        INTEGER      NOT NULL,
    reserved      INTEGER      NOT NULL,
    until_refresh INTEGER,
    deleted       INTEGER      DEFAULT 0,
    user_id       VARCHAR(255),
    PRIMARY KEY (id),
    KEY ix_quota_usages_project_id (project_id),
    KEY ix_quota_usages_user_id_deleted (user_id, deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS instance_actions (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    action        VARCHAR(255),
    instance_uuid VARCHAR(36),
    request_id    VARCHAR(255),
    user_id       VARCHAR(255),
    project_id    VARCHAR(255),
    start_time    DATETIME(6),
    finish_time   DATETIME(6),
    message       VARCHAR(255),
    deleted       INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT instance_actions_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid),
    KEY instance_uuid_idx (instance_uuid),
    KEY request_id_idx (request_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- instance_groups: deprecated here in Newton (moved to the API database).
CREATE TABLE IF NOT EXISTS instance_groups (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    INTEGER      DEFAULT 0,
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    user_id    VARCHAR(255),
    project_id VARCHAR(255),
    uuid       VARCHAR(36)  NOT NULL,
    name       VARCHAR(255),
    PRIMARY KEY (id),
    CONSTRAINT uniq_instance_groups0uuid0deleted UNIQUE (uuid, deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS agent_builds (
    created_at   DATETIME(6),
    updated_at   DATETIME(6),
    deleted_at   DATETIME(6),
    id           INTEGER      NOT NULL AUTO_INCREMENT,
    hypervisor   VARCHAR(255),
    os           VARCHAR(255),
    architecture VARCHAR(255),
    version      VARCHAR(255),
    url          VARCHAR(255),
    md5hash      VARCHAR(255),
    deleted      INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_agent_builds0hypervisor0os0architecture0deleted UNIQUE (hypervisor, os, architecture, deleted),
    KEY agent_builds_hypervisor_os_arch_idx (hypervisor, os, architecture)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS aggregate_hosts (
    created_at   DATETIME(6),
    updated_at   DATETIME(6),
    deleted_at   DATETIME(6),
    id           INTEGER      NOT NULL AUTO_INCREMENT,
    host         VARCHAR(255),
    aggregate_id INTEGER      NOT NULL,
    deleted      INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_aggregate_hosts0host0aggregate_id0deleted UNIQUE (host, aggregate_id, deleted),
    CONSTRAINT aggregate_hosts_aggregate_id_fkey FOREIGN KEY (aggregate_id) REFERENCES aggregates (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS aggregate_metadata (
    created_at   DATETIME(6),
    updated_at   DATETIME(6),
    deleted_at   DATETIME(6),
    id           INTEGER      NOT NULL AUTO_INCREMENT,
    aggregate_id INTEGER      NOT NULL,
    `key`        VARCHAR(255) NOT NULL,
    value        VARCHAR(255) NOT NULL,
    deleted      INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_aggregate_metadata0aggregate_id0key0deleted UNIQUE (aggregate_id, `key`, deleted),
    CONSTRAINT aggregate_metadata_aggregate_id_fkey FOREIGN KEY (aggregate_id) REFERENCES aggregates (id),
    KEY aggregate_metadata_key_idx (`key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- allocations: placement (314, 318): no timestamps, no soft delete, no shadow table.
CREATE TABLE IF NOT EXISTS allocations (
    id                   INTEGER     NOT NULL AUTO_INCREMENT,
    resource_provider_id INTEGER     NOT NULL,
    consumer_id          VARCHAR(36) NOT NULL,
    resource_class_id    INTEGER     NOT NULL,
    used                 INTEGER     NOT NULL,
    PRIMARY KEY (id),
    KEY allocations_resource_provider_class_used_idx (resource_provider_id, resource_class_id, used),
    KEY allocations_consumer_id_idx (consumer_id),
    KEY allocations_resource_class_id_idx (resource_class_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS block_device_mapping (
    created_at            DATETIME(6),
    updated_at            DATETIME(6),
    deleted_at            DATETIME(6),
    id                    INTEGER      NOT NULL AUTO_INCREMENT,
    device_name           VARCHAR(255),
    delete_on_termination BOOLEAN      DEFAULT 0,
    snapshot_id           VARCHAR(36),
    volume_id             VARCHAR(36),
    volume_size           INTEGER,
    no_device             BOOLEAN,
    connection_info       MEDIUMTEXT,
    instance_uuid         VARCHAR(36),
    deleted               INTEGER      DEFAULT 0,
    source_type           VARCHAR(255),
    destination_type      VARCHAR(255),
    guest_format          VARCHAR(255),
    device_type           VARCHAR(255),
    disk_bus              VARCHAR(255),
    boot_index            INTEGER,
    image_id              VARCHAR(36),
    tag                   VARCHAR(255),
    PRIMARY KEY (id),
    CONSTRAINT block_device_mapping_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid),
    KEY snapshot_id (snapshot_id),
    KEY volume_id (volume_id),
    KEY block_device_mapping_instance_uuid_idx (instance_uuid),
    KEY block_device_mapping_instance_uuid_device_name_idx (instance_uuid, device_name),
    KEY block_device_mapping_instance_uuid_volume_id_idx (instance_uuid, volume_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS bw_usage_cache (
    created_at     DATETIME(6),
    updated_at     DATETIME(6),
    deleted_at     DATETIME(6),
    id             INTEGER      NOT NULL AUTO_INCREMENT,
    start_period   DATETIME(6)  NOT NULL,
    last_refreshed DATETIME(6),
    bw_in          BIGINT,
    bw_out         BIGINT,
    mac            VARCHAR(255),
    uuid           VARCHAR(36),
    last_ctr_in    BIGINT,
    last_ctr_out   BIGINT,
    deleted        INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    KEY bw_usage_cache_uuid_start_period_idx (uuid, start_period)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS cells (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    api_url       VARCHAR(255),
    weight_offset DOUBLE       DEFAULT 0.0,
    weight_scale  DOUBLE       DEFAULT 1.0,
    name          VARCHAR(255),
    is_parent     BOOLEAN,
    deleted       INTEGER      DEFAULT 0,
    transport_url VARCHAR(255) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uniq_cells0name0deleted UNIQUE (name, deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS certificates (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    user_id    VARCHAR(255),
    project_id VARCHAR(255),
    file_name  VARCHAR(255),
    deleted    INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    KEY certificates_project_id_deleted_idx (project_id, deleted),
    KEY certificates_user_id_deleted_idx (user_id, deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- console_auth_tokens: 333: no deleted_at/deleted (hard delete), no shadow table.
CREATE TABLE IF NOT EXISTS console_auth_tokens (
    created_at           DATETIME(6),
    updated_at           DATETIME(6),
    id                   INTEGER      NOT NULL AUTO_INCREMENT,
    token_hash           VARCHAR(255) NOT NULL,
    console_type         VARCHAR(255) NOT NULL,
    host                 VARCHAR(255) NOT NULL,
    port                 INTEGER      NOT NULL,
    internal_access_path VARCHAR(255),
    instance_uuid        VARCHAR(36)  NOT NULL,
    expires              INTEGER      NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uniq_console_auth_tokens0token_hash UNIQUE (token_hash),
    KEY console_auth_tokens_instance_uuid_idx (instance_uuid),
    KEY console_auth_tokens_host_expires_idx (host, expires),
    KEY console_auth_tokens_token_hash_idx (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS consoles (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    instance_name VARCHAR(255),
    password      VARCHAR(255),
    port          INTEGER,
    pool_id       INTEGER,
    instance_uuid VARCHAR(36),
    deleted       INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT consoles_pool_id_fkey FOREIGN KEY (pool_id) REFERENCES console_pools (id),
    CONSTRAINT consoles_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid),
    KEY consoles_instance_uuid_idx (instance_uuid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- dns_domains: no id column: deleted stays BOOLEAN.
CREATE TABLE IF NOT EXISTS dns_domains (
    created_at        DATETIME(6),
    updated_at        DATETIME(6),
    deleted_at        DATETIME(6),
    deleted           BOOLEAN      DEFAULT 0,
    domain            VARCHAR(255) NOT NULL,
    scope             VARCHAR(255),
    availability_zone VARCHAR(255),
    project_id        VARCHAR(255),
    PRIMARY KEY (domain),
    KEY dns_domains_domain_deleted_idx (domain, deleted),
    KEY dns_domains_project_id_idx (project_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS fixed_ips (
    created_at           DATETIME(6),
    updated_at           DATETIME(6),
    deleted_at           DATETIME(6),
    id                   INTEGER      NOT NULL AUTO_INCREMENT,
    address              VARCHAR(39),
    network_id           INTEGER,
    allocated            BOOLEAN      DEFAULT 0,
    leased               BOOLEAN      DEFAULT 0,
    reserved             BOOLEAN      DEFAULT 0,
    virtual_interface_id INTEGER,
    host                 VARCHAR(255),
    instance_uuid        VARCHAR(36),
    deleted              INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_fixed_ips0address0deleted UNIQUE (address, deleted),
    CONSTRAINT fixed_ips_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid),
    KEY address (address),
    KEY network_id (network_id),
    KEY fixed_ips_instance_uuid_fkey (instance_uuid),
    KEY fixed_ips_virtual_interface_id_fkey (virtual_interface_id),
    KEY fixed_ips_host_idx (host),
    KEY fixed_ips_network_id_host_deleted_idx (network_id, host, deleted),
    KEY fixed_ips_address_reserved_network_id_deleted_idx (address, reserved, network_id, deleted),
    KEY fixed_ips_deleted_allocated_idx (address, deleted, allocated),
    KEY fixed_ips_deleted_allocated_updated_at_idx (deleted, allocated, updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS floating_ips (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    address       VARCHAR(39),
    fixed_ip_id   INTEGER,
    project_id    VARCHAR(255),
    host          VARCHAR(255),
    auto_assigned BOOLEAN      DEFAULT 0,
    pool          VARCHAR(255),
    interface     VARCHAR(255),
    deleted       INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_floating_ips0address0deleted UNIQUE (address, deleted),
    KEY fixed_ip_id (fixed_ip_id),
    KEY floating_ips_host_idx (host),
    KEY floating_ips_project_id_idx (project_id),
    KEY floating_ips_pool_deleted_fixed_ip_id_project_id_idx (pool, deleted, fixed_ip_id, project_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS instance_actions_events (
    created_at  DATETIME(6),
    updated_at  DATETIME(6),
    deleted_at  DATETIME(6),
    id          INTEGER      NOT NULL AUTO_INCREMENT,
    event       VARCHAR(255),
    action_id   INTEGER,
    start_time  DATETIME(6),
    finish_time DATETIME(6),
    result      VARCHAR(255),
    traceback   TEXT,
    deleted     INTEGER      DEFAULT 0,
    host        VARCHAR(255),
    details     TEXT,
    PRIMARY KEY (id),
    CONSTRAINT instance_actions_events_action_id_fkey FOREIGN KEY (action_id) REFERENCES instance_actions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- instance_extra: 252 (+253, 270, 276, 300, 332, device_metadata); 252 also indexed the shadow
-- table.
CREATE TABLE IF NOT EXISTS instance_extra (
    created_at        DATETIME(6),
    updated_at        DATETIME(6),
    deleted_at        DATETIME(6),
    deleted           INTEGER     DEFAULT 0,
    id                INTEGER     NOT NULL AUTO_INCREMENT,
    instance_uuid     VARCHAR(36) NOT NULL,
    numa_topology     TEXT,
    pci_requests      TEXT,
    flavor            TEXT,
    vcpu_model        TEXT,
    migration_context TEXT,
    keypairs          TEXT,
    device_metadata   TEXT,
    PRIMARY KEY (id),
    CONSTRAINT instance_extra_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid),
    KEY instance_extra_idx (instance_uuid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS instance_faults (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    instance_uuid VARCHAR(36),
    code          INTEGER      NOT NULL,
    message       VARCHAR(255),
    details       MEDIUMTEXT,
    host          VARCHAR(255),
    deleted       INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT instance_faults_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid),
    KEY instance_faults_host_idx (host),
    KEY instance_faults_instance_uuid_deleted_created_at_idx (instance_uuid, deleted, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS instance_group_member (
    created_at  DATETIME(6),
    updated_at  DATETIME(6),
    deleted_at  DATETIME(6),
    deleted     INTEGER      DEFAULT 0,
    id          INTEGER      NOT NULL AUTO_INCREMENT,
    instance_id VARCHAR(255),
    group_id    INTEGER      NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT instance_group_member_group_id_fkey FOREIGN KEY (group_id) REFERENCES instance_groups (id),
    KEY instance_group_member_instance_idx (instance_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS instance_group_policy (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    INTEGER      DEFAULT 0,
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    policy     VARCHAR(255),
    group_id   INTEGER      NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT instance_group_policy_group_id_fkey FOREIGN KEY (group_id) REFERENCES instance_groups (id),
    KEY instance_group_policy_policy_idx (policy)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS instance_id_mappings (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER     NOT NULL AUTO_INCREMENT,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER     DEFAULT 0,
    PRIMARY KEY (id),
    KEY ix_instance_id_mappings_uuid (uuid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- instance_info_caches: the unique key leaves deleted out: one cache row per instance, deleted
-- or not.
CREATE TABLE IF NOT EXISTS instance_info_caches (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER     NOT NULL AUTO_INCREMENT,
    network_info  MEDIUMTEXT,
    instance_uuid VARCHAR(36) NOT NULL,
    deleted       INTEGER     DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_instance_info_caches0instance_uuid UNIQUE (instance_uuid),
    CONSTRAINT instance_info_caches_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS instance_metadata (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    `key`         VARCHAR(255),
    value         VARCHAR(255),
    instance_uuid VARCHAR(36),
    deleted       INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT instance_metadata_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid),
    KEY instance_metadata_instance_uuid_idx (instance_uuid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS instance_system_metadata (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    instance_uuid VARCHAR(36)  NOT NULL,
    `key`         VARCHAR(255) NOT NULL,
    value         VARCHAR(255),
    deleted       INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT instance_system_metadata_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid),
    KEY instance_uuid (instance_uuid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS instance_type_extra_specs (
    created_at       DATETIME(6),
    updated_at       DATETIME(6),
    deleted_at       DATETIME(6),
    id               INTEGER      NOT NULL AUTO_INCREMENT,
    instance_type_id INTEGER      NOT NULL,
    `key`            VARCHAR(255),
    value            VARCHAR(255),
    deleted          INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_instance_type_extra_specs0instance_type_id0key0deleted UNIQUE (instance_type_id, `key`, deleted),
    CONSTRAINT instance_type_extra_specs_instance_type_id_fkey FOREIGN KEY (instance_type_id) REFERENCES instance_types (id),
    KEY instance_type_extra_specs_instance_type_id_key_idx (instance_type_id, `key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS instance_type_projects (
    created_at       DATETIME(6),
    updated_at       DATETIME(6),
    deleted_at       DATETIME(6),
    id               INTEGER      NOT NULL AUTO_INCREMENT,
    instance_type_id INTEGER      NOT NULL,
    project_id       VARCHAR(255),
    deleted          INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_instance_type_projects0instance_type_id0project_id0deleted UNIQUE (instance_type_id, project_id, deleted),
    CONSTRAINT instance_type_projects_instance_type_id_fkey FOREIGN KEY (instance_type_id) REFERENCES instance_types (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- inventories: placement (314, 318): no timestamps, no soft delete, no shadow table.
CREATE TABLE IF NOT EXISTS inventories (
    id                   INTEGER NOT NULL AUTO_INCREMENT,
    resource_provider_id INTEGER NOT NULL,
    resource_class_id    INTEGER NOT NULL,
    total                INTEGER NOT NULL,
    reserved             INTEGER NOT NULL,
    min_unit             INTEGER NOT NULL,
    max_unit             INTEGER NOT NULL,
    step_size            INTEGER NOT NULL,
    allocation_ratio     DOUBLE  NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uniq_inventories0resource_provider_resource_class UNIQUE (resource_provider_id, resource_class_id),
    KEY inventories_resource_provider_id_idx (resource_provider_id),
    KEY inventories_resource_class_id_idx (resource_class_id),
    KEY inventories_resource_provider_resource_class_idx (resource_provider_id, resource_class_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- key_pairs: 275 (type), 280 (name NOT NULL, not on the shadow table); deprecated here in
-- Newton.
CREATE TABLE IF NOT EXISTS key_pairs (
    created_at  DATETIME(6),
    updated_at  DATETIME(6),
    deleted_at  DATETIME(6),
    id          INTEGER             NOT NULL AUTO_INCREMENT,
    name        VARCHAR(255)        NOT NULL,
    user_id     VARCHAR(255),
    fingerprint VARCHAR(255),
    public_key  MEDIUMTEXT,
    deleted     INTEGER             DEFAULT 0,
    type        ENUM('ssh', 'x509') NOT NULL DEFAULT 'ssh',
    PRIMARY KEY (id),
    CONSTRAINT uniq_key_pairs0user_id0name0deleted UNIQUE (user_id, name, deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- migrations_by_host_nodes_and_status_idx indexes the first 100 characters of the four host and
-- node names, as 216 does on MySQL: six columns in full would be 5,104 bytes in utf8mb4, over
-- InnoDB's 3,072-byte key.  Equality on those columns still uses it.
CREATE TABLE IF NOT EXISTS migrations (
    created_at           DATETIME(6),
    updated_at           DATETIME(6),
    deleted_at           DATETIME(6),
    id                   INTEGER                                                     NOT NULL AUTO_INCREMENT,
    source_compute       VARCHAR(255),
    dest_compute         VARCHAR(255),
    dest_host            VARCHAR(255),
    status               VARCHAR(255),
    instance_uuid        VARCHAR(36),
    old_instance_type_id INTEGER,
    new_instance_type_id INTEGER,
    source_node          VARCHAR(255),
    dest_node            VARCHAR(255),
    deleted              INTEGER                                                     DEFAULT 0,
    migration_type       ENUM('migration', 'resize', 'live-migration', 'evacuation'),
    hidden               BOOLEAN                                                     DEFAULT 0,
    memory_total         BIGINT,
    memory_processed     BIGINT,
    memory_remaining     BIGINT,
    disk_total           BIGINT,
    disk_processed       BIGINT,
    disk_remaining       BIGINT,
    PRIMARY KEY (id),
    CONSTRAINT migrations_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid),
    KEY migrations_by_host_nodes_and_status_idx
        (deleted, source_compute(100), dest_compute(100), source_node(100), dest_node(100), status),
    KEY migrations_instance_uuid_and_status_idx (deleted, instance_uuid, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS networks (
    created_at          DATETIME(6),
    updated_at          DATETIME(6),
    deleted_at          DATETIME(6),
    id                  INTEGER      NOT NULL AUTO_INCREMENT,
    injected            BOOLEAN      DEFAULT 0,
    cidr                VARCHAR(43),
    netmask             VARCHAR(39),
    bridge              VARCHAR(255),
    gateway             VARCHAR(39),
    broadcast           VARCHAR(39),
    dns1                VARCHAR(39),
    vlan                INTEGER,
    vpn_public_address  VARCHAR(39),
    vpn_public_port     INTEGER,
    vpn_private_address VARCHAR(39),
    dhcp_start          VARCHAR(39),
    project_id          VARCHAR(255),
    host                VARCHAR(255),
    cidr_v6             VARCHAR(43),
    gateway_v6          VARCHAR(39),
    label               VARCHAR(255),
    netmask_v6          VARCHAR(39),
    bridge_interface    VARCHAR(255),
    multi_host          BOOLEAN      DEFAULT 0,
    dns2                VARCHAR(39),
    uuid                VARCHAR(36),
    priority            INTEGER,
    rxtx_base           INTEGER,
    deleted             INTEGER      DEFAULT 0,
    mtu                 INTEGER,
    dhcp_server         VARCHAR(39),
    enable_dhcp         BOOLEAN      DEFAULT 1,
    share_address       BOOLEAN      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_networks0vlan0deleted UNIQUE (vlan, deleted),
    KEY networks_host_idx (host),
    KEY networks_cidr_v6_idx (cidr_v6),
    KEY networks_bridge_deleted_idx (bridge, deleted),
    KEY networks_project_id_deleted_idx (project_id, deleted),
    KEY networks_uuid_project_id_deleted_idx (uuid, project_id, deleted),
    KEY networks_vlan_deleted_idx (vlan, deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- pci_devices: 247 made deleted nullable and product_id/vendor_id/dev_type NOT NULL (not on
-- the shadow table).
CREATE TABLE IF NOT EXISTS pci_devices (
    created_at      DATETIME(6),
    updated_at      DATETIME(6),
    deleted_at      DATETIME(6),
    deleted         INTEGER      DEFAULT 0,
    id              INTEGER      NOT NULL AUTO_INCREMENT,
    compute_node_id INTEGER      NOT NULL,
    address         VARCHAR(12)  NOT NULL,
    product_id      VARCHAR(4)   NOT NULL,
    vendor_id       VARCHAR(4)   NOT NULL,
    dev_type        VARCHAR(8)   NOT NULL,
    dev_id          VARCHAR(255),
    label           VARCHAR(255) NOT NULL,
    status          VARCHAR(36)  NOT NULL,
    extra_info      TEXT,
    instance_uuid   VARCHAR(36),
    request_id      VARCHAR(36),
    numa_node       INTEGER,
    parent_addr     VARCHAR(12),
    PRIMARY KEY (id),
    CONSTRAINT uniq_pci_devices0compute_node_id0address0deleted UNIQUE (compute_node_id, address, deleted),
    CONSTRAINT pci_devices_compute_node_id_fkey FOREIGN KEY (compute_node_id) REFERENCES compute_nodes (id),
    KEY ix_pci_devices_compute_node_id_deleted (compute_node_id, deleted),
    KEY ix_pci_devices_instance_uuid_deleted (instance_uuid, deleted),
    KEY ix_pci_devices_compute_node_id_parent_addr_deleted (compute_node_id, parent_addr, deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS project_user_quotas (
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    INTEGER      DEFAULT 0,
    user_id    VARCHAR(255) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    resource   VARCHAR(255) NOT NULL,
    hard_limit INTEGER,
    PRIMARY KEY (id),
    CONSTRAINT uniq_project_user_quotas0user_id0project_id0resource0deleted UNIQUE (user_id, project_id, resource, deleted),
    KEY project_user_quotas_project_id_deleted_idx (project_id, deleted),
    KEY project_user_quotas_user_id_deleted_idx (user_id, deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS provider_fw_rules (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER     NOT NULL AUTO_INCREMENT,
    protocol   VARCHAR(5),
    from_port  INTEGER,
    to_port    INTEGER,
    cidr       VARCHAR(43),
    deleted    INTEGER     DEFAULT 0,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS quota_classes (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    class_name VARCHAR(255),
    resource   VARCHAR(255),
    hard_limit INTEGER,
    deleted    INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    KEY ix_quota_classes_class_name (class_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS quotas (
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    project_id VARCHAR(255),
    resource   VARCHAR(255) NOT NULL,
    hard_limit INTEGER,
    deleted    INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_quotas0project_id0resource0deleted UNIQUE (project_id, resource, deleted)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS reservations (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    uuid       VARCHAR(36)  NOT NULL,
    usage_id   INTEGER      NOT NULL,
    project_id VARCHAR(255),
    resource   VARCHAR(255),
    delta      INTEGER      NOT NULL,
    expire     DATETIME(6),
    deleted    INTEGER      DEFAULT 0,
    user_id    VARCHAR(255),
    PRIMARY KEY (id),
    CONSTRAINT reservations_usage_id_fkey FOREIGN KEY (usage_id) REFERENCES quota_usages (id),
    KEY ix_reservations_project_id (project_id),
    KEY ix_reservations_user_id_deleted (user_id, deleted),
    KEY reservations_uuid_idx (uuid),
    KEY reservations_deleted_expire_idx (deleted, expire)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- resource_provider_aggregates: placement (318): no timestamps, no soft delete, no shadow
-- table.
CREATE TABLE IF NOT EXISTS resource_provider_aggregates (
    resource_provider_id INTEGER NOT NULL,
    aggregate_id         INTEGER NOT NULL,
    PRIMARY KEY (resource_provider_id, aggregate_id),
    KEY resource_provider_aggregates_aggregate_id_idx (aggregate_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- resource_providers: placement (314, 318): no timestamps, no soft delete, no shadow table.
CREATE TABLE IF NOT EXISTS resource_providers (
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    uuid       VARCHAR(36)  NOT NULL,
    name       VARCHAR(200),
    generation INTEGER      DEFAULT 0,
    can_host   INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_resource_providers0uuid UNIQUE (uuid),
    CONSTRAINT uniq_resource_providers0name UNIQUE (name),
    KEY resource_providers_uuid_idx (uuid),
    KEY resource_providers_name_idx (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS s3_images (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER     NOT NULL AUTO_INCREMENT,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER     DEFAULT 0,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS security_group_default_rules (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    INTEGER     DEFAULT 0,
    id         INTEGER     NOT NULL AUTO_INCREMENT,
    protocol   VARCHAR(5),
    from_port  INTEGER,
    to_port    INTEGER,
    cidr       VARCHAR(43),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS security_group_instance_association (
    created_at        DATETIME(6),
    updated_at        DATETIME(6),
    deleted_at        DATETIME(6),
    id                INTEGER     NOT NULL AUTO_INCREMENT,
    security_group_id INTEGER,
    instance_uuid     VARCHAR(36),
    deleted           INTEGER     DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT security_group_instance_association_security_group_id_fkey FOREIGN KEY (security_group_id) REFERENCES security_groups (id),
    CONSTRAINT security_group_instance_association_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid),
    KEY security_group_instance_association_instance_uuid_idx (instance_uuid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS security_group_rules (
    created_at      DATETIME(6),
    updated_at      DATETIME(6),
    deleted_at      DATETIME(6),
    id              INTEGER      NOT NULL AUTO_INCREMENT,
    parent_group_id INTEGER,
    protocol        VARCHAR(255),
    from_port       INTEGER,
    to_port         INTEGER,
    cidr            VARCHAR(43),
    group_id        INTEGER,
    deleted         INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT security_group_rules_parent_group_id_fkey FOREIGN KEY (parent_group_id) REFERENCES security_groups (id),
    CONSTRAINT security_group_rules_group_id_fkey FOREIGN KEY (group_id) REFERENCES security_groups (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS snapshot_id_mappings (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER     NOT NULL AUTO_INCREMENT,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER     DEFAULT 0,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- tags: 266: no timestamps, no soft delete (hard delete), no shadow table.
CREATE TABLE IF NOT EXISTS tags (
    resource_id VARCHAR(36) NOT NULL,
    tag         VARCHAR(80) NOT NULL,
    PRIMARY KEY (resource_id, tag),
    KEY tags_tag_idx (tag)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS task_log (
    created_at       DATETIME(6),
    updated_at       DATETIME(6),
    deleted_at       DATETIME(6),
    id               INTEGER      NOT NULL AUTO_INCREMENT,
    task_name        VARCHAR(255) NOT NULL,
    state            VARCHAR(255) NOT NULL,
    host             VARCHAR(255) NOT NULL,
    period_beginning DATETIME(6)  NOT NULL,
    period_ending    DATETIME(6)  NOT NULL,
    message          VARCHAR(255) NOT NULL,
    task_items       INTEGER      DEFAULT 0,
    errors           INTEGER      DEFAULT 0,
    deleted          INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT uniq_task_log0task_name0host0period_beginning0period_ending UNIQUE (task_name, host, period_beginning, period_ending),
    KEY ix_task_log_period_beginning (period_beginning),
    KEY ix_task_log_host (host),
    KEY ix_task_log_period_ending (period_ending)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS virtual_interfaces (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    address       VARCHAR(255),
    network_id    INTEGER,
    uuid          VARCHAR(36),
    instance_uuid VARCHAR(36),
    deleted       INTEGER      DEFAULT 0,
    tag           VARCHAR(255),
    PRIMARY KEY (id),
    CONSTRAINT uniq_virtual_interfaces0address0deleted UNIQUE (address, deleted),
    CONSTRAINT virtual_interfaces_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid),
    KEY virtual_interfaces_network_id_idx (network_id),
    KEY virtual_interfaces_instance_uuid_fkey (instance_uuid),
    KEY virtual_interfaces_uuid_idx (uuid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS volume_id_mappings (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER     NOT NULL AUTO_INCREMENT,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER     DEFAULT 0,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- volume_usage_cache: 244 widened user_id to 64 (not on the shadow table).
CREATE TABLE IF NOT EXISTS volume_usage_cache (
    created_at          DATETIME(6),
    updated_at          DATETIME(6),
    deleted_at          DATETIME(6),
    id                  INTEGER      NOT NULL AUTO_INCREMENT,
    volume_id           VARCHAR(36)  NOT NULL,
    tot_last_refreshed  DATETIME(6),
    tot_reads           BIGINT       DEFAULT 0,
    tot_read_bytes      BIGINT       DEFAULT 0,
    tot_writes          BIGINT       DEFAULT 0,
    tot_write_bytes     BIGINT       DEFAULT 0,
    curr_last_refreshed DATETIME(6),
    curr_reads          BIGINT       DEFAULT 0,
    curr_read_bytes     BIGINT       DEFAULT 0,
    curr_writes         BIGINT       DEFAULT 0,
    curr_write_bytes    BIGINT       DEFAULT 0,
    deleted             INTEGER      DEFAULT 0,
    instance_uuid       VARCHAR(36),
    project_id          VARCHAR(36),
    user_id             VARCHAR(64),
    availability_zone   VARCHAR(255),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Shadow tables, one per soft-deletable table (216 _create_shadow_tables and the
-- migrations that added columns to both).

CREATE TABLE IF NOT EXISTS shadow_agent_builds (
    created_at   DATETIME(6),
    updated_at   DATETIME(6),
    deleted_at   DATETIME(6),
    id           INTEGER      NOT NULL AUTO_INCREMENT,
    hypervisor   VARCHAR(255),
    os           VARCHAR(255),
    architecture VARCHAR(255),
    version      VARCHAR(255),
    url          VARCHAR(255),
    md5hash      VARCHAR(255),
    deleted      INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_aggregate_hosts (
    created_at   DATETIME(6),
    updated_at   DATETIME(6),
    deleted_at   DATETIME(6),
    id           INTEGER      NOT NULL AUTO_INCREMENT,
    host         VARCHAR(255),
    aggregate_id INTEGER      NOT NULL,
    deleted      INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_aggregate_metadata (
    created_at   DATETIME(6),
    updated_at   DATETIME(6),
    deleted_at   DATETIME(6),
    id           INTEGER      NOT NULL AUTO_INCREMENT,
    aggregate_id INTEGER      NOT NULL,
    `key`        VARCHAR(255) NOT NULL,
    value        VARCHAR(255) NOT NULL,
    deleted      INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_aggregates (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    name       VARCHAR(255),
    deleted    INTEGER,
    uuid       VARCHAR(36),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_block_device_mapping (
    created_at            DATETIME(6),
    updated_at            DATETIME(6),
    deleted_at            DATETIME(6),
    id                    INTEGER      NOT NULL AUTO_INCREMENT,
    device_name           VARCHAR(255),
    delete_on_termination BOOLEAN,
    snapshot_id           VARCHAR(36),
    volume_id             VARCHAR(36),
    volume_size           INTEGER,
    no_device             BOOLEAN,
    connection_info       MEDIUMTEXT,
    instance_uuid         VARCHAR(36),
    deleted               INTEGER,
    source_type           VARCHAR(255),
    destination_type      VARCHAR(255),
    guest_format          VARCHAR(255),
    device_type           VARCHAR(255),
    disk_bus              VARCHAR(255),
    boot_index            INTEGER,
    image_id              VARCHAR(36),
    tag                   VARCHAR(255),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_bw_usage_cache (
    created_at     DATETIME(6),
    updated_at     DATETIME(6),
    deleted_at     DATETIME(6),
    id             INTEGER      NOT NULL AUTO_INCREMENT,
    start_period   DATETIME(6)  NOT NULL,
    last_refreshed DATETIME(6),
    bw_in          BIGINT,
    bw_out         BIGINT,
    mac            VARCHAR(255),
    uuid           VARCHAR(36),
    last_ctr_in    BIGINT,
    last_ctr_out   BIGINT,
    deleted        INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_cells (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    api_url       VARCHAR(255),
    weight_offset DOUBLE,
    weight_scale  DOUBLE,
    name          VARCHAR(255),
    is_parent     BOOLEAN,
    deleted       INTEGER,
    transport_url VARCHAR(255) NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_certificates (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    user_id    VARCHAR(255),
    project_id VARCHAR(255),
    file_name  VARCHAR(255),
    deleted    INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_compute_nodes (
    created_at            DATETIME(6),
    updated_at            DATETIME(6),
    deleted_at            DATETIME(6),
    id                    INTEGER      NOT NULL AUTO_INCREMENT,
    service_id            INTEGER,
    vcpus                 INTEGER      NOT NULL,
    memory_mb             INTEGER      NOT NULL,
    local_gb              INTEGER      NOT NULL,
    vcpus_used            INTEGER      NOT NULL,
    memory_mb_used        INTEGER      NOT NULL,
    local_gb_used         INTEGER      NOT NULL,
    hypervisor_type       MEDIUMTEXT   NOT NULL,
    hypervisor_version    INTEGER      NOT NULL,
    cpu_info              MEDIUMTEXT   NOT NULL,
    disk_available_least  INTEGER,
    free_ram_mb           INTEGER,
    free_disk_gb          INTEGER,
    current_workload      INTEGER,
    running_vms           INTEGER,
    hypervisor_hostname   VARCHAR(255),
    deleted               INTEGER,
    host_ip               VARCHAR(39),
    supported_instances   TEXT,
    pci_stats             TEXT,
    metrics               TEXT,
    extra_resources       TEXT,
    stats                 TEXT,
    numa_topology         TEXT,
    host                  VARCHAR(255),
    ram_allocation_ratio  DOUBLE,
    cpu_allocation_ratio  DOUBLE,
    uuid                  VARCHAR(36),
    disk_allocation_ratio DOUBLE,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_console_pools (
    created_at      DATETIME(6),
    updated_at      DATETIME(6),
    deleted_at      DATETIME(6),
    id              INTEGER      NOT NULL AUTO_INCREMENT,
    address         VARCHAR(39),
    username        VARCHAR(255),
    password        VARCHAR(255),
    console_type    VARCHAR(255),
    public_hostname VARCHAR(255),
    host            VARCHAR(255),
    compute_host    VARCHAR(255),
    deleted         INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_consoles (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    instance_name VARCHAR(255),
    password      VARCHAR(255),
    port          INTEGER,
    pool_id       INTEGER,
    instance_uuid VARCHAR(36),
    deleted       INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_dns_domains (
    created_at        DATETIME(6),
    updated_at        DATETIME(6),
    deleted_at        DATETIME(6),
    deleted           BOOLEAN,
    domain            VARCHAR(255) NOT NULL,
    scope             VARCHAR(255),
    availability_zone VARCHAR(255),
    project_id        VARCHAR(255),
    PRIMARY KEY (domain)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_fixed_ips (
    created_at           DATETIME(6),
    updated_at           DATETIME(6),
    deleted_at           DATETIME(6),
    id                   INTEGER      NOT NULL AUTO_INCREMENT,
    address              VARCHAR(39),
    network_id           INTEGER,
    allocated            BOOLEAN,
    leased               BOOLEAN,
    reserved             BOOLEAN,
    virtual_interface_id INTEGER,
    host                 VARCHAR(255),
    instance_uuid        VARCHAR(36),
    deleted              INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_floating_ips (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    address       VARCHAR(39),
    fixed_ip_id   INTEGER,
    project_id    VARCHAR(255),
    host          VARCHAR(255),
    auto_assigned BOOLEAN,
    pool          VARCHAR(255),
    interface     VARCHAR(255),
    deleted       INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instance_actions (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    action        VARCHAR(255),
    instance_uuid VARCHAR(36),
    request_id    VARCHAR(255),
    user_id       VARCHAR(255),
    project_id    VARCHAR(255),
    start_time    DATETIME(6),
    finish_time   DATETIME(6),
    message       VARCHAR(255),
    deleted       INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instance_actions_events (
    created_at  DATETIME(6),
    updated_at  DATETIME(6),
    deleted_at  DATETIME(6),
    id          INTEGER      NOT NULL AUTO_INCREMENT,
    event       VARCHAR(255),
    action_id   INTEGER,
    start_time  DATETIME(6),
    finish_time DATETIME(6),
    result      VARCHAR(255),
    traceback   TEXT,
    deleted     INTEGER,
    host        VARCHAR(255),
    details     TEXT,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instance_extra (
    created_at        DATETIME(6),
    updated_at        DATETIME(6),
    deleted_at        DATETIME(6),
    deleted           INTEGER,
    id                INTEGER     NOT NULL AUTO_INCREMENT,
    instance_uuid     VARCHAR(36) NOT NULL,
    numa_topology     TEXT,
    pci_requests      TEXT,
    flavor            TEXT,
    vcpu_model        TEXT,
    migration_context TEXT,
    keypairs          TEXT,
    device_metadata   TEXT,
    PRIMARY KEY (id),
    KEY shadow_instance_extra_idx (instance_uuid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instance_faults (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    instance_uuid VARCHAR(36),
    code          INTEGER      NOT NULL,
    message       VARCHAR(255),
    details       MEDIUMTEXT,
    host          VARCHAR(255),
    deleted       INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instance_group_member (
    created_at  DATETIME(6),
    updated_at  DATETIME(6),
    deleted_at  DATETIME(6),
    deleted     INTEGER,
    id          INTEGER      NOT NULL AUTO_INCREMENT,
    instance_id VARCHAR(255),
    group_id    INTEGER      NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instance_group_policy (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    INTEGER,
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    policy     VARCHAR(255),
    group_id   INTEGER      NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instance_groups (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    INTEGER,
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    user_id    VARCHAR(255),
    project_id VARCHAR(255),
    uuid       VARCHAR(36)  NOT NULL,
    name       VARCHAR(255),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instance_id_mappings (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER     NOT NULL AUTO_INCREMENT,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instance_info_caches (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER     NOT NULL AUTO_INCREMENT,
    network_info  MEDIUMTEXT,
    instance_uuid VARCHAR(36) NOT NULL,
    deleted       INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instance_metadata (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    `key`         VARCHAR(255),
    value         VARCHAR(255),
    instance_uuid VARCHAR(36),
    deleted       INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instance_system_metadata (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    instance_uuid VARCHAR(36)  NOT NULL,
    `key`         VARCHAR(255) NOT NULL,
    value         VARCHAR(255),
    deleted       INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instance_type_extra_specs (
    created_at       DATETIME(6),
    updated_at       DATETIME(6),
    deleted_at       DATETIME(6),
    id               INTEGER      NOT NULL AUTO_INCREMENT,
    instance_type_id INTEGER      NOT NULL,
    `key`            VARCHAR(255),
    value            VARCHAR(255),
    deleted          INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instance_type_projects (
    created_at       DATETIME(6),
    updated_at       DATETIME(6),
    deleted_at       DATETIME(6),
    id               INTEGER      NOT NULL AUTO_INCREMENT,
    instance_type_id INTEGER      NOT NULL,
    project_id       VARCHAR(255),
    deleted          INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instance_types (
    created_at   DATETIME(6),
    updated_at   DATETIME(6),
    deleted_at   DATETIME(6),
    name         VARCHAR(255),
    id           INTEGER      NOT NULL AUTO_INCREMENT,
    memory_mb    INTEGER      NOT NULL,
    vcpus        INTEGER      NOT NULL,
    swap         INTEGER      NOT NULL,
    vcpu_weight  INTEGER,
    flavorid     VARCHAR(255),
    rxtx_factor  DOUBLE,
    root_gb      INTEGER,
    ephemeral_gb INTEGER,
    disabled     BOOLEAN,
    is_public    BOOLEAN,
    deleted      INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_instances (
    created_at               DATETIME(6),
    updated_at               DATETIME(6),
    deleted_at               DATETIME(6),
    id                       INTEGER                NOT NULL AUTO_INCREMENT,
    internal_id              INTEGER,
    user_id                  VARCHAR(255),
    project_id               VARCHAR(255),
    image_ref                VARCHAR(255),
    kernel_id                VARCHAR(255),
    ramdisk_id               VARCHAR(255),
    launch_index             INTEGER,
    key_name                 VARCHAR(255),
    key_data                 MEDIUMTEXT,
    power_state              INTEGER,
    vm_state                 VARCHAR(255),
    memory_mb                INTEGER,
    vcpus                    INTEGER,
    hostname                 VARCHAR(255),
    host                     VARCHAR(255),
    user_data                MEDIUMTEXT,
    reservation_id           VARCHAR(255),
    scheduled_at             DATETIME(6),
    launched_at              DATETIME(6),
    terminated_at            DATETIME(6),
    display_name             VARCHAR(255),
    display_description      VARCHAR(255),
    availability_zone        VARCHAR(255),
    locked                   BOOLEAN,
    os_type                  VARCHAR(255),
    launched_on              MEDIUMTEXT,
    instance_type_id         INTEGER,
    vm_mode                  VARCHAR(255),
    uuid                     VARCHAR(36)            NOT NULL,
    architecture             VARCHAR(255),
    root_device_name         VARCHAR(255),
    access_ip_v4             VARCHAR(39),
    access_ip_v6             VARCHAR(39),
    config_drive             VARCHAR(255),
    task_state               VARCHAR(255),
    default_ephemeral_device VARCHAR(255),
    default_swap_device      VARCHAR(255),
    progress                 INTEGER,
    auto_disk_config         BOOLEAN,
    shutdown_terminate       BOOLEAN,
    disable_terminate        BOOLEAN,
    root_gb                  INTEGER,
    ephemeral_gb             INTEGER,
    cell_name                VARCHAR(255),
    node                     VARCHAR(255),
    deleted                  INTEGER,
    locked_by                ENUM('owner', 'admin'),
    cleaned                  INTEGER,
    ephemeral_key_uuid       VARCHAR(36),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_key_pairs (
    created_at  DATETIME(6),
    updated_at  DATETIME(6),
    deleted_at  DATETIME(6),
    id          INTEGER             NOT NULL AUTO_INCREMENT,
    name        VARCHAR(255),
    user_id     VARCHAR(255),
    fingerprint VARCHAR(255),
    public_key  MEDIUMTEXT,
    deleted     INTEGER,
    type        ENUM('ssh', 'x509') NOT NULL DEFAULT 'ssh',
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_migrations (
    created_at           DATETIME(6),
    updated_at           DATETIME(6),
    deleted_at           DATETIME(6),
    id                   INTEGER                                                     NOT NULL AUTO_INCREMENT,
    source_compute       VARCHAR(255),
    dest_compute         VARCHAR(255),
    dest_host            VARCHAR(255),
    status               VARCHAR(255),
    instance_uuid        VARCHAR(36),
    old_instance_type_id INTEGER,
    new_instance_type_id INTEGER,
    source_node          VARCHAR(255),
    dest_node            VARCHAR(255),
    deleted              INTEGER,
    migration_type       ENUM('migration', 'resize', 'live-migration', 'evacuation'),
    hidden               BOOLEAN,
    memory_total         BIGINT,
    memory_processed     BIGINT,
    memory_remaining     BIGINT,
    disk_total           BIGINT,
    disk_processed       BIGINT,
    disk_remaining       BIGINT,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_networks (
    created_at          DATETIME(6),
    updated_at          DATETIME(6),
    deleted_at          DATETIME(6),
    id                  INTEGER      NOT NULL AUTO_INCREMENT,
    injected            BOOLEAN,
    cidr                VARCHAR(43),
    netmask             VARCHAR(39),
    bridge              VARCHAR(255),
    gateway             VARCHAR(39),
    broadcast           VARCHAR(39),
    dns1                VARCHAR(39),
    vlan                INTEGER,
    vpn_public_address  VARCHAR(39),
    vpn_public_port     INTEGER,
    vpn_private_address VARCHAR(39),
    dhcp_start          VARCHAR(39),
    project_id          VARCHAR(255),
    host                VARCHAR(255),
    cidr_v6             VARCHAR(43),
    gateway_v6          VARCHAR(39),
    label               VARCHAR(255),
    netmask_v6          VARCHAR(39),
    bridge_interface    VARCHAR(255),
    multi_host          BOOLEAN,
    dns2                VARCHAR(39),
    uuid                VARCHAR(36),
    priority            INTEGER,
    rxtx_base           INTEGER,
    deleted             INTEGER,
    mtu                 INTEGER,
    dhcp_server         VARCHAR(39),
    enable_dhcp         BOOLEAN,
    share_address       BOOLEAN,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_pci_devices (
    created_at      DATETIME(6),
    updated_at      DATETIME(6),
    deleted_at      DATETIME(6),
    deleted         INTEGER      NOT NULL,
    id              INTEGER      NOT NULL AUTO_INCREMENT,
    compute_node_id INTEGER      NOT NULL,
    address         VARCHAR(12)  NOT NULL,
    product_id      VARCHAR(4),
    vendor_id       VARCHAR(4),
    dev_type        VARCHAR(8),
    dev_id          VARCHAR(255),
    label           VARCHAR(255) NOT NULL,
    status          VARCHAR(36)  NOT NULL,
    extra_info      TEXT,
    instance_uuid   VARCHAR(36),
    request_id      VARCHAR(36),
    numa_node       INTEGER,
    parent_addr     VARCHAR(12),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_project_user_quotas (
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    INTEGER,
    user_id    VARCHAR(255) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    resource   VARCHAR(255) NOT NULL,
    hard_limit INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_provider_fw_rules (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER     NOT NULL AUTO_INCREMENT,
    protocol   VARCHAR(5),
    from_port  INTEGER,
    to_port    INTEGER,
    cidr       VARCHAR(43),
    deleted    INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_quota_classes (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    class_name VARCHAR(255),
    resource   VARCHAR(255),
    hard_limit INTEGER,
    deleted    INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_quota_usages (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    project_id    VARCHAR(255),
    resource      VARCHAR(255),
    in_use        INTEGER      NOT NULL,
    reserved      INTEGER      NOT NULL,
    until_refresh INTEGER,
    deleted       INTEGER,
    user_id       VARCHAR(255),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_quotas (
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    project_id VARCHAR(255),
    resource   VARCHAR(255) NOT NULL,
    hard_limit INTEGER,
    deleted    INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_reservations (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER      NOT NULL AUTO_INCREMENT,
    uuid       VARCHAR(36)  NOT NULL,
    usage_id   INTEGER      NOT NULL,
    project_id VARCHAR(255),
    resource   VARCHAR(255),
    delta      INTEGER      NOT NULL,
    expire     DATETIME(6),
    deleted    INTEGER,
    user_id    VARCHAR(255),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_s3_images (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER     NOT NULL AUTO_INCREMENT,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_security_group_default_rules (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    deleted    INTEGER,
    id         INTEGER     NOT NULL AUTO_INCREMENT,
    protocol   VARCHAR(5),
    from_port  INTEGER,
    to_port    INTEGER,
    cidr       VARCHAR(43),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_security_group_instance_association (
    created_at        DATETIME(6),
    updated_at        DATETIME(6),
    deleted_at        DATETIME(6),
    id                INTEGER     NOT NULL AUTO_INCREMENT,
    security_group_id INTEGER,
    instance_uuid     VARCHAR(36),
    deleted           INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_security_group_rules (
    created_at      DATETIME(6),
    updated_at      DATETIME(6),
    deleted_at      DATETIME(6),
    id              INTEGER      NOT NULL AUTO_INCREMENT,
    parent_group_id INTEGER,
    protocol        VARCHAR(255),
    from_port       INTEGER,
    to_port         INTEGER,
    cidr            VARCHAR(43),
    group_id        INTEGER,
    deleted         INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_security_groups (
    created_at  DATETIME(6),
    updated_at  DATETIME(6),
    deleted_at  DATETIME(6),
    id          INTEGER      NOT NULL AUTO_INCREMENT,
    name        VARCHAR(255),
    description VARCHAR(255),
    user_id     VARCHAR(255),
    project_id  VARCHAR(255),
    deleted     INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_services (
    created_at      DATETIME(6),
    updated_at      DATETIME(6),
    deleted_at      DATETIME(6),
    id              INTEGER      NOT NULL AUTO_INCREMENT,
    host            VARCHAR(255),
    `binary`        VARCHAR(255),
    topic           VARCHAR(255),
    report_count    INTEGER      NOT NULL,
    disabled        BOOLEAN,
    deleted         INTEGER,
    disabled_reason VARCHAR(255),
    last_seen_up    DATETIME(6),
    forced_down     BOOLEAN,
    version         INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_snapshot_id_mappings (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER     NOT NULL AUTO_INCREMENT,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_snapshots (
    created_at          DATETIME(6),
    updated_at          DATETIME(6),
    deleted_at          DATETIME(6),
    id                  VARCHAR(36)  NOT NULL,
    volume_id           VARCHAR(36)  NOT NULL,
    user_id             VARCHAR(255),
    project_id          VARCHAR(255),
    status              VARCHAR(255),
    progress            VARCHAR(255),
    volume_size         INTEGER,
    scheduled_at        DATETIME(6),
    display_name        VARCHAR(255),
    display_description VARCHAR(255),
    deleted             VARCHAR(36),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_task_log (
    created_at       DATETIME(6),
    updated_at       DATETIME(6),
    deleted_at       DATETIME(6),
    id               INTEGER      NOT NULL AUTO_INCREMENT,
    task_name        VARCHAR(255) NOT NULL,
    state            VARCHAR(255) NOT NULL,
    host             VARCHAR(255) NOT NULL,
    period_beginning DATETIME(6)  NOT NULL,
    period_ending    DATETIME(6)  NOT NULL,
    message          VARCHAR(255) NOT NULL,
    task_items       INTEGER,
    errors           INTEGER,
    deleted          INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_virtual_interfaces (
    created_at    DATETIME(6),
    updated_at    DATETIME(6),
    deleted_at    DATETIME(6),
    id            INTEGER      NOT NULL AUTO_INCREMENT,
    address       VARCHAR(255),
    network_id    INTEGER,
    uuid          VARCHAR(36),
    instance_uuid VARCHAR(36),
    deleted       INTEGER,
    tag           VARCHAR(255),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_volume_id_mappings (
    created_at DATETIME(6),
    updated_at DATETIME(6),
    deleted_at DATETIME(6),
    id         INTEGER     NOT NULL AUTO_INCREMENT,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS shadow_volume_usage_cache (
    created_at          DATETIME(6),
    updated_at          DATETIME(6),
    deleted_at          DATETIME(6),
    id                  INTEGER      NOT NULL AUTO_INCREMENT,
    volume_id           VARCHAR(36)  NOT NULL,
    tot_last_refreshed  DATETIME(6),
    tot_reads           BIGINT,
    tot_read_bytes      BIGINT,
    tot_writes          BIGINT,
    tot_write_bytes     BIGINT,
    curr_last_refreshed DATETIME(6),
    curr_reads          BIGINT,
    curr_read_bytes     BIGINT,
    curr_writes         BIGINT,
    curr_write_bytes    BIGINT,
    deleted             INTEGER,
    instance_uuid       VARCHAR(36),
    project_id          VARCHAR(36),
    user_id             VARCHAR(36),
    availability_zone   VARCHAR(255),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The only rows Newton's migrations insert: 216_havana seeds the five default flavors
-- (created_at left NULL, as 216 does).  Only into a database nova's tools did not make
-- (no sqlalchemy-migrate migrate_version table) and only while instance_types is empty, so
-- adopting a nova database, or bootstrapping twice, never brings back a deleted flavor.
INSERT INTO instance_types (name, memory_mb, vcpus, root_gb, ephemeral_gb, flavorid, swap,
                            rxtx_factor, disabled, is_public, deleted)
SELECT * FROM (
    SELECT 'm1.tiny' AS name, 512 AS memory_mb, 1 AS vcpus, 1 AS root_gb, 0 AS ephemeral_gb,
           '1' AS flavorid, 0 AS swap, 1.0 AS rxtx_factor, 0 AS disabled, 1 AS is_public, 0 AS deleted
    UNION ALL
    SELECT 'm1.small', 2048, 1, 20, 0, '2', 0, 1.0, 0, 1, 0
    UNION ALL
    SELECT 'm1.medium', 4096, 2, 40, 0, '3', 0, 1.0, 0, 1, 0
    UNION ALL
    SELECT 'm1.large', 8192, 4, 80, 0, '4', 0, 1.0, 0, 1, 0
    UNION ALL
    SELECT 'm1.xlarge', 16384, 8, 160, 0, '5', 0, 1.0, 0, 1, 0
) AS seed
WHERE NOT EXISTS (SELECT 1 FROM information_schema.TABLES
                  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'migrate_version')
  AND NOT EXISTS (SELECT 1 FROM instance_types);
