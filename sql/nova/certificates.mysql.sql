-- MySQL has no INSERT ... RETURNING (MariaDB has; MySQL 8 has not): the row is read back in the
-- same transaction by LAST_INSERT_ID() (this connection's own).

-- name: certificate_create
-- Record a certificate.
INSERT INTO certificates (user_id, project_id, file_name, created_at, updated_at, deleted)
VALUES (:user_id, :project_id, :file_name, :created_at, :updated_at, 0)

-- name: certificate_read_back
-- A certificate by :id, or (:id NULL) the one this connection inserted last.
SELECT id, user_id, project_id, file_name, created_at, updated_at, deleted_at, deleted
FROM certificates
WHERE id = coalesce(:id, LAST_INSERT_ID())
