"""Set-up for nova's tests: rows written behind the API's back, so a test of one module does not
depend on another module's functions."""

from __future__ import annotations

import uuid as uuidlib
from datetime import datetime
from typing import Any

from sqltools import execute

import rawdb

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
