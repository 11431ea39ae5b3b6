"""Cinder's volumes and volume metadata (rawdb.cinder.volumes) on every backend (spec A.5, F.1 29)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.cinder import iscsi
from rawdb.cinder import volumes as db

COLUMNS = {
    "id", "ec2_id", "user_id", "project_id", "snapshot_id", "host", "size", "availability_zone", "instance_uuid",
    "mountpoint", "attach_time", "status", "attach_status", "scheduled_at", "launched_at", "terminated_at",
    "display_name", "display_description", "provider_location", "provider_auth", "volume_type_id", "created_at",
    "updated_at", "deleted_at", "deleted",
}  # fmt: skip
KEYS = COLUMNS | {"name", "volume_metadata", "volume_type"}  # name: Folsom's Volume.name property
INSTANCE = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
T0 = datetime(2012, 9, 27, 10, 0, 0, 123456)


async def volume(ctx: rawdb.Context, **values: Any) -> dict[str, Any]:
    return await db.volume_create(ctx, {"project_id": "p1", "user_id": "alice", "size": 1, **values})


async def volume_type(database: rawdb.Database, name: str, deleted: bool = False) -> int:
    await execute(
        database,
        "INSERT INTO volume_types (name, created_at, deleted) VALUES (:name, :t, :deleted)",
        name=name,
        t=T0,
        deleted=deleted,
    )
    rows = await select(database, "SELECT id FROM volume_types WHERE name = :name", name=name)
    return int(rows[0]["id"])


async def metadata_rows(database: rawdb.Database, volume_id: str) -> list[dict[str, Any]]:
    return await select(
        database,
        'SELECT id, "key", value, updated_at, deleted_at, deleted FROM volume_metadata '
        "WHERE volume_id = :v ORDER BY id",
        v=volume_id,
    )


# --- create and get ------------------------------------------------------------------------


async def test_volume_create_makes_metadata_rows_and_returns_what_volume_get_returns(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    type_id = await volume_type(cinder_db, "gold")
    created = await volume(admin, display_name="v1", volume_type_id=type_id, metadata={"a": "1", "b": "2"})

    assert set(created) == KEYS
    assert uuid.UUID(created["id"]).version == 4
    assert (created["project_id"], created["size"], created["display_name"], created["deleted"]) == (
        "p1",
        1,
        "v1",
        False,
    )
    assert isinstance(created["created_at"], datetime) and created["updated_at"] is None
    assert [(m["key"], m["value"], m["volume_id"], m["deleted"]) for m in created["volume_metadata"]] == [
        ("a", "1", created["id"], False),
        ("b", "2", created["id"], False),
    ]
    assert created["volume_type"] == {
        "id": type_id, "name": "gold", "created_at": T0, "updated_at": None, "deleted_at": None, "deleted": False,
    }  # fmt: skip
    assert await db.volume_get(admin, created["id"]) == created


async def test_volume_create_keeps_a_given_id_and_refuses_it_twice(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    given = "11111111-2222-3333-4444-555555555555"
    created = await volume(admin, id=given)
    assert created["id"] == given and created["volume_metadata"] == [] and created["volume_type"] is None
    with pytest.raises(errors.DBDuplicateEntry):
        await volume(admin, id=given, metadata={"k": "v"})
    assert await count_rows(cinder_db, "volumes") == 1
    assert await count_rows(cinder_db, "volume_metadata") == 0


@pytest.mark.parametrize(
    "values",
    [
        {"colour": "red"},
        {"display_name": "x" * 256},
        {"display_name": "nul\x00"},
        {"size": "big"},
        {"size": 2**31},
        {"launched_at": "yesterday"},
        {"id": "x" * 37},
        {"metadata": ["a", "b"]},
        {"metadata": {"k": "v" * 256}},
        {"metadata": {"k" * 256: "v"}},
        {"metadata": {1: "v"}},
        {"metadata": {"k": 5}},
        {"metadata": {"k": "nul\x00"}},
    ],
    ids=lambda v: repr(v)[:30],
)
async def test_volume_create_refuses_bad_input_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database, values: dict[str, Any]
) -> None:
    with pytest.raises(errors.Invalid):
        await volume(admin, **values)
    assert await count_rows(cinder_db, "volumes") == 0
    assert await count_rows(cinder_db, "volume_metadata") == 0


async def test_volume_create_refuses_values_that_are_not_a_dict(admin: rawdb.Context) -> None:
    with pytest.raises(errors.Invalid):
        await db.volume_create(admin, [("size", 1)])  # type: ignore[arg-type]


async def test_volume_create_for_another_project_by_a_user_is_volume_not_found_and_writes_nothing(
    carol: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    with pytest.raises(errors.VolumeNotFound):
        await volume(carol, metadata={"k": "v"})  # project p1, carol is in p2
    assert await count_rows(cinder_db, "volumes") == 0
    mine = await volume(carol, project_id="p2", user_id="carol")
    assert mine["project_id"] == "p2"


async def test_volume_get_is_project_only_for_users(
    alice: rawdb.Context, bob: rawdb.Context, carol: rawdb.Context, admin: rawdb.Context
) -> None:
    created = await volume(alice, metadata={"k": "v"})
    assert (await db.volume_get(bob, created["id"]))["id"] == created["id"]
    assert await db.volume_get(admin, created["id"]) == created
    with pytest.raises(errors.VolumeNotFound) as caught:
        await db.volume_get(carol, created["id"])
    assert created["id"] in str(caught.value)


async def test_volume_get_of_an_unknown_or_impossible_id_is_volume_not_found(admin: rawdb.Context) -> None:
    for volume_id in ("no-such-volume", "x" * 300, "nul\x00"):
        with pytest.raises(errors.VolumeNotFound):
            await db.volume_get(admin, volume_id)
    with pytest.raises(errors.Invalid):
        await db.volume_get(admin, 42)  # type: ignore[arg-type]


async def test_every_volume_carries_folsoms_computed_name_volume_dash_id(
    admin: rawdb.Context, alice: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    # cinder's volume manager and drivers read volume['name'] (volume_name_template % id)
    given = "11111111-2222-3333-4444-555555555555"
    created = await volume(alice, id=given, host="h1", metadata={"k": "v"})
    other = await volume(alice, host="h1")
    assert created["name"] == "volume-" + given
    assert other["name"] == "volume-" + other["id"] and other["name"] != created["name"]
    assert (await db.volume_get(alice, given))["name"] == "volume-" + given
    for listed in (
        await db.volume_get_all(admin),
        await db.volume_get_all_by_host(admin, "h1"),
        await db.volume_get_all_by_project(alice, "p1"),
        await db.volume_get_active_by_window(admin, T0),
    ):
        assert [v["name"] for v in listed] == ["volume-" + v["id"] for v in listed]
        assert {v["name"] for v in listed} == {"volume-" + given, "volume-" + other["id"]}
    await db.volume_destroy(admin, given)
    gone = await db.volume_get(admin.elevated(read_deleted="yes"), given)
    assert gone["deleted"] is True and gone["name"] == "volume-" + given


@pytest.mark.parametrize("action", ["create", "update"])
async def test_volume_name_is_computed_and_cannot_be_set(
    admin: rawdb.Context, cinder_db: rawdb.Database, action: str
) -> None:
    # Folsom's Volume.name was a property without a setter: the id is what names a volume
    created = await volume(admin) if action == "update" else None
    with pytest.raises(errors.Invalid):
        if created is None:
            await volume(admin, name="volume-mine")
        else:
            await db.volume_update(admin, created["id"], {"name": "volume-mine"})
    assert await count_rows(cinder_db, "volumes") == (0 if created is None else 1)
    if created is not None:
        assert await db.volume_get(admin, created["id"]) == created


async def test_volume_get_follows_read_deleted_and_nests_only_the_live_type_and_metadata(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    gone_type = await volume_type(cinder_db, "gone", deleted=True)
    created = await volume(admin, volume_type_id=gone_type, metadata={"k": "v"})
    assert created["volume_type"] is None and created["volume_type_id"] == gone_type
    await db.volume_destroy(admin, created["id"])
    with pytest.raises(errors.VolumeNotFound):
        await db.volume_get(admin, created["id"])
    seen = await db.volume_get(admin.elevated(read_deleted="yes"), created["id"])
    assert seen["deleted"] is True and seen["volume_metadata"] == []  # its metadata went with it


async def test_every_getter_returns_the_same_volume_dict(admin: rawdb.Context, cinder_db: rawdb.Database) -> None:
    type_id = await volume_type(cinder_db, "silver")
    created = await volume(admin, host="h1", volume_type_id=type_id, metadata={"a": "1"})
    await db.volume_attached(admin, created["id"], INSTANCE, "/dev/vdb")
    one = await db.volume_get(admin, created["id"])
    assert set(one) == KEYS
    assert await db.volume_get_all(admin) == [one]
    assert await db.volume_get_all_by_host(admin, "h1") == [one]
    assert await db.volume_get_all_by_instance_uuid(admin, INSTANCE) == [one]
    assert await db.volume_get_all_by_project(admin, "p1") == [one]
    assert await db.volume_get_active_by_window(admin, T0) == [one]


async def test_volume_lists_are_oldest_first_and_follow_read_deleted(admin: rawdb.Context) -> None:
    late = await volume(admin, host="h1", created_at=T0 + timedelta(hours=2))
    early = await volume(admin, host="h1", created_at=T0)
    other = await volume(admin, host="h2", project_id="p2", created_at=T0 + timedelta(hours=1))
    await db.volume_destroy(admin, late["id"])
    assert [v["id"] for v in await db.volume_get_all(admin)] == [early["id"], other["id"]]
    assert [v["id"] for v in await db.volume_get_all_by_host(admin, "h1")] == [early["id"]]
    assert [v["id"] for v in await db.volume_get_all_by_project(admin, "p2")] == [other["id"]]
    everything = admin.elevated(read_deleted="yes")
    assert [v["id"] for v in await db.volume_get_all_by_host(everything, "h1")] == [early["id"], late["id"]]
    only = admin.elevated(read_deleted="only")
    assert [v["id"] for v in await db.volume_get_all(only)] == [late["id"]]
    assert await db.volume_get_all_by_host(admin, "h" * 300) == []


async def test_volume_get_all_by_instance_uuid_lists_live_volumes_only(admin: rawdb.Context) -> None:
    kept = await volume(admin)
    gone = await volume(admin)
    for v in (kept, gone):
        await db.volume_attached(admin, v["id"], INSTANCE, "/dev/vdc")
    await db.volume_destroy(admin, gone["id"])
    listed = await db.volume_get_all_by_instance_uuid(admin.elevated(read_deleted="yes"), INSTANCE)
    assert [v["id"] for v in listed] == [kept["id"]]
    assert await db.volume_get_all_by_instance_uuid(admin, str(uuid.uuid4())) == []


async def test_volume_get_all_by_project_lets_a_user_see_only_its_project(
    alice: rawdb.Context, carol: rawdb.Context
) -> None:
    created = await volume(alice)
    assert [v["id"] for v in await db.volume_get_all_by_project(alice, "p1")] == [created["id"]]
    with pytest.raises(errors.NotAuthorized):
        await db.volume_get_all_by_project(carol, "p1")


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("volume_get_all", ()),
        ("volume_get_all_by_host", ("h",)),
        ("volume_get_all_by_instance_uuid", (INSTANCE,)),
        ("volume_destroy", ("v",)),
        ("volume_attached", ("v", INSTANCE, "/dev/vdb")),
        ("volume_detached", ("v",)),
        ("volume_data_get_for_project", ("p1",)),
    ],
)
async def test_admin_only_volume_functions_refuse_users(alice: rawdb.Context, name: str, args: tuple[Any, ...]) -> None:
    with pytest.raises(errors.AdminRequired):
        await getattr(db, name)(alice, *args)


async def test_volume_functions_refuse_a_context_without_user_or_project(cinder_db: rawdb.Database) -> None:
    nobody = rawdb.Context(cinder_db)
    with pytest.raises(errors.NotAuthorized):
        await db.volume_get(nobody, "v")
    with pytest.raises(errors.NotAuthorized):
        await db.volume_create(nobody, {"size": 1})
    assert await count_rows(cinder_db, "volumes") == 0


# --- update --------------------------------------------------------------------------------


async def test_volume_update_changes_the_columns_given_and_replaces_the_metadata(
    alice: rawdb.Context, admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    created = await volume(alice, display_name="old", metadata={"keep": "same", "change": "a", "drop": "x"})
    before = {r["key"]: r for r in await metadata_rows(cinder_db, created["id"])}

    result = await db.volume_update(
        alice,
        created["id"],
        {"display_name": "new", "size": "5", "metadata": {"keep": "same", "change": "b", "add": "n"}},
    )

    assert result is None
    got = await db.volume_get(alice, created["id"])
    assert (got["display_name"], got["size"], got["status"]) == ("new", 5, None)
    assert got["updated_at"] is not None and got["updated_at"] > got["created_at"]
    assert [(m["key"], m["value"]) for m in got["volume_metadata"]] == [("keep", "same"), ("change", "b"), ("add", "n")]
    rows = {r["key"]: r for r in await metadata_rows(cinder_db, created["id"])}
    assert rows["keep"] == before["keep"]  # unchanged value: the row is left alone
    assert rows["change"]["id"] == before["change"]["id"] and rows["change"]["updated_at"] is not None
    assert rows["drop"]["deleted"] is True and rows["drop"]["deleted_at"] is not None
    assert await db.volume_metadata_get(admin, created["id"]) == {"keep": "same", "change": "b", "add": "n"}


async def test_volume_update_without_metadata_leaves_the_metadata_and_honours_a_given_updated_at(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    created = await volume(admin, metadata={"k": "v"})
    await db.volume_update(admin, created["id"], {"status": "available", "updated_at": T0, "metadata": None})
    got = await db.volume_get(admin, created["id"])
    assert (got["status"], got["updated_at"]) == ("available", T0)
    assert [(m["key"], m["value"]) for m in got["volume_metadata"]] == [("k", "v")]


async def test_volume_update_with_empty_metadata_deletes_every_key(admin: rawdb.Context) -> None:
    created = await volume(admin, metadata={"a": "1", "b": "2"})
    await db.volume_update(admin, created["id"], {"metadata": {}})
    assert await db.volume_metadata_get(admin, created["id"]) == {}


async def test_volume_update_of_an_invisible_volume_is_volume_not_found_and_changes_nothing(
    alice: rawdb.Context, carol: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    created = await volume(alice, display_name="mine", metadata={"k": "v"})
    with pytest.raises(errors.VolumeNotFound):
        await db.volume_update(carol, created["id"], {"display_name": "hers", "metadata": {"x": "y"}})
    with pytest.raises(errors.VolumeNotFound):
        await db.volume_update(carol, created["id"], {"display_name": "hers"})
    for missing in ("no-such-volume", "x" * 40):
        with pytest.raises(errors.VolumeNotFound):
            await db.volume_update(alice, missing, {"display_name": "n"})
        with pytest.raises(errors.VolumeNotFound):
            await db.volume_update(alice, missing, {"metadata": {"x": "y"}})
    got = await db.volume_get(alice, created["id"])
    assert got["display_name"] == "mine" and got["updated_at"] is None
    assert await count_rows(cinder_db, "volume_metadata") == 1


@pytest.mark.parametrize(
    "values",
    [{"id": "other"}, {"colour": "red"}, {"size": 1.5}, {"deleted": "perhaps"}, {"metadata": "k=v"}],
    ids=repr,
)
async def test_volume_update_refuses_bad_values(admin: rawdb.Context, values: dict[str, Any]) -> None:
    created = await volume(admin)
    with pytest.raises(errors.Invalid):
        await db.volume_update(admin, created["id"], values)
    assert await db.volume_get(admin, created["id"]) == created


async def test_volume_update_is_atomic_when_a_column_value_is_too_long_f1_29(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    # Folsom (F.1 29) replaced the metadata in its own transaction before the row update: a value
    # too long for its column left the new metadata with the old columns.
    created = await volume(admin, display_name="before", metadata={"old": "1"})
    with pytest.raises(errors.Invalid):
        await db.volume_update(admin, created["id"], {"display_name": "x" * 256, "metadata": {"new": "2"}})
    assert await db.volume_get(admin, created["id"]) == created
    assert [(r["key"], r["deleted"]) for r in await metadata_rows(cinder_db, created["id"])] == [("old", False)]


TRIGGERS = {
    "postgresql": [
        "CREATE FUNCTION cinder_test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "'BEGIN RAISE EXCEPTION ''refused by a trigger''; END'",
        "CREATE TRIGGER cinder_test_refuse BEFORE UPDATE ON volumes FOR EACH ROW "
        "WHEN (NEW.display_name = 'refused') EXECUTE FUNCTION cinder_test_refuse()",
    ],
    "mysql": [
        "CREATE TRIGGER cinder_test_refuse BEFORE UPDATE ON volumes FOR EACH ROW "
        "IF NEW.display_name = 'refused' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by a trigger'; "
        "END IF",
    ],
    "sqlite": [
        "CREATE TRIGGER cinder_test_refuse BEFORE UPDATE ON volumes WHEN NEW.display_name = 'refused' "
        "BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END",
    ],
}
DROP_TRIGGERS = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS cinder_test_refuse ON volumes",
        "DROP FUNCTION IF EXISTS cinder_test_refuse()",
    ],
    "mysql": ["DROP TRIGGER IF EXISTS cinder_test_refuse"],
    "sqlite": ["DROP TRIGGER IF EXISTS cinder_test_refuse"],
}


async def test_volume_update_is_atomic_when_the_database_fails_after_the_metadata_is_written_f1_29(
    admin: rawdb.Context, cinder_db: rawdb.Database, backend: str
) -> None:
    # A real failure midway: the metadata statements have run when the volume row's UPDATE is
    # refused by the database (a trigger stands for any error the checks cannot foresee).
    created = await volume(admin, display_name="before", metadata={"old": "1", "kept": "k"})
    for sql in TRIGGERS[backend]:
        await execute(cinder_db, sql)
    try:
        with pytest.raises(errors.DBError):
            await db.volume_update(
                admin, created["id"], {"display_name": "refused", "metadata": {"kept": "changed", "new": "2"}}
            )
    finally:
        for sql in DROP_TRIGGERS[backend]:
            await execute(cinder_db, sql)
    assert await db.volume_get(admin, created["id"]) == created
    rows = await metadata_rows(cinder_db, created["id"])
    assert [(r["key"], r["value"], r["deleted"], r["updated_at"]) for r in rows] == [
        ("old", "1", False, None),
        ("kept", "k", False, None),
    ]
    await db.volume_update(admin, created["id"], {"display_name": "refused", "metadata": {"new": "2"}})
    assert await db.volume_metadata_get(admin, created["id"]) == {"new": "2"}  # the trigger is gone


async def test_volume_update_inside_a_callers_writer_rolls_back_with_it(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    created = await volume(admin, metadata={"old": "1"})
    with pytest.raises(RuntimeError):
        async with admin.writer() as tx:
            await db.volume_update(tx, created["id"], {"status": "error", "metadata": {"new": "2"}})
            assert (await db.volume_get(tx, created["id"]))["status"] == "error"
            raise RuntimeError("the caller's transaction fails")
    assert await db.volume_get(admin, created["id"]) == created


# --- destroy, attach, detach ---------------------------------------------------------------


async def test_volume_destroy_soft_deletes_the_volume_and_its_metadata_and_frees_its_target(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    created = await volume(admin, metadata={"a": "1"})
    await db.volume_update(admin, created["id"], {"updated_at": T0})
    await iscsi.iscsi_target_create_safe(admin, {"target_num": 1, "host": "h1"})
    assert await iscsi.volume_allocate_iscsi_target(admin, created["id"], "h1") == 1

    assert await db.volume_destroy(admin, created["id"]) is None

    gone = await select(cinder_db, "SELECT deleted, deleted_at, updated_at FROM volumes WHERE id = :v", v=created["id"])
    assert gone[0]["deleted"] is True and gone[0]["deleted_at"] is not None
    assert gone[0]["updated_at"] == T0  # a bulk soft delete keeps updated_at
    meta = await metadata_rows(cinder_db, created["id"])
    assert [(r["deleted"], r["updated_at"]) for r in meta] == [(True, None)] and meta[0]["deleted_at"] is not None
    targets = await select(cinder_db, "SELECT volume_id, updated_at FROM iscsi_targets")
    assert targets[0]["volume_id"] is None and targets[0]["updated_at"] is not None
    with pytest.raises(errors.ISCSITargetNotFoundForVolume):
        await iscsi.volume_get_iscsi_target_num(admin, created["id"])

    await db.volume_destroy(admin, created["id"])  # again: nothing changes, no error
    again = await select(cinder_db, "SELECT deleted_at FROM volumes WHERE id = :v", v=created["id"])
    assert again[0]["deleted_at"] == gone[0]["deleted_at"]
    await db.volume_destroy(admin, "no-such-volume")
    await db.volume_destroy(admin, "x" * 100)


async def test_volume_destroy_leaves_other_volumes_alone(admin: rawdb.Context) -> None:
    kept = await volume(admin, metadata={"k": "v"})
    gone = await volume(admin)
    await db.volume_destroy(admin, gone["id"])
    assert await db.volume_get(admin, kept["id"]) == kept


async def test_volume_attached_and_detached_set_the_attachment_columns(admin: rawdb.Context) -> None:
    created = await volume(admin, status="available", attach_time="then")
    assert await db.volume_attached(admin, created["id"], INSTANCE, "/dev/vdb") is None
    got = await db.volume_get(admin, created["id"])
    assert (got["status"], got["attach_status"], got["instance_uuid"], got["mountpoint"], got["attach_time"]) == (
        "in-use",
        "attached",
        INSTANCE,
        "/dev/vdb",
        "then",
    )
    assert got["updated_at"] is not None
    assert await db.volume_detached(admin, created["id"]) is None
    got = await db.volume_get(admin, created["id"])
    assert (got["status"], got["attach_status"], got["instance_uuid"], got["mountpoint"]) == (
        "available",
        "detached",
        None,
        None,
    )


@pytest.mark.parametrize("instance", ["not-a-uuid", "", None, 42, "{" + INSTANCE + "}"], ids=repr)
async def test_volume_attached_to_a_non_uuid_is_invalid_uuid_and_writes_nothing(
    admin: rawdb.Context, instance: Any
) -> None:
    created = await volume(admin)
    with pytest.raises(errors.InvalidUUID):
        await db.volume_attached(admin, created["id"], instance, "/dev/vdb")
    assert await db.volume_get(admin, created["id"]) == created


async def test_volume_attached_and_detached_of_an_unknown_volume_are_volume_not_found(admin: rawdb.Context) -> None:
    with pytest.raises(errors.VolumeNotFound):
        await db.volume_attached(admin, "no-such-volume", INSTANCE, "/dev/vdb")
    with pytest.raises(errors.VolumeNotFound):
        await db.volume_detached(admin, "no-such-volume")
    created = await volume(admin)
    with pytest.raises(errors.Invalid):
        await db.volume_attached(admin, created["id"], INSTANCE, "/dev/" + "x" * 300)
    assert await db.volume_get(admin, created["id"]) == created


# --- project data, window ------------------------------------------------------------------


async def test_volume_data_get_for_project_counts_live_volumes_and_their_sizes(admin: rawdb.Context) -> None:
    assert await db.volume_data_get_for_project(admin, "p1") == (0, 0)
    await volume(admin, size=10)
    await volume(admin, size=None)
    gone = await volume(admin, size=100)
    await volume(admin, project_id="p2", size=1000)
    await db.volume_destroy(admin, gone["id"])
    result = await db.volume_data_get_for_project(admin, "p1")
    assert result == (2, 10) and isinstance(result, tuple)
    assert await db.volume_data_get_for_project(admin, "p3") == (0, 0)
    assert await db.volume_data_get_for_project(admin, "p" * 300) == (0, 0)
    with pytest.raises(errors.Invalid):
        await db.volume_data_get_for_project(admin, None)  # type: ignore[arg-type]


async def test_volume_get_active_by_window_sees_deleted_volumes_that_lived_in_it(
    admin: rawdb.Context, alice: rawdb.Context
) -> None:
    day = timedelta(days=1)
    old_gone = await volume(admin, created_at=T0 - 3 * day)
    lived = await volume(admin, created_at=T0 - 3 * day)
    live = await volume(admin, created_at=T0, project_id="p2")
    later = await volume(admin, created_at=T0 + 5 * day)
    for gone, when in ((old_gone, T0 - 2 * day), (lived, T0 + day)):
        await db.volume_update(admin, gone["id"], {"deleted": True, "deleted_at": when})

    ids = [v["id"] for v in await db.volume_get_active_by_window(admin, T0 - day)]
    assert ids == [lived["id"], live["id"], later["id"]]
    ids = [v["id"] for v in await db.volume_get_active_by_window(admin, T0 - day, T0 + day)]
    assert ids == [lived["id"], live["id"]]
    ids = [v["id"] for v in await db.volume_get_active_by_window(admin, T0 - day, project_id="p1")]
    assert ids == [lived["id"], later["id"]]
    ids = [v["id"] for v in await db.volume_get_active_by_window(alice, T0 - day, T0 + day, "p2")]
    assert ids == [live["id"]]
    with pytest.raises(errors.Invalid):
        await db.volume_get_active_by_window(admin, "2012-01-01")  # type: ignore[arg-type]


# --- metadata ------------------------------------------------------------------------------


async def test_volume_metadata_get_returns_the_live_keys(alice: rawdb.Context, carol: rawdb.Context) -> None:
    created = await volume(alice, metadata={"a": "1", "b": "2"})
    await db.volume_metadata_delete(alice, created["id"], "b")
    assert await db.volume_metadata_get(alice, created["id"]) == {"a": "1"}
    with pytest.raises(errors.VolumeNotFound):
        await db.volume_metadata_get(carol, created["id"])


async def test_volume_metadata_update_merges_or_replaces_and_returns_the_metadata(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    created = await volume(admin, metadata={"a": "1", "b": "2"})
    given = {"b": "two", "c": "3"}
    assert await db.volume_metadata_update(admin, created["id"], given, False) == given
    assert await db.volume_metadata_get(admin, created["id"]) == {"a": "1", "b": "two", "c": "3"}
    assert await db.volume_metadata_update(admin, created["id"], {"c": "3", "d": None}, True) == {"c": "3", "d": None}
    assert await db.volume_metadata_get(admin, created["id"]) == {"c": "3", "d": None}
    dropped = [r for r in await metadata_rows(cinder_db, created["id"]) if r["deleted"]]
    assert sorted(r["key"] for r in dropped) == ["a", "b"]
    assert all(r["deleted_at"] is not None and r["updated_at"] is not None for r in dropped)


async def test_volume_metadata_update_stores_any_unicode_the_columns_hold(admin: rawdb.Context) -> None:
    created = await volume(admin)
    metadata = {"emoji 😀": "café ☕ 𝄞", "quote\"'\\": "line\nbreak", "k" * 255: "v" * 255}
    await db.volume_metadata_update(admin, created["id"], metadata, False)
    assert await db.volume_metadata_get(admin, created["id"]) == metadata
    await db.volume_metadata_update(admin, created["id"], {"emoji 😀": "😀" * 255}, False)
    assert (await db.volume_metadata_get(admin, created["id"]))["emoji 😀"] == "😀" * 255


async def test_volume_metadata_functions_check_the_volume_first(
    alice: rawdb.Context, carol: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    created = await volume(alice, metadata={"k": "v"})
    for ctx, volume_id in ((alice, "no-such-volume"), (carol, created["id"]), (alice, "x" * 40)):
        with pytest.raises(errors.VolumeNotFound):
            await db.volume_metadata_get(ctx, volume_id)
        with pytest.raises(errors.VolumeNotFound):
            await db.volume_metadata_delete(ctx, volume_id, 5)  # type: ignore[arg-type]
        with pytest.raises(errors.VolumeNotFound):
            await db.volume_metadata_update(ctx, volume_id, "not a dict", "perhaps")  # type: ignore[arg-type]
    assert [(r["key"], r["deleted"]) for r in await metadata_rows(cinder_db, created["id"])] == [("k", False)]


@pytest.mark.parametrize(
    ("metadata", "delete"),
    [("k=v", False), ({"k": "v" * 256}, False), ({"k": "v"}, "perhaps"), ({"a": "1", "k": b"bytes"}, True)],
    ids=repr,
)
async def test_volume_metadata_update_refuses_bad_input_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database, metadata: Any, delete: Any
) -> None:
    created = await volume(admin, metadata={"k": "v"})
    with pytest.raises(errors.Invalid):
        await db.volume_metadata_update(admin, created["id"], metadata, delete)
    rows = await metadata_rows(cinder_db, created["id"])
    assert [(r["key"], r["value"], r["deleted"], r["updated_at"]) for r in rows] == [("k", "v", False, None)]


async def test_volume_metadata_delete_soft_deletes_the_key_keeping_updated_at_and_ignores_a_missing_one(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    created = await volume(admin, metadata={"a": "1", "b": "2"})
    assert await db.volume_metadata_delete(admin, created["id"], "a") is None
    await db.volume_metadata_delete(admin, created["id"], "missing")
    await db.volume_metadata_delete(admin, created["id"], "x" * 300)
    rows = await metadata_rows(cinder_db, created["id"])
    assert [(r["key"], r["deleted"], r["updated_at"]) for r in rows] == [("a", True, None), ("b", False, None)]
    assert rows[0]["deleted_at"] is not None
    with pytest.raises(errors.Invalid):
        await db.volume_metadata_delete(admin, created["id"], None)  # type: ignore[arg-type]


async def test_concurrent_metadata_updates_of_one_volume_never_make_two_live_rows_for_a_key(
    cinder_db: rawdb.Database, cinder_url: str, open_db: OpenDb
) -> None:
    created = await volume(rawdb.Context(cinder_db, is_admin=True))
    databases = [await open_db(cinder_url) for _ in range(6)]
    callers = [rawdb.Context(d, is_admin=True) for d in databases]
    await asyncio.gather(
        *(
            db.volume_metadata_update(c, created["id"], {"k": str(i), f"own{i}": "x"}, False)
            for i, c in enumerate(callers)
        )
    )
    rows = await select(
        cinder_db, 'SELECT "key" FROM volume_metadata WHERE volume_id = :v AND NOT deleted', v=created["id"]
    )
    assert sorted(r["key"] for r in rows) == ["k", *sorted(f"own{i}" for i in range(6))]
