"""Glance's image functions: image_create/get/update/destroy/restore and the visibility rules.

Spec glance.md sections 0, A.2, B.0, B.1 and D, with rawdb's deliberate departures from
upstream glance (issue 3, "Better than upstream"): writes that the caller could not see
afterwards are refused before anything is written, every bad value is ``Invalid`` on
both backends, ``locations=[]`` clears the locations, revived properties lose their
``deleted_at``.  Every test runs on SQLite and PostgreSQL through ``glance_db``.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from glancetools import admin, loc, make_image, now, user
from sqltools import count_rows, node_databases, select

import rawdb
from rawdb import errors
from rawdb.glance import images

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)
PGBOUNCER = True  # and through a PgBouncer in transaction pooling mode (conftest.py)

OpenDb = Callable[..., Awaitable[rawdb.Database]]

IMAGE_KEYS = [
    "id",
    "name",
    "disk_format",
    "container_format",
    "size",
    "virtual_size",
    "status",
    "visibility",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "min_disk",
    "min_ram",
    "owner",
    "protected",
    "os_hidden",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "properties",
    "locations",
]
PROPERTY_KEYS = ["id", "image_id", "name", "value", "created_at", "updated_at", "deleted_at", "deleted"]
LOCATION_KEYS = ["id", "url", "metadata", "status"]
FOUR_BYTE = "\U0001f600"  # an emoji: 4 bytes in UTF-8


# --- helpers ------------------------------------------------------------------------------


async def count_all(db: rawdb.Database) -> dict[str, int]:
    tables = ("images", "image_properties", "image_locations", "image_members", "image_tags")
    return {table: await count_rows(db, table) for table in tables}


async def _wipe(db: rawdb.Database) -> None:
    """Remove every glance row (after a case that should have written nothing did)."""
    async with db.writer() as tx:
        for table in ("image_properties", "image_locations", "image_members", "image_tags", "images"):
            await tx.execute(rawdb.Statement.portable(f"test.glance.wipe_{table}", f"DELETE FROM {table}"))


def props(image: dict[str, Any]) -> dict[str, Any]:
    """name -> property dict."""
    return {p["name"]: p for p in image["properties"]}


def live_props(image: dict[str, Any]) -> dict[str, Any]:
    """name -> value of the live properties."""
    return {p["name"]: p["value"] for p in image["properties"] if not p["deleted"]}


# --- image_create -------------------------------------------------------------------------


async def test_image_create_fills_in_the_python_defaults_of_spec_a2(glance_db: rawdb.Database) -> None:
    before = now()
    image = await images.image_create(user(glance_db), {"status": "queued", "owner": "p1"})
    after = now()

    uuid.UUID(image["id"])  # a generated uuid4 string
    assert isinstance(image["id"], str) and len(image["id"]) == 36
    assert image["visibility"] == "shared"
    assert image["min_disk"] == 0 and image["min_ram"] == 0
    assert image["protected"] is False and image["os_hidden"] is False and image["deleted"] is False
    assert image["deleted_at"] is None
    for column in ("name", "disk_format", "container_format", "size", "virtual_size", "checksum"):
        assert image[column] is None
    assert before - timedelta(seconds=1) <= image["created_at"] <= after + timedelta(seconds=1)
    assert image["updated_at"] is not None and image["updated_at"] >= image["created_at"]
    assert image["created_at"].tzinfo is None
    assert image["properties"] == [] and image["locations"] == []


async def test_image_create_returns_the_b0_keys_in_glance_order_with_python_types(glance_db: rawdb.Database) -> None:
    image = await images.image_create(
        user(glance_db),
        {
            "status": "active",
            "owner": "p1",
            "name": "cirros",
            "size": 12,
            "protected": True,
            "properties": {"os_distro": "cirros"},
            "locations": [loc("file:///a", k="v")],
        },
    )
    fetched = await images.image_get(user(glance_db), image["id"])

    for got in (image, fetched):
        assert list(got) == IMAGE_KEYS
        assert list(got["properties"][0]) == PROPERTY_KEYS
        assert list(got["locations"][0]) == LOCATION_KEYS
        assert type(got["protected"]) is bool and type(got["deleted"]) is bool and type(got["os_hidden"]) is bool
        assert type(got["size"]) is int and type(got["min_disk"]) is int
        assert type(got["properties"][0]["deleted"]) is bool
        assert isinstance(got["created_at"], datetime) and got["created_at"].tzinfo is None
        assert isinstance(got["properties"][0]["created_at"], datetime)
        assert "tags" not in got and "members" not in got
    assert fetched == image


async def test_image_create_nests_properties_and_locations_in_insertion_order(glance_db: rawdb.Database) -> None:
    image = await images.image_create(
        user(glance_db),
        {
            "status": "active",
            "owner": "p1",
            "properties": {"b": "2", "a": "1", "empty": None},
            "locations": [
                loc("file:///3", store="s3", nested={"x": [1, 2.5, None, True]}),
                loc("file:///1"),
                loc("file:///gone", status="deleted"),
                loc("file:///2", status="pending_delete"),
            ],
        },
    )

    assert [(p["name"], p["value"]) for p in image["properties"]] == [("b", "2"), ("a", "1"), ("empty", None)]
    assert all(p["image_id"] == image["id"] and p["deleted"] is False for p in image["properties"])
    # deleted and pending_delete locations are stored as deleted and not shown
    assert [(loc_["url"], loc_["status"]) for loc_ in image["locations"]] == [
        ("file:///3", "active"),
        ("file:///1", "active"),
    ]
    assert image["locations"][0]["metadata"] == {"store": "s3", "nested": {"x": [1, 2.5, None, True]}}
    assert image["locations"][1]["metadata"] == {}
    assert image["locations"][0]["id"] < image["locations"][1]["id"]
    assert await count_rows(glance_db, "image_locations") == 4
    fetched = await images.image_get(user(glance_db), image["id"])
    assert fetched["locations"] == image["locations"]
    assert fetched["properties"] == image["properties"]


async def test_image_create_honours_explicit_id_and_timestamps_to_the_microsecond(glance_db: rawdb.Database) -> None:
    created = datetime(2020, 1, 2, 3, 4, 5, 123456)
    updated = datetime(2021, 6, 7, 8, 9, 10, 654321)
    deleted_at = datetime(2022, 2, 3, 4, 5, 6, 1)
    image_id = "11111111-2222-3333-4444-555555555555"

    image = await images.image_create(
        admin(glance_db),
        {
            "id": image_id,
            "status": "active",
            "created_at": created,
            "updated_at": updated,
            "deleted": True,
            "deleted_at": deleted_at,
        },
    )
    fetched = await images.image_get(admin(glance_db), image_id)

    for got in (image, fetched):
        assert got["id"] == image_id
        assert got["created_at"] == created and got["updated_at"] == updated
        assert got["deleted"] is True and got["deleted_at"] == deleted_at


async def test_image_create_ignores_unknown_keys(glance_db: rawdb.Database) -> None:
    image = await images.image_create(user(glance_db), {"status": "active", "owner": "p1", "foo": "bar", "x": [1]})

    assert list(image) == IMAGE_KEYS
    assert "foo" not in image


@pytest.mark.parametrize(("is_public", "visibility"), [(True, "public"), (False, "shared")])
async def test_image_create_maps_is_public_onto_visibility(
    glance_db: rawdb.Database, is_public: bool, visibility: str
) -> None:
    image = await images.image_create(user(glance_db), {"status": "active", "owner": "p1", "is_public": is_public})

    assert image["visibility"] == visibility
    assert "is_public" not in image
    v1 = await images.image_get(user(glance_db), image["id"], v1_mode=True)
    assert v1["is_public"] is is_public and "visibility" not in v1


async def test_image_create_with_both_is_public_and_visibility_is_invalid(glance_db: rawdb.Database) -> None:
    with pytest.raises(errors.Invalid):
        await images.image_create(
            user(glance_db), {"status": "active", "owner": "p1", "is_public": True, "visibility": "public"}
        )
    assert await count_rows(glance_db, "images") == 0


async def test_image_create_in_v1_mode_returns_is_public_instead_of_visibility(glance_db: rawdb.Database) -> None:
    image = await images.image_create(
        user(glance_db), {"status": "active", "owner": "p1", "visibility": "public"}, v1_mode=True
    )

    assert image["is_public"] is True
    assert "visibility" not in image


async def test_image_create_turns_an_empty_owner_into_none(glance_db: rawdb.Database) -> None:
    image = await images.image_create(admin(glance_db), {"status": "active", "owner": ""})

    assert image["owner"] is None
    rows = await select(glance_db, "SELECT owner FROM images")
    assert rows == [{"owner": None}]


async def test_image_create_coerces_size_and_min_values_and_protected(glance_db: rawdb.Database) -> None:
    image = await images.image_create(
        user(glance_db),
        {"status": "active", "owner": "p1", "size": "42", "min_ram": None, "min_disk": "7", "protected": 1},
    )

    assert image["size"] == 42 and image["min_ram"] == 0 and image["min_disk"] == 7
    assert image["protected"] is True


async def test_image_create_with_a_taken_id_is_duplicate(glance_db: rawdb.Database) -> None:
    first = await make_image(glance_db, name="first")

    with pytest.raises(errors.Duplicate) as caught:
        await images.image_create(user(glance_db), {"id": first["id"], "status": "active", "owner": "p1"})

    assert f"Image ID {first['id']} already exists!" in str(caught.value)
    assert (await images.image_get(admin(glance_db), first["id"]))["name"] == "first"
    assert await count_rows(glance_db, "images") == 1


BAD_CREATE_VALUES: list[tuple[str, dict[str, Any]]] = [
    ("status-missing", {}),
    ("status-none", {"status": None}),
    ("status-unknown", {"status": "bogus"}),
    ("min_disk-over-int32", {"status": "active", "min_disk": 2**31}),
    ("min_ram-over-int32", {"status": "active", "min_ram": 2**31}),
    ("checksum-too-long", {"status": "active", "checksum": "c" * 33}),
    ("id-too-long", {"status": "active", "id": "i" * 37}),
    ("name-too-long", {"status": "active", "name": "n" * 256}),
    ("disk_format-too-long", {"status": "active", "disk_format": "d" * 21}),
    ("visibility-unknown", {"status": "active", "visibility": "everyone"}),
    ("size-not-an-integer", {"status": "active", "size": "big"}),
    ("size-over-bigint", {"status": "active", "size": 2**63}),
    ("name-not-a-string", {"status": "active", "name": 42}),
    ("os_hidden-not-a-bool", {"status": "active", "os_hidden": "false"}),
    ("created_at-not-a-datetime", {"status": "active", "created_at": "2020-01-01"}),
    ("nul-in-name", {"status": "active", "name": "nul\x00byte"}),
    ("4byte-in-name", {"status": "active", "name": f"smile{FOUR_BYTE}"}),
    ("4byte-in-property-value", {"status": "active", "properties": {"k": f"v{FOUR_BYTE}"}}),
    ("4byte-in-property-name", {"status": "active", "properties": {f"k{FOUR_BYTE}": "v"}}),
    ("nul-in-property", {"status": "active", "properties": {"k": "nul\x00"}}),
    ("property-not-a-string", {"status": "active", "properties": {"k": 1}}),
    ("property-name-too-long", {"status": "active", "properties": {"p" * 256: "v"}}),
    ("4byte-in-location-url", {"status": "active", "locations": [loc(f"file:///{FOUR_BYTE}")]}),
    ("4byte-in-location-metadata", {"status": "active", "locations": [loc("file:///a", k=FOUR_BYTE)]}),
    ("location-missing-keys", {"status": "active", "locations": [{"url": "file:///a"}]}),
    ("locations-not-a-list", {"status": "active", "locations": "file:///a"}),
    ("tags-key", {"status": "active", "tags": ["a"]}),
    ("members-key", {"status": "active", "members": ["p2"]}),
]


async def test_image_create_with_a_bad_value_is_invalid_and_writes_nothing(glance_db: rawdb.Database) -> None:
    empty = dict.fromkeys(("images", "image_properties", "image_locations", "image_members", "image_tags"), 0)
    problems = []
    for case, bad in BAD_CREATE_VALUES:
        values = {"owner": "p1", "properties": {"good": "1"}, "locations": [loc("file:///ok")], **bad}
        try:
            await images.image_create(admin(glance_db), values)
        except errors.Invalid:
            pass
        else:
            problems.append(f"{case}: accepted")
        if await count_all(glance_db) != empty:
            problems.append(f"{case}: wrote rows")
            await _wipe(glance_db)

    assert problems == []


async def test_image_create_does_not_mutate_the_callers_values(glance_db: rawdb.Database) -> None:
    values = {
        "status": "active",
        "owner": "",
        "is_public": True,
        "size": "10",
        "min_ram": None,
        "properties": {"a": "1"},
        "locations": [loc("file:///a", k={"deep": [1]})],
    }
    original = copy.deepcopy(values)

    image = await images.image_create(admin(glance_db), values)

    assert values == original
    assert image["visibility"] == "public" and image["owner"] is None


async def test_image_create_refuses_a_private_image_for_another_project_before_writing(
    glance_db: rawdb.Database,
) -> None:
    with pytest.raises(errors.Forbidden):
        await images.image_create(
            user(glance_db, "p1"),
            {"status": "active", "owner": "p2", "visibility": "private", "properties": {"a": "b"}},
        )

    assert await count_rows(glance_db, "images") == 0
    assert await count_rows(glance_db, "image_properties") == 0


async def test_image_create_refuses_a_deleted_image_from_a_non_admin_before_writing(
    glance_db: rawdb.Database,
) -> None:
    with pytest.raises(errors.ImageNotFound):
        await images.image_create(user(glance_db), {"status": "active", "owner": "p1", "deleted": True})

    assert await count_rows(glance_db, "images") == 0


async def test_image_create_lets_a_non_admin_create_images_others_can_see(glance_db: rawdb.Database) -> None:
    public = await images.image_create(user(glance_db), {"status": "active", "owner": "p2", "visibility": "public"})
    ownerless = await images.image_create(user(glance_db), {"status": "active", "owner": None})

    assert public["owner"] == "p2" and public["visibility"] == "public"
    assert ownerless["owner"] is None
    assert await count_rows(glance_db, "images") == 2


async def test_image_create_joins_the_callers_transaction_and_rolls_back_with_it(glance_db: rawdb.Database) -> None:
    ctx = user(glance_db)

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with ctx.writer() as tx:
            image = await images.image_create(tx, {"status": "active", "owner": "p1", "properties": {"a": "1"}})
            assert (await images.image_get(tx, image["id"]))["id"] == image["id"]
            raise Abort

    assert await count_rows(glance_db, "images") == 0
    assert await count_rows(glance_db, "image_properties") == 0


# --- image_get ----------------------------------------------------------------------------


@pytest.mark.parametrize("image_id", ["no-such-image", "x" * 37])
async def test_image_get_of_an_unknown_or_too_long_id_is_image_not_found(
    glance_db: rawdb.Database, image_id: str
) -> None:
    await make_image(glance_db)

    with pytest.raises(errors.ImageNotFound):
        await images.image_get(admin(glance_db), image_id)


async def test_image_get_hides_a_deleted_image_unless_shown(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, deleted=True, deleted_at=now())

    with pytest.raises(errors.ImageNotFound):
        await images.image_get(user(glance_db), image["id"])
    assert (await images.image_get(user(glance_db), image["id"], force_show_deleted=True))["deleted"] is True
    assert (await images.image_get(user(glance_db, show_deleted=True), image["id"]))["id"] == image["id"]
    assert (await images.image_get(admin(glance_db), image["id"]))["deleted"] is True


async def test_image_get_of_an_image_the_caller_cannot_see_is_forbidden(glance_db: rawdb.Database) -> None:
    private = await make_image(glance_db, owner="p2", visibility="private")
    shared = await make_image(glance_db, owner="p2", visibility="shared")

    for image in (private, shared):
        with pytest.raises(errors.Forbidden):
            await images.image_get(user(glance_db, "p1"), image["id"])
        with pytest.raises(errors.Forbidden):
            await images.image_get(user(glance_db, None), image["id"])
        assert (await images.image_get(user(glance_db, "p2"), image["id"]))["id"] == image["id"]


async def test_image_get_shows_a_shared_image_to_a_member_of_any_status(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, owner="p2", visibility="shared")
    await images.image_member_create(admin(glance_db), {"image_id": image["id"], "member": "p1"})
    await images.image_member_create(admin(glance_db), {"image_id": image["id"], "member": "p3", "status": "rejected"})

    assert (await images.image_get(user(glance_db, "p1"), image["id"]))["id"] == image["id"]
    assert (await images.image_get(user(glance_db, "p3"), image["id"]))["id"] == image["id"]
    with pytest.raises(errors.Forbidden):
        await images.image_get(user(glance_db, "p4"), image["id"])


async def test_image_get_hides_locations_of_a_deactivated_image_from_non_admins(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, status="deactivated", locations=[loc("file:///a")])

    assert (await images.image_get(user(glance_db, "p1"), image["id"]))["locations"] == []
    shown = await images.image_get(admin(glance_db), image["id"])
    assert [location["url"] for location in shown["locations"]] == ["file:///a"]


async def test_image_get_in_v1_mode_gives_is_public_and_no_visibility(glance_db: rawdb.Database) -> None:
    public = await make_image(glance_db, visibility="public")
    community = await make_image(glance_db, visibility="community")

    got = await images.image_get(user(glance_db), public["id"], v1_mode=True)
    assert got["is_public"] is True and "visibility" not in got
    assert list(got) == [k for k in IMAGE_KEYS if k != "visibility"] + ["is_public"]
    assert (await images.image_get(user(glance_db), community["id"], v1_mode=True))["is_public"] is False


async def test_image_get_includes_soft_deleted_properties_flagged_deleted(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, properties={"keep": "1", "drop": "2"})
    await images.image_property_delete(admin(glance_db), "drop", image["id"])

    got = props(await images.image_get(user(glance_db), image["id"]))

    assert got["keep"]["deleted"] is False and got["keep"]["deleted_at"] is None
    assert got["drop"]["deleted"] is True and got["drop"]["deleted_at"] is not None
    assert got["drop"]["value"] == "2"


async def test_image_get_shows_deleted_locations_only_with_force_show_deleted(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, locations=[loc("file:///live"), loc("file:///gone", status="deleted")])

    assert [x["url"] for x in (await images.image_get(admin(glance_db), image["id"]))["locations"]] == ["file:///live"]
    shown = await images.image_get(admin(glance_db), image["id"], force_show_deleted=True)
    assert [(x["url"], x["status"]) for x in shown["locations"]] == [
        ("file:///live", "active"),
        ("file:///gone", "deleted"),
    ]


# --- image_update -------------------------------------------------------------------------


async def test_image_update_sets_columns_and_moves_updated_at(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, created_at=datetime(2020, 1, 1), updated_at=datetime(2020, 1, 1))
    ctx = user(glance_db, "p1")

    updated = await images.image_update(
        ctx,
        image["id"],
        {"name": "new", "min_disk": 5, "protected": True, "size": 99, "checksum": "c" * 32, "foo": "ignored"},
    )

    assert updated["name"] == "new" and updated["min_disk"] == 5 and updated["protected"] is True
    assert updated["size"] == 99 and updated["checksum"] == "c" * 32
    assert updated["created_at"] == datetime(2020, 1, 1)
    assert updated["updated_at"] > datetime(2020, 1, 1)
    assert list(updated) == IMAGE_KEYS
    assert await images.image_get(ctx, image["id"]) == updated


async def test_image_update_always_moves_updated_at_and_ignores_protected_columns(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, updated_at=datetime(2020, 1, 1))

    updated = await images.image_update(
        user(glance_db),
        image["id"],
        {"created_at": datetime(1999, 1, 1), "updated_at": datetime(1999, 1, 1), "deleted": True},
    )

    assert updated["updated_at"] > datetime(2020, 1, 1)
    assert updated["created_at"] == image["created_at"]
    assert updated["deleted"] is False and updated["deleted_at"] is None


async def test_image_update_maps_is_public_and_returns_v1_dicts(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, visibility="private")

    updated = await images.image_update(user(glance_db), image["id"], {"is_public": True}, v1_mode=True)

    assert updated["is_public"] is True and "visibility" not in updated
    assert (await images.image_get(user(glance_db), image["id"]))["visibility"] == "public"


async def test_image_update_upserts_properties_and_leaves_others_alone(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, properties={"a": "1", "b": "2"})

    updated = await images.image_update(user(glance_db), image["id"], {"properties": {"b": "20", "c": "3"}})

    assert live_props(updated) == {"a": "1", "b": "20", "c": "3"}
    assert props(updated)["a"]["id"] == props(image)["a"]["id"]
    assert props(updated)["b"]["id"] == props(image)["b"]["id"]


async def test_image_update_purge_props_soft_deletes_properties_not_given(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, properties={"a": "1", "b": "2", "lock": "x"})

    updated = await images.image_update(
        user(glance_db), image["id"], {"properties": {"b": "2"}}, purge_props=True, atomic_props=["lock"]
    )

    got = props(updated)
    assert got["a"]["deleted"] is True and got["a"]["deleted_at"] is not None
    assert got["b"]["deleted"] is False
    assert got["lock"]["deleted"] is False and got["lock"]["value"] == "x"
    assert live_props(updated) == {"b": "2", "lock": "x"}


async def test_image_update_skips_atomic_props_in_the_values(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, properties={"lock": "held"})

    updated = await images.image_update(
        user(glance_db), image["id"], {"properties": {"lock": "stolen", "new": "1"}}, atomic_props=["lock", "other"]
    )

    assert live_props(updated) == {"lock": "held", "new": "1"}
    assert "other" not in props(updated)


async def test_image_update_revives_a_deleted_property_clearing_deleted_at(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, properties={"a": "1"})
    await images.image_property_delete(admin(glance_db), "a", image["id"])

    updated = await images.image_update(user(glance_db), image["id"], {"properties": {"a": "2"}})

    revived = props(updated)["a"]
    assert revived["id"] == props(image)["a"]["id"]
    assert revived["deleted"] is False and revived["deleted_at"] is None and revived["value"] == "2"


async def test_image_update_replaces_locations_by_id(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, locations=[loc("file:///1"), loc("file:///2"), loc("file:///3")])
    first, second, _third = (x["id"] for x in image["locations"])

    updated = await images.image_update(
        user(glance_db),
        image["id"],
        {
            "locations": [
                {"id": second, "url": "file:///2b", "metadata": {"m": 2}, "status": "active"},
                loc("file:///new", m="n"),
            ]
        },
    )

    urls = [(x["url"], x["metadata"]) for x in updated["locations"]]
    assert urls == [("file:///2b", {"m": 2}), ("file:///new", {"m": "n"})]
    assert updated["locations"][0]["id"] == second
    rows = await select(glance_db, "SELECT id, status, deleted FROM image_locations ORDER BY id")
    assert [(r["status"], bool(r["deleted"])) for r in rows] == [
        ("deleted", True),
        ("active", False),
        ("deleted", True),
        ("active", False),
    ]
    assert rows[0]["id"] == first


async def test_image_update_with_empty_locations_deletes_them_all(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, locations=[loc("file:///1"), loc("file:///2")])

    updated = await images.image_update(user(glance_db), image["id"], {"locations": []})

    assert updated["locations"] == []
    rows = await select(glance_db, "SELECT status, deleted, deleted_at FROM image_locations")
    assert len(rows) == 2
    assert all(r["status"] == "deleted" and r["deleted"] and r["deleted_at"] is not None for r in rows)


async def test_image_update_without_locations_leaves_them_alone(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, locations=[loc("file:///1")])

    updated = await images.image_update(user(glance_db), image["id"], {"name": "x", "locations": None})

    assert updated["locations"] == image["locations"]


async def test_image_update_with_a_location_of_another_image_fails_and_changes_nothing(
    glance_db: rawdb.Database,
) -> None:
    image = await make_image(glance_db, name="before", locations=[loc("file:///1")])
    other = await make_image(glance_db, locations=[loc("file:///other")])
    foreign = other["locations"][0]["id"]

    with pytest.raises(errors.NotFound):
        await images.image_update(
            user(glance_db),
            image["id"],
            {"name": "after", "locations": [{"id": foreign, "url": "file:///x", "metadata": {}, "status": "active"}]},
        )

    assert await images.image_get(user(glance_db), image["id"]) == image
    assert await images.image_get(user(glance_db), other["id"]) == other


async def test_image_update_from_state_is_a_compare_and_swap(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, status="queued")
    ctx = user(glance_db)

    with pytest.raises(errors.Conflict) as caught:
        await images.image_update(ctx, image["id"], {"status": "active"}, from_state="saving")
    assert str(caught.value) == "cannot transition from queued to active in update (wanted from_state=saving)"
    assert (await images.image_get(ctx, image["id"]))["status"] == "queued"

    updated = await images.image_update(ctx, image["id"], {"status": "saving"}, from_state="queued")
    assert updated["status"] == "saving"


async def test_image_update_by_a_member_is_forbidden(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, owner="p2", visibility="shared", name="orig")
    await images.image_member_create(admin(glance_db), {"image_id": image["id"], "member": "p1"})

    with pytest.raises(errors.Forbidden) as caught:
        await images.image_update(user(glance_db, "p1"), image["id"], {"name": "hacked"})

    assert not isinstance(caught.value, errors.ForbiddenPublicImage)
    assert (await images.image_get(admin(glance_db), image["id"]))["name"] == "orig"


@pytest.mark.parametrize("visibility", ["public", "community"])
async def test_image_update_of_someone_elses_public_image_is_forbidden_public_image(
    glance_db: rawdb.Database, visibility: str
) -> None:
    image = await make_image(glance_db, owner="p2", visibility=visibility, name="orig")

    for ctx in (user(glance_db, "p1"), user(glance_db, None)):
        with pytest.raises(errors.ForbiddenPublicImage):
            await images.image_update(ctx, image["id"], {"name": "hacked"})
    assert (await images.image_get(admin(glance_db), image["id"]))["name"] == "orig"


async def test_image_update_of_an_invisible_private_image_is_forbidden(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, owner="p2", visibility="private")

    with pytest.raises(errors.Forbidden):
        await images.image_update(user(glance_db, "p1"), image["id"], {"name": "hacked"})


async def test_image_update_of_an_ownerless_image_is_admin_only(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, owner=None, visibility="shared")

    with pytest.raises(errors.Forbidden):
        await images.image_update(user(glance_db, "p1"), image["id"], {"name": "x"})
    assert (await images.image_update(admin(glance_db), image["id"], {"name": "x"}))["name"] == "x"


async def test_image_update_of_a_deleted_image_is_not_found_for_non_admins(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)
    await images.image_destroy(admin(glance_db), image["id"])

    with pytest.raises(errors.ImageNotFound):
        await images.image_update(user(glance_db, "p1"), image["id"], {"name": "x"})
    updated = await images.image_update(admin(glance_db), image["id"], {"name": "x"})
    assert updated["name"] == "x" and updated["deleted"] is True


@pytest.mark.parametrize("image_id", ["no-such-image", "x" * 37])
async def test_image_update_of_an_unknown_image_is_image_not_found(glance_db: rawdb.Database, image_id: str) -> None:
    with pytest.raises(errors.ImageNotFound):
        await images.image_update(admin(glance_db), image_id, {"name": "x"})


async def test_image_update_returns_the_image_even_when_the_caller_gives_it_away(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, owner="p1", visibility="private")

    updated = await images.image_update(user(glance_db, "p1"), image["id"], {"owner": "p2"})

    assert updated["owner"] == "p2" and updated["id"] == image["id"]
    with pytest.raises(errors.Forbidden):
        await images.image_get(user(glance_db, "p1"), image["id"])


async def test_image_update_by_an_admin_changes_the_owner(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, owner="p1", visibility="private")

    updated = await images.image_update(admin(glance_db), image["id"], {"owner": "p2"})

    assert updated["owner"] == "p2"
    assert (await images.image_get(user(glance_db, "p2"), image["id"]))["owner"] == "p2"


BAD_UPDATE_VALUES: list[tuple[str, dict[str, Any]]] = [
    ("id-changed", {"id": "another-id"}),
    ("status-none", {"status": None}),
    ("status-unknown", {"status": "bogus"}),
    ("min_ram-over-int32", {"min_ram": 2**31}),
    ("name-too-long", {"name": "n" * 256}),
    ("4byte-in-name", {"name": f"x{FOUR_BYTE}"}),
    ("nul-in-name", {"name": "nul\x00"}),
    ("size-not-an-integer", {"size": "12"}),
    ("visibility-unknown", {"visibility": "everyone"}),
    ("os_hidden-not-a-bool", {"os_hidden": "false"}),
    ("protected-not-a-bool", {"protected": 1}),
    ("location-missing-keys", {"locations": [{"url": "file:///a"}]}),
    ("4byte-in-property", {"properties": {"p": FOUR_BYTE}}),
    ("4byte-in-location", {"locations": [loc(f"file:///{FOUR_BYTE}")]}),
    ("tags-key", {"tags": ["t"]}),
    ("members-key", {"members": ["p2"]}),
    ("is_public-and-visibility", {"is_public": True, "visibility": "public"}),
]


async def test_image_update_with_a_bad_value_is_invalid_and_writes_nothing(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, name="orig", properties={"a": "1"}, locations=[loc("file:///1")])
    ctx = user(glance_db, "p1")
    problems = []
    for case, bad in BAD_UPDATE_VALUES:
        try:
            await images.image_update(ctx, image["id"], {"name": "changed", **bad})
        except errors.Invalid:
            pass
        else:
            problems.append(f"{case}: accepted")
        if await images.image_get(admin(glance_db), image["id"]) != image:
            problems.append(f"{case}: changed the image")
            break

    assert problems == []
    assert await count_rows(glance_db, "images") == 1


async def test_image_update_accepts_its_own_id_in_the_values(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)

    updated = await images.image_update(user(glance_db), image["id"], {"id": image["id"], "name": "same"})

    assert updated["id"] == image["id"] and updated["name"] == "same"


async def test_image_update_does_not_mutate_the_callers_values(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)
    values = {"is_public": True, "owner": "p1", "properties": {"a": "1"}, "locations": [loc("file:///a", k=[1])]}
    original = copy.deepcopy(values)

    await images.image_update(user(glance_db), image["id"], values, atomic_props=["x"])

    assert values == original


# --- concurrency --------------------------------------------------------------------------


async def _update_from_queued(db: rawdb.Database, image_id: str) -> dict[str, Any] | errors.Conflict:
    try:
        return await images.image_update(user(db, "p1"), image_id, {"status": "saving"}, from_state="queued")
    except errors.Conflict as exc:
        return exc


async def test_image_update_from_state_lets_exactly_one_of_two_concurrent_writers_win(
    glance_db: rawdb.Database, url: str, open_db: OpenDb, backend: str
) -> None:
    other_db = (await node_databases(url, backend, open_db, 2))[1]  # Galera: through another node
    for _ in range(3):
        image = await make_image(glance_db, status="queued")

        results = await asyncio.gather(
            _update_from_queued(glance_db, image["id"]), _update_from_queued(other_db, image["id"])
        )

        winners = [r for r in results if isinstance(r, dict)]
        losers = [r for r in results if isinstance(r, errors.Conflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert winners[0]["status"] == "saving"
        assert "cannot transition from saving to saving" in str(losers[0])
        assert (await images.image_get(admin(glance_db), image["id"]))["status"] == "saving"


async def test_image_update_from_state_blocked_behind_an_open_writer_gets_conflict(
    glance_db: rawdb.Database, url: str, open_db: OpenDb
) -> None:
    other_db = await open_db(url)
    image = await make_image(glance_db, status="queued")

    async with user(glance_db, "p1").writer() as tx:
        first = await images.image_update(tx, image["id"], {"status": "saving"}, from_state="queued")
        second = asyncio.create_task(_update_from_queued(other_db, image["id"]))
        await asyncio.sleep(0.2)  # the second writer is now waiting for the first to commit
        assert first["status"] == "saving"

    result = await asyncio.wait_for(second, 10)
    assert isinstance(result, errors.Conflict), result
    assert (await images.image_get(admin(glance_db), image["id"]))["status"] == "saving"


# --- image_destroy ------------------------------------------------------------------------


async def _image_with_children(db: rawdb.Database, **values: Any) -> dict[str, Any]:
    image = await make_image(
        db,
        properties={"a": "1", "b": "2"},
        locations=[loc("file:///1"), loc("file:///2")],
        **values,
    )
    await images.image_member_create(admin(db), {"image_id": image["id"], "member": "p2"})
    await images.image_tag_set_all(admin(db), image["id"], ["t1", "t2"])
    return image


async def test_image_destroy_soft_deletes_the_image_and_all_children_at_one_time(glance_db: rawdb.Database) -> None:
    image = await _image_with_children(glance_db, status="active")

    destroyed = await images.image_destroy(user(glance_db, "p1"), image["id"])

    at = destroyed["deleted_at"]
    assert destroyed["deleted"] is True and at is not None
    assert destroyed["status"] == "active"  # destroy leaves the status alone
    assert destroyed["locations"] == []
    assert len(destroyed["properties"]) == 2
    assert all(p["deleted"] is True and p["deleted_at"] == at for p in destroyed["properties"])
    assert list(destroyed) == IMAGE_KEYS
    for table in ("image_properties", "image_locations", "image_members", "image_tags"):
        rows = await select(glance_db, f"SELECT deleted, deleted_at FROM {table}")
        assert rows and all(r["deleted"] and r["deleted_at"] == at for r in rows), table
    locations = await select(glance_db, "SELECT status FROM image_locations")
    assert {r["status"] for r in locations} == {"deleted"}
    with pytest.raises(errors.ImageNotFound):
        await images.image_get(user(glance_db, "p1"), image["id"])
    assert await images.image_tag_get_all(admin(glance_db), image["id"]) == []
    assert await images.image_member_count(admin(glance_db), image["id"]) == 0


async def test_image_destroy_keeps_the_deleted_at_of_children_deleted_earlier(glance_db: rawdb.Database) -> None:
    image = await _image_with_children(glance_db)
    earlier = await images.image_property_delete(admin(glance_db), "a", image["id"])

    destroyed = await images.image_destroy(admin(glance_db), image["id"])

    assert props(destroyed)["a"]["deleted_at"] == earlier["deleted_at"]
    assert props(destroyed)["b"]["deleted_at"] == destroyed["deleted_at"]


async def test_image_destroy_by_a_non_owner_is_forbidden_and_deletes_nothing(glance_db: rawdb.Database) -> None:
    shared = await _image_with_children(glance_db, visibility="shared")
    public = await make_image(glance_db, visibility="public")

    with pytest.raises(errors.Forbidden) as caught:
        await images.image_destroy(user(glance_db, "p2"), shared["id"])  # p2 is a member
    assert not isinstance(caught.value, errors.ForbiddenPublicImage)
    with pytest.raises(errors.ForbiddenPublicImage):
        await images.image_destroy(user(glance_db, "p2"), public["id"])
    with pytest.raises(errors.Forbidden):
        await images.image_destroy(user(glance_db, "p3"), shared["id"])  # cannot even see it

    assert (await images.image_get(admin(glance_db), shared["id"]))["deleted"] is False
    assert (await images.image_get(admin(glance_db), public["id"]))["deleted"] is False
    assert await images.image_tag_get_all(admin(glance_db), shared["id"]) == ["t1", "t2"]


async def test_image_destroy_of_a_deleted_image_is_not_found_for_non_admins_and_restamped_for_admins(
    glance_db: rawdb.Database,
) -> None:
    image = await make_image(glance_db)
    first = await images.image_destroy(user(glance_db, "p1"), image["id"])

    with pytest.raises(errors.ImageNotFound):
        await images.image_destroy(user(glance_db, "p1"), image["id"])
    again = await images.image_destroy(admin(glance_db), image["id"])

    assert again["deleted"] is True
    assert again["deleted_at"] > first["deleted_at"]


@pytest.mark.parametrize("image_id", ["no-such-image", "x" * 37])
async def test_image_destroy_of_an_unknown_image_is_image_not_found(glance_db: rawdb.Database, image_id: str) -> None:
    with pytest.raises(errors.ImageNotFound):
        await images.image_destroy(admin(glance_db), image_id)


# --- image_restore ------------------------------------------------------------------------


async def test_image_restore_brings_a_pending_delete_image_back_to_active(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, status="pending_delete", deleted=True, deleted_at=now())

    assert await images.image_restore(admin(glance_db), image["id"]) is None

    restored = await images.image_get(user(glance_db, "p1"), image["id"])
    assert restored["status"] == "active"
    assert restored["deleted"] is False and restored["deleted_at"] is None


async def test_image_restore_of_an_image_not_pending_delete_is_conflict(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, status="active")

    with pytest.raises(errors.Conflict):
        await images.image_restore(admin(glance_db), image["id"])
    assert (await images.image_get(admin(glance_db), image["id"]))["status"] == "active"


async def test_image_restore_needs_a_caller_who_may_change_the_image(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db, owner="p1", status="pending_delete", deleted=True, deleted_at=now())
    public = await make_image(glance_db, owner="p1", visibility="public", status="pending_delete")

    with pytest.raises(errors.ImageNotFound):
        await images.image_restore(user(glance_db, "p1"), image["id"])  # cannot see deleted images
    with pytest.raises(errors.Forbidden):
        await images.image_restore(user(glance_db, "p2", show_deleted=True), image["id"])
    with pytest.raises(errors.ForbiddenPublicImage):
        await images.image_restore(user(glance_db, "p2"), public["id"])
    assert (await images.image_get(admin(glance_db), image["id"]))["status"] == "pending_delete"

    await images.image_restore(user(glance_db, "p1", show_deleted=True), image["id"])
    assert (await images.image_get(admin(glance_db), image["id"]))["status"] == "active"


async def test_image_restore_of_an_unknown_image_is_image_not_found(glance_db: rawdb.Database) -> None:
    with pytest.raises(errors.ImageNotFound):
        await images.image_restore(admin(glance_db), "no-such-image")


# --- is_image_mutable / is_image_visible (spec D) -----------------------------------------


async def test_is_image_mutable_follows_spec_d(glance_db: rawdb.Database) -> None:
    mine = {"id": "i", "owner": "p1", "visibility": "private"}
    ownerless = {"id": "i", "owner": None, "visibility": "public"}

    assert images.is_image_mutable(admin(glance_db), mine) is True
    assert images.is_image_mutable(admin(glance_db), ownerless) is True
    assert images.is_image_mutable(user(glance_db, "p1"), mine) is True
    assert images.is_image_mutable(user(glance_db, "p2"), mine) is False
    assert images.is_image_mutable(user(glance_db, None), mine) is False
    assert images.is_image_mutable(user(glance_db, "p1"), ownerless) is False
    assert images.is_image_mutable(user(glance_db, None), ownerless) is False


async def test_is_image_visible_for_admins_owners_and_ownerless_or_public_images(glance_db: rawdb.Database) -> None:
    private = await make_image(glance_db, owner="p1", visibility="private")
    ownerless = await make_image(glance_db, owner=None, visibility="private")
    public = await make_image(glance_db, owner="p1", visibility="public")
    community = await make_image(glance_db, owner="p1", visibility="community")

    assert await images.is_image_visible(admin(glance_db), private) is True
    assert await images.is_image_visible(user(glance_db, "p1"), private) is True
    assert await images.is_image_visible(user(glance_db, "p2"), private) is False
    assert await images.is_image_visible(user(glance_db, None), private) is False
    for ctx in (user(glance_db, "p2"), user(glance_db, None)):
        assert await images.is_image_visible(ctx, ownerless) is True
        assert await images.is_image_visible(ctx, public) is True
        assert await images.is_image_visible(ctx, community) is True


async def test_is_image_visible_counts_live_memberships_of_shared_images_only(glance_db: rawdb.Database) -> None:
    shared = await make_image(glance_db, owner="p1", visibility="shared")
    private = await make_image(glance_db, owner="p1", visibility="private")
    ctx = admin(glance_db)
    for member, status in (("pending", "pending"), ("rejected", "rejected"), ("accepted", "accepted")):
        await images.image_member_create(ctx, {"image_id": shared["id"], "member": member, "status": status})
        await images.image_member_create(ctx, {"image_id": private["id"], "member": member, "status": status})
    gone = await images.image_member_create(ctx, {"image_id": shared["id"], "member": "gone", "status": "accepted"})
    await images.image_member_delete(ctx, gone["id"])

    for member in ("pending", "rejected", "accepted"):
        assert await images.is_image_visible(user(glance_db, member), shared) is True
        assert await images.is_image_visible(user(glance_db, member), private) is False
    assert await images.is_image_visible(user(glance_db, "accepted"), shared, status="accepted") is True
    assert await images.is_image_visible(user(glance_db, "pending"), shared, status="accepted") is False
    assert await images.is_image_visible(user(glance_db, "rejected"), shared, status="pending") is False
    assert await images.is_image_visible(user(glance_db, "gone"), shared) is False
    assert await images.is_image_visible(user(glance_db, "stranger"), shared) is False
    assert await images.is_image_visible(user(glance_db, None), shared) is False


async def test_damaged_location_metadata_in_the_database_is_a_data_error_not_a_python_error(
    glance_db: rawdb.Database,
) -> None:
    image = await make_image(glance_db, locations=[loc("file:///a", store="x")])
    async with glance_db.writer() as tx:
        await tx.execute(
            rawdb.Statement.portable("test.damage_meta", "UPDATE image_locations SET meta_data = :m"), m='{"store": '
        )
    with pytest.raises(errors.DBDataError, match="not JSON"):
        await images.image_get(admin(glance_db), image["id"])
    with pytest.raises(errors.DBDataError, match="not JSON"):
        await images.image_get_all(admin(glance_db), {"deleted": False})


def test_malformed_child_arrays_are_a_data_error() -> None:
    from rawdb.glance import _rows as rows

    for text in ('[[1, "a"', "", "[1,]", "nope"):
        with pytest.raises(errors.DBDataError, match="malformed JSON"):
            rows._children(text)
