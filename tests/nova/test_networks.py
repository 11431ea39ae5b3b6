"""nova-network's networks (rawdb.nova.networks) on every backend, starting, as upstream's suites did, from two
VLAN networks with their fixed IPs (spec E.4); fixed IPs, virtual interfaces and instances are rows written here
with plain SQL."""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from novatools import make_instance
from sqltools import OpenDb, count_rows, execute, select, stmt

import rawdb
from rawdb import errors
from rawdb.nova import networks as db
from rawdb.timeutils import utcnow

NETWORK_KEYS = {
    "id",
    "label",
    "injected",
    "cidr",
    "cidr_v6",
    "multi_host",
    "gateway_v6",
    "netmask_v6",
    "netmask",
    "bridge",
    "bridge_interface",
    "gateway",
    "broadcast",
    "dns1",
    "dns2",
    "vlan",
    "vpn_public_address",
    "vpn_public_port",
    "vpn_private_address",
    "dhcp_start",
    "rxtx_base",
    "priority",
    "project_id",
    "host",
    "uuid",
    "mtu",
    "dhcp_server",
    "enable_dhcp",
    "share_address",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}
CREATED = datetime(2013, 4, 4, 12, 0, 0, 123456)


# --- plain-SQL set-up --------------------------------------------------------------------------


async def insert(database: rawdb.Database, table: str, **row: Any) -> None:
    """Insert one row (column names chosen by the test, never user input)."""
    columns = sorted(row)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
    await execute(database, sql, **row)


async def make_network(database: rawdb.Database, **values: Any) -> dict[str, Any]:
    """A live network row (no project, no host unless given); its row as read back with SQL."""
    row: dict[str, Any] = {"uuid": str(uuidlib.uuid4()), "created_at": CREATED, "deleted": 0, **values}
    await insert(database, "networks", **row)
    found = await select(database, "SELECT id, uuid FROM networks WHERE uuid = :u", u=row["uuid"])
    return {**row, "id": found[0]["id"]}


async def make_fixed_ip(database: rawdb.Database, network_id: int | None, address: str, **values: Any) -> int:
    """A live fixed IP row; its id."""
    row = {
        "network_id": network_id,
        "address": address,
        "allocated": False,
        "leased": False,
        "reserved": False,
        "created_at": CREATED,
        "deleted": 0,
        **values,
    }
    await insert(database, "fixed_ips", **row)
    found = await select(database, "SELECT id FROM fixed_ips WHERE address = :a AND deleted = 0", a=address)
    return int(found[0]["id"])


async def make_vif(database: rawdb.Database, instance_uuid: str, network_id: int, address: str, **values: Any) -> int:
    """A live virtual interface row; its id."""
    row = {
        "instance_uuid": instance_uuid,
        "network_id": network_id,
        "address": address,
        "uuid": str(uuidlib.uuid4()),
        "created_at": CREATED,
        "deleted": 0,
        **values,
    }
    await insert(database, "virtual_interfaces", **row)
    found = await select(database, "SELECT id FROM virtual_interfaces WHERE uuid = :u", u=row["uuid"])
    return int(found[0]["id"])


async def soft_delete(database: rawdb.Database, table: str, row_id: int) -> None:
    await execute(database, f"UPDATE {table} SET deleted = id, deleted_at = :t WHERE id = :i", t=utcnow(), i=row_id)


@dataclass
class VlanNetworks:
    """Upstream's test database: VlanManager.create_networks(num_networks=2, network_size=8) + set_network_host."""

    first: dict[str, Any]
    second: dict[str, Any]


@pytest.fixture
async def vlan(nova_db: rawdb.Database) -> VlanNetworks:
    """Two VLAN networks of 8 addresses each (the network, gateway and VPN addresses and the broadcast address
    reserved), served by 'net-host', with no project (spec E.4)."""
    made = []
    for index in range(2):
        base = 8 * index
        network = await make_network(
            nova_db,
            label=f"test_{index}",
            injected=False,
            cidr=f"10.0.0.{base}/29",
            cidr_v6=f"fd00:0:0:{index}::/64" if index else "fd00::/64",
            multi_host=False,
            gateway_v6=f"fd00:0:0:{index}::1" if index else "fd00::1",
            netmask_v6="ffff:ffff:ffff:ffff::",
            netmask="255.255.255.248",
            bridge=f"br{100 + index}",
            bridge_interface="eth0",
            gateway=f"10.0.0.{base + 1}",
            broadcast=f"10.0.0.{base + 7}",
            dns1="8.8.4.4",
            vlan=100 + index,
            vpn_public_address="192.0.2.10",
            vpn_public_port=1000 + index,
            vpn_private_address=f"10.0.0.{base + 2}",
            dhcp_start=f"10.0.0.{base + 3}",
            host="net-host",
            enable_dhcp=True,
            share_address=False,
        )
        for offset in range(8):
            await make_fixed_ip(nova_db, network["id"], f"10.0.0.{base + offset}", reserved=offset < 3 or offset == 7)
        made.append(network)
    return VlanNetworks(*made)


# --- the fixture, reads ------------------------------------------------------------------------


async def test_network_get_all_returns_the_two_vlan_networks_with_every_column(
    admin: rawdb.Context, vlan: VlanNetworks
) -> None:
    networks = await db.network_get_all(admin)
    assert [n["id"] for n in networks] == [vlan.first["id"], vlan.second["id"]]
    assert all(set(n) == NETWORK_KEYS for n in networks)
    first = networks[0]
    assert first == {
        "id": vlan.first["id"],
        "label": "test_0",
        "injected": False,
        "cidr": "10.0.0.0/29",
        "cidr_v6": "fd00::/64",
        "multi_host": False,
        "gateway_v6": "fd00::1",
        "netmask_v6": "ffff:ffff:ffff:ffff::",
        "netmask": "255.255.255.248",
        "bridge": "br100",
        "bridge_interface": "eth0",
        "gateway": "10.0.0.1",
        "broadcast": "10.0.0.7",
        "dns1": "8.8.4.4",
        "dns2": None,
        "vlan": 100,
        "vpn_public_address": "192.0.2.10",
        "vpn_public_port": 1000,
        "vpn_private_address": "10.0.0.2",
        "dhcp_start": "10.0.0.3",
        "rxtx_base": None,
        "priority": None,
        "project_id": None,
        "host": "net-host",
        "uuid": vlan.first["uuid"],
        "mtu": None,
        "dhcp_server": None,
        "enable_dhcp": True,
        "share_address": False,
        "created_at": CREATED,
        "updated_at": None,
        "deleted_at": None,
        "deleted": 0,
    }
    assert (networks[1]["cidr"], networks[1]["cidr_v6"], networks[1]["vlan"]) == ("10.0.0.8/29", "fd00:0:0:1::/64", 101)


async def test_network_count_reserved_ips_counts_the_live_reserved_fixed_ips(
    admin: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    assert await db.network_count_reserved_ips(admin, vlan.first["id"]) == 4
    assert await db.network_count_reserved_ips(admin, str(vlan.second["id"])) == 4
    gone = (await select(nova_db, "SELECT id FROM fixed_ips WHERE address = '10.0.0.7'"))[0]["id"]
    await soft_delete(nova_db, "fixed_ips", gone)
    assert await db.network_count_reserved_ips(admin, vlan.first["id"]) == 3
    assert await db.network_count_reserved_ips(admin, 999_999) == 0
    assert await db.network_count_reserved_ips(admin, 2**40) == 0
    with pytest.raises(errors.Invalid):
        await db.network_count_reserved_ips(admin, "first")


async def test_network_get_sees_what_project_only_and_read_deleted_allow(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    mine = await make_network(nova_db, project_id="p1", vlan=7)
    theirs = await make_network(nova_db, project_id="p2", vlan=8)
    assert (await db.network_get(admin, theirs["id"]))["project_id"] == "p2"
    assert (await db.network_get(alice, mine["id"]))["vlan"] == 7
    assert (await db.network_get(alice, vlan.first["id"]))["project_id"] is None  # allow_none
    with pytest.raises(errors.NetworkNotFound) as caught:
        await db.network_get(alice, theirs["id"])
    assert caught.value.kwargs == {"network_id": theirs["id"]}
    with pytest.raises(errors.NetworkNotFound):
        await db.network_get(alice, vlan.first["id"], project_only=True)
    assert (await db.network_get(alice, theirs["id"], project_only=False))["id"] == theirs["id"]
    assert (await db.network_get(carol, theirs["id"], project_only=True))["id"] == theirs["id"]

    await soft_delete(nova_db, "networks", mine["id"])
    with pytest.raises(errors.NetworkNotFound):
        await db.network_get(admin, mine["id"])
    deleted = await db.network_get(admin.elevated(read_deleted="yes"), mine["id"])
    assert deleted["deleted"] == mine["id"] and deleted["deleted_at"] is not None


@pytest.mark.parametrize("bad", ["net", 1.5, None, True])
async def test_network_get_with_an_id_that_is_no_integer_is_invalid(admin: rawdb.Context, bad: Any) -> None:
    with pytest.raises(errors.Invalid):
        await db.network_get(admin, bad)


async def test_network_get_needs_a_known_project_only_mode_and_a_caller(
    admin: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    with pytest.raises(errors.Invalid):
        await db.network_get(admin, vlan.first["id"], project_only="sometimes")
    with pytest.raises(errors.NetworkNotFound):
        await db.network_get(admin, 2**40)
    nobody = rawdb.Context(nova_db)
    for call in (db.network_get(nobody, vlan.first["id"]), db.network_get_all(nobody)):
        with pytest.raises(errors.NotAuthorized):
            await call
    with pytest.raises(errors.NotAuthorized):
        await db.network_get_all_by_uuids(nobody, [vlan.first["uuid"]])
    with pytest.raises(errors.NotAuthorized):
        await db.project_get_networks(nobody, "p1")


async def test_network_get_all_without_networks_raises_no_networks_found(admin: rawdb.Context) -> None:
    with pytest.raises(errors.NoNetworksFound):
        await db.network_get_all(admin)


async def test_network_get_all_follows_project_only_for_users(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    mine = await make_network(nova_db, project_id="p1")
    theirs = await make_network(nova_db, project_id="p2")
    gone = await make_network(nova_db, project_id="p1")
    await soft_delete(nova_db, "networks", gone["id"])
    free = [vlan.first["id"], vlan.second["id"]]
    assert [n["id"] for n in await db.network_get_all(admin, project_only=True)] == [*free, mine["id"], theirs["id"]]
    assert [n["id"] for n in await db.network_get_all(alice)] == [*free, mine["id"]]
    assert [n["id"] for n in await db.network_get_all(alice, project_only=True)] == [mine["id"]]
    assert [n["id"] for n in await db.network_get_all(carol, True)] == [theirs["id"]]
    assert len(await db.network_get_all(carol, project_only=False)) == 4
    await execute(nova_db, "UPDATE networks SET project_id = 'p3'")
    with pytest.raises(errors.NoNetworksFound):
        await db.network_get_all(alice)


async def test_network_get_all_by_uuids_returns_them_oldest_first(admin: rawdb.Context, vlan: VlanNetworks) -> None:
    found = await db.network_get_all_by_uuids(admin, [vlan.second["uuid"], vlan.first["uuid"]])
    assert [n["id"] for n in found] == [vlan.first["id"], vlan.second["id"]]
    assert set(found[0]) == NETWORK_KEYS
    assert [n["id"] for n in await db.network_get_all_by_uuids(admin, (vlan.second["uuid"],))] == [vlan.second["id"]]


async def test_network_get_all_by_uuids_names_the_first_missing_uuid(
    admin: rawdb.Context, alice: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    with pytest.raises(errors.NetworkNotFoundForProject) as caught:
        await db.network_get_all_by_uuids(admin, [vlan.first["uuid"], "missing-1", "missing-2"])
    assert caught.value.kwargs == {"network_uuid": "missing-1", "project_id": None}
    with pytest.raises(errors.NetworkNotFound) as plain:
        await db.network_get_all_by_uuids(admin, ["missing-1", vlan.first["uuid"]], project_only=False)
    assert type(plain.value) is errors.NetworkNotFound and plain.value.kwargs == {"network_id": "missing-1"}

    hidden = await make_network(nova_db, project_id="p2")
    with pytest.raises(errors.NetworkNotFoundForProject) as user:
        await db.network_get_all_by_uuids(alice, [vlan.first["uuid"], hidden["uuid"]])
    assert user.value.kwargs == {"network_uuid": hidden["uuid"], "project_id": "p1"}


@pytest.mark.parametrize("uuids", [[], ["nothing"], ["x" * 300]])
async def test_network_get_all_by_uuids_finding_none_raises_no_networks_found(
    admin: rawdb.Context, vlan: VlanNetworks, uuids: list[str]
) -> None:
    with pytest.raises(errors.NoNetworksFound):
        await db.network_get_all_by_uuids(admin, uuids)


@pytest.mark.parametrize("bad", ["a-uuid", [1], None, ["a\x00b"]])
async def test_network_get_all_by_uuids_needs_a_list_of_strings(admin: rawdb.Context, bad: Any) -> None:
    with pytest.raises(errors.Invalid):
        await db.network_get_all_by_uuids(admin, bad)


async def test_network_get_by_uuid_finds_live_networks_only(
    admin: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    assert (await db.network_get_by_uuid(admin, vlan.second["uuid"]))["id"] == vlan.second["id"]
    await soft_delete(nova_db, "networks", vlan.second["id"])
    for missing in (vlan.second["uuid"], "non-existent-uuid", "u" * 400):
        with pytest.raises(errors.NetworkNotFoundForUUID) as caught:
            await db.network_get_by_uuid(admin, missing)
        assert caught.value.kwargs == {"uuid": missing}
    with pytest.raises(errors.Invalid):
        await db.network_get_by_uuid(admin, 42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "which"),
    [
        ("10.0.0.8/29", "second"),
        ("fd00:0:0:1::/64", "second"),
        ("FD00:0000:0000:0001:0000:0000:0000:0000/64", "second"),
        ("fd00:0:0:1::1/64", "second"),  # IPv6 host bits are dropped, as nova binds a CIDR
        ("fd00::/64", "first"),
    ],
)
async def test_network_get_by_cidr_matches_the_ipv4_or_ipv6_cidr_as_stored(
    admin: rawdb.Context, vlan: VlanNetworks, given: str, which: str
) -> None:
    assert (await db.network_get_by_cidr(admin, given))["id"] == getattr(vlan, which)["id"]


async def test_network_get_by_cidr_of_no_network_raises_and_a_bad_cidr_is_invalid(
    admin: rawdb.Context, vlan: VlanNetworks
) -> None:
    with pytest.raises(errors.NetworkNotFoundForCidr) as caught:
        await db.network_get_by_cidr(admin, "192.0.2.0/30")
    assert caught.value.kwargs == {"cidr": "192.0.2.0/30"}
    with pytest.raises(errors.NetworkNotFoundForCidr):
        await db.network_get_by_cidr(admin, "10.0.0.1/29")  # IPv4 keeps its host bits, as INET does
    for bad in ("10.0.0.0/33", "fd00::/64x", "", None):
        with pytest.raises(errors.Invalid):
            await db.network_get_by_cidr(admin, bad)  # type: ignore[arg-type]


# --- create, update, delete --------------------------------------------------------------------


async def test_network_create_safe_returns_every_column_with_defaults_and_a_new_uuid(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    network = await db.network_create_safe(admin, {"host": "localhost", "project_id": "project1", "deleted": 0})
    assert set(network) == NETWORK_KEYS
    assert len(network["uuid"]) == 36 and str(uuidlib.UUID(network["uuid"])) == network["uuid"]
    assert (network["injected"], network["multi_host"], network["enable_dhcp"], network["share_address"]) == (
        False,
        False,
        True,
        False,
    )
    assert (network["host"], network["project_id"], network["deleted"], network["updated_at"]) == (
        "localhost",
        "project1",
        0,
        None,
    )
    assert isinstance(network["created_at"], datetime) and network["created_at"].tzinfo is None
    assert await db.network_get(admin, network["id"]) == network
    other = await db.network_create_safe(admin, {"uuid": "my-uuid", "multi_host": "true", "vlan": "12"})
    assert (other["uuid"], other["multi_host"], other["vlan"]) == ("my-uuid", True, 12)
    assert await count_rows(nova_db, "networks") == 2


async def test_network_create_safe_stores_addresses_as_the_same_text_on_every_backend(admin: rawdb.Context) -> None:
    network = await db.network_create_safe(
        admin,
        {
            "cidr": " 10.1.0.0/16 ",
            "cidr_v6": "2001:DB8:0:0:0:0:0:1/64",
            "gateway": "10.1.0.1/32",
            "gateway_v6": "2001:0db8:0000:0000:0000:0000:0000:0001",
            "netmask_v6": "FFFF:FFFF:FFFF:FFFF::",
            "dns1": "::ffff:1.2.3.4",
            "dhcp_server": "0:0:0:0:0:0:0:1",
            "broadcast": "10.1.255.255",
        },
    )
    assert (network["cidr"], network["cidr_v6"]) == ("10.1.0.0/16", "2001:db8::/64")
    assert (network["gateway"], network["gateway_v6"], network["netmask_v6"]) == (
        "10.1.0.1",
        "2001:db8::1",
        "ffff:ffff:ffff:ffff::",
    )
    assert (network["dns1"], network["dhcp_server"], network["broadcast"]) == ("::ffff:1.2.3.4", "::1", "10.1.255.255")
    assert await db.network_get(admin, network["id"]) == network


@pytest.mark.parametrize(
    "values",
    [
        {"cidr": "nonsense"},
        {"cidr": "10.0.0.0/33"},
        {"cidr_v6": 42},
        {"gateway": "10.0.0.1/24"},
        {"netmask_v6": "64"},
        {"dns1": "10.0.0.300"},
        {"dns2": ""},
        {"vlan": "one"},
        {"label": "x" * 256},
        {"bridge": "br\x000"},
        {"no_such_column": 1},
        {"id": 7},
        "values",
    ],
)
async def test_network_create_safe_bad_values_are_invalid_and_write_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, values: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.network_create_safe(admin, values)
    assert await count_rows(nova_db, "networks") == 0


async def test_network_create_safe_on_a_live_vlan_raises_duplicate_vlan_and_the_transaction_goes_on(
    admin: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    with pytest.raises(errors.DuplicateVlan) as caught:
        await db.network_create_safe(admin, {"host": "something", "vlan": 100})
    assert caught.value.kwargs == {"vlan": 100} and isinstance(caught.value, errors.Duplicate)
    async with admin.writer() as tx:
        with pytest.raises(errors.DuplicateVlan):
            await db.network_create_safe(tx, {"vlan": 101})
        kept = await db.network_create_safe(tx, {"vlan": 102})
    assert (await db.network_get(admin, kept["id"]))["vlan"] == 102
    await soft_delete(nova_db, "networks", vlan.first["id"])
    assert (await db.network_create_safe(admin, {"vlan": 100}))["vlan"] == 100  # a deleted network's vlan is free
    assert await count_rows(nova_db, "networks") == 4


async def test_network_update_changes_the_given_columns(
    admin: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    updated = await db.network_update(admin, vlan.first["id"], {"vlan": 200, "dns2": "2001:db8:0::53", "mtu": "9000"})
    assert (updated["vlan"], updated["dns2"], updated["mtu"]) == (200, "2001:db8::53", 9000)
    assert updated["label"] == "test_0" and updated["cidr"] == "10.0.0.0/29"
    assert updated["updated_at"] is not None and updated["created_at"] == CREATED
    assert await db.network_get(admin, vlan.first["id"]) == updated
    again = await db.network_update(admin, vlan.first["id"], {})
    assert again == updated  # nothing to change: updated_at stays
    when = datetime(2014, 1, 1, 0, 0, 0, 1)
    assert (await db.network_update(admin, vlan.second["id"], {"label": "x", "updated_at": when}))["updated_at"] == when


async def test_network_update_to_a_live_vlan_raises_duplicate_vlan_and_changes_nothing(
    admin: rawdb.Context, vlan: VlanNetworks
) -> None:
    async with admin.writer() as tx:
        with pytest.raises(errors.DuplicateVlan) as caught:
            await db.network_update(tx, vlan.first["id"], {"vlan": 101, "label": "renamed"})
        assert caught.value.kwargs == {"vlan": 101}
        await db.network_update(tx, vlan.second["id"], {"label": "still writing"})
    first = await db.network_get(admin, vlan.first["id"])
    assert (first["vlan"], first["label"], first["updated_at"]) == (100, "test_0", None)
    assert (await db.network_get(admin, vlan.second["id"]))["label"] == "still writing"


async def test_network_update_of_a_network_the_caller_cannot_see_raises_network_not_found(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    with pytest.raises(errors.NetworkNotFound) as caught:
        await db.network_update(admin, 123456, {})
    assert caught.value.kwargs == {"network_id": 123456}
    with pytest.raises(errors.NetworkNotFound):
        await db.network_update(admin, 123456, {"label": "x"})
    theirs = await make_network(nova_db, project_id="p2", label="theirs")
    with pytest.raises(errors.NetworkNotFound):
        await db.network_update(alice, theirs["id"], {"label": "mine now"})
    assert (await db.network_update(carol, theirs["id"], {"label": "ours"}))["label"] == "ours"
    assert (await db.network_update(alice, vlan.first["id"], {"label": "free"}))["label"] == "free"
    with pytest.raises(errors.NotAuthorized):
        await db.network_update(rawdb.Context(nova_db), vlan.first["id"], {"label": "anon"})


@pytest.mark.parametrize("values", [{"gateway": "gateway"}, {"vlan": 1.5}, {"nope": 1}, ["vlan"]])
async def test_network_update_bad_values_are_invalid_and_change_nothing(
    admin: rawdb.Context, vlan: VlanNetworks, values: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.network_update(admin, vlan.first["id"], values)
    assert (await db.network_get(admin, vlan.first["id"]))["updated_at"] is None


async def test_network_disassociate_takes_away_project_and_or_host(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    network = await make_network(nova_db, project_id="project1", host="test.net")
    await db.network_disassociate(admin, network["id"], False, True)
    row = await db.network_get(admin, network["id"])
    assert (row["project_id"], row["host"]) == (None, "test.net")
    await db.network_disassociate(admin, network["id"], disassociate_host=True, disassociate_project=False)
    assert (await db.network_get(admin, network["id"]))["host"] is None
    both = await make_network(nova_db, project_id="project2", host="h")
    await db.network_disassociate(admin, both["id"])
    row = await db.network_get(admin, both["id"])
    assert (row["project_id"], row["host"]) == (None, None)
    with pytest.raises(errors.NetworkNotFound):
        await db.network_disassociate(admin, 424242)


async def test_network_delete_safe_refuses_a_network_in_use_then_deletes_it_and_soft_deletes_its_fixed_ips(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    """E.5 7 (Grizzly/Newton test_network_delete_safe)."""
    network = await db.network_create_safe(admin, {"host": "localhost", "project_id": "project1"})
    await db.network_get(admin, network["id"])
    then = datetime(2013, 1, 1)
    first = await make_fixed_ip(nova_db, network["id"], "192.168.1.5", updated_at=then)
    second = await make_fixed_ip(nova_db, network["id"], "192.168.1.6", allocated=True)
    with pytest.raises(errors.NetworkInUse) as caught:
        await db.network_delete_safe(admin, network["id"])
    assert caught.value.kwargs == {"network_id": network["id"]}
    assert await count_rows(nova_db, "networks") == 1
    await execute(nova_db, "UPDATE fixed_ips SET allocated = :f WHERE id = :i", f=False, i=second)

    assert await db.network_delete_safe(admin, network["id"]) is None
    assert await select(nova_db, "SELECT id FROM networks") == []  # the row itself is gone
    with pytest.raises(errors.NetworkNotFound):
        await db.network_get(admin.elevated(read_deleted="yes"), network["id"])
    rows = await select(nova_db, "SELECT id, deleted, deleted_at, updated_at FROM fixed_ips ORDER BY id")
    assert [(r["id"], r["deleted"]) for r in rows] == [(first, first), (second, second)]
    assert all(r["deleted_at"] is not None for r in rows)
    assert rows[0]["updated_at"] == then  # a bulk soft delete keeps updated_at


async def test_network_delete_safe_of_a_missing_network_and_inside_a_writer(
    admin: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    with pytest.raises(errors.NetworkNotFound):
        await db.network_delete_safe(admin, 999_999)
    await execute(nova_db, "UPDATE fixed_ips SET allocated = :t WHERE address = '10.0.0.4'", t=True)
    async with admin.writer() as tx:
        with pytest.raises(errors.NetworkInUse):
            await db.network_delete_safe(tx, vlan.first["id"])
        await db.network_delete_safe(tx, vlan.second["id"])
    assert [n["id"] for n in await db.network_get_all(admin)] == [vlan.first["id"]]
    live = await select(
        nova_db, "SELECT network_id, count(*) AS n FROM fixed_ips WHERE deleted = 0 GROUP BY network_id"
    )
    assert [(r["network_id"], r["n"]) for r in live] == [(vlan.first["id"], 8)]


async def test_network_delete_safe_sees_a_fixed_ip_allocated_while_it_waited(
    admin: rawdb.Context, nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    network = await make_network(nova_db)
    fixed = await make_fixed_ip(nova_db, network["id"], "10.5.0.2")
    deleter = rawdb.Context(await open_db(nova_url), is_admin=True)
    allocator = await open_db(nova_url)
    async with allocator.writer() as tx:
        await tx.execute(stmt("UPDATE fixed_ips SET allocated = :t WHERE id = :i"), t=True, i=fixed)
        deleting = asyncio.create_task(db.network_delete_safe(deleter, network["id"]))
        await asyncio.sleep(0.5)
        assert not deleting.done()  # it waits for the allocation's transaction
    with pytest.raises(errors.NetworkInUse):
        await deleting
    assert (await db.network_get(admin, network["id"]))["deleted"] == 0
    rows = await select(nova_db, "SELECT deleted, allocated FROM fixed_ips")
    assert [(r["deleted"], bool(r["allocated"])) for r in rows] == [(0, True)]


async def test_network_set_host_sets_a_missing_host_only(
    admin: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    assert await db.network_set_host(admin, vlan.first["id"], "other-host") is None
    assert (await db.network_get(admin, vlan.first["id"]))["host"] == "net-host"  # kept
    bare = await make_network(nova_db, project_id="project1")
    empty = await make_network(nova_db, host="")
    assert await db.network_set_host(admin, bare["id"], "example.com") is None
    await db.network_set_host(admin, empty["id"], "example.org")
    row = await db.network_get(admin, bare["id"])
    assert row["host"] == "example.com" and row["updated_at"] is not None
    assert (await db.network_get(admin, empty["id"]))["host"] == "example.org"
    await soft_delete(nova_db, "networks", bare["id"])
    for missing in (123456, bare["id"]):
        with pytest.raises(errors.NetworkNotFound):
            await db.network_set_host(admin, missing, "nonexistent")
    with pytest.raises(errors.Invalid):
        await db.network_set_host(admin, empty["id"], None)  # type: ignore[arg-type]


async def test_network_set_host_concurrently_keeps_one_host(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    network = await make_network(nova_db)
    callers = [rawdb.Context(await open_db(nova_url), is_admin=True) for _ in range(6)]
    results = await asyncio.gather(*(db.network_set_host(c, network["id"], f"h{i}") for i, c in enumerate(callers)))
    assert results == [None] * 6
    host = (await select(nova_db, "SELECT host FROM networks WHERE id = :i", i=network["id"]))[0]["host"]
    assert host in {f"h{i}" for i in range(6)}


# --- project association (spec D.6) ------------------------------------------------------------


async def test_network_associate_gives_a_fresh_project_the_oldest_free_network_once(
    admin: rawdb.Context, vlan: VlanNetworks
) -> None:
    network = await db.network_associate(admin, "project1")
    assert (network["id"], network["project_id"]) == (vlan.first["id"], "project1")
    assert network["updated_at"] is not None and set(network) == NETWORK_KEYS
    assert await db.network_associate(admin, "project1") == network  # it has one: unchanged
    assert await db.network_associate(admin, "project1", vlan.second["id"]) == network
    forced = await db.network_associate(admin, "project1", force=True)
    assert (forced["id"], forced["project_id"]) == (vlan.second["id"], "project1")
    with pytest.raises(errors.NoMoreNetworks):
        await db.network_associate(admin, "project2")
    assert [n["project_id"] for n in await db.network_get_all(admin)] == ["project1", "project1"]


async def test_network_associate_with_a_network_id_claims_that_free_network(
    admin: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    network = await db.network_associate(admin, "project1", vlan.second["id"])
    assert (network["id"], network["project_id"]) == (vlan.second["id"], "project1")
    with pytest.raises(errors.NoMoreNetworks):  # owned already: not eligible
        await db.network_associate(admin, "project2", vlan.second["id"])
    with pytest.raises(errors.NoMoreNetworks):
        await db.network_associate(admin, "project2", 999_999)
    await soft_delete(nova_db, "networks", vlan.first["id"])
    with pytest.raises(errors.NoMoreNetworks):  # deleted networks are never handed out
        await db.network_associate(admin, "project2")
    with pytest.raises(errors.Invalid):
        await db.network_associate(admin, None)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.network_associate(admin, "project2", "second")  # type: ignore[arg-type]


async def test_network_associate_concurrent_builds_of_a_fresh_project_get_one_network(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb, vlan: VlanNetworks
) -> None:
    extra = [await make_network(nova_db, vlan=300 + i) for i in range(4)]
    callers = [rawdb.Context(await open_db(nova_url), is_admin=True) for _ in range(8)]
    got = await asyncio.gather(*(db.network_associate(c, "fresh") for c in callers))
    assert {n["id"] for n in got} == {vlan.first["id"]}
    owned = await select(nova_db, "SELECT id FROM networks WHERE project_id = 'fresh'")
    assert [r["id"] for r in owned] == [vlan.first["id"]]
    assert await count_rows(nova_db, "networks") == 2 + len(extra)


async def test_network_associate_concurrent_projects_get_a_network_each(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb, vlan: VlanNetworks
) -> None:
    for i in range(4):
        await make_network(nova_db, vlan=400 + i)
    callers = [rawdb.Context(await open_db(nova_url), is_admin=True) for _ in range(8)]
    projects = [f"project{i % 4}" for i in range(8)]  # two builds per project
    got = await asyncio.gather(*(db.project_get_networks(c, p) for c, p in zip(callers, projects, strict=True)))
    by_project: dict[str, set[int]] = {}
    for project, networks in zip(projects, got, strict=True):
        assert len(networks) == 1
        by_project.setdefault(project, set()).add(networks[0]["id"])
    assert all(len(ids) == 1 for ids in by_project.values())
    assert len({next(iter(ids)) for ids in by_project.values()}) == 4  # four different networks
    rows = await select(nova_db, "SELECT project_id, count(*) AS n FROM networks GROUP BY project_id")
    assert sorted((r["project_id"] or "", r["n"]) for r in rows) == [
        ("", 2),
        ("project0", 1),
        ("project1", 1),
        ("project2", 1),
        ("project3", 1),
    ]


async def test_project_get_networks_returns_them_or_associates_one(
    admin: rawdb.Context, alice: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    own = await make_network(nova_db, project_id="p1", vlan=10)
    second = await make_network(nova_db, project_id="p1", vlan=11)
    assert [n["id"] for n in await db.project_get_networks(alice, "p1")] == [own["id"], second["id"]]
    assert await db.project_get_networks(admin, "p2", associate=False) == []
    assert await db.network_get_all_by_host(admin, "nobody") == []
    got = await db.project_get_networks(admin, "p2")
    assert [(n["id"], n["project_id"]) for n in got] == [(vlan.first["id"], "p2")]
    assert [n["id"] for n in await db.project_get_networks(admin, "p2")] == [vlan.first["id"]]
    await db.project_get_networks(admin, "p3")
    with pytest.raises(errors.NoMoreNetworks):
        await db.project_get_networks(admin, "p4")


# --- hosts and instances -----------------------------------------------------------------------


async def test_network_get_all_by_host_finds_the_three_paths(
    admin: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    """F.1 18: the network's own host, a fixed IP's host, the host of the fixed IP's instance."""
    host = "h1.example.com"
    assert await db.network_get_all_by_host(admin, host) == []
    net1 = await make_network(nova_db, host=host, vlan=1)
    assert [n["id"] for n in await db.network_get_all_by_host(admin, host)] == [net1["id"]]
    net2 = await make_network(nova_db, vlan=2)
    await make_fixed_ip(nova_db, net2["id"], "192.168.2.5", host=host)
    assert [n["id"] for n in await db.network_get_all_by_host(admin, host)] == [net1["id"], net2["id"]]
    net3 = await make_network(nova_db, vlan=3)
    instance = await make_instance(nova_db, host=host)
    await make_fixed_ip(nova_db, net3["id"], "192.168.3.5", instance_uuid=instance)
    net4 = await make_network(nova_db, vlan=4)  # Grizzly's path: through the fixed IP's virtual interface
    vif = await make_vif(nova_db, instance, net4["id"], "fa:16:3e:00:00:04")
    await make_fixed_ip(nova_db, net4["id"], "192.168.4.5", virtual_interface_id=vif)
    found = await db.network_get_all_by_host(admin, host)
    assert [n["id"] for n in found] == [net1["id"], net2["id"], net3["id"], net4["id"]]
    assert all(set(n) == NETWORK_KEYS for n in found)
    assert [n["id"] for n in await db.network_get_all_by_host(admin, "net-host")] == [
        vlan.first["id"],
        vlan.second["id"],
    ]


async def test_network_get_all_by_host_skips_deleted_networks_and_fixed_ips_as_read_deleted_says(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    gone = await make_network(nova_db, host="h", vlan=1)
    await soft_delete(nova_db, "networks", gone["id"])
    net = await make_network(nova_db, vlan=2)
    fixed = await make_fixed_ip(nova_db, net["id"], "192.168.0.9", host="h")
    await soft_delete(nova_db, "fixed_ips", fixed)
    await make_fixed_ip(nova_db, net["id"], "192.168.0.10", host="elsewhere")
    assert await db.network_get_all_by_host(admin, "h") == []
    assert [n["id"] for n in await db.network_get_all_by_host(admin.elevated(read_deleted="yes"), "h")] == [net["id"]]
    assert await db.network_get_all_by_host(admin, "h" * 300) == []
    with pytest.raises(errors.Invalid):
        await db.network_get_all_by_host(admin, None)  # type: ignore[arg-type]


async def test_network_get_all_by_instance_lists_the_networks_of_its_fixed_ips_and_interfaces(
    admin: rawdb.Context, alice: rawdb.Context, nova_db: rawdb.Database, vlan: VlanNetworks
) -> None:
    instance = await make_instance(nova_db)
    await execute(nova_db, "UPDATE fixed_ips SET instance_uuid = :u WHERE address = '10.0.0.3'", u=instance)
    number = (await select(nova_db, "SELECT id FROM instances WHERE uuid = :u", u=instance))[0]["id"]
    assert [n["id"] for n in await db.network_get_all_by_instance(admin, instance)] == [vlan.first["id"]]
    await make_vif(nova_db, instance, vlan.second["id"], "fa:16:3e:00:00:01")
    found = await db.network_get_all_by_instance(admin, number)
    assert [n["id"] for n in found] == [vlan.first["id"], vlan.second["id"]]
    other = await make_instance(nova_db)
    for missing in (other, "no-such-instance", 10**6):
        with pytest.raises(errors.NetworkNotFoundForInstance) as caught:
            await db.network_get_all_by_instance(admin, missing)
        assert caught.value.kwargs == {"instance_id": missing}
    with pytest.raises(errors.AdminRequired):
        await db.network_get_all_by_instance(alice, instance)
    with pytest.raises(errors.Invalid):
        await db.network_get_all_by_instance(admin, 1.5)


async def _associated_fixed_ip(
    database: rawdb.Database, network_id: int, address: str, instance: str, **values: Any
) -> int:
    """A fixed IP allocated to the instance on a new virtual interface (MAC fa:16:3e:00:<3rd octet>:<4th>)."""
    third, fourth = (int(part) for part in address.split(".")[2:])
    mac = f"fa:16:3e:00:{third:02x}:{fourth:02x}"
    vif = await make_vif(database, instance, network_id, mac)
    values = {"allocated": True, "instance_uuid": instance, "virtual_interface_id": vif, **values}
    await make_fixed_ip(database, network_id, address, **values)
    return vif


async def test_network_get_associated_fixed_ips_is_the_dhcp_host_file_projection(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    """F.1 17, Newton test_network_get_associated_fixed_ips / _default_route."""
    made = datetime(2016, 1, 2, 3, 4, 5, 6)
    touched = made + timedelta(hours=1)
    network = await make_network(nova_db, project_id="project1", cidr="192.0.2.0/30", vlan=1)
    network2 = await make_network(nova_db, project_id="project1", cidr="192.0.3.0/30", vlan=2)
    instance = await make_instance(nova_db, host="host.net", hostname="myname", created_at=made, updated_at=touched)
    assert await db.network_in_use_on_host(admin, network["id"], "host.net") is False
    vif = await _associated_fixed_ip(nova_db, network["id"], "192.0.2.1", instance, leased=True)
    vif2 = await _associated_fixed_ip(nova_db, network2["id"], "192.0.3.1", instance)

    data = await db.network_get_associated_fixed_ips(admin, network["id"])
    assert data == [
        {
            "address": "192.0.2.1",
            "instance_uuid": instance,
            "network_id": network["id"],
            "vif_id": vif,
            "vif_address": "fa:16:3e:00:02:01",
            "instance_hostname": "myname",
            "instance_updated": touched,
            "instance_created": made,
            "allocated": True,
            "leased": True,
            "default_route": True,
        }
    ]
    second = await db.network_get_associated_fixed_ips(admin, network2["id"], "host.net")
    assert [(d["address"], d["vif_id"], d["default_route"], d["leased"]) for d in second] == [
        ("192.0.3.1", vif2, False, False)
    ]
    assert await db.network_get_associated_fixed_ips(admin, network["id"], host="other") == []
    assert await db.network_in_use_on_host(admin, network["id"], "host.net") is True
    assert await db.network_in_use_on_host(admin, network["id"]) is True
    assert await db.network_in_use_on_host(admin, network["id"], "other") is False


async def test_network_get_associated_fixed_ips_needs_a_live_interface_and_instance(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    network = await make_network(nova_db)
    live = await make_instance(nova_db, host="foo")
    gone = await make_instance(nova_db, host="foo", deleted=True)
    await _associated_fixed_ip(nova_db, network["id"], "10.9.0.2", live, allocated=False)  # Newton: listed
    await _associated_fixed_ip(nova_db, network["id"], "10.9.0.3", gone)
    dead_vif = await _associated_fixed_ip(nova_db, network["id"], "10.9.0.4", live)
    await soft_delete(nova_db, "virtual_interfaces", dead_vif)
    await make_fixed_ip(nova_db, network["id"], "10.9.0.5", allocated=True, instance_uuid=live)  # no interface
    deleted = await _associated_fixed_ip(nova_db, network["id"], "10.9.0.6", live)
    fixed = (await select(nova_db, "SELECT id FROM fixed_ips WHERE virtual_interface_id = :v", v=deleted))[0]["id"]
    await soft_delete(nova_db, "fixed_ips", fixed)

    data = await db.network_get_associated_fixed_ips(admin, network["id"], "foo")
    assert [(d["address"], d["allocated"], d["default_route"]) for d in data] == [("10.9.0.2", False, True)]
    assert await db.network_get_associated_fixed_ips(admin, 2**40) == []
    assert await db.network_in_use_on_host(admin, network["id"], "x" * 300) is False
    with pytest.raises(errors.Invalid):
        await db.network_get_associated_fixed_ips(admin, "net")  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.network_in_use_on_host(admin, network["id"], 5)  # type: ignore[arg-type]
