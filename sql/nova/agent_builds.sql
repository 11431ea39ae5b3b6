-- Agent builds (nova 14.0.0): the guest agent to install, by hypervisor, os and architecture.
-- The unique key (hypervisor, os, architecture, deleted) admits one live build per triple.

-- name: agent_build_create
-- Insert an agent build; the unique key refuses a second live one for the same triple.
INSERT INTO agent_builds (hypervisor, os, architecture, version, url, md5hash, created_at, updated_at, deleted)
VALUES (:hypervisor, :os, :architecture, :version, :url, :md5hash, :created_at, :updated_at, 0)
RETURNING id, hypervisor, os, architecture, version, url, md5hash, created_at, updated_at, deleted_at, deleted

-- name: agent_build_read_back
-- An agent build by id, whatever its state (read back after an insert on MySQL, with :id NULL for the last insert).
SELECT id, hypervisor, os, architecture, version, url, md5hash, created_at, updated_at, deleted_at, deleted
FROM agent_builds
WHERE id = :id

-- name: agent_build_get
-- An agent build by id, live or deleted.
SELECT id, hypervisor, os, architecture, version, url, md5hash, created_at, updated_at, deleted_at, deleted
FROM agent_builds
WHERE id = :id

-- name: agent_build_get_by_triple
-- The oldest live agent build for the triple (a NULL parameter matches a NULL column, as filter_by(x=None)).
SELECT id, hypervisor, os, architecture, version, url, md5hash, created_at, updated_at, deleted_at, deleted
FROM agent_builds
WHERE deleted = 0
  AND (hypervisor = :hypervisor OR (hypervisor IS NULL AND :hypervisor IS NULL))
  AND (os = :os OR (os IS NULL AND :os IS NULL))
  AND (architecture = :architecture OR (architecture IS NULL AND :architecture IS NULL))
ORDER BY id
LIMIT 1

-- name: agent_build_get_all
-- The live agent builds, only :hypervisor's unless it is NULL, oldest first.
SELECT id, hypervisor, os, architecture, version, url, md5hash, created_at, updated_at, deleted_at, deleted
FROM agent_builds
WHERE deleted = 0 AND (hypervisor = :hypervisor OR :hypervisor IS NULL)
ORDER BY id

-- name: agent_build_destroy
-- Soft-delete the agent build with this id if it is live (updated_at kept).
UPDATE agent_builds SET SOFT_DELETE(int, bulk)
WHERE id = :id AND deleted = 0

-- name: agent_build_update
-- Change the given columns of an agent build, live or deleted (a column whose :set_ flag is false
-- keeps its value), and set updated_at.
UPDATE agent_builds
SET hypervisor = CASE WHEN :set_hypervisor THEN :hypervisor ELSE hypervisor END,
    os = CASE WHEN :set_os THEN :os ELSE os END,
    architecture = CASE WHEN :set_architecture THEN :architecture ELSE architecture END,
    version = CASE WHEN :set_version THEN :version ELSE version END,
    url = CASE WHEN :set_url THEN :url ELSE url END,
    md5hash = CASE WHEN :set_md5hash THEN :md5hash ELSE md5hash END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = :id
