-- name: instances
-- Live instances of a project (of one user when :user_id is given): count, vcpus and RAM.
SELECT count(*) AS instances, coalesce(sum(vcpus), 0) AS cores, coalesce(sum(memory_mb), 0) AS ram
FROM instances
WHERE project_id = :project_id AND deleted = 0 AND (CAST(:user_id AS VARCHAR(255)) IS NULL OR user_id = :user_id)

-- name: floating_ips
-- Live floating IPs a project allocated itself (auto-assigned ones do not count).
SELECT count(*) AS n FROM floating_ips WHERE project_id = :project_id AND NOT auto_assigned AND deleted = 0

-- name: fixed_ips
-- Live fixed IPs of a project's instances.
SELECT count(*) AS n FROM fixed_ips f JOIN instances i ON i.uuid = f.instance_uuid
WHERE i.project_id = :project_id AND f.deleted = 0

-- name: security_groups
-- Live security groups of a project (of one user when :user_id is given).
SELECT count(*) AS n FROM security_groups
WHERE project_id = :project_id AND deleted = 0 AND (CAST(:user_id AS VARCHAR(255)) IS NULL OR user_id = :user_id)

-- name: server_groups
-- Live server groups of a project (of one user when :user_id is given).
SELECT count(*) AS n FROM instance_groups
WHERE project_id = :project_id AND deleted = 0 AND (CAST(:user_id AS VARCHAR(255)) IS NULL OR user_id = :user_id)
