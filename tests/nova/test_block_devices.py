"""Block device mappings (Newton, spec A.3, F.1 22) on every backend: legacy conversion, update_or_create
and its swap de-duplication (also under concurrent callers), the getters and soft deletes."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from novatools import make_instance
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors, timeutils
from rawdb.nova import block_devices as db

T0 = datetime(2016, 1, 1, 10, 0, 0)
BDM_KEYS = {
    "created_at",
    "updated_at",
    "deleted_at",
    "id",
    "device_name",
    "delete_on_termination",
    "snapshot_id",
    "volume_id",
    "volume_size",
    "no_device",
    "connection_info",
    "instance_uuid",
    "deleted",
    "source_type",
    "destination_type",
    "guest_format",
    "device_type",
    "disk_bus",
    "boot_index",
    "image_id",
    "tag",
}


def new_format(instance_uuid: str, device: str = "/dev/vdb", **extra: Any) -> dict[str, Any]:
    return {
        "instance_uuid": instance_uuid,
        "device_name": device,
        "source_type": "volume",
        "destination_type": "volume",
        "volume_id": "vol-1",
        "boot_index": -1,
        **extra,
    }


def swap(instance_uuid: str, device: str) -> dict[str, Any]:
    return {
        "instance_uuid": instance_uuid,
        "device_name": device,
        "source_type": "blank",
        "destination_type": "local",
        "guest_format": "swap",
        "volume_size": 1,
    }


async def live_rows(database: rawdb.Database, instance_uuid: str) -> list[dict[str, Any]]:
    return await select(
        database,
        "SELECT id, device_name, guest_format FROM block_device_mapping "
        "WHERE instance_uuid = :u AND deleted = 0 ORDER BY id",
        u=instance_uuid,
    )


# --- create and the legacy format -----------------------------------------------------------


async def test_create_converts_a_legacy_volume_mapping_and_returns_every_column(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    with timeutils.frozen(T0):
        bdm = await db.block_device_mapping_create(
            alice, {"instance_uuid": instance, "device_name": "vdb", "volume_id": "vol-1", "volume_size": "2"}
        )
    assert set(bdm) == BDM_KEYS
    assert {k: bdm[k] for k in BDM_KEYS - {"id"}} == {
        "created_at": T0,
        "updated_at": None,
        "deleted_at": None,
        "device_name": "/dev/vdb",  # nova's prepend_dev
        "delete_on_termination": False,
        "snapshot_id": None,
        "volume_id": "vol-1",
        "volume_size": 2,
        "no_device": None,
        "connection_info": None,
        "instance_uuid": instance,
        "deleted": 0,
        "source_type": "volume",
        "destination_type": "volume",
        "guest_format": None,
        "device_type": None,
        "disk_bus": None,
        "boot_index": None,
        "image_id": None,
        "tag": None,
    }
    assert await db.block_device_mapping_get_all_by_instance(alice, instance) == [bdm]


@pytest.mark.parametrize(
    ("legacy", "expected"),
    [
        ({"virtual_name": "swap"}, ("blank", "local", "swap", True)),
        ({"virtual_name": "ephemeral0"}, ("blank", "local", None, True)),
        ({"virtual_name": "ephemeral12", "delete_on_termination": False}, ("blank", "local", None, True)),
        ({"snapshot_id": "snap-1", "delete_on_termination": "true"}, ("snapshot", "volume", None, True)),
        ({"volume_id": "vol-9"}, ("volume", "volume", None, False)),
        ({"no_device": True}, (None, None, None, False)),
    ],
)
async def test_create_reads_legacy_mappings_as_nova_from_legacy(
    alice: rawdb.Context, nova_db: rawdb.Database, legacy: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    instance = await make_instance(nova_db)
    bdm = await db.block_device_mapping_create(alice, {"instance_uuid": instance, "device_name": "/dev/sdc", **legacy})
    assert (bdm["source_type"], bdm["destination_type"], bdm["guest_format"], bdm["delete_on_termination"]) == expected
    assert bdm["device_name"] == "/dev/sdc"


async def test_create_drops_new_format_keys_from_a_legacy_mapping_as_nova_did(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    bdm = await db.block_device_mapping_create(
        alice, {"instance_uuid": instance, "device_name": "vdb", "volume_id": "v", "boot_index": 0, "disk_bus": "scsi"}
    )
    assert (bdm["boot_index"], bdm["disk_bus"], bdm["source_type"]) == (None, None, "volume")


@pytest.mark.parametrize(
    ("values", "details"),
    [
        ({"device_name": "/dev/vdb"}, "Unrecognized legacy format."),
        ({"device_name": "/dev/vdb", "virtual_name": "root"}, "Unrecognized legacy format."),
        ({"device_name": "/dev/v db", "volume_id": "v"}, "Device name contains spaces."),
        ({"device_name": "", "volume_id": "v"}, "Device name empty or too long."),
        ({"device_name": "x" * 256, "volume_id": "v"}, "Device name empty or too long."),
        ({"device_name": "/dev/vdb", "volume_id": "v", "volume_size": "big"}, "Invalid volume_size."),
        ({"device_name": "/dev/vdb", "volume_id": "v", "volume_size": -1}, "Invalid volume_size."),
    ],
)
async def test_create_refuses_a_legacy_mapping_nova_could_not_read(
    alice: rawdb.Context, nova_db: rawdb.Database, values: dict[str, Any], details: str
) -> None:
    instance = await make_instance(nova_db)
    with pytest.raises(errors.InvalidBDMFormat) as raised:
        await db.block_device_mapping_create(alice, {"instance_uuid": instance, **values})
    assert isinstance(raised.value, errors.Invalid)
    assert details in str(raised.value)
    assert await count_rows(nova_db, "block_device_mapping") == 0


async def test_create_in_the_new_format_stores_the_values_as_given(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    values = new_format(instance, "vdc", boot_index="0", disk_bus="virtio", tag="db", connection_info="{}")
    values["virtual_name"] = None  # a key the table lacks, given as None: ignored
    bdm = await db.block_device_mapping_create(alice, values, legacy=False)
    assert (bdm["device_name"], bdm["boot_index"], bdm["disk_bus"], bdm["tag"], bdm["connection_info"]) == (
        "vdc",  # no /dev/ prefix outside the legacy conversion
        0,
        "virtio",
        "db",
        "{}",
    )
    assert bdm["delete_on_termination"] is False  # the model's default


@pytest.mark.parametrize(
    "bad",
    [
        {"virtual_name": "swap"},  # the table has no virtual_name column
        {"no_such_column": 1},
        {"device_name": "x" * 256},
        {"volume_size": "ten"},
        {"volume_size": 2**31},
        {"boot_index": 1.5},
        {"delete_on_termination": "maybe"},
        {"tag": "a\x00b"},
        {"created_at": "yesterday"},
        {"id": 7},
        {"deleted": 1},
    ],
)
async def test_create_refuses_bad_values_and_writes_nothing(
    alice: rawdb.Context, nova_db: rawdb.Database, bad: dict[str, Any]
) -> None:
    instance = await make_instance(nova_db)
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_create(alice, {**new_format(instance), **bad}, legacy=False)
    assert await count_rows(nova_db, "block_device_mapping") == 0


async def test_create_refuses_what_is_not_a_dict_and_an_unknown_instance(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_create(alice, [("device_name", "vdb")])  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_create(alice, {"volume_id": "v"}, legacy="perhaps")  # type: ignore[arg-type]
    with pytest.raises(errors.DBReferenceError):
        await db.block_device_mapping_create(alice, new_format("00000000-0000-0000-0000-000000000000"), legacy=False)
    assert await count_rows(nova_db, "block_device_mapping") == 0


async def test_create_honours_given_timestamps_and_parses_iso_strings(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    bdm = await db.block_device_mapping_create(
        alice,
        new_format(instance, created_at="2015-06-01T12:30:00.000001", updated_at=T0),
        legacy=False,
    )
    assert (bdm["created_at"], bdm["updated_at"]) == (datetime(2015, 6, 1, 12, 30, 0, 1), T0)


async def test_calls_need_an_admin_or_user_context_except_update_or_create(nova_db: rawdb.Database) -> None:
    instance = await make_instance(nova_db)
    nobody = rawdb.Context(nova_db)
    with pytest.raises(errors.NotAuthorized):
        await db.block_device_mapping_create(nobody, new_format(instance), legacy=False)
    with pytest.raises(errors.NotAuthorized):
        await db.block_device_mapping_get_all_by_instance(nobody, instance)
    with pytest.raises(errors.NotAuthorized):
        await db.block_device_mapping_destroy(nobody, 1)
    bdm = await db.block_device_mapping_update_or_create(nobody, new_format(instance), legacy=False)  # as Newton
    assert bdm["instance_uuid"] == instance


# --- update --------------------------------------------------------------------------------


async def test_update_changes_the_given_columns_and_bumps_updated_at(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    with timeutils.frozen(T0):
        bdm = await db.block_device_mapping_create(alice, new_format(instance), legacy=False)
    later = T0 + timedelta(minutes=5)
    with timeutils.frozen(later):
        changed = await db.block_device_mapping_update(
            alice, bdm["id"], {"connection_info": '{"driver": "iscsi"}', "volume_size": 3}
        )
    assert changed is not None
    assert changed == {**bdm, "connection_info": '{"driver": "iscsi"}', "volume_size": 3, "updated_at": later}
    assert await db.block_device_mapping_get_all_by_instance(alice, instance) == [changed]


async def test_update_honours_a_given_updated_at_and_accepts_its_own_id(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    bdm = await db.block_device_mapping_create(alice, new_format(instance), legacy=False)
    changed = await db.block_device_mapping_update(
        alice, bdm["id"], {"id": bdm["id"], "tag": "t", "updated_at": "2014-02-03T04:05:06"}, legacy=False
    )
    assert changed is not None and (changed["tag"], changed["updated_at"]) == ("t", datetime(2014, 2, 3, 4, 5, 6))
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_update(alice, bdm["id"], {"id": bdm["id"] + 1}, legacy=False)


async def test_update_converts_legacy_values_and_overwrites_the_computable_fields_as_newton(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    bdm = await db.block_device_mapping_create(alice, new_format(instance, tag="keep?"), legacy=False)
    changed = await db.block_device_mapping_update(alice, bdm["id"], {"virtual_name": "swap", "device_name": "sdb"})
    assert changed is not None
    assert {k: changed[k] for k in ("source_type", "destination_type", "guest_format", "device_name")} == {
        "source_type": "blank",
        "destination_type": "local",
        "guest_format": "swap",
        "device_name": "/dev/sdb",
    }
    # from_legacy sets the fields it can compute (None when absent); boot_index is not one of them
    assert (changed["volume_id"], changed["tag"], changed["boot_index"]) == (None, None, -1)
    assert changed["delete_on_termination"] is True


@pytest.mark.parametrize("legacy", [False, True])
async def test_update_ignores_unknown_keys_given_as_none(
    alice: rawdb.Context, nova_db: rawdb.Database, legacy: bool
) -> None:
    instance = await make_instance(nova_db)
    with timeutils.frozen(T0):
        bdm = await db.block_device_mapping_create(alice, new_format(instance), legacy=False)
    later = T0 + timedelta(minutes=5)
    # keys neither format nor the table has, given as None: as if absent, so even a legacy
    # update stays an update of the columns given (no from_legacy conversion)
    with timeutils.frozen(later):
        changed = await db.block_device_mapping_update(
            alice, bdm["id"], {"volume_size": 3, "colour": None, "instance": None, "deleted": None}, legacy=legacy
        )
    assert changed == {**bdm, "volume_size": 3, "updated_at": later}
    assert await db.block_device_mapping_get_all_by_instance(alice, instance) == [changed]


async def test_update_of_a_mapping_the_caller_cannot_see_changes_nothing(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    bdm = await db.block_device_mapping_create(alice, new_format(instance), legacy=False)
    await db.block_device_mapping_destroy(alice, bdm["id"])
    assert await db.block_device_mapping_update(alice, bdm["id"], {"tag": "x"}) is None
    assert await db.block_device_mapping_update(alice, 999999, {"tag": "x"}) is None
    assert await db.block_device_mapping_update(alice, 2**40, {"tag": "x"}) is None
    rows = await select(nova_db, "SELECT tag FROM block_device_mapping")
    assert rows == [{"tag": None}]
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_update(alice, "one", {"tag": "x"})  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_update(alice, bdm["id"], {"tag": "x" * 256}, legacy=False)


# --- update_or_create ----------------------------------------------------------------------


async def test_update_or_create_creates_then_updates_the_instances_device(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    with timeutils.frozen(T0):
        first = await db.block_device_mapping_update_or_create(alice, new_format(instance), legacy=False)
    later = T0 + timedelta(hours=1)
    with timeutils.frozen(later):
        second = await db.block_device_mapping_update_or_create(
            alice, new_format(instance, volume_id="vol-2"), legacy=False
        )
        same = await db.block_device_mapping_update_or_create(
            alice, new_format(instance, volume_id="vol-2"), legacy=False
        )
    assert second == {**first, "volume_id": "vol-2", "updated_at": later}
    assert same == second
    assert [row["id"] for row in await live_rows(nova_db, instance)] == [first["id"]]


async def test_update_or_create_does_not_touch_an_unchanged_mapping(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    with timeutils.frozen(T0):
        first = await db.block_device_mapping_update_or_create(alice, new_format(instance), legacy=False)
    with timeutils.frozen(T0 + timedelta(hours=1)):
        again = await db.block_device_mapping_update_or_create(alice, new_format(instance), legacy=False)
    assert again == first and again["updated_at"] is None


async def test_update_or_create_without_a_device_name_always_creates(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    one = await db.block_device_mapping_update_or_create(alice, new_format(instance, device_name=None), legacy=False)
    two = await db.block_device_mapping_update_or_create(alice, new_format(instance, device_name=None), legacy=False)
    assert one["id"] != two["id"]
    assert len(await live_rows(nova_db, instance)) == 2


async def test_update_or_create_keeps_one_swap_per_instance(alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    instance = await make_instance(nova_db)
    other = await make_instance(nova_db)
    with timeutils.frozen(T0):
        old = await db.block_device_mapping_update_or_create(alice, swap(instance, "/dev/vdb"), legacy=False)
        others_swap = await db.block_device_mapping_update_or_create(alice, swap(other, "/dev/vdb"), legacy=False)
    volume = await db.block_device_mapping_create(alice, new_format(instance, "/dev/vdd"), legacy=False)
    eph = await db.block_device_mapping_create(
        alice, {"instance_uuid": instance, "device_name": "vde", "virtual_name": "ephemeral0"}
    )
    when = T0 + timedelta(minutes=1)
    with timeutils.frozen(when):
        new = await db.block_device_mapping_update_or_create(
            alice, {"instance_uuid": instance, "device_name": "vdc", "virtual_name": "swap"}
        )
    assert new["guest_format"] == "swap" and new["id"] != old["id"]
    assert [r["id"] for r in await live_rows(nova_db, instance)] == [volume["id"], eph["id"], new["id"]]
    assert [r["id"] for r in await live_rows(nova_db, other)] == [others_swap["id"]]
    gone = await select(
        nova_db, "SELECT deleted, deleted_at, updated_at FROM block_device_mapping WHERE id = :i", i=old["id"]
    )
    assert gone == [{"deleted": old["id"], "deleted_at": when, "updated_at": None}]  # a bulk soft delete


async def test_update_or_create_does_not_deduplicate_ephemerals_as_newton(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    for device in ("vdb", "vdc"):
        await db.block_device_mapping_update_or_create(
            alice, {"instance_uuid": instance, "device_name": device, "virtual_name": "ephemeral0"}
        )
    rows = await live_rows(nova_db, instance)
    assert [(r["device_name"], r["guest_format"]) for r in rows] == [("/dev/vdb", None), ("/dev/vdc", None)]


@pytest.mark.parametrize("legacy", [False, True])
async def test_update_or_create_ignores_unknown_keys_given_as_none(
    alice: rawdb.Context, nova_db: rawdb.Database, legacy: bool
) -> None:
    instance = await make_instance(nova_db)
    unknown = {"colour": None, "instance": None, "deleted": None}
    with timeutils.frozen(T0):
        first = await db.block_device_mapping_update_or_create(
            alice, {**new_format(instance, disk_bus="virtio"), **unknown}, legacy=legacy
        )
    assert set(first) == BDM_KEYS
    # stored as given: the unknown keys did not send the new-format values through from_legacy
    assert (first["boot_index"], first["disk_bus"], first["device_name"]) == (-1, "virtio", "/dev/vdb")
    later = T0 + timedelta(hours=1)
    with timeutils.frozen(later):
        second = await db.block_device_mapping_update_or_create(
            alice, {**new_format(instance, volume_id="vol-2", disk_bus="virtio"), **unknown}, legacy=legacy
        )
    assert second == {**first, "volume_id": "vol-2", "updated_at": later}
    assert [row["id"] for row in await live_rows(nova_db, instance)] == [first["id"]]


async def test_update_or_create_needs_an_instance_and_writes_nothing_on_bad_input(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_update_or_create(alice, {"device_name": "vdb", "volume_id": "v"})
    instance = await make_instance(nova_db)
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_update_or_create(
            alice, {**swap(instance, "vdb"), "volume_size": -(2**40)}, legacy=False
        )
    with pytest.raises(errors.DBReferenceError):
        await db.block_device_mapping_update_or_create(
            alice, swap("00000000-0000-0000-0000-000000000000", "vdb"), legacy=False
        )
    assert await count_rows(nova_db, "block_device_mapping") == 0


async def test_update_or_create_is_race_free_across_connections(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    instance = await make_instance(nova_db)
    databases = [await open_db(nova_url) for _ in range(8)]
    callers = [rawdb.Context(d, project_id="p1", user_id="alice") for d in databases]
    results = await asyncio.gather(
        *(
            db.block_device_mapping_update_or_create(c, new_format(instance, volume_id=f"vol-{i}"), legacy=False)
            for i, c in enumerate(callers)
        )
    )
    rows = await live_rows(nova_db, instance)
    assert len(rows) == 1
    assert {r["id"] for r in results} == {rows[0]["id"]}


async def test_update_or_create_of_swaps_by_concurrent_callers_leaves_one_swap(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    instance = await make_instance(nova_db)
    databases = [await open_db(nova_url) for _ in range(6)]
    callers = [rawdb.Context(d, project_id="p1", user_id="alice") for d in databases]
    results = await asyncio.gather(
        *(
            db.block_device_mapping_update_or_create(c, swap(instance, f"/dev/vd{'bcdefg'[i]}"), legacy=False)
            for i, c in enumerate(callers)
        )
    )
    rows = await live_rows(nova_db, instance)
    assert len(rows) == 1 and rows[0]["guest_format"] == "swap"
    assert rows[0]["id"] in {r["id"] for r in results}
    assert await count_rows(nova_db, "block_device_mapping") == 6


# --- getters -------------------------------------------------------------------------------


async def test_getters_see_rows_as_read_deleted_says(alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    one, two = await make_instance(nova_db), await make_instance(nova_db)
    a = await db.block_device_mapping_create(alice, new_format(one, "vdb", volume_id="vol-a"), legacy=False)
    b = await db.block_device_mapping_create(alice, new_format(two, "vdb", volume_id="vol-a"), legacy=False)
    c = await db.block_device_mapping_create(alice, new_format(one, "vdc", volume_id="vol-c"), legacy=False)
    await db.block_device_mapping_destroy(alice, c["id"])
    everything = alice.elevated(read_deleted="yes")

    ids = [r["id"] for r in await db.block_device_mapping_get_all_by_instance_uuids(alice, [two, one, "nope", two])]
    assert ids == [a["id"], b["id"]]
    assert await db.block_device_mapping_get_all_by_instance_uuids(alice, []) == []
    assert [r["id"] for r in await db.block_device_mapping_get_all_by_instance_uuids(everything, (one,))] == [
        a["id"],
        c["id"],
    ]
    assert [r["id"] for r in await db.block_device_mapping_get_all_by_instance(alice, one)] == [a["id"]]
    assert [r["id"] for r in await db.block_device_mapping_get_all_by_instance(everything, one)] == [a["id"], c["id"]]
    assert await db.block_device_mapping_get_all_by_instance(alice, "x" * 40) == []
    assert [r["id"] for r in await db.block_device_mapping_get_all_by_volume_id(alice, "vol-a")] == [a["id"], b["id"]]
    assert await db.block_device_mapping_get_all_by_volume_id(alice, "vol-c") == []
    found = await db.block_device_mapping_get_by_instance_and_volume_id(alice, "vol-a", two)
    assert found == b
    assert await db.block_device_mapping_get_by_instance_and_volume_id(alice, "vol-c", one) is None
    deleted = await db.block_device_mapping_get_by_instance_and_volume_id(everything, "vol-c", one)
    assert deleted is not None and deleted["deleted"] == c["id"]


async def test_getters_join_the_instance_of_live_mappings_when_asked(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db, hostname="vm1")
    gone_instance = await make_instance(nova_db, deleted=True)
    a = await db.block_device_mapping_create(alice, new_format(instance, "vdb", volume_id="vol-a"), legacy=False)
    b = await db.block_device_mapping_create(alice, new_format(gone_instance, "vdb", volume_id="vol-a"), legacy=False)
    c = await db.block_device_mapping_create(alice, new_format(instance, "vdc", volume_id="vol-a"), legacy=False)
    await db.block_device_mapping_destroy(alice, c["id"])

    plain = await db.block_device_mapping_get_all_by_volume_id(alice, "vol-a")
    assert all("instance" not in row for row in plain)
    joined = await db.block_device_mapping_get_all_by_volume_id(
        alice.elevated(read_deleted="yes"), "vol-a", columns_to_join=["instance"]
    )
    assert [row["id"] for row in joined] == [a["id"], b["id"], c["id"]]
    first, second, third = (row["instance"] for row in joined)
    assert (first["uuid"], first["hostname"], first["deleted"]) == (instance, "vm1", 0)
    assert first["name"] == f"instance-{first['id']:08x}"
    assert (first["metadata"], first["system_metadata"], first["info_cache"]) == ([], [], None)
    assert second["uuid"] == gone_instance and second["deleted"] == second["id"]  # the relationship keeps it
    assert third is None  # a deleted mapping joins no instance
    single = await db.block_device_mapping_get_by_instance_and_volume_id(
        alice, "vol-a", instance, columns_to_join=["instance"]
    )
    assert single is not None and single["instance"] == first
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_get_all_by_volume_id(alice, "vol-a", columns_to_join=["metadata"])
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_get_all_by_volume_id(alice, "vol-a", columns_to_join="instance")  # type: ignore[arg-type]


async def test_getters_refuse_keys_of_the_wrong_type(alice: rawdb.Context) -> None:
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_get_all_by_instance(alice, 5)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_get_all_by_instance_uuids(alice, "uuid")  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_get_all_by_instance_uuids(alice, [None])  # type: ignore[list-item]
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_get_all_by_volume_id(alice, None)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_get_by_instance_and_volume_id(alice, "v", 7)  # type: ignore[arg-type]


# --- destroy -------------------------------------------------------------------------------


async def test_destroys_soft_delete_live_mappings_and_keep_updated_at(
    alice: rawdb.Context, nova_db: rawdb.Database
) -> None:
    instance = await make_instance(nova_db)
    made = [
        await db.block_device_mapping_create(alice, new_format(instance, device, volume_id=volume), legacy=False)
        for device, volume in (("vdb", "v1"), ("vdc", "v2"), ("vdd", "v3"), ("vde", "v4"))
    ]
    with timeutils.frozen(T0):
        await db.block_device_mapping_destroy(alice, made[0]["id"])
        await db.block_device_mapping_destroy_by_instance_and_device(alice, instance, "vdc")
        await db.block_device_mapping_destroy_by_instance_and_volume(alice, instance, "v3")
        # nothing to delete is no error
        await db.block_device_mapping_destroy(alice, 424242)
        await db.block_device_mapping_destroy_by_instance_and_device(alice, instance, "vdz")
        await db.block_device_mapping_destroy_by_instance_and_volume(alice, "x" * 37, "v4")
    rows = await select(nova_db, "SELECT id, deleted, deleted_at, updated_at FROM block_device_mapping ORDER BY id")
    assert rows == [
        {"id": made[0]["id"], "deleted": made[0]["id"], "deleted_at": T0, "updated_at": None},
        {"id": made[1]["id"], "deleted": made[1]["id"], "deleted_at": T0, "updated_at": None},
        {"id": made[2]["id"], "deleted": made[2]["id"], "deleted_at": T0, "updated_at": None},
        {"id": made[3]["id"], "deleted": 0, "deleted_at": None, "updated_at": None},
    ]
    with timeutils.frozen(T0 + timedelta(days=1)):
        await db.block_device_mapping_destroy(alice.elevated(read_deleted="yes"), made[0]["id"])
    again = await select(nova_db, "SELECT deleted_at FROM block_device_mapping WHERE id = :i", i=made[0]["id"])
    assert again == [{"deleted_at": T0}]  # an already deleted mapping stays as it was
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_destroy(alice, None)  # type: ignore[arg-type]
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_destroy_by_instance_and_device(alice, instance, 3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("instance_uuid", "volume_id"),
    [(None, "v1"), (42, "v1"), ("INSTANCE", None), ("INSTANCE", 7), ("INSTANCE", ["v1"]), (b"uuid", "v1")],
    ids=repr,
)
async def test_destroy_by_instance_and_volume_refuses_a_key_that_is_not_a_string_and_deletes_nothing(
    alice: rawdb.Context, nova_db: rawdb.Database, instance_uuid: Any, volume_id: Any
) -> None:
    instance = await make_instance(nova_db)
    made = await db.block_device_mapping_create(alice, new_format(instance, volume_id="v1"), legacy=False)
    uuid = instance if instance_uuid == "INSTANCE" else instance_uuid
    with pytest.raises(errors.Invalid):
        await db.block_device_mapping_destroy_by_instance_and_volume(alice, uuid, volume_id)
    rows = await select(nova_db, "SELECT id, deleted, deleted_at FROM block_device_mapping")
    assert rows == [{"id": made["id"], "deleted": 0, "deleted_at": None}]
    assert await db.block_device_mapping_get_all_by_instance(alice, instance) == [made]


async def test_writes_join_the_callers_transaction(alice: rawdb.Context, nova_db: rawdb.Database) -> None:
    instance = await make_instance(nova_db)
    with pytest.raises(RuntimeError):
        async with alice.writer() as tx:
            await db.block_device_mapping_update_or_create(tx, swap(instance, "vdb"), legacy=False)
            assert len(await db.block_device_mapping_get_all_by_instance(tx, instance)) == 1
            raise RuntimeError("roll back")
    assert await count_rows(nova_db, "block_device_mapping") == 0
    await execute(nova_db, "UPDATE instances SET hostname = 'x' WHERE uuid = :u", u=instance)  # the lock is gone
