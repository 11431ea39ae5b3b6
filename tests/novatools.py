"""Set-up for nova's tests: rows written behind the API's back, so a test of one module does not
depend on another module's functions."""

from __future__ import annotations

import uuid as uuidlib
from datetime import datetime
from typing import Any

from sqltools import execute

import rawdb
from rawdb.nova import security_group_rules, security_groups

_DEFAULTS: dict[str, Any] = {
    "project_id": "p1",
    "user_id": "alice",
    "vm_state": "active",
    "power_state": 1,
    "memory_mb": 512,
    "vcpus": 1,
    "root_gb": 1,
    "ephemeral_gb": 0,
    "host": "host1",
    "node": "node1",
    "hostname": None,
    "display_name": None,
    "task_state": None,
    "launched_at": None,
    "terminated_at": None,
    "updated_at": None,
    "instance_type_id": 1,
    "deleted": 0,
    "deleted_at": None,
}


async def make_instance(db: rawdb.Database, **values: Any) -> str:
    """Insert an instance row (live, project p1, user alice unless ``values`` say otherwise); its uuid.

    ``created_at`` defaults to now; ``deleted=True`` writes ``deleted = id`` as a soft delete does.
    Keys are column names of ``instances`` chosen by the test (trusted, never user input).
    """
    row = {**_DEFAULTS, **values}
    row.setdefault("uuid", str(uuidlib.uuid4()))
    row.setdefault("created_at", datetime.utcnow())
    soft_deleted = row["deleted"] is True
    if soft_deleted:
        row["deleted"] = 0
        row["deleted_at"] = row["deleted_at"] or datetime.utcnow()
    columns = sorted(row)
    await execute(
        db,
        f"INSERT INTO instances ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})",
        **row,
    )
    if soft_deleted:
        await execute(db, "UPDATE instances SET deleted = id WHERE uuid = :uuid", uuid=row["uuid"])
    return str(row["uuid"])


# --- security groups and rules (their tests share these) --------------------------------------

GROUP_KEYS = {"id", "name", "description", "user_id", "project_id", "created_at", "updated_at", "deleted_at", "deleted"}
RULE_KEYS = {
    "id",
    "parent_group_id",
    "protocol",
    "from_port",
    "to_port",
    "cidr",
    "group_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}


async def make_group(ctx: rawdb.Context, name: str = "web", project_id: str = "p1", **values: Any) -> dict[str, Any]:
    return await security_groups.security_group_create(
        ctx, {"name": name, "description": f"{name} group", "user_id": "alice", "project_id": project_id, **values}
    )


async def associate(database: rawdb.Database, group_id: int, instance_uuid: str, deleted: bool = False) -> None:
    """An instance association written behind the API's back (instance_add_security_group is the instances')."""
    await execute(
        database,
        "INSERT INTO security_group_instance_association (security_group_id, instance_uuid, created_at, deleted) "
        "VALUES (:group_id, :uuid, :now, 0)",
        group_id=group_id,
        uuid=instance_uuid,
        now=datetime.utcnow(),
    )
    if deleted:
        await execute(
            database,
            "UPDATE security_group_instance_association SET deleted = id "
            "WHERE security_group_id = :group_id AND instance_uuid = :uuid",
            group_id=group_id,
            uuid=instance_uuid,
        )


async def make_rule(ctx: rawdb.Context, parent: int, grantee: int | None = None, **values: Any) -> dict[str, Any]:
    return await security_group_rules.security_group_rule_create(
        ctx,
        {"parent_group_id": parent, "group_id": grantee, "protocol": "tcp", "from_port": 22, "to_port": 22, **values},
    )
