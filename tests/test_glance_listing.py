"""image_get_all (spec glance.md C): visibility, filters, sorting, markers and result shape.

Every test runs on SQLite and PostgreSQL (``glance_db``).  Rows are inserted with SQL of
their own, with explicit ids and timestamps, so both backends hold the same data and
the expected results are exact.  rawdb's deliberate departures from glance (spec G.11)
are tested as fixed: an anonymous non-admin never lists shared images through other
people's memberships, a plain-string ``tags`` filter is Invalid, a bad sort direction
is InvalidSortDir, the caller's arguments are never mutated, NULLs page correctly on
PostgreSQL, and a hidden marker is MarkerNotFound.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import itertools
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

import rawdb
from rawdb import errors, schema
from rawdb.glance import _listing as listing
from rawdb.glance import images as api
from rawdb.glance._validate import IMAGE_COLUMN_NAMES
from rawdb.statement import Statement

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)
PGBOUNCER = True  # and through a PgBouncer in transaction pooling mode (conftest.py)

T0 = datetime(2024, 1, 1)


def t(minutes: float) -> datetime:
    """A naive UTC time ``minutes`` after 2024-01-01 00:00."""
    return T0 + timedelta(minutes=minutes)


# --- seeding ---------------------------------------------------------------------------------

INSERT_PROPERTY = Statement.portable(
    "test.glance.property",
    "INSERT INTO image_properties (id, image_id, name, value, created_at, updated_at, deleted_at, deleted) "
    "VALUES (:id, :image_id, :name, :value, :at, :at, :deleted_at, :deleted)",
)
INSERT_LOCATION = Statement.portable(
    "test.glance.location",
    "INSERT INTO image_locations (id, image_id, value, meta_data, status, created_at, updated_at, deleted_at, deleted)"
    " VALUES (:id, :image_id, :url, :meta_data, :status, :at, :at, :deleted_at, :deleted)",
)
INSERT_MEMBER = Statement.portable(
    "test.glance.member",
    "INSERT INTO image_members (id, image_id, member, can_share, status, created_at, updated_at, deleted_at, deleted)"
    " VALUES (:id, :image_id, :member, :can_share, :status, :at, :at, :deleted_at, :deleted)",
)
INSERT_TAG = Statement.portable(
    "test.glance.tag",
    "INSERT INTO image_tags (id, image_id, value, created_at, updated_at, deleted_at, deleted) "
    "VALUES (:id, :image_id, :value, :at, :at, :deleted_at, :deleted)",
)

IMAGE_DEFAULTS: dict[str, Any] = {
    "name": None,
    "disk_format": None,
    "container_format": None,
    "size": None,
    "virtual_size": None,
    "status": "active",
    "visibility": "public",
    "checksum": None,
    "os_hash_algo": None,
    "os_hash_value": None,
    "min_disk": 0,
    "min_ram": 0,
    "owner": None,
    "protected": False,
    "os_hidden": False,
    "deleted_at": None,
    "deleted": False,
}


@dataclass
class Seed:
    """Rows to insert, with explicit ids and timestamps: the same data on every backend."""

    images: list[dict[str, Any]] = field(default_factory=list)
    children: list[tuple[Statement, dict[str, Any]]] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(1))

    def image(self, image_id: str, **values: Any) -> str:
        n = len(self.images)
        row = {**IMAGE_DEFAULTS, "id": image_id, "created_at": t(n), "updated_at": t(n), **values}
        if row["deleted"] and row["deleted_at"] is None:
            row["deleted_at"] = row["updated_at"] or row["created_at"]
        self.images.append(row)
        return image_id

    def _child(self, statement: Statement, deleted: bool, **values: Any) -> None:
        at = t(100 + len(self.children))
        row = {"id": next(self.ids), "at": at, "deleted": deleted, "deleted_at": at if deleted else None, **values}
        self.children.append((statement, row))

    def prop(self, image_id: str, name: str, value: str, deleted: bool = False) -> None:
        self._child(INSERT_PROPERTY, deleted, image_id=image_id, name=name, value=value)

    def location(self, image_id: str, url: str, metadata: dict[str, Any] | None = None, deleted: bool = False) -> None:
        status = "deleted" if deleted else "active"
        meta = json.dumps(metadata or {})
        self._child(INSERT_LOCATION, deleted, image_id=image_id, url=url, meta_data=meta, status=status)

    def member(self, image_id: str, member: str, status: str = "accepted", deleted: bool = False) -> None:
        self._child(INSERT_MEMBER, deleted, image_id=image_id, member=member, status=status, can_share=False)

    def tag(self, image_id: str, value: str, deleted: bool = False) -> None:
        self._child(INSERT_TAG, deleted, image_id=image_id, value=value)

    async def insert(self, db: rawdb.Database) -> None:
        async with db.writer() as tx:
            for row in self.images:
                await tx.fetchrow("glance.images.image_insert", **row)
            for statement, row in self.children:
                await tx.execute(statement, **row)


def user(db: rawdb.Database, project: str | None = "proj-a") -> rawdb.Context:
    return rawdb.Context(db, project_id=project, user_id="user")


def admin(db: rawdb.Database, project: str | None = "proj-admin") -> rawdb.Context:
    return rawdb.Context(db, project_id=project, user_id="admin", is_admin=True)


async def listed(ctx: rawdb.Context, **kwargs: Any) -> list[str]:
    """The ids image_get_all returns, in its order."""
    return [image["id"] for image in await api.image_get_all(ctx, **kwargs)]


async def listed_set(ctx: rawdb.Context, **kwargs: Any) -> set[str]:
    found = await listed(ctx, **kwargs)
    assert len(found) == len(set(found)), f"an image is listed twice: {found}"
    return set(found)


async def walk(ctx: rawdb.Context, limit: int, **kwargs: Any) -> list[str]:
    """Every page from the start, each after the last image of the previous one."""
    seen: list[str] = []
    marker = None
    for _ in range(100):
        page = await listed(ctx, marker=marker, limit=limit, **kwargs)
        seen += page
        if len(page) < limit:
            return seen
        marker = page[-1]
    raise AssertionError(f"no end of pages after {seen}")


# --- visibility (spec C.3, D) ---------------------------------------------------------------

A, B, C = "proj-a", "proj-b", "proj-c"


@pytest.fixture
async def world(glance_db: rawdb.Database) -> rawdb.Database:
    """Images of every visibility owned by A, B and nobody, with memberships of every status."""
    s = Seed()
    s.image("pub-b", owner=B, visibility="public")
    s.image("comm-b", owner=B, visibility="community")
    s.image("priv-b", owner=B, visibility="private")
    s.image("shared-b-accepted", owner=B, visibility="shared")
    s.member("shared-b-accepted", A, "accepted")
    s.image("shared-b-pending", owner=B, visibility="shared")
    s.member("shared-b-pending", A, "pending")
    s.image("shared-b-rejected", owner=B, visibility="shared")
    s.member("shared-b-rejected", A, "rejected")
    s.image("shared-b-gone", owner=B, visibility="shared")
    s.member("shared-b-gone", A, "accepted", deleted=True)
    s.member("shared-b-gone", C, "accepted")
    s.image("shared-b-other", owner=B, visibility="shared")
    s.member("shared-b-other", C, "pending")
    s.image("priv-b-member", owner=B, visibility="private")
    s.member("priv-b-member", A, "accepted")
    s.image("pub-a", owner=A, visibility="public")
    s.image("comm-a", owner=A, visibility="community")
    s.image("priv-a", owner=A, visibility="private")
    s.image("shared-a", owner=A, visibility="shared")
    s.member("shared-a", B, "pending")
    s.image("pub-none", owner=None, visibility="public")
    s.image("comm-none", owner=None, visibility="community")
    s.image("priv-none", owner=None, visibility="private")
    s.image("shared-none", owner=None, visibility="shared")
    s.member("shared-none", A, "accepted")
    await s.insert(glance_db)
    return glance_db


EVERY_IMAGE = {
    "pub-b",
    "comm-b",
    "priv-b",
    "shared-b-accepted",
    "shared-b-pending",
    "shared-b-rejected",
    "shared-b-gone",
    "shared-b-other",
    "priv-b-member",
    "pub-a",
    "comm-a",
    "priv-a",
    "shared-a",
    "pub-none",
    "comm-none",
    "priv-none",
    "shared-none",
}
PUBLIC = {"pub-a", "pub-b", "pub-none"}
COMMUNITY = {"comm-a", "comm-b", "comm-none"}
OWN_A = {"pub-a", "comm-a", "priv-a", "shared-a"}


async def test_a_project_lists_public_images_its_own_and_shared_images_it_accepted(world: rawdb.Database) -> None:
    assert await listed_set(user(world)) == PUBLIC | OWN_A | {"shared-b-accepted", "shared-none"}


@pytest.mark.parametrize(
    ("member_status", "shared"),
    [
        ("accepted", {"shared-b-accepted", "shared-none"}),
        ("pending", {"shared-b-pending"}),
        ("rejected", {"shared-b-rejected"}),
        ("all", {"shared-b-accepted", "shared-b-pending", "shared-b-rejected", "shared-none"}),
    ],
)
async def test_member_status_selects_shared_images_by_the_status_of_a_live_membership(
    world: rawdb.Database, member_status: str, shared: set[str]
) -> None:
    assert await listed_set(user(world), member_status=member_status) == PUBLIC | OWN_A | shared


async def test_a_deleted_membership_never_shares_an_image(world: rawdb.Database) -> None:
    for member_status in ("accepted", "all"):
        for visibility in ("shared", "all"):
            found = await listed_set(user(world), member_status=member_status, filters={"visibility": visibility})
            assert "shared-b-gone" not in found
    assert "shared-b-gone" in await listed_set(user(world, C))


async def test_private_images_are_never_listed_to_members(world: rawdb.Database) -> None:
    for member_status in ("accepted", "pending", "rejected", "all"):
        for visibility in (None, "private", "all"):
            found = await listed_set(user(world), member_status=member_status, filters={"visibility": visibility})
            assert not found & {"priv-b", "priv-b-member", "priv-none"}


@pytest.mark.parametrize(
    ("visibility", "expected"),
    [
        ("public", PUBLIC),
        ("community", COMMUNITY),
        ("private", {"priv-a"}),
        ("shared", {"shared-a", "shared-b-accepted", "shared-none"}),
        ("all", PUBLIC | COMMUNITY | OWN_A | {"shared-b-accepted", "shared-none"}),
    ],
)
async def test_the_visibility_filter_narrows_what_a_project_sees(
    world: rawdb.Database, visibility: str, expected: set[str]
) -> None:
    assert await listed_set(user(world), filters={"visibility": visibility}) == expected


async def test_community_images_of_others_are_listed_only_when_asked_for(world: rawdb.Database) -> None:
    default = await listed_set(user(world))
    assert "comm-a" in default
    assert not default & {"comm-b", "comm-none"}
    assert await listed_set(user(world), filters={"visibility": "community"}) == COMMUNITY


async def test_a_context_without_a_project_lists_public_images_only(world: rawdb.Database) -> None:
    anonymous = user(world, None)
    for member_status in ("accepted", "pending", "rejected", "all"):
        assert await listed_set(anonymous, member_status=member_status) == PUBLIC


@pytest.mark.parametrize(
    ("visibility", "expected"),
    [
        ("public", PUBLIC),
        ("community", COMMUNITY),
        ("all", PUBLIC | COMMUNITY),
        ("shared", set()),
        ("private", set()),
    ],
)
async def test_a_context_without_a_project_never_sees_shared_images_through_other_memberships(
    world: rawdb.Database, visibility: str, expected: set[str]
) -> None:
    for member_status in ("accepted", "all"):
        found = await listed_set(user(world, None), member_status=member_status, filters={"visibility": visibility})
        assert found == expected


async def test_ownerless_private_images_are_visible_by_id_but_not_listed_to_non_admins(world: rawdb.Database) -> None:
    for ctx in (user(world), user(world, None), user(world, C)):
        assert "priv-none" not in await listed_set(ctx, filters={"visibility": "all"})
        assert (await api.image_get(ctx, "priv-none"))["id"] == "priv-none"
        assert await api.is_image_visible(ctx, {"id": "priv-none", "owner": None, "visibility": "private"})
    assert "priv-none" in await listed_set(admin(world))


async def test_an_admin_lists_everything_but_other_projects_community_images(world: rawdb.Database) -> None:
    assert await listed_set(admin(world)) == EVERY_IMAGE - COMMUNITY
    assert await listed_set(admin(world, A)) == EVERY_IMAGE - {"comm-b", "comm-none"}
    assert await listed_set(admin(world, None)) == EVERY_IMAGE - COMMUNITY


async def test_an_admin_asking_for_all_or_one_visibility_gets_every_such_image(world: rawdb.Database) -> None:
    assert await listed_set(admin(world), filters={"visibility": "all"}) == EVERY_IMAGE
    assert await listed_set(admin(world), filters={"visibility": "community"}) == COMMUNITY
    private = {"priv-b", "priv-b-member", "priv-a", "priv-none"}
    assert await listed_set(admin(world), filters={"visibility": "private"}) == private


async def test_admin_as_user_lists_what_a_regular_user_of_its_project_lists(world: rawdb.Database) -> None:
    for member_status in ("accepted", "pending", "all"):
        for visibility in (None, "all", "shared", "private", "community"):
            kwargs = {"member_status": member_status, "filters": {"visibility": visibility}}
            expected = await listed(user(world, A), **kwargs)
            assert await listed(admin(world, A), admin_as_user=True, **kwargs) == expected


async def test_admin_as_user_without_a_project_lists_public_images_only(world: rawdb.Database) -> None:
    assert await listed_set(admin(world, None), admin_as_user=True) == PUBLIC


async def test_is_image_visible_follows_spec_d(world: rawdb.Database) -> None:
    def image(image_id: str, owner: str | None, visibility: str) -> dict[str, Any]:
        return {"id": image_id, "owner": owner, "visibility": visibility}

    a, anonymous, boss = user(world), user(world, None), admin(world)
    assert not await api.is_image_visible(a, image("priv-b", B, "private"))
    assert not await api.is_image_visible(a, image("priv-b-member", B, "private"))
    assert await api.is_image_visible(a, image("comm-b", B, "community"))
    assert await api.is_image_visible(a, image("shared-b-pending", B, "shared"))
    assert await api.is_image_visible(a, image("shared-b-rejected", B, "shared"))
    assert not await api.is_image_visible(a, image("shared-b-pending", B, "shared"), status="accepted")
    assert await api.is_image_visible(a, image("shared-b-accepted", B, "shared"), status="accepted")
    assert not await api.is_image_visible(a, image("shared-b-gone", B, "shared"))
    assert not await api.is_image_visible(a, image("shared-b-other", B, "shared"))
    assert await api.is_image_visible(a, image("priv-a", A, "private"))
    assert not await api.is_image_visible(anonymous, image("shared-b-accepted", B, "shared"))
    assert await api.is_image_visible(anonymous, image("priv-none", None, "private"))
    assert await api.is_image_visible(anonymous, image("pub-b", B, "public"))
    assert await api.is_image_visible(boss, image("priv-b", B, "private"))


# --- filters (spec C.2) ---------------------------------------------------------------------


async def seeded(db: rawdb.Database, *images: tuple[str, dict[str, Any]]) -> rawdb.Database:
    s = Seed()
    for image_id, values in images:
        s.image(image_id, **values)
    await s.insert(db)
    return db


async def test_the_is_public_argument_selects_public_or_non_public_images(world: rawdb.Database) -> None:
    assert await listed_set(admin(world), is_public=True) == PUBLIC
    assert await listed_set(admin(world), is_public=False) == EVERY_IMAGE - COMMUNITY - PUBLIC
    assert await listed_set(user(world), is_public=False) == (OWN_A - {"pub-a"}) | {"shared-b-accepted", "shared-none"}


async def test_os_hidden_checksum_and_os_hash_value_filter_by_equality(glance_db: rawdb.Database) -> None:
    db = await seeded(
        glance_db,
        ("x", {"os_hidden": True, "checksum": "c1", "os_hash_value": "h1"}),
        ("y", {"os_hidden": False, "checksum": "c2", "os_hash_value": "h1"}),
        ("z", {"checksum": None, "os_hash_value": None}),
    )
    ctx = user(db)
    assert await listed_set(ctx, filters={"os_hidden": True}) == {"x"}
    assert await listed_set(ctx, filters={"os_hidden": False}) == {"y", "z"}
    assert await listed_set(ctx, filters={"checksum": "c2"}) == {"y"}
    assert await listed_set(ctx, filters={"os_hash_value": "h1"}) == {"x", "y"}
    assert await listed_set(ctx, filters={"os_hash_value": "h1", "checksum": "c1"}) == {"x"}
    assert await listed_set(ctx, filters={"checksum": "nope"}) == set()


@pytest.fixture
async def with_properties(glance_db: rawdb.Database) -> rawdb.Database:
    s = Seed()
    for image_id in ("x", "y", "z"):
        s.image(image_id)
    s.prop("x", "os", "linux")
    s.prop("x", "arch", "x86")
    s.prop("y", "os", "linux")
    s.prop("y", "is_public", "True")
    s.prop("z", "os", "linux", deleted=True)
    s.prop("z", "arch", "x86")
    await s.insert(glance_db)
    return glance_db


async def test_property_filters_match_live_properties_with_and_semantics(with_properties: rawdb.Database) -> None:
    ctx = user(with_properties)
    assert await listed_set(ctx, filters={"properties": {"os": "linux"}}) == {"x", "y"}
    assert await listed_set(ctx, filters={"properties": {"os": "linux", "arch": "x86"}}) == {"x"}
    assert await listed_set(ctx, filters={"properties": {"arch": "x86"}}) == {"x", "z"}
    assert await listed_set(ctx, filters={"properties": {"os": "windows"}}) == set()
    assert await listed_set(ctx, filters={"properties": {}}) == {"x", "y", "z"}


async def test_property_values_longer_than_the_indexed_prefix_match_exactly(glance_db: rawdb.Database) -> None:
    prefix = "ü" * 100  # the index holds 100 characters, not bytes
    s = Seed()
    for image_id, value in (("long-a", prefix + "a"), ("long-b", prefix + "b"), ("short", prefix)):
        s.image(image_id)
        s.prop(image_id, "blob", value)
    await s.insert(glance_db)
    ctx = user(glance_db)
    assert await listed_set(ctx, filters={"properties": {"blob": prefix + "a"}}) == {"long-a"}
    assert await listed_set(ctx, filters={"properties": {"blob": prefix}}) == {"short"}
    assert await listed_set(ctx, filters={"properties": {"blob": prefix[:99]}}) == set()
    assert await listed_set(ctx, filters={"properties": {"blob": prefix + "c"}}) == set()


async def test_a_deleted_property_row_never_matches_a_filter(with_properties: rawdb.Database) -> None:
    ctx = admin(with_properties)
    assert "z" not in await listed_set(ctx, filters={"properties": {"os": "linux"}})
    assert "z" not in await listed_set(ctx, filters={"os": "linux"})
    assert "z" not in await listed_set(ctx, filters={"os": "linux", "changes-since": t(-1)})


async def test_unknown_top_level_keys_are_property_filters(with_properties: rawdb.Database) -> None:
    ctx = user(with_properties)
    assert await listed_set(ctx, filters={"os": "linux"}) == {"x", "y"}
    assert await listed_set(ctx, filters={"os": "linux", "arch": "x86"}) == {"x"}
    assert await listed_set(ctx, filters={"arch": "x86", "properties": {"os": "linux"}}) == {"x"}


async def test_is_public_as_a_filter_key_is_a_property_filter(with_properties: rawdb.Database) -> None:
    ctx = user(with_properties)
    assert await listed_set(ctx, filters={"is_public": "True"}) == {"y"}
    assert await listed_set(ctx, filters={"is_public": "False"}) == set()


@pytest.fixture
async def lifecycle(glance_db: rawdb.Database) -> rawdb.Database:
    """Live and deleted, active and killed images, updated at t(0)..t(3)."""
    return await seeded(
        glance_db,
        ("live", {"updated_at": t(0)}),
        ("killed", {"status": "killed", "updated_at": t(1)}),
        ("gone", {"deleted": True, "status": "deleted", "updated_at": t(2)}),
        ("gone-killed", {"deleted": True, "status": "killed", "updated_at": t(3)}),
    )


async def test_a_bare_call_lists_deleted_and_killed_images_as_glance_does(lifecycle: rawdb.Database) -> None:
    assert await listed_set(user(lifecycle)) == {"live", "killed", "gone", "gone-killed"}


async def test_deleted_false_hides_deleted_and_killed_images(lifecycle: rawdb.Database) -> None:
    for ctx in (user(lifecycle), admin(lifecycle)):
        assert await listed_set(ctx, filters={"deleted": False}) == {"live"}


async def test_deleted_true_lists_only_deleted_images(lifecycle: rawdb.Database) -> None:
    assert await listed_set(user(lifecycle), filters={"deleted": True}) == {"gone", "gone-killed"}


async def test_changes_since_lists_images_updated_after_it_deleted_ones_included(lifecycle: rawdb.Database) -> None:
    ctx = user(lifecycle)
    assert await listed_set(ctx, filters={"changes-since": t(0.5)}) == {"killed", "gone", "gone-killed"}
    assert await listed_set(ctx, filters={"changes-since": t(2)}) == {"gone-killed"}
    assert await listed_set(ctx, filters={"changes-since": t(3)}) == set()
    in_paris = (t(2) + timedelta(hours=1)).replace(tzinfo=timezone(timedelta(hours=1)))
    assert await listed_set(ctx, filters={"changes-since": in_paris}) == {"gone-killed"}


async def test_changes_since_as_a_string_is_an_invalid_parameter(lifecycle: rawdb.Database) -> None:
    with pytest.raises(errors.InvalidParameterValue):
        await api.image_get_all(user(lifecycle), filters={"changes-since": "2024-01-01T00:00:00"})


@pytest.fixture
async def tagged(glance_db: rawdb.Database) -> rawdb.Database:
    s = Seed()
    for image_id in ("x", "y", "z"):
        s.image(image_id)
    s.tag("x", "a")
    s.tag("x", "b")
    s.tag("y", "a")
    s.tag("z", "a", deleted=True)
    s.tag("z", "b")
    await s.insert(glance_db)
    return glance_db


async def test_tag_filters_match_live_tags_with_and_semantics(tagged: rawdb.Database) -> None:
    ctx = user(tagged)
    assert await listed_set(ctx, filters={"tags": ["a"]}) == {"x", "y"}
    assert await listed_set(ctx, filters={"tags": ["b"]}) == {"x", "z"}
    assert await listed_set(ctx, filters={"tags": ["a", "b"]}) == {"x"}
    assert await listed_set(ctx, filters={"tags": ("b", "a")}) == {"x"}
    assert await listed_set(ctx, filters={"tags": ["c"]}) == set()
    assert await listed_set(ctx, filters={"tags": []}) == {"x", "y", "z"}


async def test_a_deleted_tag_row_never_matches_a_filter(tagged: rawdb.Database) -> None:
    assert "z" not in await listed_set(admin(tagged), filters={"tags": ["a"], "changes-since": t(-1)})


@dataclass(frozen=True)
class ManyTagged:
    db: rawdb.Database
    expected: dict[str, list[str]]  # tag -> what proj-a sees carrying it, newest first


@pytest.fixture
async def many_tagged(glance_db: rawdb.Database) -> ManyTagged:
    return await seed_many_tagged(glance_db)


async def seed_many_tagged(db: rawdb.Database) -> ManyTagged:
    """1,200 images all tagged "common" (past where SQLite's pages start from a tag), every
    30th also "rare"; every third private to proj-b; pairs share a created_at."""
    s = Seed()
    seen: dict[str, list[tuple[datetime, str]]] = {"common": [], "rare": []}
    for k in range(1200):
        image_id = f"img-{k:04d}"
        hidden = k % 3 == 1
        s.image(image_id, owner=B if hidden else A, visibility="private" if hidden else "public", created_at=t(k // 2))
        tags = ["common"] + (["rare"] if k % 30 == 0 else [])
        if k % 90 == 60:
            s.tag(image_id, "rare", deleted=True)  # only a deleted rare tag: never listed
            s.tag(image_id, "common")
            tags = ["common"]
        else:
            for tag in tags:
                s.tag(image_id, tag)
        for tag in tags if not hidden else []:
            seen[tag].append((t(k // 2), image_id))
    await s.insert(db)
    return ManyTagged(db, {tag: [i for _, i in sorted(rows, reverse=True)] for tag, rows in seen.items()})


@pytest.mark.parametrize("tag", ["common", "rare"])
async def test_tag_filter_pages_are_the_same_whichever_end_a_page_starts_from(
    many_tagged: ManyTagged, tag: str
) -> None:
    ctx, expected = user(many_tagged.db, A), many_tagged.expected[tag]
    assert len(expected) == {"common": 800, "rare": 27}[tag]
    assert await listed(ctx, filters={"tags": [tag]}) == expected
    assert await listed(ctx, filters={"tags": [tag]}, limit=25) == expected[:25]
    assert await walk(ctx, 25, filters={"tags": [tag]}) == expected
    assert await walk(ctx, 11, filters={"tags": [tag, "common"]}) == expected


async def _page_statement(db: rawdb.Database, ctx: rawdb.Context, filters: dict[str, Any]) -> Any:
    """The one statement a first page of 25 with ``filters`` sends (its SQL and arguments)."""
    counter = rawdb.StatementCounter(keep=True)
    with db.hooked(counter):
        await api.image_get_all(ctx, filters=filters, limit=25)
    (event,) = counter.events
    return event


async def _sqlite_work(db: rawdb.Database, ctx: rawdb.Context, tag: str) -> int:
    """Virtual machine steps SQLite takes for the statement of a first page with ``tag``."""
    event = await _page_statement(db, ctx, {"tags": [tag]})
    return _steps(db, event.sql, event.args)


async def test_sqlite_starts_a_rare_tags_page_from_the_tag_and_a_common_ones_from_the_sort_order(
    sqlite_db: rawdb.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await schema.bootstrap(sqlite_db, "glance")
    many = await seed_many_tagged(sqlite_db)
    ctx = user(many.db, A)
    chosen = {tag: await _sqlite_work(many.db, ctx, tag) for tag in ("rare", "common")}
    forced: dict[str, int] = {}
    # the other plan, forced: never rare (the walk in sort order) or always (from the tag's rows)
    for tag, rare_below in (("rare", "0"), ("common", "1000000000")):
        monkeypatch.setattr(listing, "_rare_below", lambda limit, below=rare_below: below)
        listing.page_statement.cache_clear()
        forced[tag] = await _sqlite_work(many.db, ctx, tag)
        monkeypatch.undo()
        listing.page_statement.cache_clear()
    assert chosen["rare"] * 4 < forced["rare"], (chosen, forced)
    assert chosen["common"] < forced["common"], (chosen, forced)


async def _sqlite_page_work(db: rawdb.Database, ctx: rawdb.Context) -> int:
    """Virtual machine steps SQLite takes for the statement of a first page of 25."""
    event = await _page_statement(db, ctx, {"deleted": False, "os_hidden": False})
    return _steps(db, event.sql, event.args)


def _steps(db: rawdb.Database, sql: str, args: Any, before: str = "") -> int:
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    conn = sqlite3.connect(db.backend.path)  # type: ignore[attr-defined]
    try:
        if before:
            conn.executescript(before)
        conn.set_progress_handler(count, 1)
        conn.execute(sql, args).fetchall()
    finally:
        conn.close()
    return steps


async def test_sqlite_walks_the_sort_order_for_a_page_with_or_without_statistics(sqlite_db: rawdb.Database) -> None:
    # Without statistics SQLite guessed that a lookup of deleted/os_hidden, or one per arm of
    # the visibility OR, finds few rows, and sorted everything they found.
    await schema.bootstrap(sqlite_db, "glance")
    many = await seed_many_tagged(sqlite_db)
    for ctx in (user(many.db, A), admin(many.db)):
        without = await _sqlite_page_work(many.db, ctx)
        await asyncio.to_thread(_steps, many.db, "SELECT 1", (), "ANALYZE")
        analyzed = await _sqlite_page_work(many.db, ctx)
        await asyncio.to_thread(_steps, many.db, "SELECT 1", (), "DROP TABLE sqlite_stat1")
        assert without < 1.5 * analyzed, (ctx.is_admin, without, analyzed)
        assert without < 20_000, (ctx.is_admin, without)  # a page of 25 of 1,200, not a sort of them


async def _mysql_rows_read(db: rawdb.Database, ctx: rawdb.Context, filters: dict[str, Any]) -> int:
    """Rows MariaDB reads (its Handler_read_* counters) for the statement of a first page."""
    event = await _page_statement(db, ctx, filters)
    conn = await db.backend.bare_connection(read_only=True)  # type: ignore[attr-defined]
    try:

        async def reads() -> int:
            cursor = conn.cursor()
            await cursor.execute("SHOW SESSION STATUS LIKE 'Handler_read%%'", ())
            rows = await cursor.fetchall()
            await cursor.close()
            return sum(int(value) for _, value in rows)

        before = await reads()
        cursor = conn.cursor()
        await cursor.execute(event.sql, event.args)
        await cursor.fetchall()
        await cursor.close()
        return await reads() - before
    finally:
        await conn.ensure_closed()


async def test_mariadb_reads_as_many_rows_for_a_property_filters_page_however_many_images_there_are(
    mysql_url: str, open_db: Any
) -> None:
    # As a semi-join MariaDB read every live image through ix_images_deleted and sorted
    # them: at 10,000 images of the bench's dataset 11,619 rows for a page, at 2,000 1,526.
    db = await open_db(mysql_url)
    await schema.bootstrap(db, "glance")
    ctx, filters = user(db, A), {"deleted": False, "os_hidden": False, "properties": {"os_distro": "ubuntu"}}

    async def add(first: int, count: int) -> None:
        s = Seed(ids=itertools.count(2 * first + 1))  # two properties per image
        for k in range(first, first + count):
            hidden = k % 3 == 1
            image_id = s.image(
                f"img-{k:05d}", owner=B if hidden else A, visibility="private" if hidden else "public", created_at=t(-k)
            )
            s.prop(image_id, "os_distro", "ubuntu" if k % 4 == 0 else "rhel")
            s.prop(image_id, "os_type", "linux")
        await s.insert(db)
        async with db.context(is_admin=True).writer(autocommit=True) as tx:
            await tx.script("ANALYZE TABLE images, image_properties", "fresh statistics")

    expected = [f"img-{k:05d}" for k in range(600) if k % 4 == 0 and k % 3 != 1][:25]
    reads = []
    for first, count in ((0, 1000), (1000, 4000)):  # older images: the first page stays the same
        await add(first, count)
        assert await listed(ctx, filters=filters, limit=25) == expected
        reads.append(await _mysql_rows_read(db, ctx, filters))
    assert reads[1] < 1.3 * reads[0], reads


async def _shared_with_a_lot(db: rawdb.Database) -> list[str]:
    """1,100 images of proj-b shared with proj-a (accepted), under 100 newer public ones."""
    await schema.bootstrap(db, "glance")
    s = Seed()
    for k in range(1100):
        s.member(s.image(f"shared-{k:04d}", owner=B, visibility="shared", created_at=t(k)), A)
    for k in range(100):
        s.image(f"public-{k:04d}", owner=B, visibility="public", created_at=t(2000 + k))
    await s.insert(db)
    analyze = {"postgresql": "ANALYZE", "mysql": "ANALYZE TABLE images, image_members"}[db.dialect]
    async with db.context(is_admin=True).writer(autocommit=True) as tx:
        await tx.script(analyze, "fresh statistics, as autovacuum or InnoDB would gather them")
    return [f"public-{k:04d}" for k in range(99, 74, -1)]


async def _shared_page(db: rawdb.Database) -> Any:
    """proj-a's first page over _shared_with_a_lot's images (checked), and its statement."""
    expected = await _shared_with_a_lot(db)
    ctx, filters = user(db, A), {"deleted": False, "os_hidden": False}
    assert await listed(ctx, filters=filters, limit=25) == expected
    return await _page_statement(db, ctx, filters)


def _rows_of(node: Any, table: str) -> int:
    """Rows of ``table`` a PostgreSQL plan read (EXPLAIN's per-loop counts times the loops)."""
    if isinstance(node, list):
        return sum(_rows_of(item, table) for item in node)
    if not isinstance(node, dict):
        return 0
    read = sum(_rows_of(value, table) for value in node.values())
    if node.get("Relation Name") == table or table in node.get("Index Name", ""):
        per_loop = sum(float(node.get(k, 0)) for k in ("Actual Rows", "Rows Removed by Filter"))
        read += round(per_loop * int(node.get("Actual Loops", 1)))
    return read


async def test_postgresql_probes_memberships_per_image_not_all_of_them(pg_url: str, open_db: Any) -> None:
    # Hashed as `= ANY`, the membership probe read every live membership of the caller on
    # every page, however few shared images the page met.
    db = await open_db(pg_url)
    event = await _shared_page(db)
    dsn, _, search_path = pg_url.partition("?search_path=")
    settings = {**(event.session or {}), **({"search_path": search_path} if search_path else {})}
    conn = await asyncpg.connect(dsn, server_settings=settings)
    try:  # a prepared statement, as rawdb's reader runs it (its session's plan_cache_mode applies)
        plan = await (await conn.prepare(f"EXPLAIN (ANALYZE, FORMAT JSON) {event.sql}")).fetchval(*event.args)
    finally:
        await conn.close()
    read = _rows_of(json.loads(plan) if isinstance(plan, str) else plan, "image_members")
    assert read <= 25, read


async def test_mariadb_probes_memberships_per_image_not_all_of_them(mysql_url: str, open_db: Any) -> None:
    # Materialized as `IN` (LIMIT or not), the membership probe read every live membership
    # of the caller for each page.
    db = await open_db(mysql_url)
    event = await _shared_page(db)
    conn = await db.backend.bare_connection(read_only=True)  # type: ignore[attr-defined]
    try:
        cursor = conn.cursor()
        await cursor.execute(f"EXPLAIN {event.sql}", event.args)
        plan = await cursor.fetchall()
        await cursor.close()
    finally:
        await conn.ensure_closed()
    probes = [row[1] for row in plan if row[2] == "m"]  # (id, select_type, table, ...)
    assert probes == ["DEPENDENT SUBQUERY"], plan


async def test_a_plain_string_tags_filter_is_invalid(tagged: rawdb.Database) -> None:
    with pytest.raises(errors.Invalid):
        await api.image_get_all(user(tagged), filters={"tags": "ab"})


async def test_filters_whose_value_is_none_are_ignored(with_properties: rawdb.Database) -> None:
    nones = dict.fromkeys(
        ("name", "checksum", "os_hash_value", "os_hidden", "tags", "properties", "os", "size_min", "created_at"),
    )
    nones.update(visibility=None, owner=None, id=None, status=None)
    assert await listed_set(user(with_properties), filters=nones) == {"x", "y", "z"}


@pytest.fixture
async def sized(glance_db: rawdb.Database) -> rawdb.Database:
    return await seeded(
        glance_db,
        ("ten", {"size": 10, "virtual_size": 100, "min_ram": 1}),
        ("twenty", {"size": 20, "virtual_size": 200, "min_ram": 2}),
        ("unknown", {"size": None, "virtual_size": None}),
        ("thirty", {"size": 30, "virtual_size": 300, "min_ram": 3}),
    )


async def test_size_min_and_max_are_inclusive_ranges(sized: rawdb.Database) -> None:
    ctx = user(sized)
    assert await listed_set(ctx, filters={"size_min": 20}) == {"twenty", "thirty"}
    assert await listed_set(ctx, filters={"size_max": 20}) == {"ten", "twenty"}
    assert await listed_set(ctx, filters={"size_min": 15, "size_max": 25}) == {"twenty"}
    assert await listed_set(ctx, filters={"size_min": "20"}) == {"twenty", "thirty"}
    assert await listed_set(ctx, filters={"virtual_size_max": 200}) == {"ten", "twenty"}
    assert await listed_set(ctx, filters={"min_ram_min": 2}) == {"twenty", "thirty"}


@pytest.mark.parametrize("filters", [{"size_min": "big"}, {"size_max": "1.5"}, {"size_min": [1]}])
async def test_a_non_integer_range_bound_is_an_invalid_filter_range(sized: rawdb.Database, filters: dict) -> None:
    with pytest.raises(errors.InvalidFilterRangeValue):
        await api.image_get_all(user(sized), filters=filters)


@pytest.mark.parametrize("filters", [{"name_min": "a"}, {"created_at_max": "2024"}, {"status_min": 1}])
async def test_a_range_on_a_non_numeric_column_is_an_invalid_filter_range(sized: rawdb.Database, filters: dict) -> None:
    with pytest.raises(errors.InvalidFilterRangeValue):
        await api.image_get_all(user(sized), filters=filters)


@pytest.fixture
async def timed(glance_db: rawdb.Database) -> rawdb.Database:
    """Images created at t(0), t(1), t(2) and updated an hour later."""
    return await seeded(
        glance_db,
        ("t0", {"created_at": t(0), "updated_at": t(60)}),
        ("t1", {"created_at": t(1), "updated_at": t(61)}),
        ("t2", {"created_at": t(2), "updated_at": t(62)}),
    )


T1 = "2024-01-01T00:01:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"gt:{T1}", {"t2"}),
        (f"gte:{T1}", {"t1", "t2"}),
        (f"lt:{T1}", {"t0"}),
        (f"lte:{T1}", {"t0", "t1"}),
        (f"neq:{T1}", {"t0", "t2"}),
        (f"eq:{T1}", {"t1"}),
        (T1, {"t1"}),
        (f"{T1}Z", {"t1"}),
        (f"gte:{T1}Z", {"t1", "t2"}),
        ("2024-01-01T01:01:00+01:00", {"t1"}),
        ("lt:2023-12-31T19:01:00-05:00", {"t0"}),
        ("eq:2024-01-01T00:01:00.000000", {"t1"}),
    ],
)
async def test_created_at_filters_compare_with_naive_utc_times(
    timed: rawdb.Database, value: str, expected: set[str]
) -> None:
    assert await listed_set(user(timed), filters={"created_at": value}) == expected


async def test_updated_at_filters_compare_with_naive_utc_times(timed: rawdb.Database) -> None:
    ctx = user(timed)
    assert await listed_set(ctx, filters={"updated_at": "gte:2024-01-01T01:01:00Z"}) == {"t1", "t2"}
    assert await listed_set(ctx, filters={"updated_at": "2024-01-01T01:02:00"}) == {"t2"}
    both = {"created_at": "gt:2024-01-01T00:00:00Z", "updated_at": "lt:2024-01-01T01:02:00Z"}
    assert await listed_set(ctx, filters=both) == {"t1"}


@pytest.mark.parametrize("value", ["gt:yesterday", "yesterday", "lt:", "eq:2024-13-01T00:00:00", "eq:2024-01-01Tnoon"])
async def test_a_bad_time_is_an_invalid_parameter_value(timed: rawdb.Database, value: str) -> None:
    for column in ("created_at", "updated_at"):
        with pytest.raises(errors.InvalidParameterValue):
            await api.image_get_all(user(timed), filters={column: value})


@pytest.mark.parametrize("value", [f"after:{T1}", f"in:{T1}", f"ge:{T1}Z"])
async def test_a_bad_time_operator_is_an_invalid_filter_operator(timed: rawdb.Database, value: str) -> None:
    for column in ("created_at", "updated_at"):
        with pytest.raises(errors.InvalidFilterOperatorValue):
            await api.image_get_all(user(timed), filters={column: value})


@pytest.fixture
async def named(glance_db: rawdb.Database) -> rawdb.Database:
    return await seeded(
        glance_db,
        ("id-alpha", {"name": "alpha", "disk_format": "qcow2", "container_format": "bare", "status": "active"}),
        ("id-beta", {"name": "beta", "disk_format": "raw", "container_format": "ovf", "status": "queued"}),
        ("id-comma", {"name": "gamma,delta", "disk_format": "iso", "container_format": "bare", "status": "saving"}),
        ("id-colon", {"name": "a:b", "disk_format": "raw", "status": "active"}),
        ("id-quote", {"name": r"x\"y", "status": "active"}),
        ("id-none", {"name": None, "status": "active"}),
    )


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"name": "in:alpha,beta"}, {"id-alpha", "id-beta"}),
        ({"name": 'in:alpha,"gamma,delta"'}, {"id-alpha", "id-comma"}),
        ({"name": 'in:"gamma,delta",beta'}, {"id-comma", "id-beta"}),
        ({"name": 'in:"x\\"y",nothing'}, {"id-quote"}),
        ({"name": "in:nothing"}, set()),
        ({"name": "eq:alpha"}, {"id-alpha"}),
        ({"name": "alpha"}, {"id-alpha"}),
        ({"name": "gamma,delta"}, {"id-comma"}),
        ({"name": "eq:a:b"}, {"id-colon"}),
        ({"name": "in:a:b,alpha"}, {"id-colon", "id-alpha"}),
        ({"id": "in:id-alpha,id-none"}, {"id-alpha", "id-none"}),
        ({"id": "id-beta"}, {"id-beta"}),
        ({"status": "in:queued,saving"}, {"id-beta", "id-comma"}),
        ({"status": "eq:queued"}, {"id-beta"}),
        ({"disk_format": "in:raw,iso"}, {"id-beta", "id-comma", "id-colon"}),
        ({"disk_format": "raw", "name": "in:beta,alpha"}, {"id-beta"}),
        ({"container_format": "in:bare"}, {"id-alpha", "id-comma"}),
        ({"container_format": "eq:ovf"}, {"id-beta"}),
    ],
)
async def test_list_filters_take_in_lists_with_quoting_eq_and_bare_values(
    named: rawdb.Database, filters: dict[str, str], expected: set[str]
) -> None:
    assert await listed_set(user(named), filters=filters) == expected


@pytest.mark.parametrize("value", ['in:alpha,"beta', 'in:al"pha",beta', 'in:"alpha"beta', 'in:"alpha'])
async def test_bad_quoting_in_an_in_list_is_an_invalid_parameter_value(named: rawdb.Database, value: str) -> None:
    with pytest.raises(errors.InvalidParameterValue):
        await api.image_get_all(user(named), filters={"name": value})


@pytest.mark.parametrize(
    "filters",
    [
        {"name": "gt:alpha"},
        {"name": "lte:x"},
        {"status": "neq:active"},
        {"disk_format": "gte:raw"},
        {"name": "a:b"},  # as glance: operator "a" (test_glance_filter_ops.py has every rule)
    ],
)
async def test_a_comparison_operator_on_a_list_column_is_an_invalid_filter_operator(
    named: rawdb.Database, filters: dict[str, str]
) -> None:
    with pytest.raises(errors.InvalidFilterOperatorValue):
        await api.image_get_all(user(named), filters=filters)


async def test_other_image_columns_filter_by_equality(glance_db: rawdb.Database) -> None:
    db = await seeded(
        glance_db,
        ("x", {"owner": B, "protected": True, "min_ram": 512, "os_hash_algo": "sha512", "min_disk": 1}),
        ("y", {"owner": A, "protected": False, "min_ram": 512, "virtual_size": 7}),
        ("z", {"owner": None, "protected": False, "min_ram": 0}),
    )
    ctx = admin(db)
    assert await listed_set(ctx, filters={"owner": B}) == {"x"}
    assert await listed_set(ctx, filters={"protected": True}) == {"x"}
    assert await listed_set(ctx, filters={"protected": False}) == {"y", "z"}
    assert await listed_set(ctx, filters={"min_ram": 512}) == {"x", "y"}
    assert await listed_set(ctx, filters={"min_ram": 512, "owner": A}) == {"y"}
    assert await listed_set(ctx, filters={"os_hash_algo": "sha512"}) == {"x"}
    assert await listed_set(ctx, filters={"virtual_size": 7}) == {"y"}
    assert await listed_set(ctx, filters={"min_disk": 1}) == {"x"}


@pytest.mark.parametrize(
    "filters",
    [{"protected": "yes"}, {"min_ram": "512"}, {"owner": 5}, {"os_hidden": 1}, {"min_disk": 1.5}, {"deleted": "no"}],
)
async def test_a_column_filter_of_the_wrong_type_is_invalid(glance_db: rawdb.Database, filters: dict) -> None:
    with pytest.raises(errors.Invalid):
        await api.image_get_all(user(glance_db), filters=filters)


@pytest.mark.parametrize("visibility", ["everyone", "Public", "", "shared,public"])
async def test_an_unknown_visibility_filter_is_invalid(world: rawdb.Database, visibility: str) -> None:
    for ctx in (user(world), admin(world), user(world, None)):
        with pytest.raises(errors.Invalid):
            await api.image_get_all(ctx, filters={"visibility": visibility})


@pytest.mark.parametrize("member_status", ["Accepted", "any", None, ""])
async def test_an_unknown_member_status_is_invalid(world: rawdb.Database, member_status: Any) -> None:
    with pytest.raises(errors.Invalid):
        await api.image_get_all(user(world), member_status=member_status)


@pytest.mark.parametrize(
    "filters",
    [
        {"name": "snake \U0001f40d"},
        {"name": "in:a,\U0001f40d"},
        {"properties": {"os": "\U0001f40d"}},
        {"\U0001f40d": "x"},
        {"tags": ["\U0001f40d"]},
        {"checksum": "\U0001f40d"},
    ],
)
async def test_four_byte_unicode_in_a_filter_is_invalid(glance_db: rawdb.Database, filters: dict) -> None:
    with pytest.raises(errors.Invalid):
        await api.image_get_all(user(glance_db), filters=filters)


# --- sorting (spec C.4) ---------------------------------------------------------------------


async def test_the_default_order_is_created_at_then_id_descending(glance_db: rawdb.Database) -> None:
    db = await seeded(
        glance_db,
        ("a", {"created_at": t(0)}),
        ("c", {"created_at": t(1)}),
        ("b", {"created_at": t(1)}),
        ("d", {"created_at": t(2)}),
    )
    assert await listed(user(db)) == ["d", "c", "b", "a"]
    assert await listed(user(db), sort_key=[], sort_dir=[]) == ["d", "c", "b", "a"]


def null_smallest(value: Any) -> tuple[bool, Any]:
    return (value is not None, value)


def model_order(rows: list[dict[str, Any]], keys: list[str], dirs: list[str]) -> list[str]:
    """Python's order: NULL is the smallest value, ties broken by the later keys."""

    def compare(x: dict[str, Any], y: dict[str, Any]) -> int:
        for key, direction in zip(keys, dirs, strict=True):
            u, v = null_smallest(x[key]), null_smallest(y[key])
            if u != v:
                smaller = -1 if u < v else 1
                return -smaller if direction == "desc" else smaller
        return 0

    return [r["id"] for r in sorted(rows, key=functools.cmp_to_key(compare))]


def varied_images() -> Seed:
    """Six images whose every column has ties and (where nullable) NULLs."""
    s = Seed()
    values = [
        ("i-1", "b", "raw", "bare", 10, None, "active", "public", "c1", None, "h2", 0, 512, B, True, False),
        ("i-2", None, "qcow2", None, None, 5, "queued", "shared", None, "sha512", "h1", 1, 0, A, False, True),
        ("i-3", "a", None, "bare", 10, 5, "active", "community", "c2", "md5", None, 0, 512, None, False, False),
        ("i-4", "b", "raw", "ovf", 3, 7, "saving", "private", "c1", "sha512", "h1", 2, 128, A, True, False),
        ("i-5", "B", "iso", None, None, None, "killed", "public", None, None, None, 1, 0, B, False, True),
        ("i-6", "", "raw", "bare", 3, 7, "active", "shared", "c3", "md5", "h3", 0, 128, None, False, False),
    ]
    columns = (
        "name disk_format container_format size virtual_size status visibility checksum os_hash_algo "
        "os_hash_value min_disk min_ram owner protected os_hidden"
    ).split()
    created = [t(0), t(1), t(1), t(2), t(0), t(3)]
    updated = [t(5), None, t(5), t(4), None, t(6)]
    deleted = [False, False, True, False, True, False]
    for n, (image_id, *row) in enumerate(values):
        s.image(
            image_id,
            **dict(zip(columns, row, strict=True)),
            created_at=created[n],
            updated_at=updated[n],
            deleted=deleted[n],
            deleted_at=t(7 + n % 2) if deleted[n] else None,
        )
    return s


@pytest.mark.parametrize("direction", ["asc", "desc"])
async def test_every_image_column_is_a_sort_key_with_nulls_smallest(glance_db: rawdb.Database, direction: str) -> None:
    seed = varied_images()
    await seed.insert(glance_db)
    ctx = admin(glance_db)
    # visibility is checked across backends below: PostgreSQL's column is an enum
    for column in (c for c in IMAGE_COLUMN_NAMES if c != "visibility"):
        keys = [column, *(k for k in ("created_at", "id") if k != column)]
        expected = model_order(seed.images, keys, [direction] * len(keys))
        found = await listed(ctx, sort_key=[column], sort_dir=[direction], filters={"visibility": "all"})
        assert found == expected, column


async def test_sorting_by_visibility_gives_the_same_order_on_both_backends(
    sqlite_url: str, pg_url: str, open_db: Any
) -> None:
    orders: dict[str, list[list[str]]] = {}
    for url in (sqlite_url, pg_url):
        db = await open_db(url)
        await schema.bootstrap(db, "glance")
        await varied_images().insert(db)
        ctx = admin(db)
        orders[db.dialect] = [
            await listed(ctx, sort_key=["visibility"], sort_dir=[direction], filters={"visibility": "all"})
            for direction in ("asc", "desc")
        ]
    assert orders["postgresql"] == orders["sqlite"]


async def test_every_image_column_pages_without_skipping_or_repeating(glance_db: rawdb.Database) -> None:
    await varied_images().insert(glance_db)
    ctx = admin(glance_db)
    for column in IMAGE_COLUMN_NAMES:
        for direction in ("asc", "desc"):
            kwargs = {"sort_key": [column], "sort_dir": [direction], "filters": {"visibility": "all"}}
            unpaged = await listed(ctx, **kwargs)
            for limit in (1, 2, 4):
                assert await walk(ctx, limit, **kwargs) == unpaged, (column, direction, limit)


@pytest.mark.parametrize("key", ["nope", "properties", "locations", "tags", "members", "is_public", ""])
async def test_an_unknown_sort_key_is_invalid_sort_key(glance_db: rawdb.Database, key: str) -> None:
    with pytest.raises(errors.InvalidSortKey):
        await api.image_get_all(user(glance_db), sort_key=[key])
    with pytest.raises(errors.InvalidSortKey):
        await api.image_get_all(user(glance_db), sort_key=["name", key], sort_dir=["asc", "asc"])


@pytest.mark.parametrize("sort_dir", [["up"], ["ASC"], ["asc", "sideways"], [None]])
async def test_a_bad_sort_direction_is_invalid_sort_dir_not_key_error(
    glance_db: rawdb.Database, sort_dir: list
) -> None:
    with pytest.raises(errors.InvalidSortDir) as raised:
        await api.image_get_all(user(glance_db), sort_key=["name", "size"][: len(sort_dir)], sort_dir=sort_dir)
    assert isinstance(raised.value, errors.Invalid)
    assert not isinstance(raised.value, KeyError)


async def test_one_sort_dir_applies_to_every_key(glance_db: rawdb.Database) -> None:
    seed = varied_images()
    await seed.insert(glance_db)
    ctx = admin(glance_db)
    all_ = {"visibility": "all"}
    for direction in ("asc", "desc"):
        keys = ["disk_format", "size", "created_at", "id"]
        expected = model_order(seed.images, keys, [direction] * 4)
        assert await listed(ctx, sort_key=["disk_format", "size"], sort_dir=[direction], filters=all_) == expected


async def test_mixed_directions_apply_key_by_key(glance_db: rawdb.Database) -> None:
    seed = varied_images()
    await seed.insert(glance_db)
    ctx = admin(glance_db)
    all_ = {"visibility": "all"}
    expected = model_order(seed.images, ["disk_format", "size", "created_at", "id"], ["asc", "desc", "desc", "desc"])
    kwargs = {"sort_key": ["disk_format", "size"], "sort_dir": ["asc", "desc"], "filters": all_}
    assert await listed(ctx, **kwargs) == expected
    assert await walk(ctx, 2, **kwargs) == expected


@pytest.mark.parametrize(
    ("sort_key", "sort_dir"),
    [(["name", "size", "id"], ["asc", "desc"]), (["name"], ["asc", "desc"]), (None, ["asc", "desc"])],
)
async def test_sort_dirs_that_do_not_match_the_keys_are_invalid(
    glance_db: rawdb.Database, sort_key: list | None, sort_dir: list
) -> None:
    with pytest.raises(errors.Invalid):
        await api.image_get_all(user(glance_db), sort_key=sort_key, sort_dir=sort_dir)


@pytest.fixture
async def ties(glance_db: rawdb.Database) -> rawdb.Database:
    """Names tie, and within a name, creation times tie too."""
    return await seeded(
        glance_db,
        ("p", {"name": "same", "created_at": t(1), "size": 1}),
        ("q", {"name": "same", "created_at": t(0), "size": 1}),
        ("r", {"name": "same", "created_at": t(1), "size": 1}),
        ("s", {"name": "other", "created_at": t(0), "size": 2}),
    )


async def test_created_at_and_id_break_ties_in_the_default_direction(ties: rawdb.Database) -> None:
    ctx = user(ties)
    assert await listed(ctx, sort_key=["name"]) == ["r", "p", "q", "s"]
    assert await listed(ctx, sort_key=["name"], sort_dir=["asc"]) == ["s", "q", "p", "r"]
    assert await listed(ctx, sort_key=["name"], sort_dir=["desc"]) == ["r", "p", "q", "s"]
    # with a direction per key, the tie-breakers keep the default (descending)
    assert await listed(ctx, sort_key=["name", "size"], sort_dir=["asc", "asc"]) == ["s", "r", "p", "q"]
    assert await listed(ctx, sort_key=["name", "id"], sort_dir=["asc", "asc"]) == ["s", "p", "q", "r"]


async def test_image_get_all_never_mutates_the_callers_arguments(tagged: rawdb.Database) -> None:
    filters = {
        "visibility": "public",
        "name": "in:a,b",
        "tags": ["a"],
        "properties": {"os": "linux"},
        "changes-since": t(-1),
        "deleted": False,
        "created_at": "gte:2023-01-01T00:00:00Z",
    }
    sort_key, sort_dir = ["name"], ["asc"]
    before = copy.deepcopy((filters, sort_key, sort_dir))
    await api.image_get_all(user(tagged), filters=filters, sort_key=sort_key, sort_dir=sort_dir)
    assert (filters, sort_key, sort_dir) == before
    one_key: list[str] = ["size"]
    await api.image_get_all(admin(tagged), sort_key=one_key)
    assert one_key == ["size"]


# --- NULLs, markers and limits (spec C.4) ---------------------------------------------------


@pytest.fixture
async def null_names(glance_db: rawdb.Database) -> rawdb.Database:
    return await seeded(
        glance_db,
        ("n-b", {"name": "b", "size": 2}),
        ("n-none", {"name": None, "size": None}),
        ("n-a", {"name": "a", "size": 1}),
        ("n-none2", {"name": None, "size": None}),
    )


async def test_null_sorts_as_the_smallest_value(null_names: rawdb.Database) -> None:
    ctx = user(null_names)
    assert await listed(ctx, sort_key=["name"], sort_dir=["asc"]) == ["n-none", "n-none2", "n-a", "n-b"]
    assert await listed(ctx, sort_key=["name"], sort_dir=["desc"]) == ["n-b", "n-a", "n-none2", "n-none"]
    assert await listed(ctx, sort_key=["size"], sort_dir=["asc"]) == ["n-none", "n-none2", "n-a", "n-b"]


@pytest.mark.parametrize("key", ["name", "size"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
async def test_paging_through_null_sort_values_skips_and_repeats_nothing(
    null_names: rawdb.Database, key: str, direction: str
) -> None:
    ctx = user(null_names)
    unpaged = await listed(ctx, sort_key=[key], sort_dir=[direction])
    assert len(unpaged) == 4
    for limit in (1, 2, 3):
        assert await walk(ctx, limit, sort_key=[key], sort_dir=[direction]) == unpaged


async def test_a_marker_whose_sort_value_is_null_starts_after_it(null_names: rawdb.Database) -> None:
    ctx = user(null_names)
    assert await listed(ctx, sort_key=["size"], sort_dir=["asc"], marker="n-none") == ["n-none2", "n-a", "n-b"]
    assert await listed(ctx, sort_key=["size"], sort_dir=["desc"], marker="n-none2") == ["n-none"]
    assert await listed(ctx, sort_key=["name"], sort_dir=["desc"], marker="n-none") == []


async def test_an_unknown_marker_is_marker_not_found(null_names: rawdb.Database) -> None:
    for ctx in (user(null_names), admin(null_names)):
        for sort_key in (None, ["name"]):
            with pytest.raises(errors.MarkerNotFound) as raised:
                await api.image_get_all(ctx, marker="no-such-image", sort_key=sort_key)
            assert isinstance(raised.value, errors.NotFound)


async def test_a_marker_the_caller_may_not_see_is_marker_not_found(world: rawdb.Database) -> None:
    for marker in ("priv-b", "priv-b-member", "shared-b-other", "shared-b-gone"):
        for sort_key in (None, ["name"]):
            with pytest.raises(errors.MarkerNotFound):
                await api.image_get_all(user(world), marker=marker, sort_key=sort_key)
    with pytest.raises(errors.MarkerNotFound):
        await api.image_get_all(user(world, None), marker="shared-b-accepted")


async def test_a_marker_visible_by_membership_of_any_status_is_accepted(world: rawdb.Database) -> None:
    # shared-b-pending is not listed (accepted only) but A may see it: the page starts after it
    assert await listed(user(world), marker="shared-b-pending") == ["shared-b-accepted", "pub-b"]


async def test_a_marker_visible_by_id_but_not_listed_pages_from_its_position(world: rawdb.Database) -> None:
    ctx = user(world)
    created = {row["id"]: row["created_at"] for row in await api.image_get_all(admin(world), {"visibility": "all"})}
    expected = [i for i in await listed(ctx) if created[i] < created["priv-none"]]
    assert await listed(ctx, marker="priv-none") == expected


async def test_a_deleted_marker_is_not_found_unless_deleted_images_are_shown(lifecycle: rawdb.Database) -> None:
    ctx = user(lifecycle)
    with pytest.raises(errors.NotFound):
        await api.image_get_all(ctx, marker="gone")
    with pytest.raises(errors.NotFound):
        await api.image_get_all(ctx, marker="gone", sort_key=["name"])
    assert await listed(ctx, marker="gone-killed", filters={"deleted": True}) == ["gone"]
    assert await listed(ctx, marker="gone", filters={"changes-since": t(-1)}) == ["killed", "live"]
    assert await listed(admin(lifecycle), marker="gone") == ["killed", "live"]
    assert await listed(rawdb.Context(lifecycle, project_id=A, show_deleted=True), marker="gone") == ["killed", "live"]


async def test_limit_none_lists_everything_zero_nothing(null_names: rawdb.Database) -> None:
    ctx = user(null_names)
    assert len(await listed(ctx, limit=None)) == 4
    assert await listed(ctx, limit=0) == []
    assert await listed(ctx, limit=0, marker="n-a") == []
    assert len(await listed(ctx, limit=3)) == 3
    assert len(await listed(ctx, limit=10)) == 4


@pytest.mark.parametrize("limit", [-1, -100, "5", 2.0, True])
async def test_a_negative_or_non_integer_limit_is_invalid(null_names: rawdb.Database, limit: Any) -> None:
    with pytest.raises(errors.Invalid):
        await api.image_get_all(user(null_names), limit=limit)


# --- the result (spec B.0) ------------------------------------------------------------------


@pytest.fixture
async def detailed(glance_db: rawdb.Database) -> rawdb.Database:
    s = Seed()
    s.image("full", owner=A, name="full", size=5, checksum="c", visibility="shared")
    s.prop("full", "os", "linux")
    s.prop("full", "gone", "yes", deleted=True)
    s.location("full", "file:///one", {"store": "fast"})
    s.location("full", "file:///dead", deleted=True)
    s.location("full", "file:///two")
    s.tag("full", "zeta")
    s.tag("full", "alpha", deleted=True)
    s.tag("full", "mid")
    s.image("bare", owner=A, visibility="public")
    s.image("off", owner=A, status="deactivated")
    s.location("off", "file:///off")
    s.image("dead", owner=A, deleted=True, status="deleted", updated_at=t(50))
    s.location("dead", "file:///dead-live")
    s.location("dead", "file:///dead-dead", deleted=True)
    s.tag("dead", "old")
    await s.insert(glance_db)
    return glance_db


async def by_id(ctx: rawdb.Context, **kwargs: Any) -> dict[str, dict[str, Any]]:
    return {image["id"]: image for image in await api.image_get_all(ctx, **kwargs)}


async def test_each_image_is_a_b0_dict_without_tags_by_default(detailed: rawdb.Database) -> None:
    found = await by_id(user(detailed))
    full = found["full"]
    assert list(full) == [*IMAGE_COLUMN_NAMES, "properties", "locations"]
    assert full["owner"] == A and full["visibility"] == "shared" and full["size"] == 5
    assert full["created_at"] == t(0) and full["created_at"].tzinfo is None
    assert full["deleted"] is False and full["protected"] is False and full["os_hidden"] is False
    assert found["bare"]["properties"] == [] and found["bare"]["locations"] == []


async def test_properties_include_deleted_rows_with_their_flags(detailed: rawdb.Database) -> None:
    props = (await by_id(user(detailed)))["full"]["properties"]
    assert [(p["name"], p["value"], p["deleted"]) for p in props] == [("os", "linux", False), ("gone", "yes", True)]
    assert set(props[0]) == {"id", "image_id", "name", "value", "created_at", "updated_at", "deleted_at", "deleted"}
    assert props[0]["image_id"] == "full" and props[0]["deleted_at"] is None
    assert props[1]["deleted_at"] == t(101) and props[1]["created_at"] == t(101)


async def test_locations_are_live_ones_in_insertion_order(detailed: rawdb.Database) -> None:
    full = (await by_id(user(detailed)))["full"]
    assert full["locations"] == [
        {"id": 3, "url": "file:///one", "metadata": {"store": "fast"}, "status": "active"},
        {"id": 5, "url": "file:///two", "metadata": {}, "status": "active"},
    ]
    assert [loc["url"] for loc in (await by_id(admin(detailed)))["dead"]["locations"]] == ["file:///dead-live"]


async def test_deleted_locations_are_shown_when_deleted_images_are(detailed: rawdb.Database) -> None:
    since = await by_id(user(detailed), filters={"changes-since": t(-1)})
    assert [loc["url"] for loc in since["full"]["locations"]] == ["file:///one", "file:///dead", "file:///two"]
    assert since["full"]["locations"][1]["status"] == "deleted"
    dead = (await by_id(user(detailed), filters={"deleted": True}))["dead"]
    assert [loc["url"] for loc in dead["locations"]] == ["file:///dead-live", "file:///dead-dead"]


async def test_return_tag_adds_live_tags_in_insertion_order(detailed: rawdb.Database) -> None:
    found = await by_id(user(detailed), return_tag=True)
    assert list(found["full"]) == [*IMAGE_COLUMN_NAMES, "properties", "locations", "tags"]
    assert found["full"]["tags"] == ["zeta", "mid"]
    assert found["bare"]["tags"] == []
    assert found["dead"]["tags"] == ["old"]


async def test_a_deactivated_image_has_no_locations_for_non_admins(detailed: rawdb.Database) -> None:
    assert (await by_id(user(detailed)))["off"]["locations"] == []
    assert [loc["url"] for loc in (await by_id(admin(detailed)))["off"]["locations"]] == ["file:///off"]


async def test_v1_mode_swaps_visibility_for_is_public(detailed: rawdb.Database) -> None:
    found = await by_id(user(detailed), v1_mode=True)
    assert "visibility" not in found["full"]
    assert found["full"]["is_public"] is False
    assert found["bare"]["is_public"] is True


def comparison_seed() -> Seed:
    s = varied_images()
    s.image("kids", owner=A, name="kids", visibility="shared", created_at=t(2), updated_at=t(2))
    s.member("kids", B, "accepted")
    s.prop("kids", "os", "linux")
    s.prop("kids", "arch", "arm", deleted=True)
    s.location("kids", "file:///a", {"n": 1, "list": [1, "x"]})
    s.location("kids", "file:///b", deleted=True)
    s.tag("kids", "t2")
    s.tag("kids", "t1")
    s.tag("kids", "t0", deleted=True)
    s.prop("i-1", "os", "linux")
    s.member("i-2", B, "pending")
    s.member("i-4", B, "accepted")
    return s


async def test_both_backends_return_identical_dicts(sqlite_url: str, pg_url: str, open_db: Any) -> None:
    calls: list[tuple[str | None, bool, dict[str, Any]]] = [
        ("proj-admin", True, {}),
        ("proj-admin", True, {"filters": {"visibility": "all"}, "return_tag": True}),
        ("proj-admin", True, {"filters": {"changes-since": t(-1)}, "sort_key": ["name"], "sort_dir": ["asc"]}),
        (A, False, {"return_tag": True, "member_status": "all"}),
        (B, False, {"filters": {"visibility": "shared"}, "return_tag": True, "v1_mode": True}),
        (B, False, {"sort_key": ["size", "name"], "sort_dir": ["asc", "desc"], "limit": 3, "marker": "i-1"}),
        (None, False, {"filters": {"os": "linux"}}),
        (A, False, {"filters": {"deleted": False, "tags": ["t1"]}, "return_tag": True}),
    ]
    results: dict[str, list[list[dict[str, Any]]]] = {}
    for url in (sqlite_url, pg_url):
        db = await open_db(url)
        await schema.bootstrap(db, "glance")
        await comparison_seed().insert(db)
        results[db.dialect] = [
            await api.image_get_all(rawdb.Context(db, project_id=project, is_admin=is_admin), **kwargs)
            for project, is_admin, kwargs in calls
        ]
    for n, (lite, pg) in enumerate(zip(results["sqlite"], results["postgresql"], strict=True)):
        assert [i["id"] for i in lite] == [i["id"] for i in pg], calls[n]
        for x, y in zip(lite, pg, strict=True):
            assert x == y, (calls[n], x["id"], {k: (x.get(k), y.get(k)) for k in {*x, *y} if x.get(k) != y.get(k)})
    kids = next(i for i in results["postgresql"][1] if i["id"] == "kids")
    assert kids["tags"] == ["t2", "t1"]
    assert kids["locations"] == [
        {"id": 4, "url": "file:///a", "metadata": {"n": 1, "list": [1, "x"]}, "status": "active"}
    ]
    assert [(p["name"], p["deleted"], p["updated_at"]) for p in kids["properties"]] == [
        ("os", False, t(101)),
        ("arch", True, t(102)),
    ]
    assert all(len(r) > 0 for r in results["sqlite"][:4])


# --- statements sent ------------------------------------------------------------------


async def test_a_page_is_one_statement_and_filters_on_values_force_a_custom_plan(glance_db: rawdb.Database) -> None:
    ctx = rawdb.Context(glance_db, project_id="p1")
    counter = rawdb.StatementCounter(keep=True)
    pools_at_start = glance_db.stats()["max_size"]
    with glance_db.hooked(counter):
        await api.image_get_all(ctx, {"deleted": False, "os_hidden": False}, limit=25, return_tag=True)
        await api.image_get_all(ctx, {"deleted": False, "os_hidden": False}, limit=25, marker=None)
    assert [e.name for e in counter.events] == ["glance.images.image_get_all"] * 2
    if glance_db.dialect == "postgresql":
        # the plain listing (only the flags every API call sets) has one good plan whatever the
        # values: it runs on reader sessions with plan_cache_mode = force_generic_plan
        # (one pool of such sessions, opened at the first page)
        assert glance_db.stats()["max_size"] == pools_at_start + glance_db.options["pool_size"]

    counter.reset()
    pools_before = glance_db.stats()["max_size"]
    with glance_db.hooked(counter):
        await api.image_get_all(ctx, {"deleted": False, "properties": {"os_distro": "ubuntu"}}, limit=25)
        await api.image_get_all(ctx, {"deleted": False, "tags": ["a"]}, limit=25)
    assert [e.name for e in counter.events] == ["glance.images.image_get_all"] * 2
    if glance_db.dialect == "postgresql":
        # a generic plan of a value-dependent filter ran 15x slower (spec perf_baseline.md):
        # such pages run on a pool of reader sessions with plan_cache_mode = force_custom_plan
        assert glance_db.stats()["max_size"] == pools_before + glance_db.options["pool_size"]


async def test_the_page_statement_text_depends_on_the_shape_not_the_values(glance_db: rawdb.Database) -> None:
    counter = rawdb.StatementCounter(keep=True)
    with glance_db.hooked(counter):
        for owner, name in (("p1", "a"), ("p2", "b")):
            ctx = rawdb.Context(glance_db, project_id=owner)
            await api.image_get_all(ctx, {"deleted": False, "name": name}, limit=25)
    first, second = counter.events
    assert first.sql == second.sql
    assert "p1" not in first.sql and "'a'" not in first.sql
    assert list(first.args) != list(second.args)
