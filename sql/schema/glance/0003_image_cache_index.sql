-- rawdb's index for the shared image cache (spec glance.md E.3): every cache call of a node
-- reads its own rows (list, least recently accessed, delete all), and glance's only index
-- on cached_images leads with image_id.
CREATE INDEX IF NOT EXISTS ix_cached_images_node_last_accessed
    ON cached_images (node_reference_id, last_accessed, image_id);
