"""Console pools and consoles (Newton, spec A.3 "Consoles" and F.3), on every backend."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from novatools import make_instance
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors, timeutils
from rawdb.nova import consoles as db

T0 = datetime(2016, 3, 1, 12, 0, 0, 123456)
POOL_KEYS = {
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "id",
    "address",
    "username",
    "password",
    "console_type",
    "public_hostname",
    "host",
    "compute_host",
}
CONSOLE_KEYS = {
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "id",
    "instance_name",
    "instance_uuid",
    "password",
    "port",
    "pool_id",
}


def pool_values(**extra: Any) -> dict[str, Any]:
    return {
        "address": "10.0.0.1",
        "username": "proxy",
        "password": "secret",
        "console_type": "xvp",
        "public_hostname": "proxy.example.org",
        "host": "proxy1",
        "compute_host": "compute1",
        **extra,
    }


async def make_console(ctx: rawdb.Context, pool_id: int, instance_uuid: str, **extra: Any) -> dict[str, Any]:
    values = {"instance_name": "instance-1", "instance_uuid": instance_uuid, "password": "pw", "port": 5900}
    return await db.console_create(ctx, {**values, "pool_id": pool_id, **extra})


# --- console_pool_create ---------------------------------------------------------------------


async def test_console_pool_create_returns_the_pool_with_upstreams_keys(admin: rawdb.Context) -> None:
    with timeutils.frozen(T0):
        pool = await db.console_pool_create(admin, pool_values(address="10.0.0.1/32"))
    assert set(pool) == POOL_KEYS
    assert pool == {
        "created_at": T0,
        "updated_at": None,
        "deleted_at": None,
        "deleted": 0,
        "id": pool["id"],
        "address": "10.0.0.1",  # as PostgreSQL's INET prints it, on every backend
        "username": "proxy",
        "password": "secret",
        "console_type": "xvp",
        "public_hostname": "proxy.example.org",
        "host": "proxy1",
        "compute_host": "compute1",
    }


async def test_console_pool_create_duplicate_live_pool_is_console_pool_exists(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.console_pool_create(admin, pool_values())
    with pytest.raises(errors.ConsolePoolExists) as caught:
        await db.console_pool_create(admin, pool_values(address="10.0.0.2"))
    assert isinstance(caught.value, errors.Duplicate)
    assert (caught.value.host, caught.value.console_type, caught.value.compute_host) == ("proxy1", "xvp", "compute1")
    assert "proxy1" in str(caught.value)
    assert await count_rows(nova_db, "console_pools") == 1
    # another type, proxy or compute host is another pool
    await db.console_pool_create(admin, pool_values(console_type="vnc"))
    await db.console_pool_create(admin, pool_values(compute_host="compute2"))
    assert await count_rows(nova_db, "console_pools") == 3


async def test_console_pool_create_duplicate_inside_a_writer_leaves_the_transaction_usable(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    async with admin.writer() as tx:
        first = await db.console_pool_create(tx, pool_values())
        with pytest.raises(errors.ConsolePoolExists):
            await db.console_pool_create(tx, pool_values())
        second = await db.console_pool_create(tx, pool_values(host="proxy2"))
    rows = await select(nova_db, "SELECT id FROM console_pools ORDER BY id")
    assert [r["id"] for r in rows] == [first["id"], second["id"]]


async def test_console_pool_create_after_a_soft_delete_makes_a_new_live_pool(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    old = await db.console_pool_create(admin, pool_values())
    await execute(nova_db, "UPDATE console_pools SET deleted = id WHERE id = :id", id=old["id"])
    new = await db.console_pool_create(admin, pool_values())
    assert new["id"] != old["id"] and new["deleted"] == 0


async def test_console_pool_create_is_race_free_across_connections(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    databases = [await open_db(nova_url) for _ in range(6)]
    callers = [rawdb.Context(d, is_admin=True) for d in databases]
    results = await asyncio.gather(*(db.console_pool_create(c, pool_values()) for c in callers), return_exceptions=True)
    created = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, errors.ConsolePoolExists)]
    assert (len(created), len(refused)) == (1, 5)
    rows = await select(nova_db, "SELECT id FROM console_pools WHERE deleted = 0")
    assert [r["id"] for r in rows] == [created[0]["id"]]


@pytest.mark.parametrize(
    "values",
    [
        pool_values(flavor="x"),  # a key the table lacks, with a value
        pool_values(host="h" * 256),
        pool_values(address="not-an-address"),
        pool_values(address=42),
        pool_values(console_type="x\x00y"),
        pool_values(id=7),  # not settable
        pool_values(created_at="yesterday"),
        ["host", "proxy1"],
    ],
)
async def test_console_pool_create_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, values: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.console_pool_create(admin, values)
    assert await count_rows(nova_db, "console_pools") == 0


async def test_console_pool_create_ignores_unknown_keys_given_as_none(admin: rawdb.Context) -> None:
    pool = await db.console_pool_create(admin, pool_values(flavor=None, address="fe80:0:0:0:0:0:0:1"))
    assert "flavor" not in pool
    assert pool["address"] == "fe80::1"


# --- console pool lookups --------------------------------------------------------------------


async def test_console_pool_get_by_host_type_joins_every_console_of_the_pool(admin: rawdb.Context) -> None:
    pool = await db.console_pool_create(admin, pool_values())
    other = await db.console_pool_create(admin, pool_values(compute_host="compute2"))
    uuid = await make_instance(admin.db)
    first = await make_console(admin, pool["id"], uuid)
    second = await make_console(admin, pool["id"], uuid, port=5901)
    await make_console(admin, other["id"], uuid)

    found = await db.console_pool_get_by_host_type(admin, "compute1", "proxy1", "xvp")

    assert set(found) == POOL_KEYS | {"consoles"}
    assert {k: v for k, v in found.items() if k != "consoles"} == pool
    assert found["consoles"] == [first, second]
    assert all(set(c) == CONSOLE_KEYS for c in found["consoles"])


async def test_console_pool_get_by_host_type_not_found_names_host_type_and_compute_host(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    pool = await db.console_pool_create(admin, pool_values())
    await execute(nova_db, "UPDATE console_pools SET deleted = id WHERE id = :id", id=pool["id"])
    for args in [
        ("compute1", "proxy1", "xvp"),  # deleted
        ("compute1", "proxy1", "vnc"),
        ("compute9", "proxy1", "xvp"),
        ("compute1", "p" * 300, "xvp"),  # no row can hold it
    ]:
        with pytest.raises(errors.ConsolePoolNotFoundForHostType) as caught:
            await db.console_pool_get_by_host_type(admin, *args)
        assert (caught.value.compute_host, caught.value.host, caught.value.console_type) == args
        assert isinstance(caught.value, errors.NotFound)
    with pytest.raises(errors.Invalid):
        await db.console_pool_get_by_host_type(admin, "compute1", 5, "xvp")  # type: ignore[arg-type]


async def test_console_pool_get_all_by_host_type_lists_live_pools_with_their_consoles(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    a = await db.console_pool_create(admin, pool_values(compute_host="c1"))
    b = await db.console_pool_create(admin, pool_values(compute_host="c2"))
    gone = await db.console_pool_create(admin, pool_values(compute_host="c3"))
    await db.console_pool_create(admin, pool_values(compute_host="c1", console_type="vnc"))
    await db.console_pool_create(admin, pool_values(compute_host="c1", host="proxy2"))
    await execute(nova_db, "UPDATE console_pools SET deleted = id WHERE id = :id", id=gone["id"])
    uuid = await make_instance(nova_db)
    console = await make_console(admin, b["id"], uuid)

    pools = await db.console_pool_get_all_by_host_type(admin, "proxy1", "xvp")

    assert [(p["id"], p["compute_host"]) for p in pools] == [(a["id"], "c1"), (b["id"], "c2")]
    assert [p["consoles"] for p in pools] == [[], [console]]
    assert await db.console_pool_get_all_by_host_type(admin, "proxy9", "xvp") == []
    assert await db.console_pool_get_all_by_host_type(admin, "proxy1", "x" * 300) == []
    with pytest.raises(errors.Invalid):
        await db.console_pool_get_all_by_host_type(admin, None, "xvp")  # type: ignore[arg-type]


# --- console_create / console_delete ---------------------------------------------------------


async def test_console_create_returns_the_console_without_its_pool(admin: rawdb.Context) -> None:
    pool = await db.console_pool_create(admin, pool_values())
    uuid = await make_instance(admin.db)
    with timeutils.frozen(T0):
        console = await db.console_create(
            admin,
            {"instance_name": "vm", "instance_uuid": uuid, "password": "pw", "port": "5900", "pool_id": pool["id"]},
        )
    assert console == {
        "created_at": T0,
        "updated_at": None,
        "deleted_at": None,
        "deleted": 0,
        "id": console["id"],
        "instance_name": "vm",
        "instance_uuid": uuid,
        "password": "pw",
        "port": 5900,
        "pool_id": pool["id"],
    }


async def test_console_create_needs_an_existing_pool_and_instance(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    pool = await db.console_pool_create(admin, pool_values())
    uuid = await make_instance(nova_db)
    with pytest.raises(errors.DBReferenceError):
        await make_console(admin, pool["id"] + 100, uuid)
    with pytest.raises(errors.DBReferenceError):
        await make_console(admin, pool["id"], "00000000-0000-0000-0000-000000000000")
    assert await count_rows(nova_db, "consoles") == 0


@pytest.mark.parametrize(
    "extra",
    [{"port": 2**31}, {"port": "ssh"}, {"instance_name": "n" * 256}, {"pool": 1}, {"deleted": 1}],
)
async def test_console_create_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, extra: dict[str, Any]
) -> None:
    pool = await db.console_pool_create(admin, pool_values())
    uuid = await make_instance(nova_db)
    with pytest.raises(errors.Invalid):
        await make_console(admin, pool["id"], uuid, **extra)
    assert await count_rows(nova_db, "consoles") == 0


async def test_console_create_ignores_unknown_keys_given_as_none(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    pool = await db.console_pool_create(admin, pool_values())
    uuid = await make_instance(nova_db)
    # keys the table lacks (the pool relationship among them) or the caller may not set, given as None
    console = await make_console(admin, pool["id"], uuid, flavor=None, pool=None, deleted=None)
    assert set(console) == CONSOLE_KEYS
    assert (console["pool_id"], console["instance_uuid"], console["port"], console["deleted"]) == (
        pool["id"],
        uuid,
        5900,
        0,
    )
    assert await db.console_get(admin, console["id"]) == {**console, "pool": pool}
    assert await count_rows(nova_db, "consoles") == 1


async def test_console_delete_removes_the_row(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    pool = await db.console_pool_create(admin, pool_values())
    uuid = await make_instance(nova_db)
    doomed = await make_console(admin, pool["id"], uuid)
    kept = await make_console(admin, pool["id"], uuid)
    assert await db.console_delete(admin, doomed["id"]) is None
    rows = await select(nova_db, "SELECT id FROM consoles")  # a hard delete: no row left behind
    assert [r["id"] for r in rows] == [kept["id"]]
    await db.console_delete(admin, doomed["id"])  # none: no error
    await db.console_delete(admin, 2**40)
    with pytest.raises(errors.Invalid):
        await db.console_delete(admin, "first")  # type: ignore[arg-type]
    assert await count_rows(nova_db, "consoles") == 1


# --- console lookups -------------------------------------------------------------------------


async def test_console_get_by_pool_instance_joins_the_pool_and_sees_deleted_consoles(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    pool = await db.console_pool_create(admin, pool_values())
    uuid = await make_instance(nova_db)
    console = await make_console(admin, pool["id"], uuid)
    await execute(nova_db, "UPDATE consoles SET deleted = id WHERE id = :id", id=console["id"])

    found = await db.console_get_by_pool_instance(admin, pool["id"], uuid)

    assert found == {**console, "deleted": console["id"], "pool": pool}


async def test_console_get_by_pool_instance_not_found(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    pool = await db.console_pool_create(admin, pool_values())
    uuid = await make_instance(nova_db)
    await make_console(admin, pool["id"], uuid)
    for pool_id, instance_uuid in [(pool["id"] + 1, uuid), (pool["id"], "other"), (pool["id"], "u" * 37)]:
        with pytest.raises(errors.ConsoleNotFoundInPoolForInstance) as caught:
            await db.console_get_by_pool_instance(admin, pool_id, instance_uuid)
        assert (caught.value.pool_id, caught.value.instance_uuid) == (pool_id, instance_uuid)
        assert isinstance(caught.value, errors.ConsoleNotFound)
    with pytest.raises(errors.Invalid):
        await db.console_get_by_pool_instance(admin, 1.5, uuid)  # type: ignore[arg-type]


async def test_console_get_all_by_instance_joins_the_pool_when_asked_bug_1223205(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    pool_a = await db.console_pool_create(admin, pool_values())
    pool_b = await db.console_pool_create(admin, pool_values(console_type="vnc"))
    uuid = await make_instance(nova_db)
    other = await make_instance(nova_db)
    first = await make_console(admin, pool_a["id"], uuid)
    second = await make_console(admin, pool_b["id"], uuid)
    await make_console(admin, pool_a["id"], other)
    await execute(nova_db, "UPDATE consoles SET deleted = id WHERE id = :id", id=second["id"])
    second = {**second, "deleted": second["id"]}  # rd=yes: still listed

    joined = await db.console_get_all_by_instance(admin, uuid, columns_to_join=["pool"])

    # Grizzly never joined the pool (nova bug 1223205): each console carries its own pool here.
    assert joined == [{**first, "pool": pool_a}, {**second, "pool": pool_b}]
    assert await db.console_get_all_by_instance(admin, uuid) == [first, second]
    assert await db.console_get_all_by_instance(admin, uuid, []) == [first, second]
    assert await db.console_get_all_by_instance(admin, "none") == []


async def test_console_get_all_by_instance_refuses_relationships_consoles_lack(admin: rawdb.Context) -> None:
    for bad in (["instance"], "pool", [1], [["pool"]], {"pool": 1}):
        with pytest.raises(errors.Invalid):
            await db.console_get_all_by_instance(admin, "u", columns_to_join=bad)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.console_get_all_by_instance(admin, None)  # type: ignore[arg-type]


async def test_console_get_joins_the_pool_and_checks_the_instance_when_given(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    pool = await db.console_pool_create(admin, pool_values())
    uuid = await make_instance(nova_db)
    other = await make_instance(nova_db)
    console = await make_console(admin, pool["id"], uuid)
    await execute(nova_db, "UPDATE console_pools SET deleted = id WHERE id = :id", id=pool["id"])
    deleted_pool = {**pool, "deleted": pool["id"]}  # the relationship sees deleted pools

    assert await db.console_get(admin, console["id"]) == {**console, "pool": deleted_pool}
    assert await db.console_get(admin, console["id"], uuid) == {**console, "pool": deleted_pool}

    with pytest.raises(errors.ConsoleNotFoundForInstance) as for_instance:
        await db.console_get(admin, console["id"], other)
    assert (for_instance.value.console_id, for_instance.value.instance_uuid) == (console["id"], other)
    with pytest.raises(errors.ConsoleNotFound) as missing:
        await db.console_get(admin, console["id"] + 1)
    assert not isinstance(missing.value, errors.ConsoleNotFoundForInstance)
    assert missing.value.console_id == console["id"] + 1
    with pytest.raises(errors.ConsoleNotFoundForInstance):
        await db.console_get(admin, console["id"], "x" * 40)
    with pytest.raises(errors.Invalid):
        await db.console_get(admin, console["id"], 7)  # type: ignore[arg-type]


async def test_console_without_a_pool_comes_with_pool_none(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    uuid = await make_instance(nova_db)
    console = await db.console_create(admin, {"instance_uuid": uuid, "port": 1})
    assert (await db.console_get(admin, console["id"]))["pool"] is None
    assert [c["pool"] for c in await db.console_get_all_by_instance(admin, uuid, ["pool"])] == [None]
