-- MySQL has no INSERT ... RETURNING (MariaDB has; MySQL 8 has not): a new service is read back in
-- the same transaction by LAST_INSERT_ID() (this connection's own).

-- name: service_create
-- Create a service, live; the model's defaults where the caller gives none (report_count 0,
-- enabled, availability zone 'cinder').  Cinder's services table has no unique key: a second
-- service of a host with the same binary or topic is simply another row, as in Folsom.
INSERT INTO services (host, "binary", topic, report_count, disabled, availability_zone, created_at, updated_at,
                      deleted_at, deleted)
VALUES (:host, :binary, :topic, COALESCE(:report_count, 0), COALESCE(:disabled, FALSE),
        COALESCE(:availability_zone, 'cinder'), :created_at, :updated_at, :deleted_at, FALSE)

-- name: service_read_back
-- A service by :id, or (:id NULL) the one this connection inserted last (after service_create).
SELECT id, host, "binary", topic, report_count, disabled, availability_zone, created_at, updated_at, deleted_at,
       deleted
FROM services
WHERE id = coalesce(:id, LAST_INSERT_ID())
