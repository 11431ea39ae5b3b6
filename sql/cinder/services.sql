-- Cinder's services (cinder/db/sqlalchemy/api.py at 2012.2): the services table's columns, nothing
-- joined.  Cinder's soft delete is boolean (deleted true, deleted_at set).

-- name: service_get
-- A service by id, live or deleted as :read_deleted says.
SELECT id, host, "binary", topic, report_count, disabled, availability_zone, created_at, updated_at, deleted_at,
       deleted
FROM services
WHERE id = :service_id AND READ_DELETED(deleted, bool)

-- name: service_read_back
-- A service by :id, deleted or not (MySQL reads a new service back with this statement, by
-- LAST_INSERT_ID() for :id NULL; the other backends have INSERT ... RETURNING).
SELECT id, host, "binary", topic, report_count, disabled, availability_zone, created_at, updated_at, deleted_at,
       deleted
FROM services
WHERE id = :id

-- name: service_get_all
-- Every service visible as :read_deleted says, only the (not) disabled ones when :disabled is given.
SELECT id, host, "binary", topic, report_count, disabled, availability_zone, created_at, updated_at, deleted_at,
       deleted
FROM services
WHERE READ_DELETED(deleted, bool) AND (disabled = :disabled OR :disabled IS NULL)
ORDER BY id

-- name: service_get_all_by_topic
-- The live, enabled services listening on a topic.
SELECT id, host, "binary", topic, report_count, disabled, availability_zone, created_at, updated_at, deleted_at,
       deleted
FROM services
WHERE topic = :topic AND disabled = FALSE AND NOT deleted
ORDER BY id

-- name: service_get_by_host_and_topic
-- The (first) live, enabled service of a host listening on a topic.
SELECT id, host, "binary", topic, report_count, disabled, availability_zone, created_at, updated_at, deleted_at,
       deleted
FROM services
WHERE host = :host AND topic = :topic AND disabled = FALSE AND NOT deleted
ORDER BY id
LIMIT 1

-- name: service_get_all_by_host
-- The live services of a host.
SELECT id, host, "binary", topic, report_count, disabled, availability_zone, created_at, updated_at, deleted_at,
       deleted
FROM services
WHERE host = :host AND NOT deleted
ORDER BY id

-- name: service_get_all_volume_sorted
-- The live, enabled services listening on :topic, each with the gigabytes of the live volumes on
-- its host (volume_gigabytes: the raw SUM, NULL for a host without volumes; gigabytes: 0 then),
-- ordered by the raw sum with NULLs first on every backend (as Folsom did on SQLite and MySQL;
-- PostgreSQL alone puts them last by default), ties by service id.
SELECT s.id, s.host, s."binary", s.topic, s.report_count, s.disabled, s.availability_zone, s.created_at,
       s.updated_at, s.deleted_at, s.deleted,
       COALESCE(v.volume_gigabytes, 0) AS gigabytes
FROM services s
LEFT JOIN (SELECT host, SUM(size) AS volume_gigabytes
           FROM volumes
           WHERE NOT deleted
           GROUP BY host) v ON v.host = s.host
WHERE s.topic = :topic AND s.disabled = FALSE AND NOT s.deleted
ORDER BY CASE WHEN v.volume_gigabytes IS NULL THEN 0 ELSE 1 END, v.volume_gigabytes, s.id

-- name: service_get_by_args
-- The (first) service of a host running a binary, live or deleted as :read_deleted says.
SELECT id, host, "binary", topic, report_count, disabled, availability_zone, created_at, updated_at, deleted_at,
       deleted
FROM services
WHERE host = :host AND "binary" = :binary AND READ_DELETED(deleted, bool)
ORDER BY id
LIMIT 1

-- name: service_create
-- Create a service, live; the model's defaults where the caller gives none (report_count 0,
-- enabled, availability zone 'cinder').  Cinder's services table has no unique key: a second
-- service of a host with the same binary or topic is simply another row, as in Folsom.
INSERT INTO services (host, "binary", topic, report_count, disabled, availability_zone, created_at, updated_at,
                      deleted_at, deleted)
VALUES (:host, :binary, :topic, COALESCE(:report_count, 0), COALESCE(:disabled, FALSE),
        COALESCE(:availability_zone, 'cinder'), :created_at, :updated_at, :deleted_at, FALSE)
RETURNING id, host, "binary", topic, report_count, disabled, availability_zone, created_at, updated_at, deleted_at,
          deleted

-- name: service_update
-- Change the columns the caller gave (a column whose :set_ flag is false keeps its value) of a
-- service visible as :read_deleted says, and set updated_at.
UPDATE services
SET host = CASE WHEN :set_host THEN :host ELSE host END,
    "binary" = CASE WHEN :set_binary THEN :binary ELSE "binary" END,
    topic = CASE WHEN :set_topic THEN :topic ELSE topic END,
    report_count = CASE WHEN :set_report_count THEN :report_count ELSE report_count END,
    disabled = CASE WHEN :set_disabled THEN :disabled ELSE disabled END,
    availability_zone = CASE WHEN :set_availability_zone THEN :availability_zone ELSE availability_zone END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    deleted_at = CASE WHEN :set_deleted_at THEN :deleted_at ELSE deleted_at END,
    updated_at = :updated_at
WHERE id = :service_id AND READ_DELETED(deleted, bool)

-- name: service_destroy
-- Soft-delete a service visible as :read_deleted says as Folsom's model delete() did (updated_at
-- bumped too).
UPDATE services SET SOFT_DELETE(bool, object)
WHERE id = :service_id AND READ_DELETED(deleted, bool)
