"""Fixed IPs (rawdb.nova.fixed_ips, Newton + Grizzly's extras, spec A.3 and D.5) on every backend.

The rows they need (networks, floating IPs, virtual interfaces, instances) are written with
plain SQL, as upstream's suites start from two VLAN networks (spec E.4).
"""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from novatools import make_instance
from sqltools import GALERA_BACKENDS, OpenDb, count_rows, execute, node_databases, select, stmt

import rawdb
from rawdb import errors
from rawdb.nova import fixed_ips as db
from rawdb.observe import StatementCounter

T0 = datetime(2016, 1, 1, 10, 0, 0)
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


async def make_network(database: rawdb.Database, cidr: str, vlan: int, **values: Any) -> int:
    row = {"cidr": cidr, "vlan": vlan, "uuid": str(uuidlib.uuid4()), "label": f"net{vlan}", "deleted": 0, **values}
    row.setdefault("created_at", T0)
    columns = sorted(row)
    await execute(
        database,
        f"INSERT INTO networks ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})",
        **row,
    )
    found = await select(database, "SELECT id FROM networks WHERE uuid = :u", u=row["uuid"])
    return int(found[0]["id"])


async def make_fixed_ip(database: rawdb.Database, address: str, network_id: int | None, **values: Any) -> int:
    row = {"address": address, "network_id": network_id, "allocated": False, "leased": False, "reserved": False}
    row |= {"deleted": 0, "created_at": T0, **values}
    columns = sorted(row)
    await execute(
        database,
        f"INSERT INTO fixed_ips ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})",
        **row,
    )
    found = await select(database, "SELECT max(id) AS id FROM fixed_ips WHERE address = :a", a=address)
    return int(found[0]["id"])


async def make_vif(database: rawdb.Database, address: str, instance_uuid: str, network_id: int, **values: Any) -> int:
    row = {"address": address, "instance_uuid": instance_uuid, "network_id": network_id, "deleted": 0}
    row |= {"uuid": str(uuidlib.uuid4()), "created_at": T0, **values}
    columns = sorted(row)
    await execute(
        database,
        f"INSERT INTO virtual_interfaces ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})",
        **row,
    )
    found = await select(database, "SELECT id FROM virtual_interfaces WHERE uuid = :u", u=row["uuid"])
    return int(found[0]["id"])


async def make_floating_ip(database: rawdb.Database, address: str, fixed_ip_id: int | None) -> int:
    await execute(
        database,
        "INSERT INTO floating_ips (address, fixed_ip_id, project_id, auto_assigned, pool, deleted, created_at) "
        "VALUES (:a, :f, 'p1', :no, 'nova', 0, :t)",
        a=address,
        f=fixed_ip_id,
        no=False,
        t=T0,
    )
    found = await select(database, "SELECT id FROM floating_ips WHERE address = :a", a=address)
    return int(found[0]["id"])


async def soft_delete(database: rawdb.Database, table: str, row_id: int) -> None:
    assert table in ("fixed_ips", "networks", "virtual_interfaces", "instances")
    await execute(database, f"UPDATE {table} SET deleted = id, deleted_at = :t WHERE id = :id", t=T0, id=row_id)


@dataclass
class Vlans:
    """Grizzly's test database: two VLAN networks of 8 addresses (network, gateway, broadcast reserved)."""

    net1: int
    net2: int
    free1: list[str]
    free2: list[str]


@pytest.fixture
async def vlans(nova_db: rawdb.Database) -> Vlans:
    net1 = await make_network(nova_db, "10.0.0.0/29", 100, bridge="br100", host="net-host", multi_host=False)
    net2 = await make_network(nova_db, "10.0.0.8/29", 101, bridge="br101", host="net-host2", multi_host=True)
    free: dict[int, list[str]] = {net1: [], net2: []}
    for net, base in ((net1, 0), (net2, 8)):
        for i in range(8):
            reserved = i in (0, 1, 7)
            await make_fixed_ip(nova_db, f"10.0.0.{base + i}", net, reserved=reserved)
            if not reserved:
                free[net].append(f"10.0.0.{base + i}")
    return Vlans(net1, net2, free[net1], free[net2])


async def fixed_row(database: rawdb.Database, address: str) -> dict[str, Any]:
    rows = await select(
        database,
        "SELECT instance_uuid, network_id, host, allocated, leased, virtual_interface_id, updated_at "
        "FROM fixed_ips WHERE address = :a AND deleted = 0",
        a=address,
    )
    return rows[0]


# --- fixed_ip_associate_pool -------------------------------------------------------------


async def test_associate_pool_claims_the_first_free_address_and_returns_the_row(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    instance = await make_instance(nova_db)
    row = await db.fixed_ip_associate_pool(admin, vlans.net1, instance_uuid=instance, host="compute1")
    assert list(row) == FIXED_KEYS
    assert (row["address"], row["network_id"], row["instance_uuid"], row["host"]) == (
        "10.0.0.2",
        vlans.net1,
        instance,
        "compute1",
    )
    assert (row["allocated"], row["virtual_interface_id"], row["reserved"]) == (False, None, False)
    assert isinstance(row["updated_at"], datetime)
    stored = await fixed_row(nova_db, "10.0.0.2")
    assert (stored["instance_uuid"], stored["host"], stored["updated_at"]) == (instance, "compute1", row["updated_at"])


async def test_associate_pool_hands_out_the_oldest_address_first(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    net = await make_network(nova_db, "10.1.0.0/29", 200)
    await make_fixed_ip(nova_db, "10.1.0.2", net, updated_at=T0 + timedelta(hours=2))
    await make_fixed_ip(nova_db, "10.1.0.3", net, updated_at=T0)
    await make_fixed_ip(nova_db, "10.1.0.4", net, updated_at=T0 + timedelta(hours=1))
    await make_fixed_ip(nova_db, "10.1.0.5", net)  # never updated: the oldest
    order = [(await db.fixed_ip_associate_pool(admin, net))["address"] for _ in range(4)]
    assert order == ["10.1.0.5", "10.1.0.3", "10.1.0.4", "10.1.0.2"]


async def test_associate_pool_skips_reserved_leased_hosted_and_other_networks_and_sets_a_missing_network(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    net = await make_network(nova_db, "10.2.0.0/29", 300)
    other = await make_network(nova_db, "10.3.0.0/29", 301)
    await make_fixed_ip(nova_db, "10.2.0.2", net, reserved=True)
    await make_fixed_ip(nova_db, "10.2.0.3", net, leased=True)
    await make_fixed_ip(nova_db, "10.2.0.4", net, host="somewhere")
    await make_fixed_ip(nova_db, "10.3.0.2", other)
    gone = await make_fixed_ip(nova_db, "10.2.0.5", net)
    await soft_delete(nova_db, "fixed_ips", gone)
    await make_fixed_ip(nova_db, "10.9.0.9", None)
    vif_holder = await make_instance(nova_db)
    vif = await make_vif(nova_db, "aa:bb:cc:00:00:01", vif_holder, net)
    row = await db.fixed_ip_associate_pool(admin, net, host="c1", virtual_interface_id=vif)
    # F.3: the network-less address joins the network (Grizzly assigned the relationship instead)
    assert (row["address"], row["network_id"], row["allocated"], row["virtual_interface_id"]) == (
        "10.9.0.9",
        net,
        True,
        vif,
    )
    with pytest.raises(errors.NoMoreFixedIps) as caught:
        await db.fixed_ip_associate_pool(admin, net)
    assert caught.value.kwargs == {"net": net}


async def test_associate_pool_rejects_a_bad_uuid_and_bad_arguments_writing_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    with pytest.raises(errors.InvalidUUID):
        await db.fixed_ip_associate_pool(admin, vlans.net1, instance_uuid="not-a-uuid")
    with pytest.raises(errors.Invalid):
        await db.fixed_ip_associate_pool(admin, "net-one")
    with pytest.raises(errors.Invalid):
        await db.fixed_ip_associate_pool(admin, vlans.net1, host="h" * 256)
    with pytest.raises(errors.Invalid):
        await db.fixed_ip_associate_pool(admin, 2**40)
    taken = await select(nova_db, "SELECT id FROM fixed_ips WHERE updated_at IS NOT NULL")
    assert taken == []


@pytest.mark.parametrize("backend", GALERA_BACKENDS, indirect=True)  # Galera: connections through all nodes
async def test_associate_pool_from_many_connections_gives_distinct_addresses_then_no_more(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb, backend: str
) -> None:
    net = await make_network(nova_db, "10.4.0.0/28", 400)
    for i in range(16):
        await make_fixed_ip(nova_db, f"10.4.0.{i}", net)
    databases = await node_databases(nova_url, backend, open_db, 10)
    callers = [rawdb.Context(databases[i % 10], is_admin=True) for i in range(20)]
    results = await asyncio.gather(
        *(db.fixed_ip_associate_pool(c, net, host=f"host{i}") for i, c in enumerate(callers)), return_exceptions=True
    )
    claimed = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if not isinstance(r, dict)]
    assert sorted(r["address"] for r in claimed) == sorted(f"10.4.0.{i}" for i in range(16))
    assert len(refused) == 4 and all(isinstance(e, errors.NoMoreFixedIps) for e in refused)
    hosts = await select(nova_db, "SELECT address, host FROM fixed_ips WHERE host IS NOT NULL")
    assert {h["address"]: h["host"] for h in hosts} == {r["address"]: r["host"] for r in claimed}


@pytest.mark.parametrize("backend", ["postgresql", "mysql"], indirect=True)  # SQLite: one writer at a time
async def test_associate_pool_passes_over_a_row_another_claimer_holds_and_keeps_oldest_first(
    admin: rawdb.Context, nova_db: rawdb.Database, nova_url: str, open_db: OpenDb, vlans: Vlans, backend: str
) -> None:
    """The oldest free row held by another transaction: claims take the next ones at once
    (MariaDB: its quick pick finds the held row, drops it and the locking walk takes the next);
    once the holder lets go without claiming it, it is the next one handed out."""
    other = await open_db(nova_url)
    holder = rawdb.Context(other, is_admin=True)
    oldest = vlans.free1[0]
    async with holder.writer() as tx:
        held = await tx.fetch(stmt(f"SELECT id FROM fixed_ips WHERE address = '{oldest}' FOR UPDATE"))
        assert len(held) == 1
        counter = StatementCounter(keep=True)
        with nova_db.hooked(counter):
            first = await asyncio.wait_for(db.fixed_ip_associate_pool(admin, vlans.net1, host="c1"), 10)
            second = await asyncio.wait_for(db.fixed_ip_associate_pool(admin, vlans.net1, host="c2"), 10)
        assert (first["address"], second["address"]) == (vlans.free1[1], vlans.free1[2])
        if backend == "mysql":
            names = [e.name.removeprefix("nova.fixed_ips.") for e in counter.events if e.name.startswith("nova.")]
            assert names == ["pool_pick", "pool_take", "claim"] * 2
    third = await db.fixed_ip_associate_pool(admin, vlans.net1, host="c3")
    assert third["address"] == oldest
    assert (await fixed_row(nova_db, oldest))["host"] == "c3"


async def test_associate_pool_callers_of_one_database_share_transactions_each_with_its_own_address_or_error(
    nova_db: rawdb.Database, backend: str
) -> None:
    """20 callers through one Database: those arriving while a claim runs share the next
    transaction (one statement for all of them on PostgreSQL, two elsewhere); one naming no
    instance gets its own error and the others their addresses."""
    net = await make_network(nova_db, "10.5.0.0/28", 500)
    for i in range(16):
        await make_fixed_ip(nova_db, f"10.5.0.{i}", net)
    instances = [await make_instance(nova_db) for _ in range(4)]
    nobody = str(uuidlib.uuid4())
    admin = rawdb.Context(nova_db, is_admin=True)
    wanted = [(nobody if i == 5 else instances[i % 4], f"host{i}") for i in range(20)]
    counter = StatementCounter(keep=True)
    with nova_db.hooked(counter):
        results = await asyncio.gather(
            *(db.fixed_ip_associate_pool(admin, net, instance_uuid=u, host=h) for u, h in wanted),
            return_exceptions=True,
        )
    assert isinstance(results[5], errors.DBReferenceError)
    claimed = {i: r for i, r in enumerate(results) if isinstance(r, dict)}
    refused = [r for i, r in enumerate(results) if i != 5 and not isinstance(r, dict)]
    assert len(claimed) == 16 and len(refused) == 3
    assert all(isinstance(e, errors.NoMoreFixedIps) for e in refused)
    assert sorted(r["address"] for r in claimed.values()) == sorted(f"10.5.0.{i}" for i in range(16))
    for i, row in claimed.items():
        assert (row["instance_uuid"], row["host"], row["network_id"]) == (*wanted[i], net)
        assert row == await db.fixed_ip_get(admin, row["id"])  # each as stored, whichever way it was claimed
    stored = await select(nova_db, "SELECT address, instance_uuid, host FROM fixed_ips WHERE host IS NOT NULL")
    assert {r["address"]: (r["instance_uuid"], r["host"]) for r in stored} == {
        r["address"]: (r["instance_uuid"], r["host"]) for r in claimed.values()
    }
    shared = {e.name for e in counter.events if e.name.endswith("_many")}
    if backend == "postgresql":  # one statement for all the callers of a transaction
        assert shared == {"nova.fixed_ips.pool_claim_many"}
    else:  # a (locking) read of the rows, then one UPDATE of them all
        assert shared == {"nova.fixed_ips.claim_many"}


async def test_associate_pool_callers_sharing_a_transaction_each_get_the_fields_of_their_own_claim(
    nova_db: rawdb.Database,
) -> None:
    """Claims of one shared transaction asking for different things (an instance, a host, an
    interface, an interface id 0, several, none): the k-th caller gets the k-th oldest free
    row, set as its own claim says and as stored; what a claim does not set stays as it was."""
    net = await make_network(nova_db, "10.6.0.0/28", 600)
    instances = [await make_instance(nova_db) for _ in range(3)]
    vifs = [await make_vif(nova_db, f"aa:bb:cc:00:06:0{i}", instances[0], net) for i in range(4)]
    # The oldest first: 10.6.0.11 never updated, then 10.6.0.10, 10.6.0.9, ... (ages against ids);
    # two have no network yet, one has an interface already.
    for k in range(12):
        values: dict[str, Any] = {"updated_at": None if k == 11 else T0 + timedelta(minutes=20 - k)}
        if k == 8:
            values["virtual_interface_id"] = vifs[3]
        await make_fixed_ip(nova_db, f"10.6.0.{k}", None if k in (9, 10) else net, **values)
    wanted: list[dict[str, Any]] = [
        {"instance_uuid": instances[0]},
        {"host": "h1"},
        {"instance_uuid": instances[1], "virtual_interface_id": vifs[0]},
        {},
        {"instance_uuid": instances[2], "host": "h4", "virtual_interface_id": 0},
        {"host": "h5", "virtual_interface_id": vifs[1]},
        {"instance_uuid": instances[1]},
        {"instance_uuid": instances[0], "host": "h7"},
        {"virtual_interface_id": vifs[2]},
        {"host": "h9"},
    ]
    admin = rawdb.Context(nova_db, is_admin=True)
    counter = StatementCounter(keep=True)
    with nova_db.hooked(counter):
        results = await asyncio.gather(*(db.fixed_ip_associate_pool(admin, net, **claim) for claim in wanted))
    assert len([e for e in counter.events if e.name.endswith("_many")]) == 1  # the first alone, then one for 9
    assert [r["address"] for r in results] == [f"10.6.0.{k}" for k in range(11, 1, -1)]
    for claim, row in zip(wanted, results, strict=True):
        expected = {
            "network_id": net,
            "allocated": "virtual_interface_id" in claim,
            "instance_uuid": claim.get("instance_uuid"),
            "host": claim.get("host"),
            "virtual_interface_id": claim.get("virtual_interface_id")
            or (vifs[3] if row["address"] == "10.6.0.8" else None),
        }
        assert {key: row[key] for key in expected} == expected, claim
        assert row["updated_at"] is not None and row["updated_at"] > T0 + timedelta(minutes=20)
        assert row == await db.fixed_ip_get(admin, row["id"])
    untouched = await select(
        nova_db,
        "SELECT address FROM fixed_ips WHERE network_id IS NULL OR updated_at <= :t",
        t=T0 + timedelta(minutes=20),
    )
    assert sorted(r["address"] for r in untouched) == ["10.6.0.0", "10.6.0.1"]


async def test_an_allocation_is_one_round_trip_on_postgresql_one_statement_on_sqlite_three_on_mariadb(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans, backend: str
) -> None:
    instance = await make_instance(nova_db)
    counter = StatementCounter(keep=True)
    with nova_db.hooked(counter):
        await db.fixed_ip_associate_pool(admin, vlans.net1, instance_uuid=instance)
    names = [e.name for e in counter.events if e.name.startswith("nova.")]
    expected = ["pool_pick", "claim"] if backend == "mysql" else ["pool_claim"]
    assert names == [f"nova.fixed_ips.{name}" for name in expected]
    assert counter.total == (1 if backend == "postgresql" else len(expected) + 2)  # + BEGIN, COMMIT
    counter = StatementCounter(keep=True)
    with nova_db.hooked(counter):
        await db.fixed_ip_associate(admin, "10.0.0.12", instance, network_id=vlans.net2)
    names = [e.name for e in counter.events if e.name.startswith("nova.")]
    expected = ["associate", "associate_target"] if backend == "mysql" else ["associate"]
    assert names == [f"nova.fixed_ips.{name}" for name in expected]
    assert counter.total == (1 if backend == "postgresql" else len(expected) + 2)


async def test_claims_inside_a_callers_transaction_roll_back_with_it(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    instance = await make_instance(nova_db)
    with pytest.raises(RuntimeError):
        async with admin.writer() as tx:
            first = await db.fixed_ip_associate_pool(tx, vlans.net1, host="c1")
            second = await db.fixed_ip_associate(tx, "10.0.0.3", instance, network_id=vlans.net1)
            assert (first["address"], second["address"]) == ("10.0.0.2", "10.0.0.3")
            raise RuntimeError("roll back")
    assert await select(nova_db, "SELECT id FROM fixed_ips WHERE host IS NOT NULL OR instance_uuid IS NOT NULL") == []
    assert (await db.fixed_ip_associate_pool(admin, vlans.net1, host="c1"))["address"] == "10.0.0.2"


# --- fixed_ip_associate --------------------------------------------------------------------


async def test_associate_sets_the_instance_on_the_address_and_returns_the_row(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    instance = await make_instance(nova_db)
    row = await db.fixed_ip_associate(admin, "10.0.0.3", instance, network_id=vlans.net1)
    assert list(row) == FIXED_KEYS
    assert (row["address"], row["instance_uuid"], row["network_id"], row["allocated"]) == (
        "10.0.0.3",
        instance,
        vlans.net1,
        False,
    )
    assert (await fixed_row(nova_db, "10.0.0.3"))["instance_uuid"] == instance


async def test_associate_reserved_address_and_a_network_less_one_with_an_interface(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    instance = await make_instance(nova_db)
    reserved = await db.fixed_ip_associate(admin, "10.0.0.1", instance, network_id=vlans.net1, reserved=True)
    assert (reserved["reserved"], reserved["instance_uuid"]) == (True, instance)
    await make_fixed_ip(nova_db, "10.5.0.1", None)
    vif = await make_vif(nova_db, "aa:bb:cc:00:00:02", instance, vlans.net2)
    row = await db.fixed_ip_associate(admin, "10.5.0.1", instance, network_id=vlans.net2, virtual_interface_id=vif)
    assert (row["network_id"], row["allocated"], row["virtual_interface_id"]) == (vlans.net2, True, vif)


async def test_associate_refuses_wrong_network_wrong_kind_and_taken_addresses(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    first, second = await make_instance(nova_db), await make_instance(nova_db)
    with pytest.raises(errors.FixedIpNotFoundForNetwork) as caught:
        await db.fixed_ip_associate(admin, "10.0.0.3", first, network_id=vlans.net2)
    assert caught.value.kwargs == {"address": "10.0.0.3", "network_uuid": vlans.net2}
    with pytest.raises(errors.FixedIpNotFoundForNetwork):
        await db.fixed_ip_associate(admin, "10.0.0.1", first, network_id=vlans.net1)  # reserved: reserved=False
    with pytest.raises(errors.FixedIpNotFoundForNetwork):
        await db.fixed_ip_associate(admin, "10.7.7.7", first, network_id=vlans.net1)
    await db.fixed_ip_associate(admin, "10.0.0.3", first, network_id=vlans.net1)
    with pytest.raises(errors.FixedIpAlreadyInUse) as in_use:
        await db.fixed_ip_associate(admin, "10.0.0.3", second, network_id=vlans.net1)
    assert in_use.value.kwargs == {"address": "10.0.0.3", "instance_uuid": second}
    assert (await fixed_row(nova_db, "10.0.0.3"))["instance_uuid"] == first


async def test_associate_rejects_bad_uuid_and_bad_address_writing_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    instance = await make_instance(nova_db)
    with pytest.raises(errors.InvalidUUID):
        await db.fixed_ip_associate(admin, "10.0.0.3", "nope", network_id=vlans.net1)
    for bad in ("10.0.0.300", "10.0.0.0/29", "not an ip", "fe80::1%eth0", None, 42):
        with pytest.raises(errors.FixedIpInvalid):
            await db.fixed_ip_associate(admin, bad, instance, network_id=vlans.net1)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.fixed_ip_associate(admin, "10.0.0.3", instance, network_id=vlans.net1, reserved="maybe")  # type: ignore[arg-type]
    assert await select(nova_db, "SELECT id FROM fixed_ips WHERE instance_uuid IS NOT NULL") == []


async def test_associate_one_address_from_many_connections_has_one_winner(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb, vlans: Vlans
) -> None:
    instances = [await make_instance(nova_db) for _ in range(8)]
    databases = [await open_db(nova_url) for _ in range(8)]
    results = await asyncio.gather(
        *(
            db.fixed_ip_associate(rawdb.Context(d, is_admin=True), "10.0.0.4", i, network_id=vlans.net1)
            for d, i in zip(databases, instances, strict=True)
        ),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, dict)]
    losers = [r for r in results if not isinstance(r, dict)]
    assert len(winners) == 1 and len(losers) == 7
    assert all(isinstance(e, errors.FixedIpAlreadyInUse) for e in losers)
    assert (await fixed_row(nova_db, "10.0.0.4"))["instance_uuid"] == winners[0]["instance_uuid"]


# --- create, bulk create, update, disassociate ---------------------------------------------


async def test_create_returns_the_row_with_defaults_and_normalised_ipv6(
    alice: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    row = await db.fixed_ip_create(alice, {"address": "2001:DB8:0:0:0:0:0:5", "network_id": vlans.net1})
    assert list(row) == FIXED_KEYS
    assert (row["address"], row["allocated"], row["leased"], row["reserved"], row["deleted"]) == (
        "2001:db8::5",
        False,
        False,
        False,
        0,
    )
    assert (await db.fixed_ip_get_by_address(alice, "2001:db8:0::5"))["id"] == row["id"]
    mapped = await db.fixed_ip_create(alice, {"address": "::FFFF:10.1.2.3"})
    assert mapped["address"] == "::ffff:10.1.2.3"


async def test_create_refuses_a_live_duplicate_and_bad_values_writing_nothing(
    alice: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    before = await count_rows(nova_db, "fixed_ips")
    with pytest.raises(errors.FixedIpExists) as caught:
        await db.fixed_ip_create(alice, {"address": "10.0.0.2", "network_id": vlans.net1})
    assert caught.value.kwargs == {"address": "10.0.0.2"}
    for values in ({"address": "10.0.0.256"}, {"address": "10.0.0.20", "colour": "red"}, {"address": "x" * 50}):
        with pytest.raises(errors.Invalid):
            await db.fixed_ip_create(alice, values)
    assert await count_rows(nova_db, "fixed_ips") == before
    gone = (await db.fixed_ip_get_by_address(alice, "10.0.0.6"))["id"]
    await soft_delete(nova_db, "fixed_ips", gone)
    assert (await db.fixed_ip_create(alice, {"address": "10.0.0.6"}))["id"] != gone


async def test_create_inside_a_writer_raises_exists_and_the_transaction_goes_on(
    alice: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    async with alice.writer() as tx:
        with pytest.raises(errors.FixedIpExists):
            await db.fixed_ip_create(tx, {"address": "10.0.0.2"})
        await db.fixed_ip_create(tx, {"address": "10.6.0.1"})
    assert (await db.fixed_ip_get_by_address(alice, "10.6.0.1"))["address"] == "10.6.0.1"


async def test_bulk_create_inserts_all_in_order_or_none(alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    net = await make_network(nova_db, "10.8.0.0/29", 800)
    ips = [{"address": f"10.8.0.{i}", "network_id": net, "reserved": i == 0} for i in range(4)]
    ips.append({"address": "2001:DB8::1", "network_id": net, "updated_at": T0, "host": "h"})
    assert await db.fixed_ip_bulk_create(alice, ips) is None
    rows = await select(
        nova_db, "SELECT address, reserved, allocated, host, updated_at, created_at FROM fixed_ips ORDER BY id"
    )
    assert [(r["address"], r["reserved"], r["allocated"], r["host"], r["updated_at"]) for r in rows] == [
        ("10.8.0.0", True, False, None, None),
        ("10.8.0.1", False, False, None, None),
        ("10.8.0.2", False, False, None, None),
        ("10.8.0.3", False, False, None, None),
        ("2001:db8::1", False, False, "h", T0),
    ]
    assert all(isinstance(r["created_at"], datetime) for r in rows)
    with pytest.raises(errors.FixedIpExists) as caught:
        await db.fixed_ip_bulk_create(alice, [{"address": "10.8.0.7"}, {"address": "10.8.0.2"}])
    assert caught.value.kwargs == {"address": "10.8.0.2"}
    with pytest.raises(errors.FixedIpExists):
        await db.fixed_ip_bulk_create(alice, [{"address": "10.8.0.6"}, {"address": "10.8.0.6"}])
    with pytest.raises(errors.Invalid):
        await db.fixed_ip_bulk_create(alice, [{"address": "10.8.0.5"}, {"address": "bogus"}])
    with pytest.raises(errors.Invalid):
        await db.fixed_ip_bulk_create(alice, {"address": "10.8.0.5"})  # type: ignore[arg-type]
    assert await count_rows(nova_db, "fixed_ips") == 5


async def test_update_changes_the_given_columns_and_refuses_a_taken_address(
    alice: rawdb.Context, admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    assert await db.fixed_ip_update(alice, "10.0.0.2", {"host": "h2", "leased": "true"}) is None
    row = await db.fixed_ip_get_by_address(admin, "10.0.0.2")
    assert (row["host"], row["leased"], row["network_id"]) == ("h2", True, vlans.net1)
    assert isinstance(row["updated_at"], datetime)
    with pytest.raises(errors.FixedIpExists):
        await db.fixed_ip_update(alice, "10.0.0.2", {"address": "10.0.0.3"})
    await db.fixed_ip_update(alice, "10.0.0.2", {"address": "10.0.0.40"})
    assert (await db.fixed_ip_get_by_address(admin, "10.0.0.40"))["id"] == row["id"]
    with pytest.raises(errors.FixedIpNotFoundForAddress):
        await db.fixed_ip_update(alice, "10.0.0.2", {"host": "h3"})
    with pytest.raises(errors.Invalid):
        await db.fixed_ip_update(alice, "10.0.0.40", {"id": 5})


async def test_disassociate_clears_instance_and_interface_only(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    instance = await make_instance(nova_db)
    vif = await make_vif(nova_db, "aa:bb:cc:00:00:03", instance, vlans.net1)
    await db.fixed_ip_associate(admin, "10.0.0.2", instance, network_id=vlans.net1, virtual_interface_id=vif)
    assert await db.fixed_ip_disassociate(admin, "10.0.0.2") is None
    stored = await fixed_row(nova_db, "10.0.0.2")
    assert (stored["instance_uuid"], stored["virtual_interface_id"], stored["network_id"], stored["allocated"]) == (
        None,
        None,
        vlans.net1,
        True,
    )
    with pytest.raises(errors.FixedIpNotFoundForAddress):
        await db.fixed_ip_disassociate(admin, "10.99.0.1")
    with pytest.raises(errors.FixedIpInvalid):
        await db.fixed_ip_disassociate(admin, "10.99.0")


async def test_disassociate_all_by_timeout_single_host_network(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    # net1 is single-host, hosted by net-host: its stale unallocated addresses are released
    now = datetime.utcnow()
    elsewhere = await make_instance(nova_db, host="compute9")
    old, new = now - timedelta(hours=1), now + timedelta(hours=1)
    for address, updated, allocated in (("10.0.0.2", old, False), ("10.0.0.3", new, False), ("10.0.0.4", old, True)):
        await execute(
            nova_db,
            "UPDATE fixed_ips SET instance_uuid = :i, updated_at = :u, allocated = :a, leased = :l WHERE address = :ad",
            i=elsewhere,
            u=updated,
            a=allocated,
            l=True,
            ad=address,
        )
    assert await db.fixed_ip_disassociate_all_by_timeout(admin, "compute9", now) == 0  # not multi-host
    assert await db.fixed_ip_disassociate_all_by_timeout(admin, "net-host", now) == 1
    released = await fixed_row(nova_db, "10.0.0.2")
    assert (released["instance_uuid"], released["leased"]) == (None, False)
    assert released["updated_at"] > old
    assert (await fixed_row(nova_db, "10.0.0.3"))["instance_uuid"] == elsewhere
    assert (await fixed_row(nova_db, "10.0.0.4"))["instance_uuid"] == elsewhere


async def test_disassociate_all_by_timeout_multi_host_network(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    # net2 is multi-host: the instance's host releases its addresses; so does the network's host
    now = datetime.utcnow()
    mine = await make_instance(nova_db, host="compute1")
    theirs = await make_instance(nova_db, host="compute2")
    for address, instance in (("10.0.0.10", mine), ("10.0.0.11", theirs)):
        await execute(
            nova_db,
            "UPDATE fixed_ips SET instance_uuid = :i, updated_at = :u WHERE address = :a",
            i=instance,
            u=now - timedelta(minutes=5),
            a=address,
        )
    assert await db.fixed_ip_disassociate_all_by_timeout(admin, "compute1", now) == 1
    assert (await fixed_row(nova_db, "10.0.0.10"))["instance_uuid"] is None
    assert (await fixed_row(nova_db, "10.0.0.11"))["instance_uuid"] == theirs
    assert await db.fixed_ip_disassociate_all_by_timeout(admin, "net-host2", now) == 1
    assert (await fixed_row(nova_db, "10.0.0.11"))["instance_uuid"] is None
    with pytest.raises(errors.Invalid):
        await db.fixed_ip_disassociate_all_by_timeout(admin, "compute1", "yesterday")  # type: ignore[arg-type]


# --- readers -------------------------------------------------------------------------------


async def test_get_by_id_with_network_and_as_read_deleted_says(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    fixed = await db.fixed_ip_get_by_address(admin, "10.0.0.2")
    assert await db.fixed_ip_get(admin, fixed["id"]) == fixed
    with_net = await db.fixed_ip_get(admin, fixed["id"], get_network=True)
    assert (with_net["network"]["id"], with_net["network"]["cidr"], with_net["network"]["vlan"]) == (
        vlans.net1,
        "10.0.0.0/29",
        100,
    )
    await soft_delete(nova_db, "fixed_ips", fixed["id"])
    with pytest.raises(errors.FixedIpNotFound) as caught:
        await db.fixed_ip_get(admin, fixed["id"])
    assert caught.value.kwargs == {"id": fixed["id"]}
    deleted = await db.fixed_ip_get(admin.elevated(read_deleted="yes"), fixed["id"], get_network=True)
    assert deleted["deleted"] == fixed["id"] and deleted["network"] is None
    with pytest.raises(errors.FixedIpNotFound):
        await db.fixed_ip_get(admin, 2**40)
    with pytest.raises(errors.Invalid):
        await db.fixed_ip_get(admin, "one")  # type: ignore[arg-type]


async def test_user_contexts_see_only_their_projects_instances_fixed_ips(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    instance = await make_instance(nova_db, project_id="p1")
    row = await db.fixed_ip_associate(admin, "10.0.0.2", instance, network_id=vlans.net1)
    assert (await db.fixed_ip_get(alice, row["id"]))["instance_uuid"] == instance
    with pytest.raises(errors.NotAuthorized):
        await db.fixed_ip_get(carol, row["id"])
    with pytest.raises(errors.NotAuthorized):
        await db.fixed_ip_get_by_address(carol, "10.0.0.2")
    with pytest.raises(errors.NotAuthorized):
        await db.fixed_ip_disassociate(carol, "10.0.0.2")
    assert (await db.fixed_ip_get_by_address(carol, "10.0.0.3"))["instance_uuid"] is None
    with pytest.raises(errors.NotAuthorized):
        await db.fixed_ip_get(rawdb.Context(nova_db), row["id"])


async def test_get_all_lists_deleted_ones_too_or_raises_when_there_is_none(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    with pytest.raises(errors.NoFixedIpsDefined):
        await db.fixed_ip_get_all(admin)
    first = await make_fixed_ip(nova_db, "10.10.0.1", None)
    second = await make_fixed_ip(nova_db, "10.10.0.2", None)
    await soft_delete(nova_db, "fixed_ips", first)
    rows = await db.fixed_ip_get_all(admin)
    assert [(r["id"], r["address"], r["deleted"]) for r in rows] == [
        (first, "10.10.0.1", first),
        (second, "10.10.0.2", 0),
    ]


async def test_get_by_address_joins_what_is_asked(admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans) -> None:
    instance = await make_instance(nova_db, hostname="vm1")
    vif = await make_vif(nova_db, "aa:bb:cc:00:00:04", instance, vlans.net1)
    await db.fixed_ip_associate(admin, "10.0.0.5", instance, network_id=vlans.net1, virtual_interface_id=vif)
    fixed_id = (await db.fixed_ip_get_by_address(admin, "10.0.0.5"))["id"]
    second = await make_floating_ip(nova_db, "172.16.0.2", fixed_id)
    first = await make_floating_ip(nova_db, "172.16.0.1", fixed_id)
    row = await db.fixed_ip_get_by_address(
        admin, "10.0.0.5", columns_to_join=["network", "instance", "virtual_interface", "floating_ips"]
    )
    assert list(row)[:13] == FIXED_KEYS
    assert (row["network"]["id"], row["instance"]["uuid"], row["instance"]["hostname"]) == (vlans.net1, instance, "vm1")
    assert row["virtual_interface"]["address"] == "aa:bb:cc:00:00:04"
    assert [(f["id"], f["address"]) for f in row["floating_ips"]] == [(second, "172.16.0.2"), (first, "172.16.0.1")]
    plain = await db.fixed_ip_get_by_address(admin, "10.0.0.5")
    assert set(plain) == set(FIXED_KEYS)
    with pytest.raises(errors.Invalid):
        await db.fixed_ip_get_by_address(admin, "10.0.0.5", columns_to_join=["owner"])
    with pytest.raises(errors.FixedIpNotFoundForAddress) as caught:
        await db.fixed_ip_get_by_address(admin, "10.0.0.99")
    assert caught.value.kwargs == {"address": "10.0.0.99"}
    with pytest.raises(errors.FixedIpInvalid):
        await db.fixed_ip_get_by_address(admin, "10.0.0.999")


async def test_get_by_address_detailed_gives_fixed_ip_network_and_instance(
    admin: rawdb.Context, alice: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    instance = await make_instance(nova_db)
    await db.fixed_ip_associate(admin, "10.0.0.2", instance, network_id=vlans.net1)
    fixed, network, found = await db.fixed_ip_get_by_address_detailed(admin, "10.0.0.2")
    assert (fixed["address"], network["id"] if network else None, found["uuid"] if found else None) == (
        "10.0.0.2",
        vlans.net1,
        instance,
    )
    await make_fixed_ip(nova_db, "10.11.0.1", None)
    assert (await db.fixed_ip_get_by_address_detailed(admin, "10.11.0.1"))[1:] == (None, None)
    with pytest.raises(errors.FixedIpNotFoundForAddress):
        await db.fixed_ip_get_by_address_detailed(admin, "10.11.0.2")
    with pytest.raises(errors.AdminRequired):
        await db.fixed_ip_get_by_address_detailed(alice, "10.0.0.2")


async def test_get_by_floating_address(alice: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans) -> None:
    fixed = await db.fixed_ip_get_by_address(alice, "10.0.0.3")
    await make_floating_ip(nova_db, "172.16.1.1", fixed["id"])
    await make_floating_ip(nova_db, "172.16.1.2", None)
    assert await db.fixed_ip_get_by_floating_address(alice, "172.16.1.1") == fixed
    assert await db.fixed_ip_get_by_floating_address(alice, "172.16.1.2") is None
    assert await db.fixed_ip_get_by_floating_address(alice, "172.16.1.3") is None
    with pytest.raises(errors.InvalidIpAddressError):
        await db.fixed_ip_get_by_floating_address(alice, "172.16.1")


async def test_get_by_instance_in_interface_order_with_its_relationships(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    instance = await make_instance(nova_db)
    late = await make_vif(nova_db, "aa:bb:cc:00:00:05", instance, vlans.net1, created_at=T0 + timedelta(hours=1))
    early = await make_vif(nova_db, "aa:bb:cc:00:00:06", instance, vlans.net2, created_at=T0)
    await db.fixed_ip_associate(admin, "10.0.0.2", instance, network_id=vlans.net1, virtual_interface_id=late)
    await db.fixed_ip_associate(admin, "10.0.0.10", instance, network_id=vlans.net2, virtual_interface_id=early)
    await db.fixed_ip_associate(admin, "10.0.0.3", instance, network_id=vlans.net1)
    rows = await db.fixed_ip_get_by_instance(admin, instance)
    assert [r["address"] for r in rows] == ["10.0.0.10", "10.0.0.2", "10.0.0.3"]
    assert [r["virtual_interface"]["id"] if r["virtual_interface"] else None for r in rows] == [early, late, None]
    assert [r["network"]["id"] for r in rows] == [vlans.net2, vlans.net1, vlans.net1]
    assert [r["floating_ips"] for r in rows] == [[], [], []]
    with pytest.raises(errors.FixedIpNotFoundForInstance):
        await db.fixed_ip_get_by_instance(admin, str(uuidlib.uuid4()))
    with pytest.raises(errors.InvalidUUID):
        await db.fixed_ip_get_by_instance(admin, "instance-1")


async def test_get_by_host_lists_the_fixed_ips_of_its_live_instances(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    here = await make_instance(nova_db, host="compute1")
    gone = await make_instance(nova_db, host="compute1", deleted=True)
    there = await make_instance(nova_db, host="compute2")
    for address, instance in (("10.0.0.2", here), ("10.0.0.3", gone), ("10.0.0.4", there), ("10.0.0.5", here)):
        await execute(nova_db, "UPDATE fixed_ips SET instance_uuid = :i WHERE address = :a", i=instance, a=address)
    assert [r["address"] for r in await db.fixed_ip_get_by_host(admin, "compute1")] == ["10.0.0.2", "10.0.0.5"]
    assert await db.fixed_ip_get_by_host(admin, "compute3") == []


async def test_get_by_network_host(alice: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans) -> None:
    await execute(nova_db, "UPDATE fixed_ips SET host = 'h1' WHERE address IN ('10.0.0.4', '10.0.0.12')")
    row = await db.fixed_ip_get_by_network_host(alice, vlans.net1, "h1")
    assert row["address"] == "10.0.0.4"
    with pytest.raises(errors.FixedIpNotFoundForNetworkHost) as caught:
        await db.fixed_ip_get_by_network_host(alice, vlans.net1, "h2")
    assert caught.value.kwargs == {"network_id": vlans.net1, "host": "h2"}


async def test_fixed_ips_by_virtual_interface_with_network_and_floating_ips(
    admin: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    instance = await make_instance(nova_db)
    vif = await make_vif(nova_db, "aa:bb:cc:00:00:07", instance, vlans.net1)
    for address in ("10.0.0.4", "10.0.0.2"):
        await db.fixed_ip_associate(admin, address, instance, network_id=vlans.net1, virtual_interface_id=vif)
    fixed_id = (await db.fixed_ip_get_by_address(admin, "10.0.0.4"))["id"]
    floating = await make_floating_ip(nova_db, "172.16.2.1", fixed_id)
    rows = await db.fixed_ips_by_virtual_interface(admin, vif)
    assert [r["address"] for r in rows] == ["10.0.0.2", "10.0.0.4"]  # id order
    assert [[f["id"] for f in r["floating_ips"]] for r in rows] == [[], [floating]]
    assert all(r["network"]["id"] == vlans.net1 and "instance" not in r for r in rows)
    assert await db.fixed_ips_by_virtual_interface(admin, vif + 1000) == []


async def test_count_by_project_counts_the_projects_instances_fixed_ips(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context, nova_db: rawdb.Database, vlans: Vlans
) -> None:
    mine, theirs = await make_instance(nova_db, project_id="p1"), await make_instance(nova_db, project_id="p2")
    for address, instance in (("10.0.0.2", mine), ("10.0.0.3", mine), ("10.0.0.4", theirs)):
        await db.fixed_ip_associate(admin, address, instance, network_id=vlans.net1)
    assert await db.fixed_ip_count_by_project(alice, "p1") == 2
    assert await db.fixed_ip_count_by_project(admin, "p2") == 1
    assert await db.fixed_ip_count_by_project(admin, "p3") == 0
    with pytest.raises(errors.NotAuthorized):
        await db.fixed_ip_count_by_project(carol, "p1")
