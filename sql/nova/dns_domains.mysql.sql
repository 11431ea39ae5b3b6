-- MySQL spells the upsert ON DUPLICATE KEY UPDATE, whose assignments run left to right, each seeing the ones
-- before it: the columns that depend on the old row come first, deleted last.

-- name: dnsdomain_register_for_zone
-- Register a domain for an availability zone (scope 'private'); a live domain keeps its project, and its
-- updated_at unless something changes; a soft-deleted one is registered anew.
INSERT INTO dns_domains (domain, scope, availability_zone, project_id, created_at, updated_at, deleted_at, deleted)
VALUES (:domain, 'private', :zone, NULL, :now, NULL, NULL, FALSE)
ON DUPLICATE KEY UPDATE
    updated_at = CASE WHEN deleted THEN NULL
                      WHEN scope = 'private'
                           AND (availability_zone = :zone OR (availability_zone IS NULL AND :zone IS NULL))
                      THEN updated_at
                      ELSE :now END,
    created_at = CASE WHEN deleted THEN :now ELSE created_at END,
    project_id = CASE WHEN deleted THEN NULL ELSE project_id END,
    scope = 'private',
    availability_zone = :zone,
    deleted_at = NULL,
    deleted = FALSE

-- name: dnsdomain_register_for_project
-- Register a domain for a project (scope 'public'); a live domain keeps its availability zone, and its
-- updated_at unless something changes; a soft-deleted one is registered anew.
INSERT INTO dns_domains (domain, scope, availability_zone, project_id, created_at, updated_at, deleted_at, deleted)
VALUES (:domain, 'public', NULL, :project, :now, NULL, NULL, FALSE)
ON DUPLICATE KEY UPDATE
    updated_at = CASE WHEN deleted THEN NULL
                      WHEN scope = 'public'
                           AND (project_id = :project OR (project_id IS NULL AND :project IS NULL))
                      THEN updated_at
                      ELSE :now END,
    created_at = CASE WHEN deleted THEN :now ELSE created_at END,
    availability_zone = CASE WHEN deleted THEN NULL ELSE availability_zone END,
    scope = 'public',
    project_id = :project,
    deleted_at = NULL,
    deleted = FALSE
