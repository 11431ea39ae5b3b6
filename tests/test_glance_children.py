"""Glance's child-row functions: properties, atomic properties, locations, members, tags,
usage counters and the purge of old soft-deleted rows.

Spec glance.md B.1, with rawdb's fixes of spec G (issue 3, "Better than upstream"):
revived rows lose ``deleted_at`` and purge never takes a live row, live tags and live
memberships are unique, ``image_location_delete`` honours ``delete_time``, a status-only
``image_member_update`` keeps ``can_share``.  Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from glancetools import admin, loc, make_image, now, user
from sqltools import count_rows, execute, node_databases, select

import rawdb
from rawdb import errors
from rawdb.glance import images

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)
PGBOUNCER = True  # and through a PgBouncer in transaction pooling mode (conftest.py)

OpenDb = Callable[..., Awaitable[rawdb.Database]]

MEMBER_KEYS = ["id", "image_id", "member", "can_share", "status", "created_at", "updated_at", "deleted"]
PROPERTY_CREATE_KEYS = ["id", "image_id", "name", "value", "created_at", "updated_at", "deleted"]
CHILD_TABLES = ("image_properties", "image_locations", "image_members", "image_tags")
FOUR_BYTE = "\U0001f600"
LONG_AGO = datetime(2000, 1, 1)


# --- helpers ------------------------------------------------------------------------------


async def age(db: rawdb.Database, table: str, when: datetime = LONG_AGO, **where: Any) -> None:
    """Backdate ``deleted_at`` of the matching deleted rows (as if they were deleted long ago)."""
    condition = " AND ".join(["deleted", *(f"{column} = :{column}" for column in where)])
    await execute(db, f"UPDATE {table} SET deleted_at = :when WHERE {condition}", when=when, **where)


def props(image: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: p for p in image["properties"]}


# --- image_property_create / image_property_delete ----------------------------------------


async def test_image_property_create_returns_the_row_without_deleted_at(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)

    prop = await images.image_property_create(user(glance_db), {"image_id": image["id"], "name": "a", "value": "1"})

    assert list(prop) == PROPERTY_CREATE_KEYS
    assert prop["image_id"] == image["id"] and prop["name"] == "a" and prop["value"] == "1"
    assert prop["deleted"] is False and isinstance(prop["created_at"], datetime)
    got = props(await images.image_get(user(glance_db), image["id"]))["a"]
    assert got["id"] == prop["id"] and got["value"] == "1" and got["deleted"] is False


async def test_image_property_create_of_an_existing_name_is_db_duplicate_entry_even_if_deleted(
    glance_db: rawdb.Database,
) -> None:
    image = await make_image(glance_db, properties={"live": "1", "gone": "2"})
    await images.image_property_delete(admin(glance_db), "gone", image["id"])

    for name in ("live", "gone"):
        with pytest.raises(errors.DBDuplicateEntry) as caught:
            await images.image_property_create(admin(glance_db), {"image_id": image["id"], "name": name, "value": "x"})
        assert isinstance(caught.value, errors.Duplicate)

    got = props(await images.image_get(admin(glance_db), image["id"]))
    assert (got["live"]["value"], got["live"]["deleted"]) == ("1", False)
    assert (got["gone"]["value"], got["gone"]["deleted"]) == ("2", True)


async def test_image_property_create_for_a_missing_image_is_db_reference_error(glance_db: rawdb.Database) -> None:
    with pytest.raises(errors.DBReferenceError):
        await images.image_property_create(admin(glance_db), {"image_id": "nope", "name": "a", "value": "1"})
    assert await count_rows(glance_db, "image_properties") == 0


async def test_image_property_create_with_a_bad_value_is_invalid(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)
    for values in (
        {"image_id": image["id"], "name": "a", "value": FOUR_BYTE},
        {"image_id": image["id"], "name": FOUR_BYTE, "value": "1"},
        {"image_id": image["id"], "name": "n" * 256, "value": "1"},
        {"image_id": "", "name": "a", "value": "1"},
    ):
        with pytest.raises(errors.Invalid):
            await images.image_property_create(admin(glance_db), values)
    assert await count_rows(glance_db, "image_properties") == 0


async def test_image_property_delete_soft_deletes_and_returns_the_row(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, properties={"a": "1", "b": "2"})

    deleted = await images.image_property_delete(user(glance_db), "a", image["id"])

    assert deleted["name"] == "a" and deleted["value"] == "1" and deleted["image_id"] == image["id"]
    assert deleted["deleted"] is True and isinstance(deleted["deleted_at"], datetime)
    got = props(await images.image_get(user(glance_db), image["id"]))
    assert got["a"]["deleted"] is True and got["a"]["deleted_at"] == deleted["deleted_at"]
    assert got["b"]["deleted"] is False
    again = await images.image_property_delete(user(glance_db), "a", image["id"])
    assert again["deleted"] is True and again["id"] == deleted["id"]


async def test_image_property_delete_of_a_missing_property_is_image_property_not_found(
    glance_db: rawdb.Database,
) -> None:
    image = await make_image(glance_db, properties={"a": "1"})

    with pytest.raises(errors.ImagePropertyNotFound):
        await images.image_property_delete(admin(glance_db), "missing", image["id"])
    with pytest.raises(errors.NotFound):
        await images.image_property_delete(admin(glance_db), "a", "no-such-image")


# --- image_set_property_atomic / image_delete_property_atomic -----------------------------


async def test_image_set_property_atomic_creates_once_then_is_duplicate(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)

    assert await images.image_set_property_atomic(admin(glance_db), image["id"], "lock", "a") is None
    with pytest.raises(errors.Duplicate):
        await images.image_set_property_atomic(admin(glance_db), image["id"], "lock", "b")

    got = props(await images.image_get(admin(glance_db), image["id"]))["lock"]
    assert got["value"] == "a" and got["deleted"] is False


async def test_image_set_property_atomic_lets_only_one_of_two_racing_setters_win(
    glance_db: rawdb.Database, url: str, open_db: OpenDb, backend: str
) -> None:
    other_db = (await node_databases(url, backend, open_db, 2))[1]  # Galera: through another node
    image = await make_image(glance_db)

    async def setter(db: rawdb.Database, name: str, value: str) -> str | errors.Duplicate:
        try:
            await images.image_set_property_atomic(admin(db), image["id"], name, value)
        except errors.Duplicate as exc:
            return exc
        return value

    for round_ in range(3):
        name = f"lock{round_}"
        results = await asyncio.gather(setter(glance_db, name, "first"), setter(other_db, name, "second"))

        winners = [r for r in results if isinstance(r, str)]
        assert len(winners) == 1, results
        assert sum(isinstance(r, errors.Duplicate) for r in results) == 1, results
        got = props(await images.image_get(admin(glance_db), image["id"]))[name]
        assert got["value"] == winners[0] and got["deleted"] is False


async def test_image_set_property_atomic_revives_a_deleted_row_clearing_deleted_at(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, properties={"lock": "old"})
    deleted = await images.image_property_delete(admin(glance_db), "lock", image["id"])

    await images.image_set_property_atomic(admin(glance_db), image["id"], "lock", "new")

    got = props(await images.image_get(admin(glance_db), image["id"]))["lock"]
    assert got["id"] == deleted["id"]
    assert got["value"] == "new" and got["deleted"] is False and got["deleted_at"] is None


async def test_image_delete_property_atomic_needs_the_exact_live_value(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, properties={"lock": "mine", "gone": "x"})
    await images.image_property_delete(admin(glance_db), "gone", image["id"])

    with pytest.raises(errors.NotFound):
        await images.image_delete_property_atomic(admin(glance_db), image["id"], "lock", "yours")
    with pytest.raises(errors.NotFound):
        await images.image_delete_property_atomic(admin(glance_db), image["id"], "gone", "x")
    with pytest.raises(errors.NotFound):
        await images.image_delete_property_atomic(admin(glance_db), image["id"], "missing", "x")
    assert props(await images.image_get(admin(glance_db), image["id"]))["lock"]["value"] == "mine"

    await images.image_delete_property_atomic(admin(glance_db), image["id"], "lock", "mine")

    assert set(props(await images.image_get(admin(glance_db), image["id"]))) == {"gone"}
    assert await count_rows(glance_db, "image_properties") == 1  # a hard delete


async def test_atomic_property_set_then_delete_works_as_a_lock(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)
    ctx = admin(glance_db)

    await images.image_set_property_atomic(ctx, image["id"], "lock", "a")
    await images.image_delete_property_atomic(ctx, image["id"], "lock", "a")
    await images.image_set_property_atomic(ctx, image["id"], "lock", "b")

    assert props(await images.image_get(ctx, image["id"]))["lock"]["value"] == "b"


# --- locations ----------------------------------------------------------------------------


async def test_image_location_add_appends_with_metadata_round_trip(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, locations=[loc("file:///first")])
    metadata = {"store": "ceph", "n": 3, "f": 1.5, "flag": False, "none": None, "nested": {"l": [1, "ü"]}}

    result = await images.image_location_add(user(glance_db), image["id"], loc("rbd://x", **metadata))

    assert result is None
    got = (await images.image_get(user(glance_db), image["id"]))["locations"]
    assert [x["url"] for x in got] == ["file:///first", "rbd://x"]
    assert got[1]["metadata"] == metadata and got[1]["status"] == "active"
    assert isinstance(got[1]["id"], int)


async def test_location_metadata_dicts_are_the_callers_own(glance_db: rawdb.Database) -> None:
    flat, nested = {"store": "ceph"}, {"store": "ceph", "nested": {"l": [1]}}
    first = await make_image(glance_db, locations=[loc("rbd://a", **flat), loc("rbd://b", **nested)])
    second = await make_image(glance_db, locations=[loc("rbd://c", **flat)])
    page = await images.image_get_all(admin(glance_db), {"deleted": False})
    for image in page:  # a caller changing what it got ...
        for location in image["locations"]:
            location["metadata"]["store"] = "changed"
            location["metadata"].get("nested", {}).setdefault("l", []).append(2)
    # ... changes nothing for the next caller, on any path, however often a text repeats.
    for image_id in (first["id"], second["id"], first["id"]):
        got = (await images.image_get(user(glance_db), image_id))["locations"]
        assert [x["metadata"] for x in got] == ([flat, nested] if image_id == first["id"] else [flat])
    page = await images.image_get_all(admin(glance_db), {"deleted": False})
    assert sorted(str(x["metadata"]) for image in page for x in image["locations"]) == sorted(
        str(m) for m in (flat, nested, flat)
    )


@pytest.mark.parametrize("status", ["deleted", "pending_delete"])
async def test_image_location_add_with_a_deleted_status_stores_a_deleted_row(
    glance_db: rawdb.Database, status: str
) -> None:
    image = await make_image(glance_db)

    await images.image_location_add(admin(glance_db), image["id"], loc("file:///x", status=status))

    assert (await images.image_get(admin(glance_db), image["id"]))["locations"] == []
    rows = await select(glance_db, "SELECT status, deleted, deleted_at FROM image_locations")
    assert len(rows) == 1
    assert rows[0]["status"] == status and rows[0]["deleted"] and rows[0]["deleted_at"] is not None


async def test_image_location_add_bad_input_is_invalid_and_missing_image_a_reference_error(
    glance_db: rawdb.Database,
) -> None:
    image = await make_image(glance_db)
    for location in (
        {"url": "file:///x", "metadata": {}},
        {"url": "file:///x", "status": "active"},
        {"metadata": {}, "status": "active"},
        loc(f"file:///{FOUR_BYTE}"),
        loc("file:///x", key=FOUR_BYTE),
        {"url": "file:///x", "metadata": "not a dict", "status": "active"},
    ):
        with pytest.raises(errors.Invalid):
            await images.image_location_add(admin(glance_db), image["id"], location)
    with pytest.raises(errors.DBReferenceError):
        await images.image_location_add(admin(glance_db), "no-such-image", loc("file:///x"))
    assert await count_rows(glance_db, "image_locations") == 0


async def test_image_location_update_rewrites_url_metadata_and_status(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, locations=[loc("file:///a", k=1), loc("file:///b")])
    first = image["locations"][0]["id"]

    await images.image_location_update(
        user(glance_db), image["id"], {"id": first, "url": "file:///a2", "metadata": {"k": 2}, "status": "active"}
    )

    got = (await images.image_get(user(glance_db), image["id"]))["locations"]
    assert got[0] == {"id": first, "url": "file:///a2", "metadata": {"k": 2}, "status": "active"}
    assert got[1]["url"] == "file:///b"


async def test_image_location_update_can_delete_and_revive_a_location(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, locations=[loc("file:///a")])
    location_id = image["locations"][0]["id"]
    ctx = admin(glance_db)

    await images.image_location_update(ctx, image["id"], {"id": location_id, **loc("file:///a", status="deleted")})
    assert (await images.image_get(ctx, image["id"]))["locations"] == []
    row = (await select(glance_db, "SELECT deleted, deleted_at FROM image_locations"))[0]
    assert row["deleted"] and row["deleted_at"] is not None

    await images.image_location_update(ctx, image["id"], {"id": location_id, **loc("file:///a", status="active")})

    assert [x["id"] for x in (await images.image_get(ctx, image["id"]))["locations"]] == [location_id]
    row = (await select(glance_db, "SELECT deleted, deleted_at, status FROM image_locations"))[0]
    assert not row["deleted"] and row["deleted_at"] is None and row["status"] == "active"


async def test_image_location_update_without_an_id_is_invalid(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, locations=[loc("file:///a")])

    for location in (loc("file:///b"), {"id": None, **loc("file:///b")}):
        with pytest.raises(errors.Invalid):
            await images.image_location_update(admin(glance_db), image["id"], location)

    assert (await images.image_get(admin(glance_db), image["id"]))["locations"] == image["locations"]


async def test_image_location_update_of_another_images_location_is_not_found(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, locations=[loc("file:///a")])
    other = await make_image(glance_db, locations=[loc("file:///other")])
    foreign = other["locations"][0]["id"]

    for location_id in (foreign, 999999):
        with pytest.raises(errors.ImageLocationNotFound):
            await images.image_location_update(admin(glance_db), image["id"], {"id": location_id, **loc("file:///x")})

    assert (await images.image_get(admin(glance_db), other["id"]))["locations"] == other["locations"]


@pytest.mark.parametrize("status", ["deleted", "pending_delete"])
async def test_image_location_delete_marks_the_location_with_the_status(glance_db: rawdb.Database, status: str) -> None:
    image = await make_image(glance_db, locations=[loc("file:///a"), loc("file:///b")])
    first, second = (x["id"] for x in image["locations"])
    before = now()

    await images.image_location_delete(admin(glance_db), image["id"], first, status)

    assert [x["id"] for x in (await images.image_get(admin(glance_db), image["id"]))["locations"]] == [second]
    row = (await select(glance_db, "SELECT status, deleted, deleted_at FROM image_locations WHERE id = :id", id=first))[
        0
    ]
    assert row["status"] == status and row["deleted"]
    assert before - timedelta(seconds=1) <= row["deleted_at"] <= now() + timedelta(seconds=1)


async def test_image_location_delete_honours_delete_time(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, locations=[loc("file:///a"), loc("file:///b")])
    first, second = (x["id"] for x in image["locations"])
    naive = datetime(2020, 5, 6, 7, 8, 9, 123456)
    aware = datetime(2020, 5, 6, 9, 8, 9, 654321, tzinfo=timezone(timedelta(hours=2)))

    await images.image_location_delete(admin(glance_db), image["id"], first, "pending_delete", delete_time=naive)
    await images.image_location_delete(admin(glance_db), image["id"], second, "deleted", delete_time=aware)

    rows = await select(glance_db, "SELECT id, deleted_at FROM image_locations ORDER BY id")
    assert [r["deleted_at"] for r in rows] == [naive, datetime(2020, 5, 6, 7, 8, 9, 654321)]


async def test_image_location_delete_bad_status_is_invalid_and_unknown_location_not_found(
    glance_db: rawdb.Database,
) -> None:
    image = await make_image(glance_db, locations=[loc("file:///a")])
    other = await make_image(glance_db, locations=[loc("file:///b")])
    location_id = image["locations"][0]["id"]

    for status in ("active", "bogus"):
        with pytest.raises(errors.Invalid):
            await images.image_location_delete(admin(glance_db), image["id"], location_id, status)
    with pytest.raises(errors.NotFound):
        await images.image_location_delete(admin(glance_db), image["id"], 999999, "deleted")
    with pytest.raises(errors.ImageLocationNotFound):
        await images.image_location_delete(admin(glance_db), image["id"], other["locations"][0]["id"], "deleted")

    assert (await images.image_get(admin(glance_db), image["id"]))["locations"] == image["locations"]
    assert (await images.image_get(admin(glance_db), other["id"]))["locations"] == other["locations"]


# --- members ------------------------------------------------------------------------------


async def test_image_member_create_defaults_to_pending_without_sharing(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)

    member = await images.image_member_create(user(glance_db), {"image_id": image["id"], "member": "p2"})

    assert list(member) == MEMBER_KEYS
    assert member["image_id"] == image["id"] and member["member"] == "p2"
    assert member["can_share"] is False and member["status"] == "pending" and member["deleted"] is False
    assert isinstance(member["id"], int) and isinstance(member["created_at"], datetime)


async def test_image_member_create_takes_status_and_can_share_and_ignores_protected_keys(
    glance_db: rawdb.Database,
) -> None:
    image = await make_image(glance_db)

    member = await images.image_member_create(
        admin(glance_db),
        {
            "image_id": image["id"],
            "member": "p2",
            "status": "accepted",
            "can_share": True,
            "deleted": True,
            "id": 4242,
        },
    )

    assert member["status"] == "accepted" and member["can_share"] is True
    assert member["deleted"] is False and member["id"] != 4242


async def test_image_member_create_of_a_live_duplicate_is_db_duplicate_entry(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)
    await images.image_member_create(admin(glance_db), {"image_id": image["id"], "member": "p2"})

    with pytest.raises(errors.DBDuplicateEntry) as caught:
        await images.image_member_create(admin(glance_db), {"image_id": image["id"], "member": "p2"})

    assert isinstance(caught.value, errors.Duplicate)
    assert await images.image_member_count(admin(glance_db), image["id"]) == 1


async def test_image_member_create_after_a_delete_makes_a_new_live_row(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)
    first = await images.image_member_create(admin(glance_db), {"image_id": image["id"], "member": "p2"})
    await images.image_member_delete(admin(glance_db), first["id"])

    second = await images.image_member_create(admin(glance_db), {"image_id": image["id"], "member": "p2"})

    assert second["id"] != first["id"] and second["deleted"] is False
    found = await images.image_member_find(admin(glance_db), image_id=image["id"], include_deleted=True)
    assert [(m["id"], m["deleted"]) for m in found] == [(first["id"], True), (second["id"], False)]


async def test_image_member_create_bad_input_is_invalid_and_missing_image_a_reference_error(
    glance_db: rawdb.Database,
) -> None:
    image = await make_image(glance_db)
    for values in (
        {"image_id": image["id"], "member": f"p{FOUR_BYTE}"},
        {"image_id": image["id"], "member": ""},
        {"image_id": image["id"], "member": "m" * 256},
        {"image_id": image["id"], "member": "p2", "status": "maybe"},
        {"image_id": image["id"], "member": "p2", "can_share": "yes"},
        {"image_id": "", "member": "p2"},
    ):
        with pytest.raises(errors.Invalid):
            await images.image_member_create(admin(glance_db), values)
    with pytest.raises(errors.DBReferenceError):
        await images.image_member_create(admin(glance_db), {"image_id": "no-such-image", "member": "p2"})
    assert await count_rows(glance_db, "image_members") == 0


async def test_image_member_update_of_the_status_keeps_can_share(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)
    member = await images.image_member_create(
        admin(glance_db), {"image_id": image["id"], "member": "p2", "can_share": True}
    )

    updated = await images.image_member_update(user(glance_db, "p2"), member["id"], {"status": "accepted"})

    assert updated["status"] == "accepted" and updated["can_share"] is True
    assert updated["updated_at"] >= member["updated_at"]
    updated = await images.image_member_update(user(glance_db, "p2"), member["id"], {"can_share": False})
    assert updated["status"] == "accepted" and updated["can_share"] is False


async def test_image_member_update_revives_a_deleted_membership_clearing_deleted_at(
    glance_db: rawdb.Database,
) -> None:
    image = await make_image(glance_db)
    member = await images.image_member_create(admin(glance_db), {"image_id": image["id"], "member": "p2"})
    await images.image_member_delete(admin(glance_db), member["id"])
    row = (await select(glance_db, "SELECT deleted, deleted_at FROM image_members"))[0]
    assert row["deleted"] and row["deleted_at"] is not None

    revived = await images.image_member_update(admin(glance_db), member["id"], {"status": "accepted"})

    assert revived["deleted"] is False and revived["status"] == "accepted"
    row = (await select(glance_db, "SELECT deleted, deleted_at FROM image_members"))[0]
    assert not row["deleted"] and row["deleted_at"] is None
    assert await images.image_member_count(admin(glance_db), image["id"]) == 1


async def test_image_member_update_and_delete_of_an_unknown_id_is_image_member_not_found(
    glance_db: rawdb.Database,
) -> None:
    with pytest.raises(errors.ImageMemberNotFound):
        await images.image_member_update(admin(glance_db), 999999, {"status": "accepted"})
    with pytest.raises(errors.ImageMemberNotFound):
        await images.image_member_delete(admin(glance_db), 999999)


async def test_image_member_update_with_a_bad_value_is_invalid(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)
    member = await images.image_member_create(admin(glance_db), {"image_id": image["id"], "member": "p2"})

    for values in ({"status": "maybe"}, {"can_share": "yes"}, {"owner": "p3"}):
        with pytest.raises(errors.Invalid):
            await images.image_member_update(admin(glance_db), member["id"], values)

    found = await images.image_member_find(user(glance_db, "p1"), image_id=image["id"])
    assert [(m["status"], m["can_share"]) for m in found] == [("pending", False)]


async def test_image_member_delete_soft_deletes(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)
    member = await images.image_member_create(admin(glance_db), {"image_id": image["id"], "member": "p2"})

    assert await images.image_member_delete(user(glance_db), member["id"]) is None

    assert await images.image_member_find(user(glance_db, "p1"), image_id=image["id"]) == []
    rows = await select(glance_db, "SELECT deleted, deleted_at FROM image_members")
    assert len(rows) == 1 and rows[0]["deleted"] and rows[0]["deleted_at"] is not None


async def _membership_world(db: rawdb.Database) -> dict[str, dict[str, Any]]:
    """p1 owns A, p2 owns B, C has no owner; memberships between them (one deleted)."""
    a = await make_image(db, owner="p1", visibility="shared", name="A")
    b = await make_image(db, owner="p2", visibility="shared", name="B")
    c = await make_image(db, owner=None, visibility="shared", name="C")
    ctx = admin(db)
    members = {
        "A-p2": await images.image_member_create(ctx, {"image_id": a["id"], "member": "p2", "status": "accepted"}),
        "A-p3": await images.image_member_create(ctx, {"image_id": a["id"], "member": "p3"}),
        "B-p1": await images.image_member_create(ctx, {"image_id": b["id"], "member": "p1", "status": "rejected"}),
        "C-p3": await images.image_member_create(ctx, {"image_id": c["id"], "member": "p3", "status": "accepted"}),
        "A-p4": await images.image_member_create(ctx, {"image_id": a["id"], "member": "p4"}),
    }
    await images.image_member_delete(ctx, members["A-p4"]["id"])
    return {"images": {"A": a, "B": b, "C": c}, **members}


async def _found(ctx: rawdb.Context, world: dict[str, Any], **filters: Any) -> list[str]:
    names = {m["id"]: name for name, m in world.items() if name != "images"}
    return [names[m["id"]] for m in await images.image_member_find(ctx, **filters)]


async def test_image_member_find_shows_admins_every_membership(glance_db: rawdb.Database) -> None:
    world = await _membership_world(glance_db)
    ctx = admin(glance_db)

    assert await _found(ctx, world) == ["A-p2", "A-p3", "B-p1", "C-p3"]
    assert await _found(ctx, world, include_deleted=True) == ["A-p2", "A-p3", "B-p1", "C-p3", "A-p4"]
    assert await _found(ctx, world, image_id=world["images"]["A"]["id"]) == ["A-p2", "A-p3"]
    assert await _found(ctx, world, member="p3") == ["A-p3", "C-p3"]
    assert await _found(ctx, world, status="accepted") == ["A-p2", "C-p3"]
    assert await _found(ctx, world, member="p3", status="pending") == ["A-p3"]


async def test_image_member_find_shows_owners_their_images_memberships_and_members_their_own(
    glance_db: rawdb.Database,
) -> None:
    world = await _membership_world(glance_db)

    assert await _found(user(glance_db, "p1"), world) == ["A-p2", "A-p3", "B-p1"]
    assert await _found(user(glance_db, "p1"), world, include_deleted=True) == ["A-p2", "A-p3", "B-p1", "A-p4"]
    assert await _found(user(glance_db, "p2"), world) == ["A-p2", "B-p1"]
    assert await _found(user(glance_db, "p3"), world) == ["A-p3", "C-p3"]
    assert await _found(user(glance_db, "p4"), world) == []
    assert await _found(user(glance_db, "p4"), world, include_deleted=True) == ["A-p4"]
    assert await _found(user(glance_db, "stranger"), world) == []
    assert await _found(user(glance_db, "p1"), world, image_id=world["images"]["C"]["id"]) == []
    assert await _found(user(glance_db, "p3"), world, status="accepted") == ["C-p3"]


async def test_image_member_find_without_a_project_shows_memberships_of_ownerless_images(
    glance_db: rawdb.Database,
) -> None:
    world = await _membership_world(glance_db)

    assert await _found(user(glance_db, None), world) == ["C-p3"]
    assert await _found(user(glance_db, None), world, image_id=world["images"]["A"]["id"]) == []


async def test_image_member_count_counts_live_memberships(glance_db: rawdb.Database) -> None:
    world = await _membership_world(glance_db)

    assert await images.image_member_count(user(glance_db), world["images"]["A"]["id"]) == 2
    assert await images.image_member_count(user(glance_db), world["images"]["C"]["id"]) == 1
    assert await images.image_member_count(user(glance_db), "no-such-image") == 0
    for image_id in ("", None):
        with pytest.raises(errors.Invalid):
            await images.image_member_count(user(glance_db), image_id)  # type: ignore[arg-type]


# --- tags ---------------------------------------------------------------------------------


async def test_image_tag_create_returns_the_value_and_is_idempotent(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)

    assert await images.image_tag_create(user(glance_db), image["id"], "ubuntu") == "ubuntu"
    assert await images.image_tag_create(user(glance_db), image["id"], "ubuntu") == "ubuntu"

    assert await images.image_tag_get_all(user(glance_db), image["id"]) == ["ubuntu"]
    assert await count_rows(glance_db, "image_tags") == 1


async def test_image_tag_create_bad_input_is_invalid_and_missing_image_a_reference_error(
    glance_db: rawdb.Database,
) -> None:
    image = await make_image(glance_db)
    for value in (f"t{FOUR_BYTE}", "", "t" * 256, "nul\x00", 5):
        with pytest.raises(errors.Invalid):
            await images.image_tag_create(admin(glance_db), image["id"], value)  # type: ignore[arg-type]
    with pytest.raises(errors.DBReferenceError):
        await images.image_tag_create(admin(glance_db), "no-such-image", "t")
    assert await count_rows(glance_db, "image_tags") == 0


async def test_image_tag_get_all_returns_live_tags_in_creation_order(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)
    other = await make_image(glance_db)
    for tag in ("zeta", "alpha", "mid", "gone"):
        await images.image_tag_create(admin(glance_db), image["id"], tag)
    await images.image_tag_create(admin(glance_db), other["id"], "other")
    await images.image_tag_delete(admin(glance_db), image["id"], "gone")

    assert await images.image_tag_get_all(user(glance_db), image["id"]) == ["zeta", "alpha", "mid"]
    assert await images.image_tag_get_all(user(glance_db), "no-such-image") == []


async def test_image_tag_set_all_keeps_the_given_order_and_collapses_duplicates(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)

    await images.image_tag_set_all(admin(glance_db), image["id"], ["b", "a", "b", "c", "a"])
    assert await images.image_tag_get_all(admin(glance_db), image["id"]) == ["b", "a", "c"]

    await images.image_tag_set_all(admin(glance_db), image["id"], ["c", "d", "b"])
    assert await images.image_tag_get_all(admin(glance_db), image["id"]) == ["b", "c", "d"]
    rows = await select(glance_db, "SELECT value, deleted FROM image_tags ORDER BY id")
    assert [(r["value"], bool(r["deleted"])) for r in rows] == [
        ("b", False),
        ("a", True),
        ("c", False),
        ("d", False),
    ]

    await images.image_tag_set_all(admin(glance_db), image["id"], [])
    assert await images.image_tag_get_all(admin(glance_db), image["id"]) == []


async def test_image_tag_set_all_and_delete_work_after_a_history_of_deletes(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)
    ctx = admin(glance_db)
    for _ in range(3):
        await images.image_tag_create(ctx, image["id"], "x")
        await images.image_tag_delete(ctx, image["id"], "x")
    await images.image_tag_set_all(ctx, image["id"], ["x", "y"])
    await images.image_tag_set_all(ctx, image["id"], ["y", "x"])

    assert await images.image_tag_get_all(ctx, image["id"]) == ["x", "y"]
    await images.image_tag_delete(ctx, image["id"], "x")
    assert await images.image_tag_get_all(ctx, image["id"]) == ["y"]
    await images.image_tag_set_all(ctx, image["id"], ["x"])
    assert await images.image_tag_get_all(ctx, image["id"]) == ["x"]


async def test_image_tag_set_all_on_a_missing_image_is_db_reference_error(glance_db: rawdb.Database) -> None:
    with pytest.raises(errors.DBReferenceError):
        await images.image_tag_set_all(admin(glance_db), "no-such-image", ["a"])


async def test_image_tag_set_all_with_a_bad_tag_is_invalid_and_changes_nothing(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)
    await images.image_tag_set_all(admin(glance_db), image["id"], ["keep"])

    for tags in (["new", f"x{FOUR_BYTE}"], ["new", ""], "new"):
        with pytest.raises(errors.Invalid):
            await images.image_tag_set_all(admin(glance_db), image["id"], tags)  # type: ignore[arg-type]

    assert await images.image_tag_get_all(admin(glance_db), image["id"]) == ["keep"]


async def test_image_tag_delete_of_a_missing_tag_is_not_found(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)
    await images.image_tag_create(admin(glance_db), image["id"], "gone")
    await images.image_tag_delete(admin(glance_db), image["id"], "gone")

    for value in ("gone", "never"):
        with pytest.raises(errors.NotFound):
            await images.image_tag_delete(admin(glance_db), image["id"], value)
    with pytest.raises(errors.ImageTagNotFound):
        await images.image_tag_delete(admin(glance_db), "no-such-image", "gone")


async def test_image_tag_functions_with_a_too_long_image_id_are_image_not_found(glance_db: rawdb.Database) -> None:
    with pytest.raises(errors.ImageNotFound):
        await images.image_tag_get_all(admin(glance_db), "x" * 37)
    with pytest.raises(errors.ImageNotFound):
        await images.image_tag_delete(admin(glance_db), "x" * 37, "t")


# --- usage counters -----------------------------------------------------------------------


async def test_user_get_storage_usage_counts_size_times_undeleted_locations(glance_db: rawdb.Database) -> None:
    counted = await make_image(
        glance_db,
        size=100,
        locations=[loc("file:///1"), loc("file:///2"), loc("file:///3", status="pending_delete")],
    )
    await images.image_location_add(admin(glance_db), counted["id"], loc("file:///gone", status="deleted"))
    small = await make_image(glance_db, size=7, status="queued", locations=[loc("file:///s")])
    await make_image(glance_db, size=1000, status="killed", locations=[loc("file:///k")])
    await make_image(glance_db, size=1000, status="deleted", locations=[loc("file:///d")])
    await make_image(glance_db, size=1000, status="pending_delete", locations=[loc("file:///p")])
    await make_image(glance_db, size=0, locations=[loc("file:///z")])
    await make_image(glance_db, size=None, locations=[loc("file:///n")])
    await make_image(glance_db, size=5000)  # no location
    await make_image(glance_db, owner="p2", size=1000, locations=[loc("file:///other")])

    assert await images.user_get_storage_usage(admin(glance_db), "p1") == 3 * 100 + 7
    assert await images.user_get_storage_usage(admin(glance_db), "p1", image_id=small["id"]) == 300
    assert await images.user_get_storage_usage(admin(glance_db), "p1", image_id=counted["id"]) == 7
    assert await images.user_get_storage_usage(admin(glance_db), "p2") == 1000
    assert await images.user_get_storage_usage(admin(glance_db), "nobody") == 0
    with pytest.raises(errors.ImageNotFound):
        await images.user_get_storage_usage(admin(glance_db), "p1", image_id="x" * 37)


async def test_user_get_image_count_skips_killed_pending_delete_and_deleted(glance_db: rawdb.Database) -> None:
    for status in ("active", "queued", "saving", "deactivated", "killed", "pending_delete", "deleted"):
        await make_image(glance_db, status=status)
    await make_image(glance_db, owner="p2")

    assert await images.user_get_image_count(admin(glance_db), "p1") == 4
    assert await images.user_get_image_count(admin(glance_db), "p2") == 1
    assert await images.user_get_image_count(admin(glance_db), "nobody") == 0


async def test_user_uploading_count_and_staging_usage_include_imports_to_other_stores(
    glance_db: rawdb.Database,
) -> None:
    await make_image(glance_db, status="saving", size=1)
    await make_image(glance_db, status="uploading", size=10)
    await make_image(glance_db, status="importing", size=100)
    await make_image(glance_db, status="active", size=1000, properties={"os_glance_importing_to_stores": "s1,s2"})
    await make_image(glance_db, status="active", size=10000, properties={"os_glance_importing_to_stores": ""})
    await make_image(glance_db, status="killed", size=100000, properties={"os_glance_importing_to_stores": "s1"})
    await make_image(glance_db, status="active", size=1000000)
    await make_image(glance_db, owner="p2", status="uploading", size=10000000)

    assert await images.user_get_uploading_count(admin(glance_db), "p1") == 4
    assert await images.user_get_staging_usage(admin(glance_db), "p1") == 10 + 100 + 1000
    assert await images.user_get_uploading_count(admin(glance_db), "p2") == 1
    assert await images.user_get_staging_usage(admin(glance_db), "p2") == 10000000
    assert await images.user_get_uploading_count(admin(glance_db), "nobody") == 0
    assert await images.user_get_staging_usage(admin(glance_db), "nobody") == 0


# --- purge --------------------------------------------------------------------------------


async def test_purge_deleted_rows_removes_old_deleted_rows_and_keeps_live_revived_and_young_ones(
    glance_db: rawdb.Database,
) -> None:
    ctx = admin(glance_db)
    image = await make_image(
        glance_db,
        properties={"live": "1", "old": "2", "young": "3", "revived": "4", "glance_revived": "5"},
        locations=[loc("file:///live"), loc("file:///old")],
    )
    image_id = image["id"]
    for name in ("old", "young", "revived", "glance_revived"):
        await images.image_property_delete(ctx, name, image_id)
    await age(glance_db, "image_properties", image_id=image_id)
    await age(glance_db, "image_properties", when=now(), name="young")
    await images.image_update(ctx, image_id, {"properties": {"revived": "again"}})
    # a row revived by glance itself: live again but still carrying an old deleted_at (spec G.5)
    await execute(glance_db, "UPDATE image_properties SET deleted = false WHERE name = 'glance_revived'")
    await age(glance_db, "image_properties", name="glance_revived")
    await images.image_location_delete(ctx, image_id, image["locations"][1]["id"], "deleted", delete_time=LONG_AGO)
    old_member = await images.image_member_create(ctx, {"image_id": image_id, "member": "old"})
    await images.image_member_delete(ctx, old_member["id"])
    revived_member = await images.image_member_create(ctx, {"image_id": image_id, "member": "revived"})
    await images.image_member_delete(ctx, revived_member["id"])
    await age(glance_db, "image_members", image_id=image_id)
    await images.image_member_update(ctx, revived_member["id"], {"status": "accepted"})
    await images.image_member_create(ctx, {"image_id": image_id, "member": "live"})
    await images.image_tag_set_all(ctx, image_id, ["old", "live"])
    await images.image_tag_delete(ctx, image_id, "old")
    await age(glance_db, "image_tags", value="old")

    purged = await images.purge_deleted_rows(ctx, age_in_days=1, max_rows=100)

    assert purged == {"image_properties": 1, "image_locations": 1, "image_members": 1, "image_tags": 1}
    got = props(await images.image_get(ctx, image_id))
    assert set(got) == {"live", "young", "revived", "glance_revived"}
    assert got["revived"]["deleted"] is False and got["revived"]["value"] == "again"
    assert [x["url"] for x in (await images.image_get(ctx, image_id))["locations"]] == ["file:///live"]
    found = await images.image_member_find(ctx, image_id=image_id, include_deleted=True)
    assert sorted(m["member"] for m in found) == ["live", "revived"]
    assert await images.image_tag_get_all(ctx, image_id) == ["live"]
    assert await count_rows(glance_db, "image_tags") == 1
    assert await count_rows(glance_db, "images") == 1  # images are purged by the other function
    assert await images.purge_deleted_rows(ctx, age_in_days=1, max_rows=100) == dict.fromkeys(CHILD_TABLES, 0)


async def test_purge_deleted_rows_max_rows_limits_each_table_oldest_first(glance_db: rawdb.Database) -> None:
    ctx = admin(glance_db)
    image = await make_image(glance_db, properties={f"p{i}": str(i) for i in range(3)})
    await images.image_tag_set_all(ctx, image["id"], ["t0", "t1", "t2"])
    for i in range(3):
        await images.image_property_delete(ctx, f"p{i}", image["id"])
        await images.image_tag_delete(ctx, image["id"], f"t{i}")
        await age(glance_db, "image_properties", when=LONG_AGO + timedelta(days=i), name=f"p{i}")
        await age(glance_db, "image_tags", when=LONG_AGO + timedelta(days=i), value=f"t{i}")

    purged = await images.purge_deleted_rows(ctx, age_in_days=1, max_rows=2)

    assert purged == {"image_properties": 2, "image_locations": 0, "image_members": 0, "image_tags": 2}
    assert [r["name"] for r in await select(glance_db, "SELECT name FROM image_properties")] == ["p2"]
    assert [r["value"] for r in await select(glance_db, "SELECT value FROM image_tags")] == ["t2"]


async def test_purge_deleted_rows_with_max_rows_minus_one_is_unlimited(glance_db: rawdb.Database) -> None:
    ctx = admin(glance_db)
    image = await make_image(glance_db, properties={f"p{i}": str(i) for i in range(5)})
    await images.image_update(ctx, image["id"], {"properties": {}}, purge_props=True)
    await age(glance_db, "image_properties")

    assert (await images.purge_deleted_rows(ctx, age_in_days=1, max_rows=-1))["image_properties"] == 5
    assert await count_rows(glance_db, "image_properties") == 0


async def test_purge_with_bad_arguments_is_invalid(glance_db: rawdb.Database) -> None:
    ctx = admin(glance_db)
    image = await make_image(glance_db, properties={"a": "1"})
    await images.image_destroy(ctx, image["id"])
    await age(glance_db, "image_properties")
    await age(glance_db, "images")

    for purge in (images.purge_deleted_rows, images.purge_deleted_rows_from_images):
        for age_in_days, max_rows in ((1, 2**31), (1, -2), (-1, 10), (1, "10"), (1, None)):
            with pytest.raises(errors.Invalid):
                await purge(ctx, age_in_days, max_rows)  # type: ignore[arg-type]

    assert await count_rows(glance_db, "image_properties") == 1
    assert await count_rows(glance_db, "images") == 1
    assert (await images.purge_deleted_rows(ctx, 1, 2**31 - 1))["image_properties"] == 1


async def test_purge_deleted_rows_from_images_only_takes_old_deleted_images_without_child_rows(
    glance_db: rawdb.Database,
) -> None:
    ctx = admin(glance_db)
    old = await make_image(glance_db, name="old", properties={"a": "1"}, locations=[loc("file:///a")])
    await images.image_member_create(ctx, {"image_id": old["id"], "member": "p2"})
    await images.image_tag_create(ctx, old["id"], "t")
    await images.image_destroy(ctx, old["id"])
    still_tagged = await make_image(glance_db, name="still_tagged")
    await images.image_destroy(ctx, still_tagged["id"])
    await images.image_tag_create(ctx, still_tagged["id"], "live-tag")  # a live child of a deleted image
    young = await make_image(glance_db, name="young")
    await images.image_destroy(ctx, young["id"])
    live = await make_image(glance_db, name="live", created_at=LONG_AGO)
    for table in CHILD_TABLES:
        await age(glance_db, table, image_id=old["id"])
    await age(glance_db, "images", id=old["id"])
    await age(glance_db, "images", id=still_tagged["id"])

    assert await images.purge_deleted_rows_from_images(ctx, age_in_days=1, max_rows=-1) == {"images": 0}

    assert await images.purge_deleted_rows(ctx, age_in_days=1, max_rows=-1) == dict.fromkeys(CHILD_TABLES, 1)
    assert await images.purge_deleted_rows_from_images(ctx, age_in_days=1, max_rows=-1) == {"images": 1}

    with pytest.raises(errors.ImageNotFound):
        await images.image_get(ctx, old["id"])
    for kept in (still_tagged, young, live):
        assert (await images.image_get(ctx, kept["id"]))["id"] == kept["id"]
    assert await images.image_tag_get_all(ctx, still_tagged["id"]) == ["live-tag"]


async def test_purge_deleted_rows_from_images_max_rows_limits_the_images_oldest_first(
    glance_db: rawdb.Database,
) -> None:
    ctx = admin(glance_db)
    made = [await make_image(glance_db, name=f"i{i}") for i in range(3)]
    for i, image in enumerate(made):
        await images.image_destroy(ctx, image["id"])
        await age(glance_db, "images", when=LONG_AGO + timedelta(days=i), id=image["id"])

    assert await images.purge_deleted_rows_from_images(ctx, age_in_days=1, max_rows=2) == {"images": 2}

    assert [r["name"] for r in await select(glance_db, "SELECT name FROM images")] == ["i2"]
