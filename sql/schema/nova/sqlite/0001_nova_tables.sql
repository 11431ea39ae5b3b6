-- Nova's main database (not the API database) as Newton (openstack/nova 14.0.0) has it,
-- for SQLite: every table of the Newton models, column for column, with the names, types,
-- nullability, unique keys, indexes and foreign keys that nova-manage db sync creates
-- (216_havana.py plus migrations 227..334, 273 adding SQLite's foreign keys), so that
-- `rawdb schema check` can compare this with a database nova made, and bootstrapping such a
-- database adopts it (IF NOT EXISTS throughout).
--
-- Rendering, as SQLAlchemy creates it on SQLite: INTEGER ids, VARCHAR(n), TEXT, DATETIME,
-- BOOLEAN (0/1), FLOAT, BIGINT, VARCHAR(39)/VARCHAR(43) for nova's IPAddress/CIDR types,
-- and VARCHAR(n) with a CHECK for nova's enums.  Unique keys are named unique indexes, as
-- sqlalchemy-migrate adds them on SQLite.  The models' constant defaults are written as
-- DEFAULTs (nova applies them in Python), including `deleted DEFAULT 0`: soft delete writes
-- `deleted = id`, so the `UNIQUE (..., deleted)` keys admit one live row and any number of
-- deleted ones (spec B.1).  `deleted` stays nullable, as nova's migrations left it.
--
-- shadow_<table> (archive_deleted_rows) exists for every soft-deletable table: the same
-- columns and types, the primary key, no foreign keys, unique keys or defaults.  Where a
-- migration altered only the live table the shadow keeps the older definition, exactly as
-- in a nova-made database (noted per table); 252 also indexed shadow_instance_extra.

-- instances: 216 + 231 (ephemeral_key_uuid), 267 (uuid NOT NULL, uniq_instances0uuid), 274,
-- 319; 265 dropped instances_host_deleted_idx, 274 dropped the plain project_id index.
CREATE TABLE IF NOT EXISTS instances (
    created_at               DATETIME,
    updated_at               DATETIME,
    deleted_at               DATETIME,
    id                       INTEGER      NOT NULL,
    internal_id              INTEGER,
    user_id                  VARCHAR(255),
    project_id               VARCHAR(255),
    image_ref                VARCHAR(255),
    kernel_id                VARCHAR(255),
    ramdisk_id               VARCHAR(255),
    launch_index             INTEGER,
    key_name                 VARCHAR(255),
    key_data                 TEXT,
    power_state              INTEGER,
    vm_state                 VARCHAR(255),
    memory_mb                INTEGER,
    vcpus                    INTEGER,
    hostname                 VARCHAR(255),
    host                     VARCHAR(255),
    user_data                TEXT,
    reservation_id           VARCHAR(255),
    scheduled_at             DATETIME,
    launched_at              DATETIME,
    terminated_at            DATETIME,
    display_name             VARCHAR(255),
    display_description      VARCHAR(255),
    availability_zone        VARCHAR(255),
    locked                   BOOLEAN,
    os_type                  VARCHAR(255),
    launched_on              TEXT,
    instance_type_id         INTEGER,
    vm_mode                  VARCHAR(255),
    uuid                     VARCHAR(36)  NOT NULL,
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
    shutdown_terminate       BOOLEAN      DEFAULT 0,
    disable_terminate        BOOLEAN      DEFAULT 0,
    root_gb                  INTEGER,
    ephemeral_gb             INTEGER,
    cell_name                VARCHAR(255),
    node                     VARCHAR(255),
    deleted                  INTEGER      DEFAULT 0,
    locked_by                VARCHAR(5)    CONSTRAINT instances0locked_by CHECK (locked_by IN ('owner', 'admin')),
    cleaned                  INTEGER      DEFAULT 0,
    ephemeral_key_uuid       VARCHAR(36),
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_instances0uuid ON instances (uuid);
CREATE UNIQUE INDEX IF NOT EXISTS uuid ON instances (uuid);
CREATE INDEX IF NOT EXISTS instances_reservation_id_idx ON instances (reservation_id);
CREATE INDEX IF NOT EXISTS instances_terminated_at_launched_at_idx ON instances (terminated_at, launched_at);
CREATE INDEX IF NOT EXISTS instances_task_state_updated_at_idx ON instances (task_state, updated_at);
CREATE INDEX IF NOT EXISTS instances_uuid_deleted_idx ON instances (uuid, deleted);
CREATE INDEX IF NOT EXISTS instances_host_node_deleted_idx ON instances (host, node, deleted);
CREATE INDEX IF NOT EXISTS instances_host_deleted_cleaned_idx ON instances (host, deleted, cleaned);
CREATE INDEX IF NOT EXISTS instances_project_id_deleted_idx ON instances (project_id, deleted);
CREATE INDEX IF NOT EXISTS instances_deleted_created_at_idx ON instances (deleted, created_at);

CREATE TABLE IF NOT EXISTS aggregates (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER      NOT NULL,
    name       VARCHAR(255),
    deleted    INTEGER      DEFAULT 0,
    uuid       VARCHAR(36),
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS aggregate_uuid_idx ON aggregates (uuid);

CREATE TABLE IF NOT EXISTS console_pools (
    created_at      DATETIME,
    updated_at      DATETIME,
    deleted_at      DATETIME,
    id              INTEGER      NOT NULL,
    address         VARCHAR(39),
    username        VARCHAR(255),
    password        VARCHAR(255),
    console_type    VARCHAR(255),
    public_hostname VARCHAR(255),
    host            VARCHAR(255),
    compute_host    VARCHAR(255),
    deleted         INTEGER      DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_console_pools0host0console_type0compute_host0deleted ON console_pools (host, console_type, compute_host, deleted);

-- instance_types: deprecated here in Newton (flavors moved to the API database); still created
-- and seeded.
CREATE TABLE IF NOT EXISTS instance_types (
    created_at   DATETIME,
    updated_at   DATETIME,
    deleted_at   DATETIME,
    name         VARCHAR(255),
    id           INTEGER      NOT NULL,
    memory_mb    INTEGER      NOT NULL,
    vcpus        INTEGER      NOT NULL,
    swap         INTEGER      NOT NULL DEFAULT 0,
    vcpu_weight  INTEGER,
    flavorid     VARCHAR(255),
    rxtx_factor  FLOAT        DEFAULT 1.0,
    root_gb      INTEGER,
    ephemeral_gb INTEGER,
    disabled     BOOLEAN      DEFAULT 0,
    is_public    BOOLEAN      DEFAULT 1,
    deleted      INTEGER      DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_instance_types0name0deleted ON instance_types (name, deleted);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_instance_types0flavorid0deleted ON instance_types (flavorid, deleted);

CREATE TABLE IF NOT EXISTS security_groups (
    created_at  DATETIME,
    updated_at  DATETIME,
    deleted_at  DATETIME,
    id          INTEGER      NOT NULL,
    name        VARCHAR(255),
    description VARCHAR(255),
    user_id     VARCHAR(255),
    project_id  VARCHAR(255),
    deleted     INTEGER      DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_security_groups0project_id0name0deleted ON security_groups (project_id, name, deleted);

-- snapshots: string id: deleted is VARCHAR(36), '' when live, the id when deleted.
CREATE TABLE IF NOT EXISTS snapshots (
    created_at          DATETIME,
    updated_at          DATETIME,
    deleted_at          DATETIME,
    id                  VARCHAR(36)  NOT NULL,
    volume_id           VARCHAR(36)  NOT NULL,
    user_id             VARCHAR(255),
    project_id          VARCHAR(255),
    status              VARCHAR(255),
    progress            VARCHAR(255),
    volume_size         INTEGER,
    scheduled_at        DATETIME,
    display_name        VARCHAR(255),
    display_description VARCHAR(255),
    deleted             VARCHAR(36)  DEFAULT '',
    PRIMARY KEY (id)
);

-- compute_nodes: 278 dropped the service_id foreign key and made it nullable; 279 put deleted
-- into the unique key.
CREATE TABLE IF NOT EXISTS compute_nodes (
    created_at            DATETIME,
    updated_at            DATETIME,
    deleted_at            DATETIME,
    id                    INTEGER      NOT NULL,
    service_id            INTEGER,
    vcpus                 INTEGER      NOT NULL,
    memory_mb             INTEGER      NOT NULL,
    local_gb              INTEGER      NOT NULL,
    vcpus_used            INTEGER      NOT NULL,
    memory_mb_used        INTEGER      NOT NULL,
    local_gb_used         INTEGER      NOT NULL,
    hypervisor_type       TEXT         NOT NULL,
    hypervisor_version    INTEGER      NOT NULL,
    cpu_info              TEXT         NOT NULL,
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
    ram_allocation_ratio  FLOAT,
    cpu_allocation_ratio  FLOAT,
    uuid                  VARCHAR(36),
    disk_allocation_ratio FLOAT,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_compute_nodes0host0hypervisor_hostname0deleted ON compute_nodes (host, hypervisor_hostname, deleted);

CREATE TABLE IF NOT EXISTS services (
    created_at      DATETIME,
    updated_at      DATETIME,
    deleted_at      DATETIME,
    id              INTEGER      NOT NULL,
    host            VARCHAR(255),
    "binary"        VARCHAR(255),
    topic           VARCHAR(255),
    report_count    INTEGER      NOT NULL DEFAULT 0,
    disabled        BOOLEAN      DEFAULT 0,
    deleted         INTEGER      DEFAULT 0,
    disabled_reason VARCHAR(255),
    last_seen_up    DATETIME,
    forced_down     BOOLEAN      DEFAULT 0,
    version         INTEGER      DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_services0host0topic0deleted ON services (host, topic, deleted);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_services0host0binary0deleted ON services (host, "binary", deleted);

-- quota_usages: 247 made resource NOT NULL (not on the shadow table).
CREATE TABLE IF NOT EXISTS quota_usages (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    project_id    VARCHAR(255),
    resource      VARCHAR(255) NOT NULL,
    in_use        INTEGER      NOT NULL,
    reserved      INTEGER      NOT NULL,
    until_refresh INTEGER,
    deleted       INTEGER      DEFAULT 0,
    user_id       VARCHAR(255),
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_quota_usages_project_id ON quota_usages (project_id);
CREATE INDEX IF NOT EXISTS ix_quota_usages_user_id_deleted ON quota_usages (user_id, deleted);

CREATE TABLE IF NOT EXISTS instance_actions (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    action        VARCHAR(255),
    instance_uuid VARCHAR(36),
    request_id    VARCHAR(255),
    user_id       VARCHAR(255),
    project_id    VARCHAR(255),
    start_time    DATETIME,
    finish_time   DATETIME,
    message       VARCHAR(255),
    deleted       INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT fk_instance_actions_instance_uuid FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
);
CREATE INDEX IF NOT EXISTS instance_uuid_idx ON instance_actions (instance_uuid);
CREATE INDEX IF NOT EXISTS request_id_idx ON instance_actions (request_id);

-- instance_groups: deprecated here in Newton (moved to the API database).
CREATE TABLE IF NOT EXISTS instance_groups (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    INTEGER      DEFAULT 0,
    id         INTEGER      NOT NULL,
    user_id    VARCHAR(255),
    project_id VARCHAR(255),
    uuid       VARCHAR(36)  NOT NULL,
    name       VARCHAR(255),
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_instance_groups0uuid0deleted ON instance_groups (uuid, deleted);

CREATE TABLE IF NOT EXISTS agent_builds (
    created_at   DATETIME,
    updated_at   DATETIME,
    deleted_at   DATETIME,
    id           INTEGER      NOT NULL,
    hypervisor   VARCHAR(255),
    os           VARCHAR(255),
    architecture VARCHAR(255),
    version      VARCHAR(255),
    url          VARCHAR(255),
    md5hash      VARCHAR(255),
    deleted      INTEGER      DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_agent_builds0hypervisor0os0architecture0deleted ON agent_builds (hypervisor, os, architecture, deleted);
CREATE INDEX IF NOT EXISTS agent_builds_hypervisor_os_arch_idx ON agent_builds (hypervisor, os, architecture);

CREATE TABLE IF NOT EXISTS aggregate_hosts (
    created_at   DATETIME,
    updated_at   DATETIME,
    deleted_at   DATETIME,
    id           INTEGER      NOT NULL,
    host         VARCHAR(255),
    aggregate_id INTEGER      NOT NULL,
    deleted      INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT aggregate_hosts_aggregate_id_fkey FOREIGN KEY (aggregate_id) REFERENCES aggregates (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_aggregate_hosts0host0aggregate_id0deleted ON aggregate_hosts (host, aggregate_id, deleted);

CREATE TABLE IF NOT EXISTS aggregate_metadata (
    created_at   DATETIME,
    updated_at   DATETIME,
    deleted_at   DATETIME,
    id           INTEGER      NOT NULL,
    aggregate_id INTEGER      NOT NULL,
    key          VARCHAR(255) NOT NULL,
    value        VARCHAR(255) NOT NULL,
    deleted      INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT aggregate_metadata_aggregate_id_fkey FOREIGN KEY (aggregate_id) REFERENCES aggregates (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_aggregate_metadata0aggregate_id0key0deleted ON aggregate_metadata (aggregate_id, key, deleted);
CREATE INDEX IF NOT EXISTS aggregate_metadata_key_idx ON aggregate_metadata (key);

-- allocations: placement (314, 318): no timestamps, no soft delete, no shadow table.
CREATE TABLE IF NOT EXISTS allocations (
    id                   INTEGER     NOT NULL,
    resource_provider_id INTEGER     NOT NULL,
    consumer_id          VARCHAR(36) NOT NULL,
    resource_class_id    INTEGER     NOT NULL,
    used                 INTEGER     NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS allocations_resource_provider_class_used_idx ON allocations (resource_provider_id, resource_class_id, used);
CREATE INDEX IF NOT EXISTS allocations_consumer_id_idx ON allocations (consumer_id);
CREATE INDEX IF NOT EXISTS allocations_resource_class_id_idx ON allocations (resource_class_id);

CREATE TABLE IF NOT EXISTS block_device_mapping (
    created_at            DATETIME,
    updated_at            DATETIME,
    deleted_at            DATETIME,
    id                    INTEGER      NOT NULL,
    device_name           VARCHAR(255),
    delete_on_termination BOOLEAN      DEFAULT 0,
    snapshot_id           VARCHAR(36),
    volume_id             VARCHAR(36),
    volume_size           INTEGER,
    no_device             BOOLEAN,
    connection_info       TEXT,
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
    CONSTRAINT block_device_mapping_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
);
CREATE INDEX IF NOT EXISTS snapshot_id ON block_device_mapping (snapshot_id);
CREATE INDEX IF NOT EXISTS volume_id ON block_device_mapping (volume_id);
CREATE INDEX IF NOT EXISTS block_device_mapping_instance_uuid_idx ON block_device_mapping (instance_uuid);
CREATE INDEX IF NOT EXISTS block_device_mapping_instance_uuid_device_name_idx ON block_device_mapping (instance_uuid, device_name);
CREATE INDEX IF NOT EXISTS block_device_mapping_instance_uuid_volume_id_idx ON block_device_mapping (instance_uuid, volume_id);

CREATE TABLE IF NOT EXISTS bw_usage_cache (
    created_at     DATETIME,
    updated_at     DATETIME,
    deleted_at     DATETIME,
    id             INTEGER      NOT NULL,
    start_period   DATETIME     NOT NULL,
    last_refreshed DATETIME,
    bw_in          BIGINT,
    bw_out         BIGINT,
    mac            VARCHAR(255),
    uuid           VARCHAR(36),
    last_ctr_in    BIGINT,
    last_ctr_out   BIGINT,
    deleted        INTEGER      DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS bw_usage_cache_uuid_start_period_idx ON bw_usage_cache (uuid, start_period);

CREATE TABLE IF NOT EXISTS cells (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    api_url       VARCHAR(255),
    weight_offset FLOAT        DEFAULT 0.0,
    weight_scale  FLOAT        DEFAULT 1.0,
    name          VARCHAR(255),
    is_parent     BOOLEAN,
    deleted       INTEGER      DEFAULT 0,
    transport_url VARCHAR(255) NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_cells0name0deleted ON cells (name, deleted);

CREATE TABLE IF NOT EXISTS certificates (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER      NOT NULL,
    user_id    VARCHAR(255),
    project_id VARCHAR(255),
    file_name  VARCHAR(255),
    deleted    INTEGER      DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS certificates_project_id_deleted_idx ON certificates (project_id, deleted);
CREATE INDEX IF NOT EXISTS certificates_user_id_deleted_idx ON certificates (user_id, deleted);

-- console_auth_tokens: 333: no deleted_at/deleted (hard delete), no shadow table.
CREATE TABLE IF NOT EXISTS console_auth_tokens (
    created_at           DATETIME,
    updated_at           DATETIME,
    id                   INTEGER      NOT NULL,
    token_hash           VARCHAR(255) NOT NULL,
    console_type         VARCHAR(255) NOT NULL,
    host                 VARCHAR(255) NOT NULL,
    port                 INTEGER      NOT NULL,
    internal_access_path VARCHAR(255),
    instance_uuid        VARCHAR(36)  NOT NULL,
    expires              INTEGER      NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_console_auth_tokens0token_hash ON console_auth_tokens (token_hash);
CREATE INDEX IF NOT EXISTS console_auth_tokens_instance_uuid_idx ON console_auth_tokens (instance_uuid);
CREATE INDEX IF NOT EXISTS console_auth_tokens_host_expires_idx ON console_auth_tokens (host, expires);
CREATE INDEX IF NOT EXISTS console_auth_tokens_token_hash_idx ON console_auth_tokens (token_hash);

CREATE TABLE IF NOT EXISTS consoles (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    instance_name VARCHAR(255),
    password      VARCHAR(255),
    port          INTEGER,
    pool_id       INTEGER,
    instance_uuid VARCHAR(36),
    deleted       INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT consoles_pool_id_fkey FOREIGN KEY (pool_id) REFERENCES console_pools (id),
    CONSTRAINT consoles_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
);
CREATE INDEX IF NOT EXISTS consoles_instance_uuid_idx ON consoles (instance_uuid);

-- dns_domains: no id column: deleted stays BOOLEAN.
CREATE TABLE IF NOT EXISTS dns_domains (
    created_at        DATETIME,
    updated_at        DATETIME,
    deleted_at        DATETIME,
    deleted           BOOLEAN      DEFAULT 0,
    domain            VARCHAR(255) NOT NULL,
    scope             VARCHAR(255),
    availability_zone VARCHAR(255),
    project_id        VARCHAR(255),
    PRIMARY KEY (domain)
);
CREATE INDEX IF NOT EXISTS dns_domains_domain_deleted_idx ON dns_domains (domain, deleted);
CREATE INDEX IF NOT EXISTS dns_domains_project_id_idx ON dns_domains (project_id);

CREATE TABLE IF NOT EXISTS fixed_ips (
    created_at           DATETIME,
    updated_at           DATETIME,
    deleted_at           DATETIME,
    id                   INTEGER      NOT NULL,
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
    CONSTRAINT fixed_ips_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_fixed_ips0address0deleted ON fixed_ips (address, deleted);
CREATE INDEX IF NOT EXISTS address ON fixed_ips (address);
CREATE INDEX IF NOT EXISTS network_id ON fixed_ips (network_id);
CREATE INDEX IF NOT EXISTS fixed_ips_instance_uuid_fkey ON fixed_ips (instance_uuid);
CREATE INDEX IF NOT EXISTS fixed_ips_virtual_interface_id_fkey ON fixed_ips (virtual_interface_id);
CREATE INDEX IF NOT EXISTS fixed_ips_host_idx ON fixed_ips (host);
CREATE INDEX IF NOT EXISTS fixed_ips_network_id_host_deleted_idx ON fixed_ips (network_id, host, deleted);
CREATE INDEX IF NOT EXISTS fixed_ips_address_reserved_network_id_deleted_idx ON fixed_ips (address, reserved, network_id, deleted);
CREATE INDEX IF NOT EXISTS fixed_ips_deleted_allocated_idx ON fixed_ips (address, deleted, allocated);
CREATE INDEX IF NOT EXISTS fixed_ips_deleted_allocated_updated_at_idx ON fixed_ips (deleted, allocated, updated_at);

CREATE TABLE IF NOT EXISTS floating_ips (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    address       VARCHAR(39),
    fixed_ip_id   INTEGER,
    project_id    VARCHAR(255),
    host          VARCHAR(255),
    auto_assigned BOOLEAN      DEFAULT 0,
    pool          VARCHAR(255),
    interface     VARCHAR(255),
    deleted       INTEGER      DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_floating_ips0address0deleted ON floating_ips (address, deleted);
CREATE INDEX IF NOT EXISTS fixed_ip_id ON floating_ips (fixed_ip_id);
CREATE INDEX IF NOT EXISTS floating_ips_host_idx ON floating_ips (host);
CREATE INDEX IF NOT EXISTS floating_ips_project_id_idx ON floating_ips (project_id);
CREATE INDEX IF NOT EXISTS floating_ips_pool_deleted_fixed_ip_id_project_id_idx ON floating_ips (pool, deleted, fixed_ip_id, project_id);

CREATE TABLE IF NOT EXISTS instance_actions_events (
    created_at  DATETIME,
    updated_at  DATETIME,
    deleted_at  DATETIME,
    id          INTEGER      NOT NULL,
    event       VARCHAR(255),
    action_id   INTEGER,
    start_time  DATETIME,
    finish_time DATETIME,
    result      VARCHAR(255),
    traceback   TEXT,
    deleted     INTEGER      DEFAULT 0,
    host        VARCHAR(255),
    details     TEXT,
    PRIMARY KEY (id),
    CONSTRAINT instance_actions_events_action_id_fkey FOREIGN KEY (action_id) REFERENCES instance_actions (id)
);

-- instance_extra: 252 (+253, 270, 276, 300, 332, device_metadata); 252 also indexed the shadow
-- table.
CREATE TABLE IF NOT EXISTS instance_extra (
    created_at        DATETIME,
    updated_at        DATETIME,
    deleted_at        DATETIME,
    deleted           INTEGER     DEFAULT 0,
    id                INTEGER     NOT NULL,
    instance_uuid     VARCHAR(36) NOT NULL,
    numa_topology     TEXT,
    pci_requests      TEXT,
    flavor            TEXT,
    vcpu_model        TEXT,
    migration_context TEXT,
    keypairs          TEXT,
    device_metadata   TEXT,
    PRIMARY KEY (id),
    CONSTRAINT instance_extra_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
);
CREATE INDEX IF NOT EXISTS instance_extra_idx ON instance_extra (instance_uuid);

CREATE TABLE IF NOT EXISTS instance_faults (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    instance_uuid VARCHAR(36),
    code          INTEGER      NOT NULL,
    message       VARCHAR(255),
    details       TEXT,
    host          VARCHAR(255),
    deleted       INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT fk_instance_faults_instance_uuid FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
);
CREATE INDEX IF NOT EXISTS instance_faults_host_idx ON instance_faults (host);
CREATE INDEX IF NOT EXISTS instance_faults_instance_uuid_deleted_created_at_idx ON instance_faults (instance_uuid, deleted, created_at);

CREATE TABLE IF NOT EXISTS instance_group_member (
    created_at  DATETIME,
    updated_at  DATETIME,
    deleted_at  DATETIME,
    deleted     INTEGER      DEFAULT 0,
    id          INTEGER      NOT NULL,
    instance_id VARCHAR(255),
    group_id    INTEGER      NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT instance_group_member_group_id_fkey FOREIGN KEY (group_id) REFERENCES instance_groups (id)
);
CREATE INDEX IF NOT EXISTS instance_group_member_instance_idx ON instance_group_member (instance_id);

CREATE TABLE IF NOT EXISTS instance_group_policy (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    INTEGER      DEFAULT 0,
    id         INTEGER      NOT NULL,
    policy     VARCHAR(255),
    group_id   INTEGER      NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT instance_group_policy_group_id_fkey FOREIGN KEY (group_id) REFERENCES instance_groups (id)
);
CREATE INDEX IF NOT EXISTS instance_group_policy_policy_idx ON instance_group_policy (policy);

CREATE TABLE IF NOT EXISTS instance_id_mappings (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER     NOT NULL,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER     DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_instance_id_mappings_uuid ON instance_id_mappings (uuid);

-- instance_info_caches: the unique key leaves deleted out: one cache row per instance, deleted
-- or not.
CREATE TABLE IF NOT EXISTS instance_info_caches (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER     NOT NULL,
    network_info  TEXT,
    instance_uuid VARCHAR(36) NOT NULL,
    deleted       INTEGER     DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT instance_info_caches_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_instance_info_caches0instance_uuid ON instance_info_caches (instance_uuid);

CREATE TABLE IF NOT EXISTS instance_metadata (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    key           VARCHAR(255),
    value         VARCHAR(255),
    instance_uuid VARCHAR(36),
    deleted       INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT instance_metadata_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
);
CREATE INDEX IF NOT EXISTS instance_metadata_instance_uuid_idx ON instance_metadata (instance_uuid);

CREATE TABLE IF NOT EXISTS instance_system_metadata (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    instance_uuid VARCHAR(36)  NOT NULL,
    key           VARCHAR(255) NOT NULL,
    value         VARCHAR(255),
    deleted       INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT instance_system_metadata_ibfk_1 FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
);
CREATE INDEX IF NOT EXISTS instance_uuid ON instance_system_metadata (instance_uuid);

CREATE TABLE IF NOT EXISTS instance_type_extra_specs (
    created_at       DATETIME,
    updated_at       DATETIME,
    deleted_at       DATETIME,
    id               INTEGER      NOT NULL,
    instance_type_id INTEGER      NOT NULL,
    key              VARCHAR(255),
    value            VARCHAR(255),
    deleted          INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT instance_type_extra_specs_instance_type_id_fkey FOREIGN KEY (instance_type_id) REFERENCES instance_types (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_instance_type_extra_specs0instance_type_id0key0deleted ON instance_type_extra_specs (instance_type_id, key, deleted);
CREATE INDEX IF NOT EXISTS instance_type_extra_specs_instance_type_id_key_idx ON instance_type_extra_specs (instance_type_id, key);

CREATE TABLE IF NOT EXISTS instance_type_projects (
    created_at       DATETIME,
    updated_at       DATETIME,
    deleted_at       DATETIME,
    id               INTEGER      NOT NULL,
    instance_type_id INTEGER      NOT NULL,
    project_id       VARCHAR(255),
    deleted          INTEGER      DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT instance_type_projects_ibfk_1 FOREIGN KEY (instance_type_id) REFERENCES instance_types (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_instance_type_projects0instance_type_id0project_id0deleted ON instance_type_projects (instance_type_id, project_id, deleted);

-- inventories: placement (314, 318): no timestamps, no soft delete, no shadow table.
CREATE TABLE IF NOT EXISTS inventories (
    id                   INTEGER NOT NULL,
    resource_provider_id INTEGER NOT NULL,
    resource_class_id    INTEGER NOT NULL,
    total                INTEGER NOT NULL,
    reserved             INTEGER NOT NULL,
    min_unit             INTEGER NOT NULL,
    max_unit             INTEGER NOT NULL,
    step_size            INTEGER NOT NULL,
    allocation_ratio     FLOAT   NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_inventories0resource_provider_resource_class ON inventories (resource_provider_id, resource_class_id);
CREATE INDEX IF NOT EXISTS inventories_resource_provider_id_idx ON inventories (resource_provider_id);
CREATE INDEX IF NOT EXISTS inventories_resource_class_id_idx ON inventories (resource_class_id);
CREATE INDEX IF NOT EXISTS inventories_resource_provider_resource_class_idx ON inventories (resource_provider_id, resource_class_id);

-- key_pairs: 275 (type), 280 (name NOT NULL, not on the shadow table); deprecated here in
-- Newton.
CREATE TABLE IF NOT EXISTS key_pairs (
    created_at  DATETIME,
    updated_at  DATETIME,
    deleted_at  DATETIME,
    id          INTEGER      NOT NULL,
    name        VARCHAR(255) NOT NULL,
    user_id     VARCHAR(255),
    fingerprint VARCHAR(255),
    public_key  TEXT,
    deleted     INTEGER      DEFAULT 0,
    type        VARCHAR(4)   NOT NULL DEFAULT 'ssh' CONSTRAINT keypair_types CHECK (type IN ('ssh', 'x509')),
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_key_pairs0user_id0name0deleted ON key_pairs (user_id, name, deleted);

CREATE TABLE IF NOT EXISTS migrations (
    created_at           DATETIME,
    updated_at           DATETIME,
    deleted_at           DATETIME,
    id                   INTEGER      NOT NULL,
    source_compute       VARCHAR(255),
    dest_compute         VARCHAR(255),
    dest_host            VARCHAR(255),
    status               VARCHAR(255),
    instance_uuid        VARCHAR(36),
    old_instance_type_id INTEGER,
    new_instance_type_id INTEGER,
    source_node          VARCHAR(255),
    dest_node            VARCHAR(255),
    deleted              INTEGER      DEFAULT 0,
    migration_type       VARCHAR(14)   CONSTRAINT migration_type CHECK (migration_type IN ('migration', 'resize', 'live-migration', 'evacuation')),
    hidden               BOOLEAN      DEFAULT 0,
    memory_total         BIGINT,
    memory_processed     BIGINT,
    memory_remaining     BIGINT,
    disk_total           BIGINT,
    disk_processed       BIGINT,
    disk_remaining       BIGINT,
    PRIMARY KEY (id),
    CONSTRAINT fk_migrations_instance_uuid FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
);
CREATE INDEX IF NOT EXISTS migrations_by_host_nodes_and_status_idx ON migrations (deleted, source_compute, dest_compute, source_node, dest_node, status);
CREATE INDEX IF NOT EXISTS migrations_instance_uuid_and_status_idx ON migrations (deleted, instance_uuid, status);

CREATE TABLE IF NOT EXISTS networks (
    created_at          DATETIME,
    updated_at          DATETIME,
    deleted_at          DATETIME,
    id                  INTEGER      NOT NULL,
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
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_networks0vlan0deleted ON networks (vlan, deleted);
CREATE INDEX IF NOT EXISTS networks_host_idx ON networks (host);
CREATE INDEX IF NOT EXISTS networks_cidr_v6_idx ON networks (cidr_v6);
CREATE INDEX IF NOT EXISTS networks_bridge_deleted_idx ON networks (bridge, deleted);
CREATE INDEX IF NOT EXISTS networks_project_id_deleted_idx ON networks (project_id, deleted);
CREATE INDEX IF NOT EXISTS networks_uuid_project_id_deleted_idx ON networks (uuid, project_id, deleted);
CREATE INDEX IF NOT EXISTS networks_vlan_deleted_idx ON networks (vlan, deleted);

-- pci_devices: 247 made deleted nullable and product_id/vendor_id/dev_type NOT NULL (not on
-- the shadow table).
CREATE TABLE IF NOT EXISTS pci_devices (
    created_at      DATETIME,
    updated_at      DATETIME,
    deleted_at      DATETIME,
    deleted         INTEGER      DEFAULT 0,
    id              INTEGER      NOT NULL,
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
    CONSTRAINT pci_devices_compute_node_id_fkey FOREIGN KEY (compute_node_id) REFERENCES compute_nodes (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_pci_devices0compute_node_id0address0deleted ON pci_devices (compute_node_id, address, deleted);
CREATE INDEX IF NOT EXISTS ix_pci_devices_compute_node_id_deleted ON pci_devices (compute_node_id, deleted);
CREATE INDEX IF NOT EXISTS ix_pci_devices_instance_uuid_deleted ON pci_devices (instance_uuid, deleted);
CREATE INDEX IF NOT EXISTS ix_pci_devices_compute_node_id_parent_addr_deleted ON pci_devices (compute_node_id, parent_addr, deleted);

CREATE TABLE IF NOT EXISTS project_user_quotas (
    id         INTEGER      NOT NULL,
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    INTEGER      DEFAULT 0,
    user_id    VARCHAR(255) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    resource   VARCHAR(255) NOT NULL,
    hard_limit INTEGER,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_project_user_quotas0user_id0project_id0resource0deleted ON project_user_quotas (user_id, project_id, resource, deleted);
CREATE INDEX IF NOT EXISTS project_user_quotas_project_id_deleted_idx ON project_user_quotas (project_id, deleted);
CREATE INDEX IF NOT EXISTS project_user_quotas_user_id_deleted_idx ON project_user_quotas (user_id, deleted);

CREATE TABLE IF NOT EXISTS provider_fw_rules (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER     NOT NULL,
    protocol   VARCHAR(5),
    from_port  INTEGER,
    to_port    INTEGER,
    cidr       VARCHAR(43),
    deleted    INTEGER     DEFAULT 0,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS quota_classes (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER      NOT NULL,
    class_name VARCHAR(255),
    resource   VARCHAR(255),
    hard_limit INTEGER,
    deleted    INTEGER      DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_quota_classes_class_name ON quota_classes (class_name);

CREATE TABLE IF NOT EXISTS quotas (
    id         INTEGER      NOT NULL,
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    project_id VARCHAR(255),
    resource   VARCHAR(255) NOT NULL,
    hard_limit INTEGER,
    deleted    INTEGER      DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_quotas0project_id0resource0deleted ON quotas (project_id, resource, deleted);

CREATE TABLE IF NOT EXISTS reservations (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER      NOT NULL,
    uuid       VARCHAR(36)  NOT NULL,
    usage_id   INTEGER      NOT NULL,
    project_id VARCHAR(255),
    resource   VARCHAR(255),
    delta      INTEGER      NOT NULL,
    expire     DATETIME,
    deleted    INTEGER      DEFAULT 0,
    user_id    VARCHAR(255),
    PRIMARY KEY (id),
    CONSTRAINT reservations_ibfk_1 FOREIGN KEY (usage_id) REFERENCES quota_usages (id)
);
CREATE INDEX IF NOT EXISTS ix_reservations_project_id ON reservations (project_id);
CREATE INDEX IF NOT EXISTS ix_reservations_user_id_deleted ON reservations (user_id, deleted);
CREATE INDEX IF NOT EXISTS reservations_uuid_idx ON reservations (uuid);
CREATE INDEX IF NOT EXISTS reservations_deleted_expire_idx ON reservations (deleted, expire);

-- resource_provider_aggregates: placement (318): no timestamps, no soft delete, no shadow
-- table.
CREATE TABLE IF NOT EXISTS resource_provider_aggregates (
    resource_provider_id INTEGER NOT NULL,
    aggregate_id         INTEGER NOT NULL,
    PRIMARY KEY (resource_provider_id, aggregate_id)
);
CREATE INDEX IF NOT EXISTS resource_provider_aggregates_aggregate_id_idx ON resource_provider_aggregates (aggregate_id);

-- resource_providers: placement (314, 318): no timestamps, no soft delete, no shadow table.
CREATE TABLE IF NOT EXISTS resource_providers (
    id         INTEGER      NOT NULL,
    uuid       VARCHAR(36)  NOT NULL,
    name       VARCHAR(200),
    generation INTEGER      DEFAULT 0,
    can_host   INTEGER      DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_resource_providers0uuid ON resource_providers (uuid);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_resource_providers0name ON resource_providers (name);
CREATE INDEX IF NOT EXISTS resource_providers_uuid_idx ON resource_providers (uuid);
CREATE INDEX IF NOT EXISTS resource_providers_name_idx ON resource_providers (name);

CREATE TABLE IF NOT EXISTS s3_images (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER     NOT NULL,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER     DEFAULT 0,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS security_group_default_rules (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    INTEGER     DEFAULT 0,
    id         INTEGER     NOT NULL,
    protocol   VARCHAR(5),
    from_port  INTEGER,
    to_port    INTEGER,
    cidr       VARCHAR(43),
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS security_group_instance_association (
    created_at        DATETIME,
    updated_at        DATETIME,
    deleted_at        DATETIME,
    id                INTEGER     NOT NULL,
    security_group_id INTEGER,
    instance_uuid     VARCHAR(36),
    deleted           INTEGER     DEFAULT 0,
    PRIMARY KEY (id),
    CONSTRAINT security_group_instance_association_ibfk_1 FOREIGN KEY (security_group_id) REFERENCES security_groups (id),
    CONSTRAINT security_group_instance_association_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
);
CREATE INDEX IF NOT EXISTS security_group_instance_association_instance_uuid_idx ON security_group_instance_association (instance_uuid);

CREATE TABLE IF NOT EXISTS security_group_rules (
    created_at      DATETIME,
    updated_at      DATETIME,
    deleted_at      DATETIME,
    id              INTEGER      NOT NULL,
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
);

CREATE TABLE IF NOT EXISTS snapshot_id_mappings (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER     NOT NULL,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER     DEFAULT 0,
    PRIMARY KEY (id)
);

-- tags: 266: no timestamps, no soft delete (hard delete), no shadow table.
CREATE TABLE IF NOT EXISTS tags (
    resource_id VARCHAR(36) NOT NULL,
    tag         VARCHAR(80) NOT NULL,
    PRIMARY KEY (resource_id, tag)
);
CREATE INDEX IF NOT EXISTS tags_tag_idx ON tags (tag);

CREATE TABLE IF NOT EXISTS task_log (
    created_at       DATETIME,
    updated_at       DATETIME,
    deleted_at       DATETIME,
    id               INTEGER      NOT NULL,
    task_name        VARCHAR(255) NOT NULL,
    state            VARCHAR(255) NOT NULL,
    host             VARCHAR(255) NOT NULL,
    period_beginning DATETIME     NOT NULL,
    period_ending    DATETIME     NOT NULL,
    message          VARCHAR(255) NOT NULL,
    task_items       INTEGER      DEFAULT 0,
    errors           INTEGER      DEFAULT 0,
    deleted          INTEGER      DEFAULT 0,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_task_log0task_name0host0period_beginning0period_ending ON task_log (task_name, host, period_beginning, period_ending);
CREATE INDEX IF NOT EXISTS ix_task_log_period_beginning ON task_log (period_beginning);
CREATE INDEX IF NOT EXISTS ix_task_log_host ON task_log (host);
CREATE INDEX IF NOT EXISTS ix_task_log_period_ending ON task_log (period_ending);

CREATE TABLE IF NOT EXISTS virtual_interfaces (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    address       VARCHAR(255),
    network_id    INTEGER,
    uuid          VARCHAR(36),
    instance_uuid VARCHAR(36),
    deleted       INTEGER      DEFAULT 0,
    tag           VARCHAR(255),
    PRIMARY KEY (id),
    CONSTRAINT virtual_interfaces_instance_uuid_fkey FOREIGN KEY (instance_uuid) REFERENCES instances (uuid)
);
CREATE UNIQUE INDEX IF NOT EXISTS uniq_virtual_interfaces0address0deleted ON virtual_interfaces (address, deleted);
CREATE INDEX IF NOT EXISTS virtual_interfaces_network_id_idx ON virtual_interfaces (network_id);
CREATE INDEX IF NOT EXISTS virtual_interfaces_instance_uuid_fkey ON virtual_interfaces (instance_uuid);
CREATE INDEX IF NOT EXISTS virtual_interfaces_uuid_idx ON virtual_interfaces (uuid);

CREATE TABLE IF NOT EXISTS volume_id_mappings (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER     NOT NULL,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER     DEFAULT 0,
    PRIMARY KEY (id)
);

-- volume_usage_cache: 244 widened user_id to 64 (not on the shadow table).
CREATE TABLE IF NOT EXISTS volume_usage_cache (
    created_at          DATETIME,
    updated_at          DATETIME,
    deleted_at          DATETIME,
    id                  INTEGER      NOT NULL,
    volume_id           VARCHAR(36)  NOT NULL,
    tot_last_refreshed  DATETIME,
    tot_reads           BIGINT       DEFAULT 0,
    tot_read_bytes      BIGINT       DEFAULT 0,
    tot_writes          BIGINT       DEFAULT 0,
    tot_write_bytes     BIGINT       DEFAULT 0,
    curr_last_refreshed DATETIME,
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
);

-- Shadow tables, one per soft-deletable table (216 _create_shadow_tables and the
-- migrations that added columns to both).

CREATE TABLE IF NOT EXISTS shadow_agent_builds (
    created_at   DATETIME,
    updated_at   DATETIME,
    deleted_at   DATETIME,
    id           INTEGER      NOT NULL,
    hypervisor   VARCHAR(255),
    os           VARCHAR(255),
    architecture VARCHAR(255),
    version      VARCHAR(255),
    url          VARCHAR(255),
    md5hash      VARCHAR(255),
    deleted      INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_aggregate_hosts (
    created_at   DATETIME,
    updated_at   DATETIME,
    deleted_at   DATETIME,
    id           INTEGER      NOT NULL,
    host         VARCHAR(255),
    aggregate_id INTEGER      NOT NULL,
    deleted      INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_aggregate_metadata (
    created_at   DATETIME,
    updated_at   DATETIME,
    deleted_at   DATETIME,
    id           INTEGER      NOT NULL,
    aggregate_id INTEGER      NOT NULL,
    key          VARCHAR(255) NOT NULL,
    value        VARCHAR(255) NOT NULL,
    deleted      INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_aggregates (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER      NOT NULL,
    name       VARCHAR(255),
    deleted    INTEGER,
    uuid       VARCHAR(36),
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_block_device_mapping (
    created_at            DATETIME,
    updated_at            DATETIME,
    deleted_at            DATETIME,
    id                    INTEGER      NOT NULL,
    device_name           VARCHAR(255),
    delete_on_termination BOOLEAN,
    snapshot_id           VARCHAR(36),
    volume_id             VARCHAR(36),
    volume_size           INTEGER,
    no_device             BOOLEAN,
    connection_info       TEXT,
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
);

CREATE TABLE IF NOT EXISTS shadow_bw_usage_cache (
    created_at     DATETIME,
    updated_at     DATETIME,
    deleted_at     DATETIME,
    id             INTEGER      NOT NULL,
    start_period   DATETIME     NOT NULL,
    last_refreshed DATETIME,
    bw_in          BIGINT,
    bw_out         BIGINT,
    mac            VARCHAR(255),
    uuid           VARCHAR(36),
    last_ctr_in    BIGINT,
    last_ctr_out   BIGINT,
    deleted        INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_cells (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    api_url       VARCHAR(255),
    weight_offset FLOAT,
    weight_scale  FLOAT,
    name          VARCHAR(255),
    is_parent     BOOLEAN,
    deleted       INTEGER,
    transport_url VARCHAR(255) NOT NULL,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_certificates (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER      NOT NULL,
    user_id    VARCHAR(255),
    project_id VARCHAR(255),
    file_name  VARCHAR(255),
    deleted    INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_compute_nodes (
    created_at            DATETIME,
    updated_at            DATETIME,
    deleted_at            DATETIME,
    id                    INTEGER      NOT NULL,
    service_id            INTEGER,
    vcpus                 INTEGER      NOT NULL,
    memory_mb             INTEGER      NOT NULL,
    local_gb              INTEGER      NOT NULL,
    vcpus_used            INTEGER      NOT NULL,
    memory_mb_used        INTEGER      NOT NULL,
    local_gb_used         INTEGER      NOT NULL,
    hypervisor_type       TEXT         NOT NULL,
    hypervisor_version    INTEGER      NOT NULL,
    cpu_info              TEXT         NOT NULL,
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
    ram_allocation_ratio  FLOAT,
    cpu_allocation_ratio  FLOAT,
    uuid                  VARCHAR(36),
    disk_allocation_ratio FLOAT,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_console_pools (
    created_at      DATETIME,
    updated_at      DATETIME,
    deleted_at      DATETIME,
    id              INTEGER      NOT NULL,
    address         VARCHAR(39),
    username        VARCHAR(255),
    password        VARCHAR(255),
    console_type    VARCHAR(255),
    public_hostname VARCHAR(255),
    host            VARCHAR(255),
    compute_host    VARCHAR(255),
    deleted         INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_consoles (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    instance_name VARCHAR(255),
    password      VARCHAR(255),
    port          INTEGER,
    pool_id       INTEGER,
    instance_uuid VARCHAR(36),
    deleted       INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_dns_domains (
    created_at        DATETIME,
    updated_at        DATETIME,
    deleted_at        DATETIME,
    deleted           BOOLEAN,
    domain            VARCHAR(255) NOT NULL,
    scope             VARCHAR(255),
    availability_zone VARCHAR(255),
    project_id        VARCHAR(255),
    PRIMARY KEY (domain)
);

CREATE TABLE IF NOT EXISTS shadow_fixed_ips (
    created_at           DATETIME,
    updated_at           DATETIME,
    deleted_at           DATETIME,
    id                   INTEGER      NOT NULL,
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
);

CREATE TABLE IF NOT EXISTS shadow_floating_ips (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    address       VARCHAR(39),
    fixed_ip_id   INTEGER,
    project_id    VARCHAR(255),
    host          VARCHAR(255),
    auto_assigned BOOLEAN,
    pool          VARCHAR(255),
    interface     VARCHAR(255),
    deleted       INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_instance_actions (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    action        VARCHAR(255),
    instance_uuid VARCHAR(36),
    request_id    VARCHAR(255),
    user_id       VARCHAR(255),
    project_id    VARCHAR(255),
    start_time    DATETIME,
    finish_time   DATETIME,
    message       VARCHAR(255),
    deleted       INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_instance_actions_events (
    created_at  DATETIME,
    updated_at  DATETIME,
    deleted_at  DATETIME,
    id          INTEGER      NOT NULL,
    event       VARCHAR(255),
    action_id   INTEGER,
    start_time  DATETIME,
    finish_time DATETIME,
    result      VARCHAR(255),
    traceback   TEXT,
    deleted     INTEGER,
    host        VARCHAR(255),
    details     TEXT,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_instance_extra (
    created_at        DATETIME,
    updated_at        DATETIME,
    deleted_at        DATETIME,
    deleted           INTEGER,
    id                INTEGER     NOT NULL,
    instance_uuid     VARCHAR(36) NOT NULL,
    numa_topology     TEXT,
    pci_requests      TEXT,
    flavor            TEXT,
    vcpu_model        TEXT,
    migration_context TEXT,
    keypairs          TEXT,
    device_metadata   TEXT,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS shadow_instance_extra_idx ON shadow_instance_extra (instance_uuid);

CREATE TABLE IF NOT EXISTS shadow_instance_faults (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    instance_uuid VARCHAR(36),
    code          INTEGER      NOT NULL,
    message       VARCHAR(255),
    details       TEXT,
    host          VARCHAR(255),
    deleted       INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_instance_group_member (
    created_at  DATETIME,
    updated_at  DATETIME,
    deleted_at  DATETIME,
    deleted     INTEGER,
    id          INTEGER      NOT NULL,
    instance_id VARCHAR(255),
    group_id    INTEGER      NOT NULL,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_instance_group_policy (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    INTEGER,
    id         INTEGER      NOT NULL,
    policy     VARCHAR(255),
    group_id   INTEGER      NOT NULL,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_instance_groups (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    INTEGER,
    id         INTEGER      NOT NULL,
    user_id    VARCHAR(255),
    project_id VARCHAR(255),
    uuid       VARCHAR(36)  NOT NULL,
    name       VARCHAR(255),
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_instance_id_mappings (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER     NOT NULL,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_instance_info_caches (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER     NOT NULL,
    network_info  TEXT,
    instance_uuid VARCHAR(36) NOT NULL,
    deleted       INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_instance_metadata (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    key           VARCHAR(255),
    value         VARCHAR(255),
    instance_uuid VARCHAR(36),
    deleted       INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_instance_system_metadata (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    instance_uuid VARCHAR(36)  NOT NULL,
    key           VARCHAR(255) NOT NULL,
    value         VARCHAR(255),
    deleted       INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_instance_type_extra_specs (
    created_at       DATETIME,
    updated_at       DATETIME,
    deleted_at       DATETIME,
    id               INTEGER      NOT NULL,
    instance_type_id INTEGER      NOT NULL,
    key              VARCHAR(255),
    value            VARCHAR(255),
    deleted          INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_instance_type_projects (
    created_at       DATETIME,
    updated_at       DATETIME,
    deleted_at       DATETIME,
    id               INTEGER      NOT NULL,
    instance_type_id INTEGER      NOT NULL,
    project_id       VARCHAR(255),
    deleted          INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_instance_types (
    created_at   DATETIME,
    updated_at   DATETIME,
    deleted_at   DATETIME,
    name         VARCHAR(255),
    id           INTEGER      NOT NULL,
    memory_mb    INTEGER      NOT NULL,
    vcpus        INTEGER      NOT NULL,
    swap         INTEGER      NOT NULL,
    vcpu_weight  INTEGER,
    flavorid     VARCHAR(255),
    rxtx_factor  FLOAT,
    root_gb      INTEGER,
    ephemeral_gb INTEGER,
    disabled     BOOLEAN,
    is_public    BOOLEAN,
    deleted      INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_instances (
    created_at               DATETIME,
    updated_at               DATETIME,
    deleted_at               DATETIME,
    id                       INTEGER      NOT NULL,
    internal_id              INTEGER,
    user_id                  VARCHAR(255),
    project_id               VARCHAR(255),
    image_ref                VARCHAR(255),
    kernel_id                VARCHAR(255),
    ramdisk_id               VARCHAR(255),
    launch_index             INTEGER,
    key_name                 VARCHAR(255),
    key_data                 TEXT,
    power_state              INTEGER,
    vm_state                 VARCHAR(255),
    memory_mb                INTEGER,
    vcpus                    INTEGER,
    hostname                 VARCHAR(255),
    host                     VARCHAR(255),
    user_data                TEXT,
    reservation_id           VARCHAR(255),
    scheduled_at             DATETIME,
    launched_at              DATETIME,
    terminated_at            DATETIME,
    display_name             VARCHAR(255),
    display_description      VARCHAR(255),
    availability_zone        VARCHAR(255),
    locked                   BOOLEAN,
    os_type                  VARCHAR(255),
    launched_on              TEXT,
    instance_type_id         INTEGER,
    vm_mode                  VARCHAR(255),
    uuid                     VARCHAR(36)  NOT NULL,
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
    locked_by                VARCHAR(5)    CONSTRAINT shadow_instances0locked_by CHECK (locked_by IN ('owner', 'admin')),
    cleaned                  INTEGER,
    ephemeral_key_uuid       VARCHAR(36),
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_key_pairs (
    created_at  DATETIME,
    updated_at  DATETIME,
    deleted_at  DATETIME,
    id          INTEGER      NOT NULL,
    name        VARCHAR(255),
    user_id     VARCHAR(255),
    fingerprint VARCHAR(255),
    public_key  TEXT,
    deleted     INTEGER,
    type        VARCHAR(4)   NOT NULL DEFAULT 'ssh' CONSTRAINT keypair_types CHECK (type IN ('ssh', 'x509')),
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_migrations (
    created_at           DATETIME,
    updated_at           DATETIME,
    deleted_at           DATETIME,
    id                   INTEGER      NOT NULL,
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
    migration_type       VARCHAR(14)   CONSTRAINT migration_type CHECK (migration_type IN ('migration', 'resize', 'live-migration', 'evacuation')),
    hidden               BOOLEAN,
    memory_total         BIGINT,
    memory_processed     BIGINT,
    memory_remaining     BIGINT,
    disk_total           BIGINT,
    disk_processed       BIGINT,
    disk_remaining       BIGINT,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_networks (
    created_at          DATETIME,
    updated_at          DATETIME,
    deleted_at          DATETIME,
    id                  INTEGER      NOT NULL,
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
);

CREATE TABLE IF NOT EXISTS shadow_pci_devices (
    created_at      DATETIME,
    updated_at      DATETIME,
    deleted_at      DATETIME,
    deleted         INTEGER      NOT NULL,
    id              INTEGER      NOT NULL,
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
);

CREATE TABLE IF NOT EXISTS shadow_project_user_quotas (
    id         INTEGER      NOT NULL,
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    INTEGER,
    user_id    VARCHAR(255) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    resource   VARCHAR(255) NOT NULL,
    hard_limit INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_provider_fw_rules (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER     NOT NULL,
    protocol   VARCHAR(5),
    from_port  INTEGER,
    to_port    INTEGER,
    cidr       VARCHAR(43),
    deleted    INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_quota_classes (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER      NOT NULL,
    class_name VARCHAR(255),
    resource   VARCHAR(255),
    hard_limit INTEGER,
    deleted    INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_quota_usages (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    project_id    VARCHAR(255),
    resource      VARCHAR(255),
    in_use        INTEGER      NOT NULL,
    reserved      INTEGER      NOT NULL,
    until_refresh INTEGER,
    deleted       INTEGER,
    user_id       VARCHAR(255),
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_quotas (
    id         INTEGER      NOT NULL,
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    project_id VARCHAR(255),
    resource   VARCHAR(255) NOT NULL,
    hard_limit INTEGER,
    deleted    INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_reservations (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER      NOT NULL,
    uuid       VARCHAR(36)  NOT NULL,
    usage_id   INTEGER      NOT NULL,
    project_id VARCHAR(255),
    resource   VARCHAR(255),
    delta      INTEGER      NOT NULL,
    expire     DATETIME,
    deleted    INTEGER,
    user_id    VARCHAR(255),
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_s3_images (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER     NOT NULL,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_security_group_default_rules (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted    INTEGER,
    id         INTEGER     NOT NULL,
    protocol   VARCHAR(5),
    from_port  INTEGER,
    to_port    INTEGER,
    cidr       VARCHAR(43),
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_security_group_instance_association (
    created_at        DATETIME,
    updated_at        DATETIME,
    deleted_at        DATETIME,
    id                INTEGER     NOT NULL,
    security_group_id INTEGER,
    instance_uuid     VARCHAR(36),
    deleted           INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_security_group_rules (
    created_at      DATETIME,
    updated_at      DATETIME,
    deleted_at      DATETIME,
    id              INTEGER      NOT NULL,
    parent_group_id INTEGER,
    protocol        VARCHAR(255),
    from_port       INTEGER,
    to_port         INTEGER,
    cidr            VARCHAR(43),
    group_id        INTEGER,
    deleted         INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_security_groups (
    created_at  DATETIME,
    updated_at  DATETIME,
    deleted_at  DATETIME,
    id          INTEGER      NOT NULL,
    name        VARCHAR(255),
    description VARCHAR(255),
    user_id     VARCHAR(255),
    project_id  VARCHAR(255),
    deleted     INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_services (
    created_at      DATETIME,
    updated_at      DATETIME,
    deleted_at      DATETIME,
    id              INTEGER      NOT NULL,
    host            VARCHAR(255),
    "binary"        VARCHAR(255),
    topic           VARCHAR(255),
    report_count    INTEGER      NOT NULL,
    disabled        BOOLEAN,
    deleted         INTEGER,
    disabled_reason VARCHAR(255),
    last_seen_up    DATETIME,
    forced_down     BOOLEAN,
    version         INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_snapshot_id_mappings (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER     NOT NULL,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_snapshots (
    created_at          DATETIME,
    updated_at          DATETIME,
    deleted_at          DATETIME,
    id                  VARCHAR(36)  NOT NULL,
    volume_id           VARCHAR(36)  NOT NULL,
    user_id             VARCHAR(255),
    project_id          VARCHAR(255),
    status              VARCHAR(255),
    progress            VARCHAR(255),
    volume_size         INTEGER,
    scheduled_at        DATETIME,
    display_name        VARCHAR(255),
    display_description VARCHAR(255),
    deleted             VARCHAR(36),
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_task_log (
    created_at       DATETIME,
    updated_at       DATETIME,
    deleted_at       DATETIME,
    id               INTEGER      NOT NULL,
    task_name        VARCHAR(255) NOT NULL,
    state            VARCHAR(255) NOT NULL,
    host             VARCHAR(255) NOT NULL,
    period_beginning DATETIME     NOT NULL,
    period_ending    DATETIME     NOT NULL,
    message          VARCHAR(255) NOT NULL,
    task_items       INTEGER,
    errors           INTEGER,
    deleted          INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_virtual_interfaces (
    created_at    DATETIME,
    updated_at    DATETIME,
    deleted_at    DATETIME,
    id            INTEGER      NOT NULL,
    address       VARCHAR(255),
    network_id    INTEGER,
    uuid          VARCHAR(36),
    instance_uuid VARCHAR(36),
    deleted       INTEGER,
    tag           VARCHAR(255),
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_volume_id_mappings (
    created_at DATETIME,
    updated_at DATETIME,
    deleted_at DATETIME,
    id         INTEGER     NOT NULL,
    uuid       VARCHAR(36) NOT NULL,
    deleted    INTEGER,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS shadow_volume_usage_cache (
    created_at          DATETIME,
    updated_at          DATETIME,
    deleted_at          DATETIME,
    id                  INTEGER      NOT NULL,
    volume_id           VARCHAR(36)  NOT NULL,
    tot_last_refreshed  DATETIME,
    tot_reads           BIGINT,
    tot_read_bytes      BIGINT,
    tot_writes          BIGINT,
    tot_write_bytes     BIGINT,
    curr_last_refreshed DATETIME,
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
);

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
WHERE NOT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrate_version')
  AND NOT EXISTS (SELECT 1 FROM instance_types);
