-- DNS domains (nova 14.0.0, with 2013.1's dnsdomain_list): a domain registered for an availability zone
-- (scope 'private') or a project (scope 'public').  The primary key is the domain alone and deleted is a
-- BOOLEAN (no id to write into it); registering is one upsert on the key, unregistering a real DELETE.

-- name: dnsdomain_get
-- A live domain.
SELECT domain, scope, availability_zone, project_id, created_at, updated_at, deleted_at, deleted
FROM dns_domains
WHERE domain = :domain AND NOT deleted

-- name: dnsdomain_get_all
-- Every live domain, in domain order.
SELECT domain, scope, availability_zone, project_id, created_at, updated_at, deleted_at, deleted
FROM dns_domains
WHERE NOT deleted
ORDER BY domain

-- name: dnsdomain_register_for_zone
-- Register a domain for an availability zone (scope 'private'); a live domain keeps its project, and its
-- updated_at unless something changes; a soft-deleted one is registered anew.
INSERT INTO dns_domains (domain, scope, availability_zone, project_id, created_at, updated_at, deleted_at, deleted)
VALUES (:domain, 'private', :zone, NULL, :now, NULL, NULL, FALSE)
ON CONFLICT (domain) DO UPDATE
SET created_at = CASE WHEN dns_domains.deleted THEN :now ELSE dns_domains.created_at END,
    updated_at = CASE WHEN dns_domains.deleted THEN NULL
                      WHEN dns_domains.scope = 'private'
                           AND (dns_domains.availability_zone = :zone
                                OR (dns_domains.availability_zone IS NULL AND :zone IS NULL))
                      THEN dns_domains.updated_at
                      ELSE :now END,
    project_id = CASE WHEN dns_domains.deleted THEN NULL ELSE dns_domains.project_id END,
    scope = 'private',
    availability_zone = :zone,
    deleted_at = NULL,
    deleted = FALSE

-- name: dnsdomain_register_for_project
-- Register a domain for a project (scope 'public'); a live domain keeps its availability zone, and its
-- updated_at unless something changes; a soft-deleted one is registered anew.
INSERT INTO dns_domains (domain, scope, availability_zone, project_id, created_at, updated_at, deleted_at, deleted)
VALUES (:domain, 'public', NULL, :project, :now, NULL, NULL, FALSE)
ON CONFLICT (domain) DO UPDATE
SET created_at = CASE WHEN dns_domains.deleted THEN :now ELSE dns_domains.created_at END,
    updated_at = CASE WHEN dns_domains.deleted THEN NULL
                      WHEN dns_domains.scope = 'public'
                           AND (dns_domains.project_id = :project
                                OR (dns_domains.project_id IS NULL AND :project IS NULL))
                      THEN dns_domains.updated_at
                      ELSE :now END,
    availability_zone = CASE WHEN dns_domains.deleted THEN NULL ELSE dns_domains.availability_zone END,
    scope = 'public',
    project_id = :project,
    deleted_at = NULL,
    deleted = FALSE

-- name: dnsdomain_unregister
-- Delete a domain for good (nova's query honours the context's read_deleted).
DELETE FROM dns_domains WHERE domain = :domain AND READ_DELETED(deleted, bool)
