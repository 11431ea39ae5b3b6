-- Nova's services (nova/db/sqlalchemy/api.py at 14.0.0, with 2013.1's service_get_by_args): the
-- services table's columns, nothing joined (Newton's Service model joins no compute node).

-- name: service_get
-- A service by id, live or deleted as :read_deleted says.
SELECT id, host, "binary", topic, report_count, disabled, disabled_reason, last_seen_up, forced_down, version,
       created_at, updated_at, deleted_at, deleted
FROM services
WHERE id = :service_id AND READ_DELETED(deleted, int)

-- name: service_read_back
-- A service by id, deleted or not (after a change in the same transaction).
SELECT id, host, "binary", topic, report_count, disabled, disabled_reason, last_seen_up, forced_down, version,
       created_at, updated_at, deleted_at, deleted
FROM services
WHERE id = :service_id

-- name: service_get_minimum_version
-- The lowest version each of some binaries runs at among the live services not forced down.
SELECT "binary", MIN(version) AS version
FROM services
WHERE "binary" = ANY(:binaries) AND forced_down = FALSE AND deleted = 0
GROUP BY "binary"

-- name: service_get_all
-- Every service visible as :read_deleted says, only the (not) disabled ones when :disabled is given.
SELECT id, host, "binary", topic, report_count, disabled, disabled_reason, last_seen_up, forced_down, version,
       created_at, updated_at, deleted_at, deleted
FROM services
WHERE READ_DELETED(deleted, int) AND (disabled = :disabled OR :disabled IS NULL)
ORDER BY id

-- name: service_get_all_by_topic
-- The live, enabled services listening on a topic.
SELECT id, host, "binary", topic, report_count, disabled, disabled_reason, last_seen_up, forced_down, version,
       created_at, updated_at, deleted_at, deleted
FROM services
WHERE topic = :topic AND disabled = FALSE AND deleted = 0
ORDER BY id

-- name: service_get_by_host_and_topic
-- The (first) live, enabled service of a host listening on a topic.
SELECT id, host, "binary", topic, report_count, disabled, disabled_reason, last_seen_up, forced_down, version,
       created_at, updated_at, deleted_at, deleted
FROM services
WHERE host = :host AND topic = :topic AND disabled = FALSE AND deleted = 0
ORDER BY id
LIMIT 1

-- name: service_get_all_by_binary
-- The live services running a binary, the disabled ones too when :include_disabled.
SELECT id, host, "binary", topic, report_count, disabled, disabled_reason, last_seen_up, forced_down, version,
       created_at, updated_at, deleted_at, deleted
FROM services
WHERE "binary" = :binary AND deleted = 0 AND (:include_disabled OR disabled = FALSE)
ORDER BY id

-- name: service_get_all_computes_by_hv_type
-- The live nova-compute services (the disabled ones too when :include_disabled) whose host has a
-- live compute node of a hypervisor type; each service once, however many nodes match.
SELECT s.id, s.host, s."binary", s.topic, s.report_count, s.disabled, s.disabled_reason, s.last_seen_up,
       s.forced_down, s.version, s.created_at, s.updated_at, s.deleted_at, s.deleted
FROM services s
WHERE s."binary" = 'nova-compute' AND s.deleted = 0 AND (:include_disabled OR s.disabled = FALSE)
  AND EXISTS (SELECT 1 FROM compute_nodes cn
              WHERE cn.host = s.host AND cn.hypervisor_type = :hv_type AND cn.deleted = 0)
ORDER BY s.id

-- name: service_get_by_host_and_binary
-- The (first) live service of a host running a binary.
SELECT id, host, "binary", topic, report_count, disabled, disabled_reason, last_seen_up, forced_down, version,
       created_at, updated_at, deleted_at, deleted
FROM services
WHERE host = :host AND "binary" = :binary AND deleted = 0
ORDER BY id
LIMIT 1

-- name: service_get_by_args
-- The (first) service of a host running a binary, live or deleted as :read_deleted says (Grizzly).
SELECT id, host, "binary", topic, report_count, disabled, disabled_reason, last_seen_up, forced_down, version,
       created_at, updated_at, deleted_at, deleted
FROM services
WHERE host = :host AND "binary" = :binary AND READ_DELETED(deleted, int)
ORDER BY id
LIMIT 1

-- name: service_get_all_by_host
-- The live services of a host.
SELECT id, host, "binary", topic, report_count, disabled, disabled_reason, last_seen_up, forced_down, version,
       created_at, updated_at, deleted_at, deleted
FROM services
WHERE host = :host AND deleted = 0
ORDER BY id

-- name: service_get_by_compute_host
-- The (first) live nova-compute service of a host.
SELECT id, host, "binary", topic, report_count, disabled, disabled_reason, last_seen_up, forced_down, version,
       created_at, updated_at, deleted_at, deleted
FROM services
WHERE host = :host AND "binary" = 'nova-compute' AND deleted = 0
ORDER BY id
LIMIT 1

-- name: service_create
-- Create a service; the model's defaults where the caller gives none (report_count 0, enabled,
-- not forced down, version 0).  A live service of the host with the same binary or topic is a
-- duplicate entry (uniq_services0host0binary0deleted, uniq_services0host0topic0deleted).
INSERT INTO services (host, "binary", topic, report_count, disabled, disabled_reason, last_seen_up, forced_down,
                      version, created_at, updated_at, deleted_at, deleted)
VALUES (:host, :binary, :topic, COALESCE(:report_count, 0), COALESCE(:disabled, FALSE), :disabled_reason,
        :last_seen_up, COALESCE(:forced_down, FALSE), COALESCE(:version, 0), :created_at, :updated_at,
        :deleted_at, 0)
RETURNING id, host, "binary", topic, report_count, disabled, disabled_reason, last_seen_up, forced_down, version,
          created_at, updated_at, deleted_at, deleted

-- name: service_update
-- Change the columns the caller gave of a service visible as :read_deleted says (a column whose
-- :set_ flag is false keeps its value), and set updated_at.  A report_count above the stored one
-- is a state report: last_seen_up becomes :now unless the caller gives it.
UPDATE services
SET host = CASE WHEN :set_host THEN :host ELSE host END,
    "binary" = CASE WHEN :set_binary THEN :binary ELSE "binary" END,
    topic = CASE WHEN :set_topic THEN :topic ELSE topic END,
    last_seen_up = CASE WHEN :set_last_seen_up THEN :last_seen_up
                        WHEN :set_report_count AND :report_count > report_count THEN :now
                        ELSE last_seen_up END,
    report_count = CASE WHEN :set_report_count THEN :report_count ELSE report_count END,
    disabled = CASE WHEN :set_disabled THEN :disabled ELSE disabled END,
    disabled_reason = CASE WHEN :set_disabled_reason THEN :disabled_reason ELSE disabled_reason END,
    forced_down = CASE WHEN :set_forced_down THEN :forced_down ELSE forced_down END,
    version = CASE WHEN :set_version THEN :version ELSE version END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    deleted_at = CASE WHEN :set_deleted_at THEN :deleted_at ELSE deleted_at END,
    updated_at = :updated_at
WHERE id = :service_id AND READ_DELETED(deleted, int)
RETURNING id, host, "binary", topic, report_count, disabled, disabled_reason, last_seen_up, forced_down, version,
          created_at, updated_at, deleted_at, deleted

-- name: service_destroy
-- Soft-delete a service visible as :read_deleted says (bulk: updated_at kept); its host tells
-- which compute nodes go with it.
UPDATE services SET SOFT_DELETE(int, bulk)
WHERE id = :service_id AND READ_DELETED(deleted, int)
RETURNING id, host, "binary", topic, report_count, disabled, disabled_reason, last_seen_up, forced_down, version,
          created_at, updated_at, deleted_at, deleted

-- name: service_destroy_compute_nodes
-- Soft-delete (bulk) the compute nodes of a destroyed service visible as :read_deleted says: the
-- ones naming it by service_id, and (Newton: not every node reports service_id) the ones on its host.
UPDATE compute_nodes SET SOFT_DELETE(int, bulk)
WHERE (service_id = :service_id OR host = :host) AND READ_DELETED(deleted, int)
