-- MySQL has no INSERT ... RETURNING (MariaDB has; MySQL 8 has not): the row is read back in the
-- same transaction by LAST_INSERT_ID() (this connection's own).

-- name: agent_build_create
-- Insert an agent build; the unique key refuses a second live one for the same triple.
INSERT INTO agent_builds (hypervisor, os, architecture, version, url, md5hash, created_at, updated_at, deleted)
VALUES (:hypervisor, :os, :architecture, :version, :url, :md5hash, :created_at, :updated_at, 0)

-- name: agent_build_read_back
-- An agent build by :id, or (:id NULL) the one this connection inserted last.
SELECT id, hypervisor, os, architecture, version, url, md5hash, created_at, updated_at, deleted_at, deleted
FROM agent_builds
WHERE id = coalesce(:id, LAST_INSERT_ID())
