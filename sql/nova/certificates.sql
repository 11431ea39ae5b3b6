-- Certificates (nova 14.0.0): the x509 files nova-cert signed, by user and project.

-- name: certificate_create
-- Record a certificate.
INSERT INTO certificates (user_id, project_id, file_name, created_at, updated_at, deleted)
VALUES (:user_id, :project_id, :file_name, :created_at, :updated_at, 0)
RETURNING id, user_id, project_id, file_name, created_at, updated_at, deleted_at, deleted

-- name: certificate_read_back
-- A certificate by id, whatever its state (read back after an insert on MySQL, with :id NULL for the last insert).
SELECT id, user_id, project_id, file_name, created_at, updated_at, deleted_at, deleted
FROM certificates
WHERE id = :id

-- name: certificate_get_all_by_project
-- The project's live certificates, oldest first.
SELECT id, user_id, project_id, file_name, created_at, updated_at, deleted_at, deleted
FROM certificates
WHERE project_id = :project_id AND deleted = 0
ORDER BY id

-- name: certificate_get_all_by_user
-- The user's live certificates, oldest first.
SELECT id, user_id, project_id, file_name, created_at, updated_at, deleted_at, deleted
FROM certificates
WHERE user_id = :user_id AND deleted = 0
ORDER BY id

-- name: certificate_get_all_by_user_and_project
-- The user's live certificates in the project, oldest first.
SELECT id, user_id, project_id, file_name, created_at, updated_at, deleted_at, deleted
FROM certificates
WHERE user_id = :user_id AND project_id = :project_id AND deleted = 0
ORDER BY id
