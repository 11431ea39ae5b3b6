-- name: action_start
-- Record an action on an instance; start_time is given (now when the caller has none).
INSERT INTO instance_actions (action, instance_uuid, request_id, user_id, project_id, start_time, finish_time,
                              message, created_at, updated_at, deleted)
VALUES (:action, :instance_uuid, :request_id, :user_id, :project_id, :start_time, :finish_time,
        :message, :created_at, :updated_at, 0)
RETURNING id, action, instance_uuid, request_id, user_id, project_id, start_time, finish_time, message,
          created_at, updated_at, deleted_at, deleted

-- name: action_read_back
-- An action by id, deleted or not (MySQL's read-back after an insert or update, with :id NULL
-- for the last insert: the other backends have RETURNING).
SELECT id, action, instance_uuid, request_id, user_id, project_id, start_time, finish_time, message,
       created_at, updated_at, deleted_at, deleted
FROM instance_actions
WHERE id = :id

-- name: action_find
-- The ids of the instance's actions for a request, visible as :read_deleted says (two are
-- enough to tell "exactly one" from "several").
SELECT id FROM instance_actions
WHERE instance_uuid = :instance_uuid AND request_id = :request_id AND READ_DELETED(deleted, int)
ORDER BY id
LIMIT 2

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
RETURNING id, action, instance_uuid, request_id, user_id, project_id, start_time, finish_time, message,
          created_at, updated_at, deleted_at, deleted

-- name: actions_get
-- An instance's actions, newest first (ties: the later id first; a NULL created_at last).
SELECT id, action, instance_uuid, request_id, user_id, project_id, start_time, finish_time, message,
       created_at, updated_at, deleted_at, deleted
FROM instance_actions
WHERE instance_uuid = :instance_uuid AND READ_DELETED(deleted, int)
ORDER BY created_at IS NULL, created_at DESC, id DESC

-- name: action_get_by_request_id
-- The instance's (first) action for a request.
SELECT id, action, instance_uuid, request_id, user_id, project_id, start_time, finish_time, message,
       created_at, updated_at, deleted_at, deleted
FROM instance_actions
WHERE instance_uuid = :instance_uuid AND request_id = :request_id AND READ_DELETED(deleted, int)
ORDER BY id
LIMIT 1

-- name: action_for_event
-- The action an event belongs to, and the id of its first event named :event (NULL if none):
-- the instance's (first) action for the request; failing that, when :fallback, the instance's
-- newest action (nova-compute restarted, so its request id is a new one: Newton's init_host).
SELECT a.id AS action_id,
       (SELECT e.id FROM instance_actions_events e
        WHERE e.action_id = a.id AND e.event = :event AND READ_DELETED(e.deleted, int)
        ORDER BY e.id
        LIMIT 1) AS event_id
FROM instance_actions a
WHERE a.instance_uuid = :instance_uuid AND READ_DELETED(a.deleted, int)
  AND (a.request_id = :request_id OR :fallback)
ORDER BY CASE WHEN a.request_id = :request_id THEN 0 ELSE 1 END,
         CASE WHEN a.request_id = :request_id THEN a.id END,
         a.created_at IS NULL, a.created_at DESC, a.id DESC
LIMIT 1

-- name: action_mark_error
-- An event of the action failed: the action's message becomes 'Error' (unchanged if it is already).
UPDATE instance_actions SET message = 'Error', updated_at = :now
WHERE id = :action_id AND (message IS NULL OR message <> 'Error')

-- name: event_start
-- Record an event of an action; start_time is given (now when the caller has none).
INSERT INTO instance_actions_events (event, action_id, start_time, finish_time, result, traceback, host, details,
                                     created_at, updated_at, deleted)
VALUES (:event, :action_id, :start_time, :finish_time, :result, :traceback, :host, :details,
        :created_at, :updated_at, 0)
RETURNING id, event, action_id, start_time, finish_time, result, traceback, host, details,
          created_at, updated_at, deleted_at, deleted

-- name: event_read_back
-- An event by id, deleted or not (MySQL's read-back after an insert or update, with :id NULL for
-- the last insert: the other backends have RETURNING).
SELECT id, event, action_id, start_time, finish_time, result, traceback, host, details,
       created_at, updated_at, deleted_at, deleted
FROM instance_actions_events
WHERE id = :id

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
RETURNING id, event, action_id, start_time, finish_time, result, traceback, host, details,
          created_at, updated_at, deleted_at, deleted

-- name: action_events_get
-- An action's events, newest first (ties: the later id first; a NULL created_at last).
SELECT id, event, action_id, start_time, finish_time, result, traceback, host, details,
       created_at, updated_at, deleted_at, deleted
FROM instance_actions_events
WHERE action_id = :action_id AND READ_DELETED(deleted, int)
ORDER BY created_at IS NULL, created_at DESC, id DESC

-- name: action_event_get_by_id
-- One event of an action by id.
SELECT id, event, action_id, start_time, finish_time, result, traceback, host, details,
       created_at, updated_at, deleted_at, deleted
FROM instance_actions_events
WHERE action_id = :action_id AND id = :event_id AND READ_DELETED(deleted, int)

-- name: fault_create
-- Record a fault of an instance.
INSERT INTO instance_faults (instance_uuid, code, message, details, host, created_at, updated_at, deleted)
VALUES (:instance_uuid, :code, :message, :details, :host, :created_at, :updated_at, 0)
RETURNING id, instance_uuid, code, message, details, host, created_at, updated_at, deleted_at, deleted

-- name: fault_read_back
-- A fault by id, deleted or not (MySQL's read-back after an insert, with :id NULL for the last
-- insert: the other backends have RETURNING).
SELECT id, instance_uuid, code, message, details, host, created_at, updated_at, deleted_at, deleted
FROM instance_faults
WHERE id = :id

-- name: faults_get
-- The live faults of some instances, newest first (ties: the later id first; a NULL created_at last).
SELECT id, instance_uuid, code, message, details, host, created_at, updated_at, deleted_at, deleted
FROM instance_faults
WHERE instance_uuid = ANY(:instance_uuids) AND deleted = 0
ORDER BY created_at IS NULL, created_at DESC, id DESC
