-- MariaDB has no UPDATE ... RETURNING: the changed service is read back in the same transaction
-- (services.py runs service_read_back after these).

-- name: service_update
-- Change the columns the caller gave of a service visible as :read_deleted says (a column whose
-- :set_ flag is false keeps its value), and set updated_at.  A report_count above the stored one
-- is a state report: last_seen_up becomes :now unless the caller gives it (MariaDB assigns SET
-- items left to right, so last_seen_up is compared with the stored report_count first).
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

-- name: service_destroy
-- Soft-delete a service visible as :read_deleted says (bulk: updated_at kept); its host tells
-- which compute nodes go with it.
UPDATE services SET SOFT_DELETE(int, bulk)
WHERE id = :service_id AND READ_DELETED(deleted, int)
