"""Cinder's snapshots (rawdb.cinder.snapshots) on every backend: create with uuid ids, project_only
reads, authorization, updates, cinder's bulk soft delete, and bad input.  The volumes a test needs
are inserted with plain SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors
from rawdb.cinder import snapshots as db
from rawdb.cinder import volumes as volume_db

OLD = datetime(2012, 9, 27, 12, 0, 0, 123456)
VOL1 = "11111111-1111-1111-1111-111111111111"
VOL2 = "22222222-2222-2222-2222-222222222222"
COLUMNS = {
    "id",
    "user_id",
    "project_id",
    "volume_id",
    "status",
    "progress",
    "volume_size",
    "display_name",
    "display_description",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
}


async def add_volume(database: rawdb.Database, volume_id: str, project_id: str, size: int = 10) -> None:
    await execute(
        database,
        "INSERT INTO volumes (id, project_id, user_id, size, status, created_at, deleted) "
        "VALUES (:id, :p, 'u', :size, 'available', :t, FALSE)",
        id=volume_id,
        p=project_id,
        size=size,
        t=OLD,
    )


@pytest.fixture
async def volumes(cinder_db: rawdb.Database) -> None:
    await add_volume(cinder_db, VOL1, "p1")
    await add_volume(cinder_db, VOL2, "p2")


async def snapshot_rows(database: rawdb.Database) -> list[dict[str, Any]]:
    return await select(
        database, "SELECT id, status, updated_at, deleted_at, deleted FROM snapshots ORDER BY created_at, id"
    )


def values(**extra: Any) -> dict[str, Any]:
    base = {"volume_id": VOL1, "user_id": "alice", "project_id": "p1", "status": "creating", "volume_size": 10}
    return {**base, **extra}


# --- snapshot_create ---------------------------------------------------------------------


@pytest.mark.usefixtures("volumes")
async def test_snapshot_create_gives_a_uuid_id_and_returns_the_snapshot(
    alice: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    given = values(progress="0%", display_name="nightly", display_description="before upgrade")
    before = dict(given)

    snap = await db.snapshot_create(alice, given)

    assert given == before  # the caller's dict is not changed
    assert set(snap) == COLUMNS | {"name", "volume_name"}
    assert str(uuid.UUID(snap["id"])) == snap["id"] and uuid.UUID(snap["id"]).version == 4
    assert (snap["volume_id"], snap["project_id"], snap["user_id"], snap["status"]) == (VOL1, "p1", "alice", "creating")
    assert (snap["progress"], snap["volume_size"], snap["display_name"]) == ("0%", 10, "nightly")
    assert snap["display_description"] == "before upgrade"
    assert (snap["deleted"], snap["deleted_at"], snap["updated_at"]) == (False, None, None)
    assert isinstance(snap["created_at"], datetime)
    assert snap["name"] == f"snapshot-{snap['id']}" and snap["volume_name"] == f"volume-{VOL1}"
    assert await db.snapshot_get(alice, snap["id"]) == snap
    assert [r["id"] for r in await snapshot_rows(cinder_db)] == [snap["id"]]


async def test_a_snapshots_volume_name_is_the_name_its_volume_carries(admin: rawdb.Context) -> None:
    # both from Folsom's volume_name_template: a driver finds the snapshot's volume by either
    vol = await volume_db.volume_create(admin, {"project_id": "p1", "size": 1})
    snap = await db.snapshot_create(admin, values(volume_id=vol["id"]))
    assert snap["volume_name"] == vol["name"] == f"volume-{vol['id']}"
    assert [s["volume_name"] for s in await db.snapshot_get_all_for_volume(admin, vol["id"])] == [vol["name"]]
    assert (await db.snapshot_get(admin, snap["id"]))["volume_name"] == vol["name"]


async def test_snapshot_create_keeps_a_given_id_and_times(admin: rawdb.Context) -> None:
    snap = await db.snapshot_create(admin, values(id="my-snapshot", created_at=OLD, updated_at=OLD))
    assert (snap["id"], snap["created_at"], snap["updated_at"]) == ("my-snapshot", OLD, OLD)
    empty_id = await db.snapshot_create(admin, values(id=""))  # falsy: a new uuid, as Folsom
    assert uuid.UUID(empty_id["id"]).version == 4


async def test_snapshot_create_of_a_taken_id_is_a_duplicate(admin: rawdb.Context, cinder_db: rawdb.Database) -> None:
    await db.snapshot_create(admin, values(id="same"))
    with pytest.raises(errors.DBDuplicateEntry):
        await db.snapshot_create(admin, values(id="same", status="other"))
    assert [r["status"] for r in await snapshot_rows(cinder_db)] == ["creating"]


@pytest.mark.parametrize(
    "bad",
    [
        {"volume_id": None},
        {"volume_id": "v" * 37},
        {"id": "i" * 37},
        {"id": 5},
        {"colour": "red"},
        {"deleted": True},
        {"name": "snapshot-x"},
        {"volume_size": "ten"},
        {"volume_size": 2**31},
        {"display_name": "n" * 256},
        {"display_description": "nul\x00"},
        {"status": ["creating"]},
        {"created_at": "yesterday"},
    ],
)
async def test_snapshot_create_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database, bad: dict[str, Any]
) -> None:
    with pytest.raises(errors.Invalid):
        await db.snapshot_create(admin, values(**bad))
    with pytest.raises(errors.Invalid):
        await db.snapshot_create(admin, [("volume_id", VOL1)])  # type: ignore[arg-type]
    assert await count_rows(cinder_db, "snapshots") == 0


async def test_snapshot_create_takes_strings_for_numbers_and_ignores_unknown_keys_without_value(
    admin: rawdb.Context,
) -> None:
    snap = await db.snapshot_create(admin, values(volume_size="20", colour=None))
    assert snap["volume_size"] == 20 and "colour" not in snap


async def test_snapshot_create_needs_an_admin_or_a_user_context(cinder_db: rawdb.Database) -> None:
    with pytest.raises(errors.NotAuthorized):
        await db.snapshot_create(rawdb.Context(cinder_db), values())
    assert await count_rows(cinder_db, "snapshots") == 0


# --- snapshot_get ------------------------------------------------------------------------


async def test_snapshot_get_is_project_only_for_user_contexts(
    admin: rawdb.Context, bob: rawdb.Context, carol: rawdb.Context
) -> None:
    snap = await db.snapshot_create(admin, values())
    assert (await db.snapshot_get(bob, snap["id"]))["id"] == snap["id"]  # same project, another user
    assert (await db.snapshot_get(admin, snap["id"]))["id"] == snap["id"]
    with pytest.raises(errors.SnapshotNotFound) as caught:
        await db.snapshot_get(carol, snap["id"])
    assert caught.value.kwargs["snapshot_id"] == snap["id"]
    assert snap["id"] in str(caught.value)


async def test_snapshot_get_unknown_ids_raise_snapshot_not_found(admin: rawdb.Context) -> None:
    for missing in ("nope", "x" * 40, "nul\x00"):
        with pytest.raises(errors.SnapshotNotFound) as caught:
            await db.snapshot_get(admin, missing)
        assert caught.value.kwargs["snapshot_id"] == missing
    with pytest.raises(errors.Invalid):
        await db.snapshot_get(admin, 42)  # type: ignore[arg-type]


async def test_snapshot_get_follows_read_deleted(admin: rawdb.Context) -> None:
    snap = await db.snapshot_create(admin, values())
    await db.snapshot_destroy(admin, snap["id"])
    with pytest.raises(errors.SnapshotNotFound):
        await db.snapshot_get(admin, snap["id"])
    found = await db.snapshot_get(admin.elevated(read_deleted="yes"), snap["id"])
    assert (found["deleted"], found["status"]) == (True, "creating")
    assert (await db.snapshot_get(admin.elevated(read_deleted="only"), snap["id"]))["id"] == snap["id"]


# --- listings ----------------------------------------------------------------------------


async def test_snapshot_get_all_lists_every_project_for_admins_only(admin: rawdb.Context, alice: rawdb.Context) -> None:
    first = await db.snapshot_create(admin, values(created_at=datetime(2012, 1, 1)))
    second = await db.snapshot_create(admin, values(project_id="p2", volume_id=VOL2, created_at=datetime(2012, 1, 2)))
    gone = await db.snapshot_create(admin, values(created_at=datetime(2012, 1, 3)))
    await db.snapshot_destroy(admin, gone["id"])

    assert [s["id"] for s in await db.snapshot_get_all(admin)] == [first["id"], second["id"]]
    everything = await db.snapshot_get_all(admin.elevated(read_deleted="yes"))
    assert [(s["id"], s["deleted"]) for s in everything] == [
        (first["id"], False),
        (second["id"], False),
        (gone["id"], True),
    ]
    with pytest.raises(errors.AdminRequired):
        await db.snapshot_get_all(alice)


async def test_snapshot_get_all_by_project_authorizes_the_project(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context
) -> None:
    mine = await db.snapshot_create(admin, values(created_at=datetime(2012, 1, 1)))
    also = await db.snapshot_create(admin, values(user_id="bob", created_at=datetime(2012, 1, 2)))
    await db.snapshot_create(admin, values(project_id="p2", volume_id=VOL2))

    assert [s["id"] for s in await db.snapshot_get_all_by_project(alice, "p1")] == [mine["id"], also["id"]]
    assert [s["project_id"] for s in await db.snapshot_get_all_by_project(admin, "p2")] == ["p2"]
    assert await db.snapshot_get_all_by_project(admin, "p3") == []
    with pytest.raises(errors.NotAuthorized):
        await db.snapshot_get_all_by_project(carol, "p1")
    await db.snapshot_destroy(admin, also["id"])
    assert [s["id"] for s in await db.snapshot_get_all_by_project(alice, "p1")] == [mine["id"]]
    deleted_too = await db.snapshot_get_all_by_project(alice.elevated(read_deleted="yes"), "p1")
    assert [s["id"] for s in deleted_too] == [mine["id"], also["id"]]


@pytest.mark.usefixtures("volumes")
async def test_snapshot_get_all_for_volume_lists_live_snapshots_project_only(
    admin: rawdb.Context, alice: rawdb.Context, carol: rawdb.Context
) -> None:
    one = await db.snapshot_create(admin, values(created_at=datetime(2012, 1, 1)))
    two = await db.snapshot_create(admin, values(created_at=datetime(2012, 1, 2)))
    gone = await db.snapshot_create(admin, values(created_at=datetime(2012, 1, 3)))
    await db.snapshot_destroy(admin, gone["id"])
    await db.snapshot_create(admin, values(volume_id=VOL2, project_id="p2"))

    assert [s["id"] for s in await db.snapshot_get_all_for_volume(alice, VOL1)] == [one["id"], two["id"]]
    assert [s["id"] for s in await db.snapshot_get_all_for_volume(admin, VOL1)] == [one["id"], two["id"]]
    # live only, whatever read_deleted says
    assert len(await db.snapshot_get_all_for_volume(admin.elevated(read_deleted="yes"), VOL1)) == 2
    assert await db.snapshot_get_all_for_volume(carol, VOL1) == []  # another project's
    assert len(await db.snapshot_get_all_for_volume(carol, VOL2)) == 1
    assert await db.snapshot_get_all_for_volume(admin, "no-such-volume") == []


# --- snapshot_update ---------------------------------------------------------------------


async def test_snapshot_update_sets_the_given_columns_and_updated_at(
    admin: rawdb.Context, alice: rawdb.Context
) -> None:
    snap = await db.snapshot_create(admin, values(progress="0%"))

    assert await db.snapshot_update(alice, snap["id"], {"status": "available", "progress": "100%"}) is None

    after = await db.snapshot_get(alice, snap["id"])
    assert (after["status"], after["progress"], after["display_name"]) == ("available", "100%", None)
    assert after["updated_at"] is not None and after["updated_at"] >= after["created_at"]
    assert {k: v for k, v in after.items() if k not in ("status", "progress", "updated_at")} == {
        k: v for k, v in snap.items() if k not in ("status", "progress", "updated_at")
    }


async def test_snapshot_update_honours_a_given_updated_at_and_none_values(admin: rawdb.Context) -> None:
    snap = await db.snapshot_create(admin, values(display_name="n"))
    await db.snapshot_update(admin, snap["id"], {"updated_at": OLD, "display_name": None, "volume_size": "5"})
    after = await db.snapshot_get(admin, snap["id"])
    assert (after["updated_at"], after["display_name"], after["volume_size"]) == (OLD, None, 5)


async def test_snapshot_update_of_an_invisible_snapshot_raises_snapshot_not_found(
    admin: rawdb.Context, carol: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    snap = await db.snapshot_create(admin, values())
    with pytest.raises(errors.SnapshotNotFound) as caught:
        await db.snapshot_update(carol, snap["id"], {"status": "error"})
    assert caught.value.kwargs["snapshot_id"] == snap["id"]
    with pytest.raises(errors.SnapshotNotFound):
        await db.snapshot_update(carol, snap["id"], {})
    with pytest.raises(errors.SnapshotNotFound):
        await db.snapshot_update(admin, "missing", {"status": "error"})
    await db.snapshot_destroy(admin, snap["id"])
    with pytest.raises(errors.SnapshotNotFound):
        await db.snapshot_update(admin, snap["id"], {"status": "error"})
    assert [r["status"] for r in await snapshot_rows(cinder_db)] == ["creating"]


async def test_snapshot_update_with_no_values_changes_nothing(admin: rawdb.Context) -> None:
    snap = await db.snapshot_create(admin, values())
    await db.snapshot_update(admin, snap["id"], {})
    assert await db.snapshot_get(admin, snap["id"]) == snap


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "other"},
        {"deleted": True},
        {"volume_id": None},
        {"status": "s" * 256},
        {"status": "a\x00"},
        {"volume_size": 1.5},
        {"colour": "red"},
    ],
)
async def test_snapshot_update_bad_input_is_invalid_and_writes_nothing(
    admin: rawdb.Context, cinder_db: rawdb.Database, bad: dict[str, Any]
) -> None:
    snap = await db.snapshot_create(admin, values())
    with pytest.raises(errors.Invalid):
        await db.snapshot_update(admin, snap["id"], {"status": "available", **bad})
    with pytest.raises(errors.Invalid):
        await db.snapshot_update(admin, snap["id"], "status=available")  # type: ignore[arg-type]
    assert await db.snapshot_get(admin, snap["id"]) == snap


# --- snapshot_destroy --------------------------------------------------------------------


async def test_snapshot_destroy_soft_deletes_keeping_updated_at(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    doomed = await db.snapshot_create(admin, values(id="a", updated_at=OLD, created_at=datetime(2012, 1, 1)))
    kept = await db.snapshot_create(admin, values(id="b", updated_at=OLD, created_at=datetime(2012, 1, 2)))

    assert await db.snapshot_destroy(admin, doomed["id"]) is None

    rows = await snapshot_rows(cinder_db)
    assert [(r["id"], bool(r["deleted"]), r["updated_at"], r["status"]) for r in rows] == [
        ("a", True, OLD, "creating"),
        ("b", False, OLD, "creating"),
    ]
    assert isinstance(rows[0]["deleted_at"], datetime) and rows[1]["deleted_at"] is None
    assert kept["id"] == "b"


async def test_snapshot_destroy_again_keeps_the_first_deleted_at_and_unknown_ids_are_no_error(
    admin: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    snap = await db.snapshot_create(admin, values())
    await db.snapshot_destroy(admin, snap["id"])
    first = (await snapshot_rows(cinder_db))[0]["deleted_at"]
    await db.snapshot_destroy(admin, snap["id"])
    assert (await snapshot_rows(cinder_db))[0]["deleted_at"] == first
    await db.snapshot_destroy(admin, "never-existed")
    await db.snapshot_destroy(admin, "x" * 100)
    assert await count_rows(cinder_db, "snapshots") == 1


async def test_snapshot_destroy_is_for_admins_only(
    admin: rawdb.Context, alice: rawdb.Context, cinder_db: rawdb.Database
) -> None:
    snap = await db.snapshot_create(alice, values())
    with pytest.raises(errors.AdminRequired):
        await db.snapshot_destroy(alice, snap["id"])
    assert [bool(r["deleted"]) for r in await snapshot_rows(cinder_db)] == [False]
    with pytest.raises(errors.Invalid):
        await db.snapshot_destroy(admin, None)  # type: ignore[arg-type]
