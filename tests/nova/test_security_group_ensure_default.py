"""security_group_ensure_default (rawdb.nova.security_groups) on every backend: the default group, its
copied default rules, the quota usage it counts, and the race between concurrent callers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, node_databases, select

import rawdb
from rawdb import errors
from rawdb.nova import security_group_rules as rules_api
from rawdb.nova import security_groups as db

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)


async def usage(database: rawdb.Database, project_id: str = "p1", user_id: str = "alice") -> list[dict[str, Any]]:
    return await select(
        database,
        "SELECT in_use, reserved, until_refresh, updated_at FROM quota_usages "
        "WHERE project_id = :p AND user_id = :u AND resource = 'security_groups' AND deleted = 0",
        p=project_id,
        u=user_id,
    )


async def test_security_group_ensure_default_creates_the_group_copies_default_rules_and_counts_usage(
    admin: rawdb.Context, alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    ssh = await rules_api.security_group_default_rule_create(
        admin, {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "0.0.0.0/0"}
    )
    ping = await rules_api.security_group_default_rule_create(
        admin, {"protocol": "icmp", "from_port": -1, "to_port": -1, "cidr": "10.0.0.0/8"}
    )
    gone = await rules_api.security_group_default_rule_create(
        admin, {"protocol": "udp", "from_port": 53, "to_port": 53}
    )
    await rules_api.security_group_default_rule_destroy(admin, gone["id"])

    group = await db.security_group_ensure_default(alice)

    assert (group["name"], group["description"], group["project_id"], group["user_id"]) == (
        "default",
        "default",
        "p1",
        "alice",
    )
    copied = [(r["protocol"], r["from_port"], r["to_port"], r["cidr"], r["group_id"]) for r in group["rules"]]
    assert copied == [("tcp", 22, 22, "0.0.0.0/0", None), ("icmp", -1, -1, "10.0.0.0/8", None)]
    assert all(r["parent_group_id"] == group["id"] and r["grantee_group"] is None for r in group["rules"])
    assert [(d["id"], d["protocol"]) for d in (ssh, ping)] == [(ssh["id"], "tcp"), (ping["id"], "icmp")]
    rows = await usage(nova_db)
    assert [(u["in_use"], u["reserved"], u["until_refresh"]) for u in rows] == [(1, 0, None)]
    assert rows[0]["updated_at"] is not None  # max_age judges the usage by it


async def test_security_group_ensure_default_again_returns_the_same_group_without_bumping_usage(
    alice: rawdb.Context, bob: rawdb.Context, nova_db: rawdb.Database
) -> None:
    first = await db.security_group_ensure_default(alice)
    second = await db.security_group_ensure_default(alice)
    by_bob = await db.security_group_ensure_default(bob)  # same project: the same group
    assert first["id"] == second["id"] == by_bob["id"]
    assert second == first
    assert [u["in_use"] for u in await usage(nova_db)] == [1]
    assert await usage(nova_db, user_id="bob") == []
    assert await count_rows(nova_db, "security_groups") == 1


async def test_security_group_ensure_default_bumps_an_existing_usage_row(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    then = datetime.utcnow() - timedelta(days=1)
    await execute(
        nova_db,
        "INSERT INTO quota_usages (project_id, user_id, resource, in_use, reserved, until_refresh, created_at, "
        "updated_at, deleted) VALUES ('p1', 'alice', 'security_groups', 3, 1, 5, :t, :t, 0)",
        t=then,
    )
    await db.security_group_ensure_default(alice)
    rows = await usage(nova_db)
    assert [(u["in_use"], u["reserved"], u["until_refresh"]) for u in rows] == [(4, 1, 5)]
    assert rows[0]["updated_at"] > then


async def test_security_group_ensure_default_is_race_free_across_connections(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb, backend: str
) -> None:
    await rules_api.security_group_default_rule_create(
        rawdb.Context(nova_db, is_admin=True), {"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr": "::/0"}
    )
    databases = await node_databases(nova_url, backend, open_db, 8)  # Galera: through all nodes
    callers = [rawdb.Context(d, project_id="race", user_id=f"user{i % 2}") for i, d in enumerate(databases)]
    groups = await asyncio.gather(*(db.security_group_ensure_default(c) for c in callers))

    assert len({g["id"] for g in groups}) == 1
    live = await select(nova_db, "SELECT id FROM security_groups WHERE project_id = 'race' AND deleted = 0")
    assert [row["id"] for row in live] == [groups[0]["id"]]
    assert [len(g["rules"]) for g in groups] == [1] * 8
    assert await count_rows(nova_db, "security_group_rules") == 1  # copied once
    usages = await select(
        nova_db, "SELECT user_id, in_use FROM quota_usages WHERE project_id = 'race' AND resource = 'security_groups'"
    )
    assert [u["in_use"] for u in usages] == [1]  # only the creator counts it
    assert usages[0]["user_id"] == groups[0]["user_id"]


async def test_security_group_ensure_default_inside_a_writer_runs_in_its_own_transaction(
    alice: rawdb.Context, nova_db: rawdb.Database, backend: str
) -> None:
    with pytest.raises(RuntimeError):
        async with alice.writer() as tx:
            group = await db.security_group_ensure_default(tx)
            assert (await db.security_group_get_by_name(tx, "p1", "default"))["id"] == group["id"]
            raise RuntimeError("the caller's transaction rolls back")
    kept = await count_rows(nova_db, "security_groups")
    # An independent transaction commits whatever the caller's does; SQLite, which has one writer
    # at a time, runs it inside the caller's writer (no concurrent creator can exist there).
    assert kept == (0 if backend == "sqlite" else 1)


async def test_security_group_ensure_default_needs_a_project(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    with pytest.raises(errors.Invalid):
        await db.security_group_ensure_default(admin)
    assert await count_rows(nova_db, "security_groups") == 0
    assert await count_rows(nova_db, "quota_usages") == 0
