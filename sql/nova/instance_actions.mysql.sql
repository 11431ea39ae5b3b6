-- MySQL has no INSERT/UPDATE ... RETURNING (MariaDB has it for INSERT only): the row is read
-- back in the same transaction, an inserted one by LAST_INSERT_ID() (this connection's own).

-- name: action_start
-- Record an action on an instance; start_time is given (now when the caller has none).
INSERT INTO instance_actions (action, instance_uuid, request_id, user_id, project_id, start_time, finish_time,
                              message, created_at, updated_at, deleted)
VALUES (:action, :instance_uuid, :request_id, :user_id, :project_id, :start_time, :finish_time,
        :message, :created_at, :updated_at, 0)

-- name: action_finish
-- Change the columns the caller gave of one action (a column whose :set_ flag is false keeps
-- its value) and set updated_at.
UPDATE instance_actions
SET action = CASE WHEN :set_action THEN :action ELSE action END,
    user_id = CASE WHEN :set_user_id THEN :user_id ELSE user_id END,
    project_id = CASE WHEN :set_project_id THEN :project_id ELSE project_id END,
    start_time = CASE WHEN :set_start_time THEN :start_time ELSE start_time END,
    finish_time = CASE WHEN :set_finish_time THEN :finish_time ELSE finish_time END,
    message = CASE WHEN :set_message THEN :message ELSE message END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = :id

-- name: action_read_back
-- The action the last statement inserted (:id NULL) or changed (:id).
SELECT id, action, instance_uuid, request_id, user_id, project_id, start_time, finish_time, message,
       created_at, updated_at, deleted_at, deleted
FROM instance_actions
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: event_start
-- Record an event of an action; start_time is given (now when the caller has none).
INSERT INTO instance_actions_events (event, action_id, start_time, finish_time, result, traceback, host, details,
                                     created_at, updated_at, deleted)
VALUES (:event, :action_id, :start_time, :finish_time, :result, :traceback, :host, :details,
        :created_at, :updated_at, 0)

-- name: event_finish
-- Change the columns the caller gave of one event (a column whose :set_ flag is false keeps its
-- value) and set updated_at.
UPDATE instance_actions_events
SET start_time = CASE WHEN :set_start_time THEN :start_time ELSE start_time END,
    finish_time = CASE WHEN :set_finish_time THEN :finish_time ELSE finish_time END,
    result = CASE WHEN :set_result THEN :result ELSE result END,
    traceback = CASE WHEN :set_traceback THEN :traceback ELSE traceback END,
    host = CASE WHEN :set_host THEN :host ELSE host END,
    details = CASE WHEN :set_details THEN :details ELSE details END,
    created_at = CASE WHEN :set_created_at THEN :created_at ELSE created_at END,
    updated_at = :updated_at
WHERE id = :id

-- name: event_read_back
-- The event the last statement inserted (:id NULL) or changed (:id).
SELECT id, event, action_id, start_time, finish_time, result, traceback, host, details,
       created_at, updated_at, deleted_at, deleted
FROM instance_actions_events
WHERE id = coalesce(:id, LAST_INSERT_ID())

-- name: fault_create
-- Record a fault of an instance.
INSERT INTO instance_faults (instance_uuid, code, message, details, host, created_at, updated_at, deleted)
VALUES (:instance_uuid, :code, :message, :details, :host, :created_at, :updated_at, 0)

-- name: fault_read_back
-- The fault the last statement inserted (:id NULL).
SELECT id, instance_uuid, code, message, details, host, created_at, updated_at, deleted_at, deleted
FROM instance_faults
WHERE id = coalesce(:id, LAST_INSERT_ID())
