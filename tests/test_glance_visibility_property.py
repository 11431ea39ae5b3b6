"""Property tests of image_get_all on both backends: visibility against a model, and paging.

The visibility model is spec glance.md C.3 and D in a few lines of Python, with rawdb's
fix (G.11): a non-admin context without a project lists public images (and community
ones when asked for), never shared images through other people's memberships.  The
paging test walks every page of random sorts over random images (NULLs and ties in
many columns) and checks the walk against the unpaged order, the unpaged order against
Python's, and both backends against each other.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import rawdb
from rawdb import schema
from rawdb.glance import images as api
from rawdb.glance._validate import IMAGE_COLUMN_NAMES
from rawdb.statement import Statement

T0 = datetime(2024, 1, 1)
PROJECTS = ("p1", "p2", "p3")
OWNERS = (None, *PROJECTS)
VISIBILITIES = ("private", "public", "shared", "community")
MEMBER_STATUSES = ("pending", "accepted", "rejected")
STATUSES = ("active", "queued", "killed", "deleted", "deactivated")
PGBOUNCER = True  # the PostgreSQL side runs through a PgBouncer in transaction pooling mode too (conftest.py)

INSERT_MEMBER = Statement.portable(
    "test.glance_property.member",
    "INSERT INTO image_members (id, image_id, member, can_share, status, created_at, updated_at, deleted_at, deleted)"
    " VALUES (:id, :image_id, :member, false, :status, :at, :at, :deleted_at, :deleted)",
)
CLEAR = [
    Statement.portable(f"test.glance_property.clear_{table}", f"DELETE FROM {table}")
    for table in ("image_tags", "image_members", "image_locations", "image_properties", "images")
]
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
    "updated_at": None,
    "deleted_at": None,
    "deleted": False,
}


@pytest.fixture
async def both(sqlite_url: str, pg_url: str) -> tuple[str, str]:
    """One glance database per backend for the whole test; examples clear the tables."""
    for url in (sqlite_url, pg_url):
        async with rawdb.connect(url) as db:
            await schema.bootstrap(db, "glance")
    return sqlite_url, pg_url


async def reset(db: rawdb.Database, images: list[dict[str, Any]], members: list[dict[str, Any]]) -> None:
    async with db.writer() as tx:
        for statement in CLEAR:
            await tx.execute(statement)
        for image in images:
            await tx.fetchrow("glance.images.image_insert", **{**IMAGE_DEFAULTS, **image})
        for member in members:
            await tx.execute(INSERT_MEMBER, **member)


# --- the visibility model (spec C.3, D, with rawdb's fix) ------------------------------------


@dataclass(frozen=True)
class Caller:
    """A context and the image_get_all arguments that decide visibility."""

    is_admin: bool
    project: str | None
    admin_as_user: bool = False
    member_status: str = "accepted"
    visibility: str | None = None
    deleted: bool | None = None  # None: no ``deleted`` filter
    probe_status: str | None = None  # the ``status`` passed to is_image_visible

    @property
    def regular(self) -> bool:
        return not self.is_admin or self.admin_as_user

    def context(self, db: rawdb.Database) -> rawdb.Context:
        return rawdb.Context(db, project_id=self.project, user_id="u", is_admin=self.is_admin)

    def kwargs(self) -> dict[str, Any]:
        filters: dict[str, Any] = {}
        if self.visibility is not None:
            filters["visibility"] = self.visibility
        if self.deleted is not None:
            filters["deleted"] = self.deleted
        return {"filters": filters, "member_status": self.member_status, "admin_as_user": self.admin_as_user}


def is_member(members: list[dict[str, Any]], image_id: str, project: str, status: str | None) -> bool:
    """A live membership of ``project`` in the image, of ``status`` (None: any)."""
    return any(
        m["image_id"] == image_id and m["member"] == project and not m["deleted"] and status in (None, m["status"])
        for m in members
    )


def model_listed(caller: Caller, image: dict[str, Any], members: list[dict[str, Any]]) -> bool:
    """Whether image_get_all lists the image to the caller (spec C.3 with the fix)."""
    if caller.deleted is False and (image["deleted"] or image["status"] == "killed"):
        return False
    if caller.deleted is True and not image["deleted"]:
        return False
    vis, owner, wanted = image["visibility"], image["owner"], caller.visibility
    if not caller.regular:
        if wanted == "all":
            return True
        if wanted is not None:
            return vis == wanted
        return vis != "community" or (caller.project is not None and owner == caller.project)
    if caller.project is None:  # the fix: public (and community when asked for) only
        allowed = {None: {"public"}, "all": {"public", "community"}}.get(wanted, {wanted} & {"public", "community"})
        return vis in allowed
    status = None if caller.member_status == "all" else caller.member_status
    base = (
        vis in ("public", "community")
        or owner == caller.project
        or (vis == "shared" and is_member(members, image["id"], caller.project, status))
    )
    if wanted is None:
        return base and (owner == caller.project or vis != "community")
    if wanted == "all":
        return base
    return base and vis == wanted


def model_visible(caller: Caller, image: dict[str, Any], members: list[dict[str, Any]], status: str | None) -> bool:
    """Spec D: is_image_visible (admin_as_user plays no part in it)."""
    if caller.is_admin or image["owner"] is None or image["visibility"] in ("public", "community"):
        return True
    if caller.project is None:
        return False
    if image["owner"] == caller.project:
        return True
    return image["visibility"] == "shared" and is_member(members, image["id"], caller.project, status)


image_values = st.fixed_dictionaries(
    {
        "owner": st.sampled_from(OWNERS),
        "visibility": st.sampled_from(VISIBILITIES),
        "deleted": st.booleans(),
        "status": st.sampled_from(STATUSES),
    }
)
# per (image, project): the live membership's status (None: none) and soft-deleted ones' statuses
membership = st.tuples(
    st.none() | st.sampled_from(MEMBER_STATUSES),
    st.lists(st.sampled_from(MEMBER_STATUSES), max_size=2),
)
callers = st.one_of(
    st.builds(
        Caller,
        is_admin=st.just(True),
        project=st.sampled_from(OWNERS),
        admin_as_user=st.booleans(),
        member_status=st.sampled_from((*MEMBER_STATUSES, "all")),
        visibility=st.sampled_from((None, "all", *VISIBILITIES)),
        deleted=st.sampled_from((None, False, True)),
        probe_status=st.sampled_from((None, *MEMBER_STATUSES)),
    ),
    st.builds(
        Caller,
        is_admin=st.just(False),
        project=st.sampled_from(OWNERS),
        member_status=st.sampled_from((*MEMBER_STATUSES, "all")),
        visibility=st.sampled_from((None, "all", *VISIBILITIES)),
        deleted=st.sampled_from((None, False, True)),
        probe_status=st.sampled_from((None, *MEMBER_STATUSES)),
    ),
    # the REST layer's common case: a project with the default member_status
    st.builds(
        Caller, is_admin=st.just(False), project=st.sampled_from(PROJECTS), deleted=st.sampled_from((None, False))
    ),
)


# owners, members and strangers alike, checked in every example
CORE_CALLERS = (
    *(Caller(is_admin=False, project=p) for p in OWNERS),
    *(
        Caller(is_admin=False, project=p, member_status="all", visibility="all", probe_status="accepted")
        for p in OWNERS
    ),
)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Caller]]:
    values = draw(st.lists(image_values, min_size=1, max_size=8))
    images = []
    for n, image in enumerate(values):
        created = T0 + timedelta(seconds=n)
        deleted_at = created + timedelta(hours=1) if image["deleted"] else None
        images.append({"id": f"img-{n:02d}", "created_at": created, "updated_at": created, "deleted_at": deleted_at})
        images[-1].update(image)
    members: list[dict[str, Any]] = []
    for image in images:
        for project in PROJECTS:
            live, history = draw(membership)
            rows = [(status, True) for status in history] + ([(live, False)] if live is not None else [])
            for status, deleted in rows:
                at = T0 + timedelta(minutes=len(members) + 1)
                members.append(
                    {
                        "id": len(members) + 1,
                        "image_id": image["id"],
                        "member": project,
                        "status": status,
                        "at": at,
                        "deleted": deleted,
                        "deleted_at": at if deleted else None,
                    }
                )
    return images, members, [*CORE_CALLERS, *draw(st.lists(callers, min_size=1, max_size=6))]


async def observe(
    url: str, images: list[dict[str, Any]], members: list[dict[str, Any]], cases: list[Caller]
) -> list[tuple[list[str], dict[str, bool]]]:
    """For each caller: the sorted ids it lists, and is_image_visible of every image."""
    async with rawdb.connect(url) as db:
        await reset(db, images, members)
        seen = []
        for caller in cases:
            ctx = caller.context(db)
            found = [image["id"] for image in await api.image_get_all(ctx, **caller.kwargs())]
            assert len(found) == len(set(found)), f"an image is listed twice: {found}"
            visible = {
                image["id"]: await api.is_image_visible(
                    ctx, {k: image[k] for k in ("id", "owner", "visibility")}, caller.probe_status
                )
                for image in images
            }
            seen.append((sorted(found), visible))
    return seen


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
def test_listing_and_is_image_visible_match_the_visibility_model_on_both_backends(
    both: tuple[str, str], world: tuple[list[dict[str, Any]], list[dict[str, Any]], list[Caller]]
) -> None:
    images, members, cases = world
    by_id = {image["id"]: image for image in images}
    results = {url.split(":")[0]: asyncio.run(observe(url, images, members, cases)) for url in both}
    for backend, seen in results.items():
        for caller, (found, visible) in zip(cases, seen, strict=True):
            expected = sorted(i["id"] for i in images if model_listed(caller, i, members))
            assert found == expected, (backend, caller)
            assert visible == {i["id"]: model_visible(caller, i, members, caller.probe_status) for i in images}, (
                backend,
                caller,
            )
            if caller.regular and caller.member_status == "accepted":
                for image in map(by_id.get, found):
                    assert image is not None
                    mine = caller.project is not None and image["owner"] == caller.project
                    assert image["visibility"] != "private" or mine, ("another project's private image", caller, image)
                    accepted = caller.project is not None and is_member(
                        members, image["id"], caller.project, "accepted"
                    )
                    assert image["visibility"] != "shared" or mine or accepted, ("an unaccepted share", caller, image)
    assert results["sqlite"] == results["postgresql"]


# --- paging ---------------------------------------------------------------------------------

MOMENTS = (T0, T0 + timedelta(microseconds=1), T0 + timedelta(days=1))
page_values = st.fixed_dictionaries(
    {
        "name": st.sampled_from((None, "", "a", "b", "B", "ab")),
        "size": st.sampled_from((None, 0, 1, 5)),
        "virtual_size": st.sampled_from((None, 1, 2)),
        "disk_format": st.sampled_from((None, "raw", "qcow2")),
        "container_format": st.sampled_from((None, "bare")),
        "status": st.sampled_from(("active", "queued", "killed")),
        "visibility": st.sampled_from(VISIBILITIES),
        "checksum": st.sampled_from((None, "c1", "c2")),
        "os_hash_algo": st.sampled_from((None, "sha512")),
        "os_hash_value": st.sampled_from((None, "h1", "h2")),
        "min_disk": st.integers(0, 2),
        "min_ram": st.sampled_from((0, 512)),
        "owner": st.sampled_from(OWNERS),
        "protected": st.booleans(),
        "os_hidden": st.booleans(),
        "created_at": st.sampled_from(MOMENTS),
        "updated_at": st.none() | st.sampled_from(MOMENTS),
        "deleted": st.booleans(),
    }
)
page_callers = st.sampled_from(
    (
        Caller(is_admin=True, project="p1", visibility="all"),
        Caller(is_admin=True, project=None),
        Caller(is_admin=False, project="p1", deleted=False),
        Caller(is_admin=False, project="p2", member_status="all", visibility="all", deleted=False),
        Caller(is_admin=False, project=None, visibility="all", deleted=False),
    )
)


@st.composite
def page_cases(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str], list[str] | None]:
    values = draw(st.lists(page_values, min_size=0, max_size=12))
    images = [
        {"id": f"i{n:02d}", **v, "deleted_at": (T0 + timedelta(hours=n % 2)) if v["deleted"] else None}
        for n, v in enumerate(values)
    ]
    members = [
        {
            "id": n + 1,
            "image_id": image["id"],
            "member": "p2",
            "status": "pending",
            "at": T0,
            "deleted": False,
            "deleted_at": None,
        }
        for n, image in enumerate(images)
        if n % 2
    ]
    keys = draw(st.lists(st.sampled_from(IMAGE_COLUMN_NAMES), min_size=1, max_size=2, unique=True))
    dirs = draw(
        st.none()
        | st.lists(st.sampled_from(("asc", "desc")), min_size=1, max_size=1)
        | st.lists(st.sampled_from(("asc", "desc")), min_size=len(keys), max_size=len(keys))
    )
    return images, members, keys, dirs


def python_order(rows: list[dict[str, Any]], keys: list[str], dirs: list[str] | None) -> list[str]:
    """Spec C.4's order: the keys, then created_at and id in the default direction; NULL smallest."""
    default = dirs[0] if dirs and len(dirs) == 1 else "desc"
    directions = [default] * len(keys) if not dirs or len(dirs) == 1 else list(dirs)
    full = list(zip(keys, directions, strict=True)) + [(k, default) for k in ("created_at", "id") if k not in keys]

    def compare(x: dict[str, Any], y: dict[str, Any]) -> int:
        for key, direction in full:
            u, v = (x[key] is not None, x[key]), (y[key] is not None, y[key])
            if u != v:
                smaller = -1 if u < v else 1
                return -smaller if direction == "desc" else smaller
        return 0

    return [r["id"] for r in sorted(rows, key=functools.cmp_to_key(compare))]


async def pages(
    url: str,
    images: list[dict[str, Any]],
    members: list[dict[str, Any]],
    caller: Caller,
    sort: dict[str, Any],
    limit: int,
) -> tuple[list[str], list[str]]:
    """The unpaged listing and the concatenated walk through every page."""
    async with rawdb.connect(url) as db:
        await reset(db, images, members)
        ctx = caller.context(db)
        kwargs = {**caller.kwargs(), **sort}
        unpaged = [image["id"] for image in await api.image_get_all(ctx, **kwargs)]
        walked: list[str] = []
        marker = None
        for _ in range(len(images) + 2):
            page = [image["id"] for image in await api.image_get_all(ctx, marker=marker, limit=limit, **kwargs)]
            walked += page
            if len(page) < limit:
                break
            marker = page[-1]
    return unpaged, walked


def visibility_sort_case() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str], list[str]]:
    """Sorting by visibility: an enum on PostgreSQL, text on SQLite."""
    images = [
        {**IMAGE_DEFAULTS, "id": f"v{n}", "visibility": v, "created_at": T0, "updated_at": T0}
        for n, v in enumerate(("community", "private", "public", "shared"))
    ]
    return images, [], ["visibility"], ["asc"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=page_cases(), caller=page_callers, limit=st.integers(1, 5))
@example(case=visibility_sort_case(), caller=Caller(is_admin=True, project="p1", visibility="all"), limit=2)
def test_walking_pages_with_markers_lists_each_visible_image_once_in_order_on_both_backends(
    both: tuple[str, str],
    case: tuple[list[dict[str, Any]], list[dict[str, Any]], list[str], list[str] | None],
    caller: Caller,
    limit: int,
) -> None:
    images, members, keys, dirs = case
    sort = {"sort_key": keys, "sort_dir": dirs}
    visible = [image for image in images if model_listed(caller, image, members)]
    results = {url.split(":")[0]: asyncio.run(pages(url, images, members, caller, sort, limit)) for url in both}
    for backend, (unpaged, walked) in results.items():
        assert sorted(unpaged) == sorted(image["id"] for image in visible), backend
        assert walked == unpaged, (backend, "the walk skipped or repeated an image")
        if "visibility" not in keys:  # PostgreSQL's visibility is an enum; checked across backends below
            assert unpaged == python_order(visible, keys, dirs), backend
    assert results["sqlite"] == results["postgresql"]
