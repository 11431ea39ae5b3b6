-- name: data_for_project
-- Count, vCPUs and memory of a project's instances, as read_deleted says.
SELECT COUNT(id) AS instances, COALESCE(SUM(vcpus), 0) AS vcpus, COALESCE(SUM(memory_mb), 0) AS memory_mb
FROM instances WHERE project_id = :project_id AND READ_DELETED(deleted, int)
