-- Glance's image tables and the centralized image-cache tables, column for column as
-- glance's models create them (glance HEAD, alembic head 2024_1_contract01).
-- IF NOT EXISTS throughout: bootstrapping a database glance-manage already made adopts it.

DO $$
BEGIN
    CREATE TYPE image_visibility AS ENUM ('private', 'public', 'shared', 'community');
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE TABLE IF NOT EXISTS images (
    id               VARCHAR(36)  NOT NULL,
    name             VARCHAR(255),
    disk_format      VARCHAR(20),
    container_format VARCHAR(20),
    size             BIGINT,
    virtual_size     BIGINT,
    status           VARCHAR(30)  NOT NULL,
    visibility       image_visibility NOT NULL DEFAULT 'shared',
    checksum         VARCHAR(32),
    os_hash_algo     VARCHAR(64),
    os_hash_value    VARCHAR(128),
    min_disk         INTEGER      NOT NULL,
    min_ram          INTEGER      NOT NULL,
    owner            VARCHAR(255),
    protected        BOOLEAN      NOT NULL DEFAULT false,
    os_hidden        BOOLEAN      NOT NULL DEFAULT false,
    created_at       TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    updated_at       TIMESTAMP WITHOUT TIME ZONE,
    deleted_at       TIMESTAMP WITHOUT TIME ZONE,
    deleted          BOOLEAN      NOT NULL,
    CONSTRAINT images_pkey PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS checksum_image_idx ON images (checksum);
CREATE INDEX IF NOT EXISTS visibility_image_idx ON images (visibility);
CREATE INDEX IF NOT EXISTS ix_images_deleted ON images (deleted);
CREATE INDEX IF NOT EXISTS owner_image_idx ON images (owner);
CREATE INDEX IF NOT EXISTS created_at_image_idx ON images (created_at);
CREATE INDEX IF NOT EXISTS updated_at_image_idx ON images (updated_at);
CREATE INDEX IF NOT EXISTS os_hidden_image_idx ON images (os_hidden);
CREATE INDEX IF NOT EXISTS os_hash_value_image_idx ON images (os_hash_value);

CREATE TABLE IF NOT EXISTS image_properties (
    id         SERIAL       NOT NULL,
    image_id   VARCHAR(36)  NOT NULL,
    name       VARCHAR(255) NOT NULL,
    value      TEXT,
    created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITHOUT TIME ZONE,
    deleted_at TIMESTAMP WITHOUT TIME ZONE,
    deleted    BOOLEAN      NOT NULL,
    CONSTRAINT image_properties_pkey PRIMARY KEY (id),
    CONSTRAINT image_properties_image_id_fkey FOREIGN KEY (image_id) REFERENCES images (id),
    CONSTRAINT ix_image_properties_image_id_name UNIQUE (image_id, name)
);
CREATE INDEX IF NOT EXISTS ix_image_properties_image_id ON image_properties (image_id);
CREATE INDEX IF NOT EXISTS ix_image_properties_deleted ON image_properties (deleted);

CREATE TABLE IF NOT EXISTS image_locations (
    id         SERIAL      NOT NULL,
    image_id   VARCHAR(36) NOT NULL,
    value      TEXT        NOT NULL,
    meta_data  TEXT,
    status     VARCHAR(30) NOT NULL DEFAULT 'active',
    created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITHOUT TIME ZONE,
    deleted_at TIMESTAMP WITHOUT TIME ZONE,
    deleted    BOOLEAN     NOT NULL,
    CONSTRAINT image_locations_pkey PRIMARY KEY (id),
    CONSTRAINT image_locations_image_id_fkey FOREIGN KEY (image_id) REFERENCES images (id)
);
CREATE INDEX IF NOT EXISTS ix_image_locations_image_id ON image_locations (image_id);
CREATE INDEX IF NOT EXISTS ix_image_locations_deleted ON image_locations (deleted);

CREATE TABLE IF NOT EXISTS image_members (
    id         SERIAL       NOT NULL,
    image_id   VARCHAR(36)  NOT NULL,
    member     VARCHAR(255) NOT NULL,
    can_share  BOOLEAN      NOT NULL,
    status     VARCHAR(20)  NOT NULL DEFAULT 'pending',
    created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITHOUT TIME ZONE,
    deleted_at TIMESTAMP WITHOUT TIME ZONE,
    deleted    BOOLEAN      NOT NULL,
    CONSTRAINT image_members_pkey PRIMARY KEY (id),
    CONSTRAINT image_members_image_id_fkey FOREIGN KEY (image_id) REFERENCES images (id),
    CONSTRAINT image_members_image_id_member_deleted_at_key UNIQUE (image_id, member, deleted_at)
);
CREATE INDEX IF NOT EXISTS ix_image_members_deleted ON image_members (deleted);
CREATE INDEX IF NOT EXISTS ix_image_members_image_id ON image_members (image_id);
CREATE INDEX IF NOT EXISTS ix_image_members_image_id_member ON image_members (image_id, member);

CREATE TABLE IF NOT EXISTS image_tags (
    id         SERIAL       NOT NULL,
    image_id   VARCHAR(36)  NOT NULL,
    value      VARCHAR(255) NOT NULL,
    created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITHOUT TIME ZONE,
    deleted_at TIMESTAMP WITHOUT TIME ZONE,
    deleted    BOOLEAN      NOT NULL,
    CONSTRAINT image_tags_pkey PRIMARY KEY (id),
    CONSTRAINT image_tags_image_id_fkey FOREIGN KEY (image_id) REFERENCES images (id)
);
CREATE INDEX IF NOT EXISTS ix_image_tags_image_id ON image_tags (image_id);
CREATE INDEX IF NOT EXISTS ix_image_tags_image_id_tag_value ON image_tags (image_id, value);

CREATE TABLE IF NOT EXISTS node_reference (
    node_reference_id  BIGSERIAL    NOT NULL,
    node_reference_url VARCHAR(255) NOT NULL,
    CONSTRAINT node_reference_pkey PRIMARY KEY (node_reference_id),
    CONSTRAINT uq_node_reference_node_reference_url UNIQUE (node_reference_url)
);

CREATE TABLE IF NOT EXISTS cached_images (
    id                BIGSERIAL   NOT NULL,
    image_id          VARCHAR(36) NOT NULL,
    last_accessed     TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    last_modified     TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    size              BIGINT      NOT NULL,
    hits              INTEGER     NOT NULL,
    checksum          VARCHAR(32),
    node_reference_id BIGINT      NOT NULL,
    CONSTRAINT cached_images_pkey PRIMARY KEY (id),
    CONSTRAINT cached_images_node_reference_id_fkey
        FOREIGN KEY (node_reference_id) REFERENCES node_reference (node_reference_id),
    CONSTRAINT ix_cached_images_image_id_node_reference_id UNIQUE (image_id, node_reference_id)
);
