-- rawdb's additions to glance's schema (spec glance.md G.6, G.7), for MariaDB/MySQL, which
-- has no partial (`WHERE NOT deleted`) or expression indexes (spec mariadb.md 2.13).  This
-- replaces ../0002_rawdb_indexes.sql on this dialect; the index names are the same.

-- G.6: UNIQUE (image_id, member, deleted_at) lets two live rows in, because NULLs are
-- distinct; image_tags has no uniqueness at all.  Only live rows must be unique.  A VIRTUAL
-- column holds the key on a live row and is NULL on a deleted one, and NULLs never collide,
-- so the unique key admits one live row and any number of deleted ones.  The column is
-- computed, never written: no rawdb statement names it (MariaDB refuses a value for it,
-- error 1906), and it is not in glance's models.  Its collation is explicit because on a
-- table glance made (utf8mb3_general_ci) 'Bob' and 'bob' would otherwise be one member.
ALTER TABLE image_members ADD COLUMN IF NOT EXISTS live_member VARCHAR(255)
    CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin AS (IF(deleted = 0, member, NULL)) VIRTUAL;
-- On a database glance made, live duplicates glance let in make the unique key fail (1062,
-- naming it), as on PostgreSQL: remove them and bootstrap again (the column stays, and
-- ADD COLUMN IF NOT EXISTS passes over it).
CREATE UNIQUE INDEX IF NOT EXISTS uq_image_members_image_id_member_live
    ON image_members (image_id, live_member);
ALTER TABLE image_tags ADD COLUMN IF NOT EXISTS live_value VARCHAR(255)
    CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin AS (IF(deleted = 0, value, NULL)) VIRTUAL;
CREATE UNIQUE INDEX IF NOT EXISTS uq_image_tags_image_id_value_live
    ON image_tags (image_id, live_value);

-- The next three are partial indexes on the other dialects: here they cover every row, with
-- deleted as the last column.  MariaDB turns `NOT deleted` into `deleted = 0` and checks it
-- inside the index, so deleted rows cost index entries but are never read.

-- G.7: the images shared with a project (the membership branch of a non-admin listing).
CREATE INDEX IF NOT EXISTS ix_image_members_member_live
    ON image_members (member, status, image_id, deleted);
-- G.7: images carrying a tag (tag filters).
CREATE INDEX IF NOT EXISTS ix_image_tags_value_live
    ON image_tags (value, image_id, deleted);
-- G.7: images carrying a property value (property filters).  The value is TEXT of any
-- length, so the index holds its first 100 characters, as substr(value, 1, 100) does on the
-- other dialects; MariaDB uses a prefix index for `value = :v` itself.
CREATE INDEX IF NOT EXISTS ix_image_properties_name_value_live
    ON image_properties (name, value(100), deleted);
-- G.7: keyset pages in (created_at, id) order, the default listing order.
CREATE INDEX IF NOT EXISTS ix_images_created_at_id ON images (created_at, id);
