"""Floating IPs (rawdb.nova.floating_ips: Newton, with Grizzly's extra calls; spec A.3, D.5, E.5 9), on every backend.

Fixed IPs, networks and instances are written with plain SQL: this module's tests never go
through the fixed IP or network modules.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any

import pytest
from novatools import make_instance
from sqltools import GALERA_BACKENDS, OpenDb, count_rows, execute, node_databases, select

import rawdb
from rawdb import errors
from rawdb.nova import floating_ips as db
from rawdb.observe import StatementCounter

T0 = datetime(2016, 3, 1, 12, 0, 0, 123456)
FLOATING_KEYS = [
    "created_at",
    "updated_at",
    "deleted_at",
    "id",
    "address",
    "fixed_ip_id",
    "project_id",
    "host",
    "auto_assigned",
    "pool",
    "interface",
    "deleted",
]
FIXED_KEYS = [
    "created_at",
    "updated_at",
    "deleted_at",
    "id",
    "address",
    "network_id",
    "allocated",
    "leased",
    "reserved",
    "virtual_interface_id",
    "host",
    "instance_uuid",
    "deleted",
]


# --- set-up behind the API's back ------------------------------------------------------------


async def add_network(database: rawdb.Database, vlan: int = 100, deleted: bool = False) -> int:
    await execute(
        database,
        "INSERT INTO networks (label, cidr, vlan, bridge, multi_host, created_at, deleted) "
        "VALUES (:label, :cidr, :vlan, 'br100', false, :t, 0)",
        label=f"net{vlan}",
        cidr=f"10.{vlan % 250}.0.0/24",
        vlan=vlan,
        t=T0,
    )
    rows = await select(database, "SELECT id FROM networks WHERE vlan = :vlan", vlan=vlan)
    if deleted:
        await execute(database, "UPDATE networks SET deleted = id WHERE vlan = :vlan", vlan=vlan)
    return int(rows[0]["id"])


async def add_fixed_ip(
    database: rawdb.Database,
    address: str,
    network_id: int | None = None,
    instance_uuid: str | None = None,
    deleted: bool = False,
) -> int:
    await execute(
        database,
        "INSERT INTO fixed_ips (address, network_id, instance_uuid, allocated, leased, reserved, host, created_at, "
        "deleted) VALUES (:address, :network_id, :instance_uuid, false, false, false, NULL, :t, 0)",
        address=address,
        network_id=network_id,
        instance_uuid=instance_uuid,
        t=T0,
    )
    rows = await select(database, "SELECT id FROM fixed_ips WHERE address = :a ORDER BY id DESC", a=address)
    fixed_id = int(rows[0]["id"])
    if deleted:
        await execute(database, "UPDATE fixed_ips SET deleted = id WHERE id = :id", id=fixed_id)
    return fixed_id


async def add_usage(database: rawdb.Database, project_id: str, in_use: int, resource: str = "floating_ips") -> None:
    await execute(
        database,
        "INSERT INTO quota_usages (project_id, user_id, resource, in_use, reserved, until_refresh, created_at, "
        "updated_at, deleted) VALUES (:p, NULL, :r, :n, 0, NULL, :t, :t, 0)",
        p=project_id,
        r=resource,
        n=in_use,
        t=T0,
    )


async def usages(database: rawdb.Database) -> dict[tuple[str, str], int]:
    rows = await select(database, "SELECT project_id, resource, in_use FROM quota_usages WHERE deleted = 0")
    return {(r["project_id"], r["resource"]): r["in_use"] for r in rows}


async def floating_rows(database: rawdb.Database) -> list[dict[str, Any]]:
    return await select(
        database,
        "SELECT address, project_id, auto_assigned, fixed_ip_id, host, deleted FROM floating_ips ORDER BY id",
    )


async def make_pool(admin: rawdb.Context, count: int, pool: str = "nova", prefix: str = "172.24.4.") -> list[str]:
    addresses = [f"{prefix}{i}" for i in range(1, count + 1)]
    await db.floating_ip_bulk_create(admin, [{"address": a, "pool": pool, "interface": "eth0"} for a in addresses])
    return addresses


# --- create, bulk create, addresses ------------------------------------------------------------


async def test_floating_ip_create_returns_the_row_with_upstreams_columns_and_defaults(admin: rawdb.Context) -> None:
    row = await db.floating_ip_create(admin, {"address": "192.0.2.10", "pool": "nova", "interface": "eth0"})
    assert list(row) == FLOATING_KEYS
    assert (row["address"], row["pool"], row["interface"], row["project_id"], row["host"]) == (
        "192.0.2.10",
        "nova",
        "eth0",
        None,
        None,
    )
    assert (row["auto_assigned"], row["fixed_ip_id"], row["deleted"], row["updated_at"]) == (False, None, 0, None)
    assert isinstance(row["created_at"], datetime)


async def test_floating_ip_create_normalises_ipv6_addresses_as_postgresql_prints_them(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    first = await db.floating_ip_create(admin, {"address": "2001:DB8:0:0:0:0:0:1", "pool": "v6"})
    mapped = await db.floating_ip_create(admin, {"address": "::FFFF:102:304/128", "pool": "v6"})
    assert (first["address"], mapped["address"]) == ("2001:db8::1", "::ffff:1.2.3.4")
    found = await db.floating_ip_get_by_address(admin, "2001:0db8::0001")
    assert found["id"] == first["id"]
    stored = await select(nova_db, "SELECT address FROM floating_ips ORDER BY id")
    assert [r["address"] for r in stored] == ["2001:db8::1", "::ffff:1.2.3.4"]


async def test_floating_ip_create_refuses_a_live_duplicate_address_but_not_a_deleted_one(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.floating_ip_create(admin, {"address": "192.0.2.10"})
    with pytest.raises(errors.FloatingIpExists) as caught:
        await db.floating_ip_create(admin, {"address": "192.0.2.10", "pool": "other"})
    assert caught.value.kwargs == {"address": "192.0.2.10"}
    assert await count_rows(nova_db, "floating_ips") == 1
    await db.floating_ip_bulk_destroy(admin, [{"address": "192.0.2.10"}])
    again = await db.floating_ip_create(admin, {"address": "192.0.2.10"})
    assert again["deleted"] == 0
    assert await count_rows(nova_db, "floating_ips") == 2


@pytest.mark.parametrize(
    "values",
    [
        {"address": "192.0.2.300"},
        {"address": "192.0.2.0/24"},
        {"address": "fe80::1%eth0"},
        {"address": 42},
        {"address": "192.0.2.1", "pool": "x" * 256},
        {"address": "192.0.2.1", "colour": "red"},
        {"address": "192.0.2.1", "auto_assigned": "maybe"},
        ["192.0.2.1"],
    ],
)
async def test_floating_ip_create_with_bad_values_is_invalid_and_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, values: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.floating_ip_create(admin, values)
    assert await count_rows(nova_db, "floating_ips") == 0


async def test_floating_ip_create_with_a_bad_address_raises_invalid_ip_address_error(admin: rawdb.Context) -> None:
    with pytest.raises(errors.InvalidIpAddressError) as caught:
        await db.floating_ip_create(admin, {"address": "not-an-ip"})
    assert caught.value.kwargs == {"address": "not-an-ip"}


async def test_floating_ip_bulk_create_inserts_all_in_order_and_returns_them(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    rows = await db.floating_ip_bulk_create(
        admin,
        [
            {"address": "192.0.2.2", "pool": "nova", "interface": "eth0"},
            {"address": "192.0.2.1", "pool": "nova", "interface": "eth0", "auto_assigned": True},
            {"address": "2001:DB8::A", "pool": "v6", "created_at": T0},
        ],
    )
    assert rows is not None
    assert [r["address"] for r in rows] == ["192.0.2.2", "192.0.2.1", "2001:db8::a"]
    assert [r["pool"] for r in rows] == ["nova", "nova", "v6"]
    assert [r["auto_assigned"] for r in rows] == [False, True, False]
    assert rows[2]["created_at"] == T0
    assert all(list(r) == FLOATING_KEYS and r["deleted"] == 0 for r in rows)
    assert rows[0]["id"] < rows[1]["id"] < rows[2]["id"]
    assert await count_rows(nova_db, "floating_ips") == 3


async def test_floating_ip_bulk_create_without_want_result_returns_none(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    assert await db.floating_ip_bulk_create(admin, [{"address": "192.0.2.1"}], want_result=False) is None
    assert await db.floating_ip_bulk_create(admin, []) == []
    assert await count_rows(nova_db, "floating_ips") == 1


async def test_floating_ip_bulk_create_with_a_live_duplicate_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.floating_ip_create(admin, {"address": "192.0.2.5"})
    with pytest.raises(errors.FloatingIpExists) as caught:
        await db.floating_ip_bulk_create(admin, [{"address": "192.0.2.4"}, {"address": "192.0.2.5"}])
    assert caught.value.kwargs == {"address": "192.0.2.5"}
    assert [r["address"] for r in await floating_rows(nova_db)] == ["192.0.2.5"]


async def test_floating_ip_bulk_create_with_an_address_listed_twice_writes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    with pytest.raises(errors.FloatingIpExists) as caught:
        await db.floating_ip_bulk_create(admin, [{"address": "2001:db8::1"}, {"address": "2001:DB8:0::1"}])
    assert caught.value.kwargs == {"address": "2001:db8::1"}
    with pytest.raises(errors.InvalidIpAddressError):
        await db.floating_ip_bulk_create(admin, [{"address": "192.0.2.1"}, {"address": "192.0.2"}])
    with pytest.raises(errors.Invalid):
        await db.floating_ip_bulk_create(admin, [{"pool": "nova"}])
    assert await count_rows(nova_db, "floating_ips") == 0


async def test_floating_ip_bulk_create_duplicate_inside_a_transaction_leaves_the_transaction_usable(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.floating_ip_create(admin, {"address": "192.0.2.9"})
    async with admin.writer() as tx:
        with pytest.raises(errors.FloatingIpExists):
            await db.floating_ip_bulk_create(tx, [{"address": "192.0.2.8"}, {"address": "192.0.2.9"}])
        await db.floating_ip_create(tx, {"address": "192.0.2.7"})
    assert [r["address"] for r in await floating_rows(nova_db)] == ["192.0.2.9", "192.0.2.7"]


# --- bulk destroy and quota usage ----------------------------------------------------------------


async def test_floating_ip_bulk_destroy_soft_deletes_and_gives_back_quota_usage_per_project(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.floating_ip_bulk_create(
        admin,
        [
            {"address": "192.0.2.1", "project_id": "p1"},
            {"address": "192.0.2.2", "project_id": "p1"},
            {"address": "192.0.2.3", "project_id": "p1", "auto_assigned": True},
            {"address": "192.0.2.4", "project_id": "p2"},
            {"address": "192.0.2.5"},
            {"address": "192.0.2.6", "project_id": "p1"},
        ],
    )
    await add_usage(nova_db, "p1", 5)
    await add_usage(nova_db, "p2", 0)
    await add_usage(nova_db, "p1", 4, resource="fixed_ips")

    ips = [{"address": a} for a in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.99")]
    assert await db.floating_ip_bulk_destroy(admin, ips) is None

    rows = await floating_rows(nova_db)
    assert [(r["address"], r["deleted"] != 0) for r in rows] == [
        ("192.0.2.1", True),
        ("192.0.2.2", True),
        ("192.0.2.3", True),
        ("192.0.2.4", True),
        ("192.0.2.5", True),
        ("192.0.2.6", False),
    ]
    # p1: two non-auto-assigned deleted (5 -> 3); p2: never below zero; fixed_ips untouched
    assert await usages(nova_db) == {("p1", "floating_ips"): 3, ("p2", "floating_ips"): 0, ("p1", "fixed_ips"): 4}
    with pytest.raises(errors.FloatingIpNotFoundForAddress):
        await db.floating_ip_get_by_address(admin, "192.0.2.1")

    await db.floating_ip_bulk_destroy(admin, ips)  # deleted already: nothing given back twice
    assert (await usages(nova_db))[("p1", "floating_ips")] == 3


async def test_floating_ip_bulk_destroy_keeps_updated_at_and_leaves_projects_without_usage_alone(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.floating_ip_bulk_create(admin, [{"address": "192.0.2.1", "project_id": "p3", "updated_at": T0}])
    await db.floating_ip_bulk_destroy(admin, [{"address": "192.0.2.1"}])
    rows = await select(nova_db, "SELECT updated_at, deleted_at, deleted, id FROM floating_ips")
    assert rows[0]["updated_at"] == T0 and rows[0]["deleted"] == rows[0]["id"]
    assert isinstance(rows[0]["deleted_at"], datetime)
    assert await count_rows(nova_db, "quota_usages") == 0


@pytest.mark.parametrize("ips", ["192.0.2.1", [{"pool": "nova"}], ["192.0.2.1"], [{"address": "192.0.2.256"}]])
async def test_floating_ip_bulk_destroy_with_bad_ips_is_invalid_and_deletes_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, ips: Any
) -> None:
    await db.floating_ip_create(admin, {"address": "192.0.2.1"})
    with pytest.raises(errors.Invalid):
        await db.floating_ip_bulk_destroy(admin, ips)
    assert [r["deleted"] for r in await floating_rows(nova_db)] == [0]


async def test_floating_ip_destroy_removes_the_row(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    await db.floating_ip_bulk_create(admin, [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}])
    assert await db.floating_ip_destroy(admin, "192.0.2.1") is None
    await db.floating_ip_destroy(admin, "192.0.2.77")  # unknown: no error
    assert [r["address"] for r in await select(nova_db, "SELECT address FROM floating_ips")] == ["192.0.2.2"]
    with pytest.raises(errors.InvalidIpAddressError):
        await db.floating_ip_destroy(admin, "192.0.2.x")


# --- allocation ------------------------------------------------------------------------------


async def test_floating_ip_allocate_address_gives_a_free_address_of_the_pool_to_the_project(
    admin: rawdb.Context, alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.floating_ip_bulk_create(
        admin,
        [
            {"address": "192.0.2.1", "pool": "nova", "project_id": "p2"},  # allocated
            {"address": "192.0.2.2", "pool": "other"},  # another pool
            {"address": "192.0.2.3", "pool": "nova"},
        ],
    )
    await db.floating_ip_bulk_destroy(admin, [{"address": "192.0.2.3"}])  # deleted
    await db.floating_ip_bulk_create(admin, [{"address": "192.0.2.4", "pool": "nova", "fixed_ip_id": 7}])
    await db.floating_ip_bulk_create(admin, [{"address": "192.0.2.5", "pool": "nova"}])

    address = await db.floating_ip_allocate_address(alice, "p1", "nova", auto_assigned=True)

    assert address == "192.0.2.5"
    row = await db.floating_ip_get_by_address(alice, address)
    assert (row["project_id"], row["auto_assigned"], row["pool"]) == ("p1", True, "nova")
    assert row["updated_at"] is not None
    with pytest.raises(errors.NoMoreFloatingIps):
        await db.floating_ip_allocate_address(alice, "p1", "nova")
    with pytest.raises(errors.FloatingIpNotFound):  # NoMoreFloatingIps is one
        await db.floating_ip_allocate_address(admin, "p1", "empty-pool")
    assert await db.floating_ip_allocate_address(admin, "p9", "other") == "192.0.2.2"


async def test_floating_ip_allocate_address_checks_the_caller_and_its_arguments(
    admin: rawdb.Context, carol: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await make_pool(admin, 1)
    with pytest.raises(errors.NotAuthorized):
        await db.floating_ip_allocate_address(carol, "p1", "nova")
    with pytest.raises(errors.Invalid):
        await db.floating_ip_allocate_address(admin, "p1", None)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.floating_ip_allocate_address(admin, "p1", "nova", auto_assigned="sometimes")  # type: ignore[arg-type]
    with pytest.raises(errors.NotAuthorized):
        await db.floating_ip_allocate_address(rawdb.Context(nova_db), "p1", "nova")
    assert [r["project_id"] for r in await floating_rows(nova_db)] == [None]


async def test_floating_ip_allocate_address_inside_a_reader_is_a_scope_error(admin: rawdb.Context) -> None:
    await make_pool(admin, 1)
    async with admin.reader() as rx:
        with pytest.raises(rawdb.errors.ScopeError):
            await db.floating_ip_allocate_address(rx, "p1", "nova")


async def test_floating_ip_allocate_address_in_a_rolled_back_transaction_leaves_the_address_free(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await make_pool(admin, 1)
    with pytest.raises(RuntimeError):
        async with admin.writer() as tx:
            assert await db.floating_ip_allocate_address(tx, "p1", "nova") == "172.24.4.1"
            raise RuntimeError("roll back")
    assert [r["project_id"] for r in await floating_rows(nova_db)] == [None]
    assert await db.floating_ip_allocate_address(admin, "p2", "nova") == "172.24.4.1"


@pytest.mark.parametrize("backend", GALERA_BACKENDS, indirect=True)  # Galera: connections through all nodes
async def test_concurrent_floating_ip_allocations_get_distinct_addresses_until_the_pool_is_empty(
    admin: rawdb.Context, nova_db: rawdb.Database, nova_url: str, open_db: OpenDb, backend: str
) -> None:
    pool = await make_pool(admin, 16)
    await make_pool(admin, 4, pool="elsewhere", prefix="198.51.100.")
    databases = await node_databases(nova_url, backend, open_db, 20)
    callers = [rawdb.Context(d, project_id=f"p{i}", user_id=f"u{i}") for i, d in enumerate(databases)]

    results = await asyncio.gather(
        *(db.floating_ip_allocate_address(c, c.project_id or "", "nova") for c in callers), return_exceptions=True
    )

    addresses = [r for r in results if isinstance(r, str)]
    failures = [r for r in results if not isinstance(r, str)]
    assert sorted(addresses) == sorted(pool)  # 16 distinct addresses, every one of the pool
    assert len(failures) == 4 and all(isinstance(f, errors.NoMoreFloatingIps) for f in failures)
    rows = await select(nova_db, "SELECT address, project_id FROM floating_ips WHERE pool = 'nova' ORDER BY id")
    owners = {r["address"]: r["project_id"] for r in rows}
    assert {owners[a] for a in addresses} == {
        c.project_id for c, r in zip(callers, results, strict=True) if isinstance(r, str)
    }
    others = await select(nova_db, "SELECT project_id FROM floating_ips WHERE pool = 'elsewhere'")
    assert [r["project_id"] for r in others] == [None] * 4


async def test_floating_ip_allocations_through_one_database_share_transactions_each_with_its_own_project(
    admin: rawdb.Context, nova_db: rawdb.Database, backend: str
) -> None:
    """20 callers of several projects through one Database, 16 addresses: the callers arriving
    while an allocation runs share the next transaction, each address going to its caller's project."""
    pool = await make_pool(admin, 16)
    callers = [(f"p{i % 5}", i % 3 == 0) for i in range(20)]
    counter = StatementCounter(keep=True)
    with nova_db.hooked(counter):
        results = await asyncio.gather(
            *(db.floating_ip_allocate_address(admin, p, "nova", auto_assigned=a) for p, a in callers),
            return_exceptions=True,
        )
    given = {i: r for i, r in enumerate(results) if isinstance(r, str)}
    failures = [r for r in results if not isinstance(r, str)]
    assert sorted(given.values()) == sorted(pool)
    assert len(failures) == 4 and all(isinstance(f, errors.NoMoreFloatingIps) for f in failures)
    rows = {r["address"]: r for r in await floating_rows(nova_db)}
    for i, address in given.items():
        assert (rows[address]["project_id"], bool(rows[address]["auto_assigned"])) == callers[i]
        stored = await db.floating_ip_get_by_address(admin, address)
        assert (stored["project_id"], stored["auto_assigned"]) == callers[i]
    shared = {e.name for e in counter.events if e.name.endswith("_many")}
    if backend == "mysql":  # a locking read that skips, then one UPDATE
        assert shared == {"nova.floating_ips.allocate_pick_many", "nova.floating_ips.allocate_claim_many"}
    else:  # one statement for all the callers of a transaction
        assert shared == {"nova.floating_ips.allocate_many"}


async def test_shared_allocations_find_addresses_given_back_behind_where_the_last_ones_stopped(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    """Shared allocations start past the rows they took last (next fit), then wrap around."""
    pool = await make_pool(admin, 16)

    async def allocate_many(count: int) -> list[str | BaseException]:
        return await asyncio.gather(
            *(db.floating_ip_allocate_address(admin, f"p{i}", "nova") for i in range(count)), return_exceptions=True
        )

    first = await allocate_many(12)
    assert sorted(first) == sorted(pool[:12])  # type: ignore[type-var]
    for address in (pool[1], pool[2], pool[5]):  # given back, behind where the last ones stopped
        assert await db.floating_ip_deallocate(admin, address) == 1
    second = await allocate_many(10)
    given = [a for a in second if isinstance(a, str)]
    failures = [e for e in second if not isinstance(e, str)]
    assert sorted(given) == sorted([pool[1], pool[2], pool[5], *pool[12:]])
    assert len(failures) == 3 and all(isinstance(e, errors.NoMoreFloatingIps) for e in failures)
    rows = await floating_rows(nova_db)
    assert all(r["project_id"] is not None for r in rows)


async def test_floating_ip_allocate_address_waits_for_an_address_another_transaction_holds_but_gives_back(
    admin: rawdb.Context, nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    await make_pool(admin, 1)
    other = rawdb.Context(await open_db(nova_url), is_admin=True)
    holder_took = asyncio.Event()

    async def hold_then_roll_back() -> None:
        with pytest.raises(RuntimeError):
            async with admin.writer() as tx:
                assert await db.floating_ip_allocate_address(tx, "p1", "nova") == "172.24.4.1"
                holder_took.set()
                await asyncio.sleep(0.3)
                raise RuntimeError("give it back")

    async def allocate_meanwhile() -> str:
        await holder_took.wait()
        return await db.floating_ip_allocate_address(other, "p2", "nova")

    _, address = await asyncio.gather(hold_then_roll_back(), allocate_meanwhile())

    # the pool had a free address all along: the held one, given back
    assert address == "172.24.4.1"
    assert [r["project_id"] for r in await floating_rows(nova_db)] == ["p2"]


# --- deallocate, auto-assigned, counts ----------------------------------------------------------


async def test_floating_ip_deallocate_takes_an_unassociated_address_back(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.floating_ip_bulk_create(
        admin,
        [
            {"address": "192.0.2.1", "project_id": "p1", "host": "h1", "auto_assigned": True},
            {"address": "192.0.2.2", "project_id": "p1", "host": "h1", "fixed_ip_id": 3},
            {"address": "192.0.2.3"},
        ],
    )
    assert await db.floating_ip_deallocate(admin, "192.0.2.1") == 1
    assert await db.floating_ip_deallocate(admin, "192.0.2.2") == 0  # associated
    assert await db.floating_ip_deallocate(admin, "192.0.2.3") == 0  # not allocated
    assert await db.floating_ip_deallocate(admin, "192.0.2.4") == 0  # unknown
    rows = await floating_rows(nova_db)
    assert [(r["project_id"], r["host"], r["auto_assigned"]) for r in rows] == [
        (None, None, False),
        ("p1", "h1", False),
        (None, None, False),
    ]
    with pytest.raises(errors.InvalidIpAddressError):
        await db.floating_ip_deallocate(admin, "::g")


async def test_floating_ip_set_auto_assigned_and_count_by_project_leave_auto_assigned_out(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context
) -> None:
    await db.floating_ip_bulk_create(
        admin, [{"address": f"192.0.2.{i}", "project_id": "p1"} for i in (1, 2, 3)] + [{"address": "192.0.2.4"}]
    )
    assert await db.floating_ip_count_by_project(alice, "p1") == 3
    assert await db.floating_ip_set_auto_assigned(admin, "192.0.2.2") is None
    assert (await db.floating_ip_get_by_address(admin, "192.0.2.2"))["auto_assigned"] is True
    assert await db.floating_ip_count_by_project(alice, "p1") == 2
    assert [f["address"] for f in await db.floating_ip_get_all_by_project(alice, "p1")] == ["192.0.2.1", "192.0.2.3"]
    assert await db.floating_ip_count_by_project(admin, "p2") == 0
    with pytest.raises(errors.NotAuthorized):
        await db.floating_ip_count_by_project(carol, "p1")


# --- association (E.5 9) ----------------------------------------------------------------------


async def test_multi_associate_disassociate(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    """E.5 9: re-associating the same pair returns None; a second disassociate returns None."""
    network_id = await add_network(nova_db)
    fixed_id = await add_fixed_ip(nova_db, "10.0.0.5", network_id=network_id)
    await db.floating_ip_create(admin, {"address": "172.24.4.10"})

    fixed = await db.floating_ip_fixed_ip_associate(admin, "172.24.4.10", "10.0.0.5", "compute1")
    assert fixed is not None
    assert list(fixed) == [*FIXED_KEYS, "network"]
    assert (fixed["id"], fixed["address"], fixed["network_id"]) == (fixed_id, "10.0.0.5", network_id)
    assert (fixed["network"]["id"], fixed["network"]["vlan"], fixed["network"]["cidr"]) == (
        network_id,
        100,
        "10.100.0.0/24",
    )
    row = await db.floating_ip_get_by_address(admin, "172.24.4.10")
    assert (row["fixed_ip_id"], row["host"]) == (fixed_id, "compute1")

    assert await db.floating_ip_fixed_ip_associate(admin, "172.24.4.10", "10.0.0.5", "compute2") is None
    assert (await db.floating_ip_get_by_address(admin, "172.24.4.10"))["host"] == "compute1"  # unchanged

    released = await db.floating_ip_disassociate(admin, "172.24.4.10")
    assert released is not None
    assert (released["address"], released["network"]["id"]) == ("10.0.0.5", network_id)
    row = await db.floating_ip_get_by_address(admin, "172.24.4.10")
    assert (row["fixed_ip_id"], row["host"], row["fixed_ip"]) == (None, None, None)

    assert await db.floating_ip_disassociate(admin, "172.24.4.10") is None


async def test_floating_ip_fixed_ip_associate_returns_a_fixed_ip_without_network_as_none(
    alice: rawdb.Context, admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    deleted_network = await add_network(nova_db, vlan=200, deleted=True)
    await add_fixed_ip(nova_db, "10.0.0.6", network_id=deleted_network)
    await db.floating_ip_create(admin, {"address": "172.24.4.11", "project_id": "p1"})
    fixed = await db.floating_ip_fixed_ip_associate(alice, "172.24.4.11", "10.0.0.6", None)
    assert fixed is not None and fixed["network"] is None
    assert (await db.floating_ip_get_by_address(alice, "172.24.4.11"))["host"] is None


async def test_floating_ip_fixed_ip_associate_errors(
    admin: rawdb.Context, alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await add_fixed_ip(nova_db, "10.0.0.5")
    await add_fixed_ip(nova_db, "10.0.0.6")
    await add_fixed_ip(nova_db, "10.0.0.7", deleted=True)
    await db.floating_ip_bulk_create(admin, [{"address": "172.24.4.1", "project_id": "p2"}, {"address": "172.24.4.2"}])

    with pytest.raises(errors.FixedIpNotFoundForAddress) as caught:
        await db.floating_ip_fixed_ip_associate(admin, "172.24.4.2", "10.0.0.9", "h")
    assert caught.value.kwargs == {"address": "10.0.0.9"}
    with pytest.raises(errors.FixedIpNotFoundForAddress):
        await db.floating_ip_fixed_ip_associate(admin, "172.24.4.2", "10.0.0.7", "h")  # deleted
    with pytest.raises(errors.FloatingIpNotFoundForAddress):
        await db.floating_ip_fixed_ip_associate(admin, "172.24.4.9", "10.0.0.5", "h")
    with pytest.raises(errors.FloatingIpAssociateFailed) as failed:
        await db.floating_ip_fixed_ip_associate(alice, "172.24.4.1", "10.0.0.5", "h")  # p2's
    assert failed.value.kwargs == {"address": "172.24.4.1"}
    with pytest.raises(errors.FloatingIpAssociateFailed):
        await db.floating_ip_fixed_ip_associate(alice, "172.24.4.2", "10.0.0.5", "h")  # no project, alice has p1
    assert await db.floating_ip_fixed_ip_associate(admin, "172.24.4.2", "10.0.0.5", "h") is not None
    with pytest.raises(errors.FloatingIpAssociateFailed):
        await db.floating_ip_fixed_ip_associate(admin, "172.24.4.2", "10.0.0.6", "h")  # points elsewhere
    with pytest.raises(errors.InvalidIpAddressError):
        await db.floating_ip_fixed_ip_associate(admin, "172.24.4.2", "10.0.0.256", "h")
    with pytest.raises(errors.Invalid):
        await db.floating_ip_fixed_ip_associate(admin, "172.24.4.2", "10.0.0.6", 7)  # type: ignore[arg-type]
    rows = await floating_rows(nova_db)
    assert [(r["fixed_ip_id"] is not None, r["host"]) for r in rows] == [(False, None), (True, "h")]


async def test_floating_ip_disassociate_of_an_unknown_address_is_not_found(admin: rawdb.Context) -> None:
    with pytest.raises(errors.FloatingIpNotFoundForAddress) as caught:
        await db.floating_ip_disassociate(admin, "172.24.4.1")
    assert caught.value.kwargs == {"address": "172.24.4.1"}
    with pytest.raises(errors.InvalidIpAddressError):
        await db.floating_ip_disassociate(admin, "172.24.4")


# --- reading -----------------------------------------------------------------------------------


async def test_floating_ip_get_joins_the_fixed_ip_and_its_live_instance(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context, nova_db: rawdb.Database
) -> None:
    uuid = await make_instance(nova_db, hostname="vm1")
    fixed_id = await add_fixed_ip(nova_db, "10.0.0.5", instance_uuid=uuid)
    created = await db.floating_ip_create(admin, {"address": "172.24.4.1", "project_id": "p1"})
    await db.floating_ip_fixed_ip_associate(alice, "172.24.4.1", "10.0.0.5", "h1")

    row = await db.floating_ip_get(alice, created["id"])

    assert list(row) == [*FLOATING_KEYS, "fixed_ip"]
    assert list(row["fixed_ip"]) == [*FIXED_KEYS, "instance"]
    assert (row["fixed_ip"]["id"], row["fixed_ip"]["address"]) == (fixed_id, "10.0.0.5")
    instance = row["fixed_ip"]["instance"]
    assert (instance["uuid"], instance["hostname"], instance["project_id"]) == (uuid, "vm1", "p1")
    assert instance["name"] == f"instance-{instance['id']:08x}"
    assert (await db.floating_ip_get(admin, str(created["id"])))["id"] == created["id"]  # ids as strings
    with pytest.raises(errors.FloatingIpNotFound) as caught:
        await db.floating_ip_get(carol, created["id"])  # another project's
    assert caught.value.kwargs == {"id": created["id"]}
    with pytest.raises(errors.InvalidID):
        await db.floating_ip_get(admin, "one")
    with pytest.raises(errors.FloatingIpNotFound):
        await db.floating_ip_get(admin, 2**40)

    await execute(nova_db, "UPDATE instances SET deleted = id WHERE uuid = :u", u=uuid)
    assert (await db.floating_ip_get(admin, created["id"]))["fixed_ip"]["instance"] is None


async def test_floating_ip_get_sees_deleted_rows_as_read_deleted_says(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    created = await db.floating_ip_create(admin, {"address": "172.24.4.1"})
    await db.floating_ip_bulk_destroy(admin, [{"address": "172.24.4.1"}])
    with pytest.raises(errors.FloatingIpNotFound):
        await db.floating_ip_get(admin, created["id"])
    row = await db.floating_ip_get(admin.elevated(read_deleted="yes"), created["id"])
    assert (row["id"], row["deleted"], row["fixed_ip"]) == (created["id"], created["id"], None)


async def test_floating_ip_get_by_address_errors(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context
) -> None:
    await db.floating_ip_bulk_create(admin, [{"address": "172.24.4.1", "project_id": "p1"}, {"address": "172.24.4.2"}])
    assert (await db.floating_ip_get_by_address(carol, "172.24.4.2"))["project_id"] is None  # unallocated: anyone
    with pytest.raises(errors.NotAuthorized):
        await db.floating_ip_get_by_address(carol, "172.24.4.1")
    assert (await db.floating_ip_get_by_address(alice, "172.24.4.1"))["fixed_ip"] is None
    with pytest.raises(errors.FloatingIpNotFoundForAddress) as caught:
        await db.floating_ip_get_by_address(admin, "172.24.4.3")
    assert caught.value.kwargs == {"address": "172.24.4.3"}
    with pytest.raises(errors.FloatingIpNotFoundForAddress) as empty:
        await db.floating_ip_get_by_address(admin, "")
    assert empty.value.kwargs == {"address": None}
    with pytest.raises(errors.InvalidIpAddressError) as bad:
        await db.floating_ip_get_by_address(admin, "172.24.4.1.1")
    assert isinstance(bad.value, errors.Invalid)


async def test_floating_ip_get_all_and_by_host_join_the_fixed_ip_alone(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    with pytest.raises(errors.NoFloatingIpsDefined):
        await db.floating_ip_get_all(admin)
    uuid = await make_instance(nova_db)
    fixed_id = await add_fixed_ip(nova_db, "10.0.0.5", instance_uuid=uuid)
    await db.floating_ip_bulk_create(
        admin,
        [
            {"address": "172.24.4.1", "host": "h1", "fixed_ip_id": fixed_id},
            {"address": "172.24.4.2", "host": "h2"},
            {"address": "172.24.4.3", "host": "h1"},
        ],
    )
    await db.floating_ip_bulk_destroy(admin, [{"address": "172.24.4.3"}])

    everything = await db.floating_ip_get_all(admin)
    assert [f["address"] for f in everything] == ["172.24.4.1", "172.24.4.2"]
    assert list(everything[0]["fixed_ip"]) == FIXED_KEYS  # no instance
    assert everything[0]["fixed_ip"]["instance_uuid"] == uuid
    assert everything[1]["fixed_ip"] is None
    on_h1 = await db.floating_ip_get_all_by_host(admin, "h1")
    assert [f["address"] for f in on_h1] == ["172.24.4.1"]
    with pytest.raises(errors.FloatingIpNotFoundForHost) as caught:
        await db.floating_ip_get_all_by_host(admin, "h3")
    assert caught.value.kwargs == {"host": "h3"}


async def test_floating_ip_get_all_by_project_joins_instances_and_checks_the_caller(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context, nova_db: rawdb.Database
) -> None:
    uuid = await make_instance(nova_db)
    fixed_id = await add_fixed_ip(nova_db, "10.0.0.5", instance_uuid=uuid)
    await db.floating_ip_bulk_create(
        admin,
        [
            {"address": "172.24.4.1", "project_id": "p1", "fixed_ip_id": fixed_id},
            {"address": "172.24.4.2", "project_id": "p1", "auto_assigned": True},
            {"address": "172.24.4.3", "project_id": "p2"},
            {"address": "172.24.4.4", "project_id": "p1"},
        ],
    )
    mine = await db.floating_ip_get_all_by_project(alice, "p1")
    assert [f["address"] for f in mine] == ["172.24.4.1", "172.24.4.4"]
    assert mine[0]["fixed_ip"]["instance"]["uuid"] == uuid
    assert mine[1]["fixed_ip"] is None
    assert await db.floating_ip_get_all_by_project(admin, "p9") == []
    with pytest.raises(errors.NotAuthorized):
        await db.floating_ip_get_all_by_project(carol, "p1")


async def test_floating_ip_get_by_fixed_address_and_fixed_ip_id(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    first = await add_fixed_ip(nova_db, "2001:db8::5")
    second = await add_fixed_ip(nova_db, "10.0.0.6")
    await db.floating_ip_bulk_create(
        admin,
        [
            {"address": "172.24.4.1", "fixed_ip_id": first},
            {"address": "172.24.4.2", "fixed_ip_id": second},
            {"address": "172.24.4.3", "fixed_ip_id": first},
        ],
    )
    by_address = await db.floating_ip_get_by_fixed_address(admin, "2001:DB8:0::5")
    assert [f["address"] for f in by_address] == ["172.24.4.1", "172.24.4.3"]
    assert all(list(f) == FLOATING_KEYS for f in by_address)
    by_id = await db.floating_ip_get_by_fixed_ip_id(admin, second)
    assert [f["address"] for f in by_id] == ["172.24.4.2"]
    assert await db.floating_ip_get_by_fixed_ip_id(admin, 2**40) == []
    assert await db.floating_ip_get_by_fixed_address(admin, "10.9.9.9") == []
    with pytest.raises(errors.Invalid):
        await db.floating_ip_get_by_fixed_ip_id(admin, "first")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidIpAddressError):
        await db.floating_ip_get_by_fixed_address(admin, "10.0.0")


async def test_floating_ip_get_pools_lists_each_pool_once(admin: rawdb.Context, alice: rawdb.Context) -> None:
    assert await db.floating_ip_get_pools(alice) == []
    await db.floating_ip_bulk_create(
        admin,
        [
            {"address": "172.24.4.1", "pool": "public"},
            {"address": "172.24.4.2", "pool": "Nova"},
            {"address": "172.24.4.3", "pool": "public"},
            {"address": "172.24.4.4"},
            {"address": "172.24.4.5", "pool": "nova"},
        ],
    )
    assert await db.floating_ip_get_pools(alice) == [
        {"name": "Nova"},
        {"name": "nova"},
        {"name": "public"},
        {"name": None},
    ]


# --- update --------------------------------------------------------------------------------------


async def test_floating_ip_update_changes_the_values_given(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    await db.floating_ip_bulk_create(admin, [{"address": "172.24.4.1", "pool": "nova"}, {"address": "172.24.4.2"}])
    row = await db.floating_ip_update(admin, "172.24.4.1", {"host": "h9", "interface": "eth1", "project_id": "p1"})
    assert (row["address"], row["host"], row["interface"], row["project_id"], row["pool"]) == (
        "172.24.4.1",
        "h9",
        "eth1",
        "p1",
        "nova",
    )
    assert row["updated_at"] is not None and row["fixed_ip"] is None
    moved = await db.floating_ip_update(admin, "172.24.4.1", {"address": "2001:DB8::9", "updated_at": T0})
    assert (moved["address"], moved["updated_at"], moved["id"]) == ("2001:db8::9", T0, row["id"])
    unchanged = await db.floating_ip_update(admin, "2001:db8::9", {})
    assert unchanged == moved


async def test_floating_ip_update_errors_change_nothing(
    admin: rawdb.Context, carol: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.floating_ip_bulk_create(admin, [{"address": "172.24.4.1", "project_id": "p1"}, {"address": "172.24.4.2"}])
    with pytest.raises(errors.FloatingIpExists) as caught:
        await db.floating_ip_update(admin, "172.24.4.2", {"address": "172.24.4.1"})
    assert caught.value.kwargs == {"address": "172.24.4.1"}
    with pytest.raises(errors.FloatingIpNotFoundForAddress):
        await db.floating_ip_update(admin, "172.24.4.3", {"host": "h"})
    with pytest.raises(errors.NotAuthorized):
        await db.floating_ip_update(carol, "172.24.4.1", {"host": "h"})
    with pytest.raises(errors.Invalid):
        await db.floating_ip_update(admin, "172.24.4.2", {"fixed_ip_id": "seven"})
    with pytest.raises(errors.InvalidIpAddressError):
        await db.floating_ip_update(admin, "172.24.4.2", {"address": "172.24.4.2/24"})
    rows = await floating_rows(nova_db)
    assert [(r["address"], r["host"]) for r in rows] == [("172.24.4.1", None), ("172.24.4.2", None)]


# --- instances -----------------------------------------------------------------------------------


async def test_instance_get_floating_address_takes_the_first_fixed_ips_first_floating_ip(
    admin: rawdb.Context, carol: rawdb.Context, nova_db: rawdb.Database
) -> None:
    uuid = await make_instance(nova_db)
    bare = await make_instance(nova_db)
    instance_id = (await select(nova_db, "SELECT id FROM instances WHERE uuid = :u", u=uuid))[0]["id"]
    bare_id = (await select(nova_db, "SELECT id FROM instances WHERE uuid = :u", u=bare))[0]["id"]
    first = await add_fixed_ip(nova_db, "10.0.0.5", instance_uuid=uuid)
    second = await add_fixed_ip(nova_db, "10.0.0.6", instance_uuid=uuid)
    await db.floating_ip_bulk_create(
        admin,
        [
            {"address": "172.24.4.3", "fixed_ip_id": second},
            {"address": "172.24.4.1", "fixed_ip_id": first},
            {"address": "172.24.4.2", "fixed_ip_id": first},
        ],
    )
    assert await db.instance_get_floating_address(admin, instance_id) == "172.24.4.1"
    assert await db.instance_get_floating_address(admin, bare_id) is None
    with pytest.raises(errors.InstanceNotFound):
        await db.instance_get_floating_address(carol, instance_id)  # p1's instance
    with pytest.raises(errors.InstanceNotFound):
        await db.instance_get_floating_address(admin, 2**40)
    with pytest.raises(errors.InvalidID):
        await db.instance_get_floating_address(admin, "vm")  # type: ignore[arg-type]


async def test_instance_floating_address_get_all_lists_every_live_fixed_ips_floating_addresses(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    uuid = await make_instance(nova_db)
    first = await add_fixed_ip(nova_db, "10.0.0.5", instance_uuid=uuid)
    second = await add_fixed_ip(nova_db, "10.0.0.6", instance_uuid=uuid)
    gone = await add_fixed_ip(nova_db, "10.0.0.7", instance_uuid=uuid, deleted=True)
    await db.floating_ip_bulk_create(
        admin,
        [
            {"address": "172.24.4.1", "fixed_ip_id": second},
            {"address": "172.24.4.2", "fixed_ip_id": first},
            {"address": "172.24.4.3", "fixed_ip_id": gone},
            {"address": "172.24.4.4", "fixed_ip_id": first},
        ],
    )
    await db.floating_ip_bulk_destroy(admin, [{"address": "172.24.4.4"}])
    assert await db.instance_floating_address_get_all(admin, uuid) == ["172.24.4.1", "172.24.4.2"]
    assert await db.instance_floating_address_get_all(admin, "6f1c3cd5-8ae0-4a0b-9a4b-2b8e2c3f2b11") == []
    with pytest.raises(errors.InvalidUUID):
        await db.instance_floating_address_get_all(admin, "not-a-uuid")


ROUND_TRIPS = {
    "postgresql": ["nova.floating_ips.allocate"],  # one statement, no BEGIN/COMMIT
    "sqlite": ["nova.floating_ips.allocate"],
    "mysql": ["BEGIN", "nova.floating_ips.allocate_pick", "nova.floating_ips.allocate_claim", "COMMIT"],
}
EXHAUSTED = {
    "postgresql": ["nova.floating_ips.allocate"],
    "sqlite": ["nova.floating_ips.allocate"],
    "mysql": ["nova.floating_ips.allocate_pick", "nova.floating_ips.allocate"],
}


async def test_floating_ip_allocate_address_round_trips_per_backend(
    admin: rawdb.Context, nova_db: rawdb.Database, backend: str
) -> None:
    await make_pool(admin, 1)
    counter = StatementCounter(keep=True)
    with nova_db.hooked(counter):
        await db.floating_ip_allocate_address(admin, "p1", "nova")
    assert [e.name for e in counter.events] == ROUND_TRIPS[backend]
    counter.reset()
    with nova_db.hooked(counter), pytest.raises(errors.NoMoreFloatingIps):
        await db.floating_ip_allocate_address(admin, "p1", "nova")
    assert [e.name for e in counter.events if e.name.startswith("nova.")] == EXHAUSTED[backend]


@pytest.mark.parametrize("backend", GALERA_BACKENDS, indirect=True)
async def test_concurrent_associations_of_one_floating_ip_let_one_win(
    admin: rawdb.Context, nova_db: rawdb.Database, nova_url: str, open_db: OpenDb, backend: str
) -> None:
    fixed_ids = [await add_fixed_ip(nova_db, f"10.0.0.{i}") for i in range(1, 7)]
    await db.floating_ip_create(admin, {"address": "172.24.4.1"})
    callers = [
        rawdb.Context(d, is_admin=True) for d in await node_databases(nova_url, backend, open_db, len(fixed_ids))
    ]

    results = await asyncio.gather(
        *(
            db.floating_ip_fixed_ip_associate(c, "172.24.4.1", f"10.0.0.{i}", f"h{i}")
            for i, c in enumerate(callers, start=1)
        ),
        return_exceptions=True,
    )

    winners = [r for r in results if isinstance(r, dict)]
    assert len(winners) == 1
    assert all(isinstance(r, errors.FloatingIpAssociateFailed) for r in results if not isinstance(r, dict))
    row = (await select(nova_db, "SELECT fixed_ip_id, host FROM floating_ips"))[0]
    assert row["fixed_ip_id"] == winners[0]["id"] and row["host"] == f"h{fixed_ids.index(row['fixed_ip_id']) + 1}"


@pytest.mark.parametrize("backend", GALERA_BACKENDS, indirect=True)
async def test_concurrent_bulk_destroys_give_quota_usage_back_once(
    admin: rawdb.Context, nova_db: rawdb.Database, nova_url: str, open_db: OpenDb, backend: str
) -> None:
    addresses = await make_pool(admin, 3)
    await execute(nova_db, "UPDATE floating_ips SET project_id = 'p1'")
    await add_usage(nova_db, "p1", 10)
    callers = [rawdb.Context(d, is_admin=True) for d in await node_databases(nova_url, backend, open_db, 6)]

    await asyncio.gather(*(db.floating_ip_bulk_destroy(c, [{"address": a} for a in addresses]) for c in callers))

    assert await usages(nova_db) == {("p1", "floating_ips"): 7}
    assert [r["deleted"] != 0 for r in await floating_rows(nova_db)] == [True] * 3


@pytest.mark.parametrize("backend", ["mysql"], indirect=True)  # the dialect whose optimizer took another index
async def test_mariadb_picks_read_the_free_rows_only_however_many_addresses_are_taken(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    """Left to itself, MariaDB read a pool's free rows through the fixed_ip_id index's NULL
    entries: every address taken but not associated as well (a full pool's worth per pick)."""
    addresses = [f"172.25.{i // 250}.{i % 250 + 1}" for i in range(2000)]
    await db.floating_ip_bulk_create(admin, [{"address": a, "pool": "nova", "interface": "eth0"} for a in addresses])
    await execute(nova_db, "UPDATE floating_ips SET project_id = 'p1' WHERE address <> :a", a=addresses[-1])
    async with admin.writer(autocommit=True) as tx:
        await tx.script("ANALYZE TABLE floating_ips", "fresh statistics")
    conn = await nova_db.backend.bare_connection(read_only=False)  # type: ignore[attr-defined]
    try:
        for name, params in (
            ("nova.floating_ips.allocate_pick", {"pool": "nova"}),
            ("nova.floating_ips.allocate_pick_many", {"pool": "nova", "after": 0, "upto": 2**31 - 1, "count": 8}),
        ):
            compiled = nova_db.statement(name).compiled("mysql")
            cursor = conn.cursor()
            await cursor.execute(f"ANALYZE FORMAT=JSON {compiled.sql}", compiled.bind(name, params))
            (plan,) = (await cursor.fetchall())[0]
            await cursor.close()
            read = [int(float(r)) for r in re.findall(r'"r_rows": ([0-9.]+)', plan)]
            assert read and max(read) <= 2, (name, plan)
    finally:
        await conn.ensure_closed()
    assert (await db.floating_ip_allocate_address(admin, "p2", "nova")) == addresses[-1]
