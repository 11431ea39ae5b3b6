"""PCI devices (rawdb.nova.pci_devices, Newton spec A.4 "PCI"), on every backend."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.nova import pci_devices as db

T0 = datetime(2016, 1, 1, 10, 0, 0, 250000)
A1, A2, A3 = "0000:04:10.0", "0000:04:10.1", "0000:04:00.0"
DEVICE_KEYS = {
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "id",
    "compute_node_id",
    "address",
    "product_id",
    "vendor_id",
    "dev_type",
    "dev_id",
    "label",
    "status",
    "extra_info",
    "instance_uuid",
    "request_id",
    "numa_node",
    "parent_addr",
}
INSTANCE = "99999999-9999-9999-9999-999999999999"


async def make_node(database: rawdb.Database, host: str = "host1") -> int:
    """A compute_nodes row written behind the API's back (compute_nodes.py is another module's)."""
    await execute(
        database,
        "INSERT INTO compute_nodes (vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used, local_gb_used, "
        "hypervisor_type, hypervisor_version, cpu_info, hypervisor_hostname, host, created_at, deleted) "
        "VALUES (8, 8192, 100, 0, 0, 0, 'QEMU', 2000000, '{}', :host, :host, :t, 0)",
        host=host,
        t=T0,
    )
    rows = await select(database, "SELECT id FROM compute_nodes WHERE host = :host", host=host)
    return int(rows[0]["id"])


def device(**extra: Any) -> dict[str, Any]:
    return {
        "vendor_id": "8086",
        "product_id": "1520",
        "dev_type": "type-VF",
        "label": "label_8086_1520",
        "status": "available",
        "dev_id": "pci_0000_04_10_0",
        "extra_info": "{}",
        **extra,
    }


@pytest.fixture
async def node(nova_db: rawdb.Database) -> int:
    return await make_node(nova_db)


# --- update (create or change) ---------------------------------------------------------------


async def test_pci_device_update_creates_a_device_and_returns_it(admin: rawdb.Context, node: int) -> None:
    created = await db.pci_device_update(admin, node, A1, device(numa_node=1, parent_addr=A3))
    assert set(created) == DEVICE_KEYS
    assert (created["compute_node_id"], created["address"], created["vendor_id"], created["product_id"]) == (
        node,
        A1,
        "8086",
        "1520",
    )
    assert (created["dev_type"], created["status"], created["numa_node"], created["parent_addr"]) == (
        "type-VF",
        "available",
        1,
        A3,
    )
    assert (created["instance_uuid"], created["request_id"], created["extra_info"]) == (None, None, "{}")
    assert created["deleted"] == 0 and created["deleted_at"] is None and created["updated_at"] is None
    assert isinstance(created["created_at"], datetime)
    assert await db.pci_device_get_by_addr(admin, node, A1) == created


async def test_pci_device_update_changes_only_the_given_columns_of_the_live_device(
    admin: rawdb.Context, node: int, nova_db: rawdb.Database
) -> None:
    created = await db.pci_device_update(admin, node, A1, device(created_at=T0))
    claimed = await db.pci_device_update(
        admin, node, A1, {"status": "allocated", "instance_uuid": INSTANCE, "request_id": "req-1"}
    )
    assert claimed["id"] == created["id"]
    assert (claimed["status"], claimed["instance_uuid"], claimed["request_id"]) == ("allocated", INSTANCE, "req-1")
    assert (claimed["label"], claimed["dev_id"], claimed["created_at"]) == (created["label"], created["dev_id"], T0)
    assert claimed["updated_at"] is not None
    again = await db.pci_device_update(admin, node, A1, device(status="claimed", updated_at=T0))
    assert (again["id"], again["status"], again["updated_at"], again["instance_uuid"]) == (
        created["id"],
        "claimed",
        T0,
        INSTANCE,
    )
    assert await count_rows(nova_db, "pci_devices") == 1


async def test_pci_device_update_may_repeat_the_node_and_address_but_not_change_them(
    admin: rawdb.Context, node: int, nova_db: rawdb.Database
) -> None:
    created = await db.pci_device_update(admin, node, A1, device(compute_node_id=node, address=A1))
    assert created["address"] == A1
    for moved in ({"address": A2}, {"compute_node_id": node + 1}):
        with pytest.raises(errors.Invalid, match="cannot change"):
            await db.pci_device_update(admin, node, A1, {"status": "claimed", **moved})
    assert (await db.pci_device_get_by_addr(admin, node, A1))["status"] == "available"


async def test_pci_device_update_of_a_new_device_without_its_required_columns_is_invalid(
    admin: rawdb.Context, node: int, nova_db: rawdb.Database
) -> None:
    with pytest.raises(errors.Invalid, match="label"):
        await db.pci_device_update(admin, node, A1, {"vendor_id": "8086", "product_id": "1", "dev_type": "type-PCI"})
    assert await count_rows(nova_db, "pci_devices") == 0


async def test_pci_device_update_after_destroy_creates_a_new_live_device(
    admin: rawdb.Context, node: int, nova_db: rawdb.Database
) -> None:
    first = await db.pci_device_update(admin, node, A1, device())
    await db.pci_device_destroy(admin, node, A1)
    with pytest.raises(errors.Invalid):  # the deleted device is not changed
        await db.pci_device_update(admin, node, A1, {"status": "available"})
    second = await db.pci_device_update(admin, node, A1, device())
    assert second["id"] != first["id"] and second["deleted"] == 0
    assert await count_rows(nova_db, "pci_devices") == 2


async def test_pci_device_update_on_an_unknown_node_is_a_reference_error(
    admin: rawdb.Context, node: int, nova_db: rawdb.Database
) -> None:
    with pytest.raises(errors.DBReferenceError):
        await db.pci_device_update(admin, node + 100, A1, device())
    assert await count_rows(nova_db, "pci_devices") == 0


@pytest.mark.parametrize(
    ("node_id", "address", "value"),
    [
        ("one", A1, device()),
        (True, A1, device()),
        (2**40, A1, device()),
        ("NODE", None, device()),
        ("NODE", "0000:04:10.0:0", device()),
        ("NODE", A1, device(vendor_id="80861")),
        ("NODE", A1, device(dev_type="type-PCI-long")),
        ("NODE", A1, device(numa_node="zero")),
        ("NODE", A1, device(label=None)),
        ("NODE", A1, device(bogus="x")),
        ("NODE", A1, device(id=5)),
        ("NODE", A1, device(deleted=1)),
        ("NODE", A1, device(extra_info={"a": 1})),
        ("NODE", A1, device(extra_info="é" * 40000)),
        ("NODE", A1, device(status="nul\x00")),
        ("NODE", A1, ["status"]),
    ],
)
async def test_pci_device_update_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, node: int, nova_db: rawdb.Database, node_id: Any, address: Any, value: Any
) -> None:
    with pytest.raises(errors.Invalid):
        await db.pci_device_update(admin, node if node_id == "NODE" else node_id, address, value)
    assert await count_rows(nova_db, "pci_devices") == 0


async def test_concurrent_updates_of_a_new_device_make_one_live_device_without_errors(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    node = await make_node(nova_db)
    databases = [await open_db(nova_url) for _ in range(6)]
    results = await asyncio.gather(
        *(
            db.pci_device_update(rawdb.Context(d, is_admin=True), node, A1, device(label=f"label-{i}"))
            for i, d in enumerate(databases)
        )
    )
    assert len({r["id"] for r in results}) == 1
    rows = await select(nova_db, "SELECT id, label, deleted FROM pci_devices")
    assert [(row["id"], row["deleted"]) for row in rows] == [(results[0]["id"], 0)]
    assert rows[0]["label"] in {f"label-{i}" for i in range(6)}


# --- reads -----------------------------------------------------------------------------------


async def test_pci_device_get_by_addr_and_by_id(admin: rawdb.Context, node: int) -> None:
    one = await db.pci_device_update(admin, node, A1, device())
    two = await db.pci_device_update(admin, node, A2, device())
    assert await db.pci_device_get_by_addr(admin, node, A2) == two
    assert await db.pci_device_get_by_id(admin, one["id"]) == one
    assert await db.pci_device_get_by_id(admin, str(one["id"])) == one


async def test_pci_device_get_by_addr_not_found_names_node_and_address(admin: rawdb.Context, node: int) -> None:
    await db.pci_device_update(admin, node, A1, device())
    for node_id, address in ((node, A2), (node + 1, A1), (node, "a" * 13), (2**40, A1)):
        with pytest.raises(errors.PciDeviceNotFound) as caught:
            await db.pci_device_get_by_addr(admin, node_id, address)
        assert caught.value.kwargs == {"node_id": node_id, "address": address}


async def test_pci_device_get_by_id_not_found(admin: rawdb.Context, node: int) -> None:
    created = await db.pci_device_update(admin, node, A1, device())
    for missing in (created["id"] + 1, 2**40, -1):
        with pytest.raises(errors.PciDeviceNotFoundById) as caught:
            await db.pci_device_get_by_id(admin, missing)
        assert caught.value.kwargs == {"id": missing}
        assert isinstance(caught.value, errors.NotFound)


async def test_reads_follow_read_deleted(admin: rawdb.Context, node: int) -> None:
    gone = await db.pci_device_update(admin, node, A1, device())
    await db.pci_device_destroy(admin, node, A1)
    live = await db.pci_device_update(admin, node, A1, device())
    yes, only = admin.elevated(read_deleted="yes"), admin.elevated(read_deleted="only")
    assert (await db.pci_device_get_by_addr(yes, node, A1))["id"] == live["id"]
    assert (await db.pci_device_get_by_addr(only, node, A1))["id"] == gone["id"]
    with pytest.raises(errors.PciDeviceNotFoundById):
        await db.pci_device_get_by_id(admin, gone["id"])
    assert (await db.pci_device_get_by_id(yes, gone["id"]))["deleted"] == gone["id"]
    assert [d["id"] for d in await db.pci_device_get_all_by_node(admin, node)] == [live["id"]]
    assert [d["id"] for d in await db.pci_device_get_all_by_node(yes, node)] == [gone["id"], live["id"]]
    assert [d["id"] for d in await db.pci_device_get_all_by_node(only, node)] == [gone["id"]]


async def test_pci_device_get_all_by_node_lists_the_nodes_devices_oldest_first(
    admin: rawdb.Context, nova_db: rawdb.Database, node: int
) -> None:
    other = await make_node(nova_db, "host2")
    b = await db.pci_device_update(admin, node, A2, device())
    a = await db.pci_device_update(admin, node, A1, device())
    await db.pci_device_update(admin, other, A1, device())
    assert await db.pci_device_get_all_by_node(admin, node) == [b, a]
    assert await db.pci_device_get_all_by_node(admin, other + 1) == []
    assert await db.pci_device_get_all_by_node(admin, 2**40) == []
    with pytest.raises(errors.Invalid):
        await db.pci_device_get_all_by_node(admin, "host1")


async def test_pci_device_get_all_by_parent_addr(admin: rawdb.Context, node: int) -> None:
    pf = await db.pci_device_update(admin, node, A3, device(dev_type="type-PF"))
    vf1 = await db.pci_device_update(admin, node, A1, device(parent_addr=A3))
    vf2 = await db.pci_device_update(admin, node, A2, device(parent_addr=A3))
    assert [d["id"] for d in await db.pci_device_get_all_by_parent_addr(admin, node, A3)] == [vf1["id"], vf2["id"]]
    assert await db.pci_device_get_all_by_parent_addr(admin, node, A1) == []
    assert await db.pci_device_get_all_by_parent_addr(admin, node + 1, A3) == []
    assert await db.pci_device_get_all_by_parent_addr(admin, node, "p" * 13) == []
    assert [d["id"] for d in await db.pci_device_get_all_by_parent_addr(admin, node, None)] == [pf["id"]]
    with pytest.raises(errors.Invalid):
        await db.pci_device_get_all_by_parent_addr(admin, node, 3)  # type: ignore[arg-type]


async def test_pci_device_get_all_by_instance_uuid_lists_only_allocated_devices(
    admin: rawdb.Context, alice: rawdb.Context, node: int
) -> None:
    allocated = await db.pci_device_update(admin, node, A1, device(status="allocated", instance_uuid=INSTANCE))
    await db.pci_device_update(admin, node, A2, device(status="claimed", instance_uuid=INSTANCE))
    assert await db.pci_device_get_all_by_instance_uuid(alice, INSTANCE) == [allocated]
    assert await db.pci_device_get_all_by_instance_uuid(admin, "other") == []
    assert await db.pci_device_get_all_by_instance_uuid(admin, "u" * 40) == []
    with pytest.raises(errors.Invalid):
        await db.pci_device_get_all_by_instance_uuid(admin, None)  # type: ignore[arg-type]


async def test_pci_device_get_all_by_instance_uuid_requires_a_context(nova_db: rawdb.Database) -> None:
    with pytest.raises(errors.NotAuthorized):
        await db.pci_device_get_all_by_instance_uuid(rawdb.Context(nova_db), INSTANCE)


# --- destroy -----------------------------------------------------------------------------------


async def test_pci_device_destroy_soft_deletes_the_live_device(
    admin: rawdb.Context, node: int, nova_db: rawdb.Database
) -> None:
    created = await db.pci_device_update(admin, node, A1, device())
    assert await db.pci_device_destroy(admin, node, A1) is None
    rows = await select(nova_db, "SELECT deleted, deleted_at, updated_at FROM pci_devices")
    assert [(r["deleted"], r["updated_at"]) for r in rows] == [(created["id"], None)]
    assert rows[0]["deleted_at"] is not None
    with pytest.raises(errors.PciDeviceNotFound):
        await db.pci_device_get_by_addr(admin, node, A1)


async def test_pci_device_destroy_of_a_missing_device_is_not_found(admin: rawdb.Context, node: int) -> None:
    await db.pci_device_update(admin, node, A1, device())
    cases = [
        (admin, node, A2),
        (admin, node + 1, A1),
        (admin, node, "x" * 13),
        (admin.elevated(read_deleted="only"), node, A1),
    ]
    for context, node_id, address in cases:
        with pytest.raises(errors.PciDeviceNotFound) as caught:
            await db.pci_device_destroy(context, node_id, address)
        assert caught.value.kwargs == {"node_id": node_id, "address": address}
    await db.pci_device_destroy(admin, node, A1)
    with pytest.raises(errors.PciDeviceNotFound):
        await db.pci_device_destroy(admin, node, A1)
    with pytest.raises(errors.Invalid):
        await db.pci_device_destroy(admin, node, 5)  # type: ignore[arg-type]


# --- online data migration ---------------------------------------------------------------------


async def test_pcidevice_online_data_migration_moves_phys_function_to_parent_addr(
    admin: rawdb.Context, node: int, nova_db: rawdb.Database
) -> None:
    vf = await db.pci_device_update(admin, node, A1, device(extra_info=json.dumps({"phys_function": A3, "k": "v"})))
    plain = await db.pci_device_update(admin, node, A2, device(extra_info="{}"))
    done_already = await db.pci_device_update(admin, node, "0000:05:00.0", device(parent_addr=A3))
    removed = await db.pci_device_update(
        admin, node, "0000:06:00.0", device(status="removed", extra_info='{"phys_function": "0000:06:00.1"}')
    )
    broken = await db.pci_device_update(admin, node, "0000:07:00.0", device(extra_info="not json"))
    assert await db.pcidevice_online_data_migration(admin, 50) == (4, 2)

    migrated = await db.pci_device_get_by_id(admin, vf["id"])
    assert (migrated["parent_addr"], json.loads(migrated["extra_info"])) == (A3, {"k": "v"})
    assert migrated["updated_at"] is not None
    assert await db.pci_device_get_by_id(admin, plain["id"]) == plain
    assert await db.pci_device_get_by_id(admin, done_already["id"]) == done_already
    assert await db.pci_device_get_by_id(admin, broken["id"]) == broken
    with pytest.raises(errors.PciDeviceNotFoundById):  # a hot-removed device's save destroyed it
        await db.pci_device_get_by_id(admin, removed["id"])
    assert await db.pcidevice_online_data_migration(admin, 50) == (2, 0)  # plain and broken stay candidates


async def test_pcidevice_online_data_migration_looks_at_max_count_devices_oldest_first(
    admin: rawdb.Context, node: int
) -> None:
    for i in range(3):
        await db.pci_device_update(
            admin, node, f"0000:04:10.{i}", device(extra_info=json.dumps({"phys_function": f"0000:04:00.{i}"}))
        )
    assert await db.pcidevice_online_data_migration(admin, 0) == (0, 0)
    assert await db.pcidevice_online_data_migration(admin, 2) == (2, 2)
    assert [d["parent_addr"] for d in await db.pci_device_get_all_by_node(admin, node)] == [
        "0000:04:00.0",
        "0000:04:00.1",
        None,
    ]
    assert await db.pcidevice_online_data_migration(admin, "5") == (1, 1)  # type: ignore[arg-type]
    assert await db.pcidevice_online_data_migration(admin, 5) == (0, 0)


@pytest.mark.parametrize("max_count", [-1, "many", None, 1.5])
async def test_pcidevice_online_data_migration_max_count_must_be_a_count(admin: rawdb.Context, max_count: Any) -> None:
    with pytest.raises(errors.Invalid):
        await db.pcidevice_online_data_migration(admin, max_count)
