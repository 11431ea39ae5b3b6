-- rawdb's additions to glance's schema (spec glance.md G.6, G.7), the same on every dialect:
-- live-row uniqueness that glance's constraints cannot express, and indexes for listings.

-- G.6: UNIQUE (image_id, member, deleted_at) lets two live rows in, because NULLs are
-- distinct; image_tags has no uniqueness at all.  Only live rows must be unique.
CREATE UNIQUE INDEX IF NOT EXISTS uq_image_members_image_id_member_live
    ON image_members (image_id, member) WHERE NOT deleted;
CREATE UNIQUE INDEX IF NOT EXISTS uq_image_tags_image_id_value_live
    ON image_tags (image_id, value) WHERE NOT deleted;

-- G.7: the images shared with a project (the membership branch of a non-admin listing).
CREATE INDEX IF NOT EXISTS ix_image_members_member_live
    ON image_members (member, status, image_id) WHERE NOT deleted;
-- G.7: images carrying a tag (tag filters).
CREATE INDEX IF NOT EXISTS ix_image_tags_value_live
    ON image_tags (value, image_id) WHERE NOT deleted;
-- G.7: images carrying a property value (property filters).  The value is TEXT of any
-- length, so the index holds a prefix: a btree entry cannot exceed ~2.7 kB.
CREATE INDEX IF NOT EXISTS ix_image_properties_name_value_live
    ON image_properties (name, substr(value, 1, 100)) WHERE NOT deleted;
-- G.7: keyset pages in (created_at, id) order, the default listing order.
CREATE INDEX IF NOT EXISTS ix_images_created_at_id ON images (created_at, id);
