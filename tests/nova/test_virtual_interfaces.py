"""Virtual interfaces (rawdb.nova.virtual_interfaces, Newton, spec A.3) on every backend."""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from datetime import datetime, timedelta
from typing import Any

import pytest
from novatools import make_instance
from sqltools import OpenDb, count_rows, select

import rawdb
from rawdb import errors
from rawdb.nova import virtual_interfaces as db

T0 = datetime(2016, 1, 1, 10, 0, 0)
VIF_KEYS = [
    "created_at",
    "updated_at",
    "deleted_at",
    "id",
    "address",
    "network_id",
    "uuid",
    "instance_uuid",
    "deleted",
    "tag",
]


def vif_values(instance_uuid: str, address: str = "aa:bb:cc:dd:ee:01", **extra: Any) -> dict[str, Any]:
    return {"address": address, "instance_uuid": instance_uuid, "network_id": 1, "uuid": str(uuidlib.uuid4()), **extra}


async def test_create_returns_every_column_and_the_getters_find_it(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    values = vif_values(instance, tag="nic0", created_at=T0)
    vif = await db.virtual_interface_create(alice, values)
    assert list(vif) == VIF_KEYS
    assert {k: vif[k] for k in ("address", "instance_uuid", "network_id", "uuid", "tag", "created_at")} == {
        "address": "aa:bb:cc:dd:ee:01",
        "instance_uuid": instance,
        "network_id": 1,
        "uuid": values["uuid"],
        "tag": "nic0",
        "created_at": T0,
    }
    assert (vif["deleted"], vif["deleted_at"], vif["updated_at"]) == (0, None, None)
    assert await db.virtual_interface_get(alice, vif["id"]) == vif
    assert await db.virtual_interface_get_by_address(alice, "aa:bb:cc:dd:ee:01") == vif
    assert await db.virtual_interface_get_by_uuid(alice, values["uuid"]) == vif
    assert await db.virtual_interface_get_by_instance_and_network(alice, instance, 1) == vif
    assert await db.virtual_interface_get_all(alice) == [vif]


async def test_create_of_a_taken_address_or_unknown_instance_raises_and_the_transaction_goes_on(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    await db.virtual_interface_create(alice, vif_values(instance))
    async with alice.writer() as tx:
        with pytest.raises(errors.VirtualInterfaceCreateException):
            await db.virtual_interface_create(tx, vif_values(instance))
        with pytest.raises(errors.VirtualInterfaceCreateException):
            await db.virtual_interface_create(tx, vif_values(str(uuidlib.uuid4()), address="aa:bb:cc:dd:ee:09"))
        await db.virtual_interface_create(tx, vif_values(instance, address="aa:bb:cc:dd:ee:02"))
    assert await count_rows(nova_db, "virtual_interfaces") == 2


async def test_create_from_many_connections_of_one_address_makes_one_interface(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    instance = await make_instance(nova_db)
    databases = [await open_db(nova_url) for _ in range(6)]
    results = await asyncio.gather(
        *(db.virtual_interface_create(rawdb.Context(d, is_admin=True), vif_values(instance)) for d in databases),
        return_exceptions=True,
    )
    assert len([r for r in results if isinstance(r, dict)]) == 1
    assert all(isinstance(r, errors.VirtualInterfaceCreateException) for r in results if not isinstance(r, dict))
    assert await count_rows(nova_db, "virtual_interfaces") == 1


async def test_create_refuses_bad_values_writing_nothing(alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    instance = await make_instance(nova_db)
    for values in (
        vif_values(instance, colour="red"),
        vif_values(instance, network_id="one"),
        vif_values(instance, uuid="u" * 37),
        vif_values(instance, address="a\x00b"),
        ["address"],
    ):
        with pytest.raises(errors.Invalid):
            await db.virtual_interface_create(alice, values)  # type: ignore[arg-type]
    assert await count_rows(nova_db, "virtual_interfaces") == 0


async def test_update_changes_the_given_columns_and_returns_the_row(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    vif = await db.virtual_interface_create(alice, vif_values(instance))
    await db.virtual_interface_create(alice, vif_values(instance, address="aa:bb:cc:dd:ee:02"))
    changed = await db.virtual_interface_update(alice, "aa:bb:cc:dd:ee:01", {"network_id": 7, "tag": "t"})
    assert changed is not None
    assert {k: changed[k] for k in ("id", "address", "network_id", "tag", "uuid")} == {
        "id": vif["id"],
        "address": "aa:bb:cc:dd:ee:01",
        "network_id": 7,
        "tag": "t",
        "uuid": vif["uuid"],
    }
    assert isinstance(changed["updated_at"], datetime)
    assert await db.virtual_interface_get(alice, vif["id"]) == changed
    with pytest.raises(errors.DBDuplicateEntry):
        await db.virtual_interface_update(alice, "aa:bb:cc:dd:ee:01", {"address": "aa:bb:cc:dd:ee:02"})
    assert await db.virtual_interface_update(alice, "aa:bb:cc:dd:ee:99", {"tag": "x"}) is None
    with pytest.raises(errors.Invalid):
        await db.virtual_interface_update(alice, "aa:bb:cc:dd:ee:01", {"deleted": 1})
    assert (await db.virtual_interface_get(alice, vif["id"]))["tag"] == "t"


async def test_get_by_instance_lists_live_ones_oldest_first_or_raises_for_no_instance(
    alice: rawdb.Context, carol: rawdb.Context, admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db, project_id="p1")
    late = await db.virtual_interface_create(alice, vif_values(instance, created_at=T0 + timedelta(hours=1)))
    early = await db.virtual_interface_create(alice, vif_values(instance, address="aa:bb:cc:dd:ee:02", created_at=T0))
    gone = await db.virtual_interface_create(alice, vif_values(instance, address="aa:bb:cc:dd:ee:03"))
    await db.virtual_interface_delete(alice, gone["id"])
    assert [v["id"] for v in await db.virtual_interface_get_by_instance(alice, instance)] == [early["id"], late["id"]]
    bare = await make_instance(nova_db, project_id="p1")
    assert await db.virtual_interface_get_by_instance(alice, bare) == []
    with pytest.raises(errors.InstanceNotFound):
        await db.virtual_interface_get_by_instance(carol, instance)  # another project's instance
    with pytest.raises(errors.InstanceNotFound) as caught:
        await db.virtual_interface_get_by_instance(admin, "no-such-instance")
    assert caught.value.kwargs == {"instance_id": "no-such-instance"}
    deleted = await make_instance(nova_db, deleted=True)
    with pytest.raises(errors.InstanceNotFound):
        await db.virtual_interface_get_by_instance(admin, deleted)
    assert await db.virtual_interface_get_by_instance(admin.elevated(read_deleted="yes"), deleted) == []


async def test_getters_return_none_for_missing_and_deleted_interfaces(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    vif = await db.virtual_interface_create(alice, vif_values(instance))
    await db.virtual_interface_delete(alice, vif["id"])
    assert await db.virtual_interface_get(alice, vif["id"]) is None
    assert await db.virtual_interface_get_by_address(alice, vif["address"]) is None
    assert await db.virtual_interface_get_by_uuid(alice, vif["uuid"]) is None
    assert await db.virtual_interface_get_by_instance_and_network(alice, instance, 1) is None
    assert await db.virtual_interface_get_all(alice) == []
    assert await db.virtual_interface_get(alice, 2**40) is None
    assert await db.virtual_interface_get_by_uuid(alice, "u" * 40) is None
    with pytest.raises(errors.Invalid):
        await db.virtual_interface_get(alice, "one")  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.virtual_interface_get_by_address(alice, 5)  # type: ignore[arg-type]


async def test_deletes_are_soft_and_keep_updated_at(alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    first, second = await make_instance(nova_db), await make_instance(nova_db)
    a = await db.virtual_interface_create(alice, vif_values(first, updated_at=T0))
    await db.virtual_interface_create(alice, vif_values(first, address="aa:bb:cc:dd:ee:02"))
    c = await db.virtual_interface_create(alice, vif_values(second, address="aa:bb:cc:dd:ee:03"))
    assert await db.virtual_interface_delete_by_instance(alice, first) is None
    rows = await select(nova_db, "SELECT id, deleted, deleted_at, updated_at FROM virtual_interfaces ORDER BY id")
    assert [(r["deleted"] == r["id"], r["deleted_at"] is not None) for r in rows] == [
        (True, True),
        (True, True),
        (False, False),
    ]
    assert rows[0]["updated_at"] == T0
    assert [v["id"] for v in await db.virtual_interface_get_all(alice)] == [c["id"]]
    await db.virtual_interface_delete(alice, c["id"])
    await db.virtual_interface_delete(alice, c["id"])  # already gone: no error
    assert await db.virtual_interface_get_all(alice) == []
    # a deleted interface's address can be used again
    again = await db.virtual_interface_create(alice, vif_values(first))
    assert again["id"] != a["id"]


async def test_every_call_needs_an_admin_or_user_context(nova_db: rawdb.Database) -> None:
    nobody = rawdb.Context(nova_db)
    with pytest.raises(errors.NotAuthorized):
        await db.virtual_interface_get_all(nobody)
    with pytest.raises(errors.NotAuthorized):
        await db.virtual_interface_create(nobody, {"address": "x"})
    assert await count_rows(nova_db, "virtual_interfaces") == 0
