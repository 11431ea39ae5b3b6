"""glance-manage db purge in batches, with progress and dry-run counts, on every backend.

The purge's row selection (old, deleted, never live, images only without children) is
tested in test_glance_children.py; this file tests the batches, the counts and, over random
soft-delete states, that no live row and no referenced image is ever purged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from glancetools import admin, make_image, user
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from purgetools import OLD, STATES, state
from sqltools import count_rows, execute, select

import rawdb
from rawdb import errors, schema
from rawdb.glance import maintenance

GALERA = True  # these tests run on a three-node Galera cluster too (conftest.py)

CHILDREN = ("image_properties", "image_locations", "image_members", "image_tags")
KEY = {"image_properties": "name", "image_locations": "value", "image_members": "member", "image_tags": "value"}


CHILD_VALUES: dict[str, Callable[[int], dict[str, Any]]] = {
    "image_properties": lambda n: {"name": f"p{n}", "value": "v"},
    "image_locations": lambda n: {"value": f"file:///l{n}", "status": "active"},
    "image_members": lambda n: {"member": f"m{n}", "can_share": False, "status": "pending"},
    "image_tags": lambda n: {"value": f"t{n}"},
}


async def put_image(db: rawdb.Database, image_id: str, in_state: str) -> None:
    await execute(
        db,
        "INSERT INTO images (id, status, visibility, min_disk, min_ram, protected, os_hidden, created_at, deleted,"
        " deleted_at) VALUES (:id, 'active', 'public', 0, 0, false, false, :at, :deleted, :deleted_at)",
        id=image_id,
        at=OLD,
        **state(in_state),
    )


async def put_child(db: rawdb.Database, table: str, n: int, image_id: str, in_state: str) -> None:
    values = {**CHILD_VALUES[table](n), "image_id": image_id, "created_at": OLD, **state(in_state)}
    columns = ", ".join(values)
    await execute(db, f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)})", **values)


async def old_children(db: rawdb.Database, table: str, count: int) -> None:
    """``count`` old deleted rows of a child table, of a live image."""
    if not await select(db, "SELECT id FROM images WHERE id = 'parent'"):
        await put_image(db, "parent", "live")
    for n in range(count):
        await put_child(db, table, n, "parent", "old")


# --- batches and progress ------------------------------------------------------------------------


async def test_purge_deleted_rows_works_in_batches_and_reports_each_one(
    glance_db: rawdb.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maintenance, "BATCH", 2)
    await old_children(glance_db, "image_properties", 5)
    await old_children(glance_db, "image_tags", 2)
    seen: list[tuple[str, int]] = []

    purged = await maintenance.purge_deleted_rows(admin(glance_db), 1, -1, progress=lambda t, n: seen.append((t, n)))

    assert purged == {"image_properties": 5, "image_locations": 0, "image_members": 0, "image_tags": 2}
    assert seen == [("image_properties", 2), ("image_properties", 2), ("image_properties", 1), ("image_tags", 2)]


async def test_max_rows_still_caps_each_table_across_batches(
    glance_db: rawdb.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maintenance, "BATCH", 2)
    await old_children(glance_db, "image_properties", 6)
    await old_children(glance_db, "image_members", 3)
    seen: list[tuple[str, int]] = []

    purged = await maintenance.purge_deleted_rows(admin(glance_db), 1, 5, progress=lambda t, n: seen.append((t, n)))

    assert purged == {"image_properties": 5, "image_locations": 0, "image_members": 3, "image_tags": 0}
    properties = [("image_properties", 2), ("image_properties", 2), ("image_properties", 1)]
    assert seen == [*properties, ("image_members", 2), ("image_members", 1)]
    assert await count_rows(glance_db, "image_properties") == 1


async def test_purge_images_works_in_batches_and_each_batch_is_committed(
    glance_db: rawdb.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maintenance, "BATCH", 2)
    for n in range(5):
        await put_image(glance_db, f"i{n}", "old")

    def stop(table: str, rows: int) -> None:
        raise KeyboardInterrupt("operator pressed ^C")

    with pytest.raises(KeyboardInterrupt):
        await maintenance.purge_deleted_rows_from_images(admin(glance_db), 1, -1, progress=stop)
    assert await count_rows(glance_db, "images") == 3  # the first batch is committed, the rest untouched

    seen: list[tuple[str, int]] = []
    purged = await maintenance.purge_deleted_rows_from_images(
        admin(glance_db), 1, -1, progress=lambda t, n: seen.append((t, n))
    )
    assert purged == {"images": 3}
    assert seen == [("images", 2), ("images", 1)]


async def test_purge_inside_a_callers_writer_runs_in_its_transaction(
    glance_db: rawdb.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maintenance, "BATCH", 2)
    await old_children(glance_db, "image_tags", 3)

    with pytest.raises(RuntimeError):
        async with admin(glance_db).writer() as tx:
            assert (await maintenance.purge_deleted_rows(tx, 1, -1))["image_tags"] == 3
            raise RuntimeError("the caller rolls back")
    assert await count_rows(glance_db, "image_tags") == 3


# --- counts ---------------------------------------------------------------------------------------


async def test_the_counts_are_what_the_purges_then_delete_and_change_nothing(glance_db: rawdb.Database) -> None:
    ctx = admin(glance_db)
    await old_children(glance_db, "image_locations", 2)
    await put_image(glance_db, "gone", "old")
    await put_child(glance_db, "image_tags", 9, "gone", "old")
    await put_image(glance_db, "bare", "old")
    await put_image(glance_db, "young", "young")
    await put_child(glance_db, "image_properties", 8, "young", "young")

    children = await maintenance.purge_deleted_rows_count(ctx, 1)
    images_now = await maintenance.purge_deleted_rows_from_images_count(ctx, 1)

    assert children == {"image_properties": 0, "image_locations": 2, "image_members": 0, "image_tags": 1}
    assert images_now == {"images": 1}  # "gone" still has its tag
    assert await count_rows(glance_db, "image_locations") == 2 and await count_rows(glance_db, "images") == 4
    assert await maintenance.purge_deleted_rows(ctx, 1, -1) == children
    assert await maintenance.purge_deleted_rows_from_images_count(ctx, 1) == {"images": 2}
    assert await maintenance.purge_deleted_rows_from_images(ctx, 1, -1) == {"images": 2}
    assert await maintenance.purge_deleted_rows_count(ctx, 1) == dict.fromkeys(CHILDREN, 0)
    assert await maintenance.purge_deleted_rows_from_images_count(ctx, 1) == {"images": 0}


async def test_purges_and_counts_need_an_admin_and_good_arguments(glance_db: rawdb.Database) -> None:
    image = await make_image(glance_db)
    await old_children(glance_db, "image_tags", 1)
    for call in (maintenance.purge_deleted_rows_count, maintenance.purge_deleted_rows_from_images_count):
        with pytest.raises(errors.AdminRequired):
            await call(user(glance_db), 1)
        for age in (-1, "1", None, True):
            with pytest.raises(errors.Invalid):
                await call(admin(glance_db), age)  # type: ignore[arg-type]
    for purge in (maintenance.purge_deleted_rows, maintenance.purge_deleted_rows_from_images):
        with pytest.raises(errors.AdminRequired):
            await purge(user(glance_db), 1, -1)
        with pytest.raises(errors.Invalid):
            await purge(admin(glance_db), 1, -1, progress=42)  # type: ignore[arg-type]
    assert await count_rows(glance_db, "image_tags") == 1
    assert (await select(glance_db, "SELECT id FROM images WHERE id = :id", id=image["id"]))[0]["id"] == image["id"]


# --- property: random soft-delete states -----------------------------------------------------------


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    states = st.sampled_from(STATES)
    images = draw(st.lists(states, min_size=1, max_size=4))
    children = {
        table: draw(st.lists(st.tuples(states, st.integers(0, len(images) - 1)), max_size=3)) for table in CHILDREN
    }
    return {"images": images, "children": children, "max_rows": draw(st.sampled_from([-1, 1, 2]))}


async def run_world(url: str, world: dict[str, Any]) -> None:
    async with rawdb.connect(url) as db:
        async with db.writer() as tx:
            for table in (*CHILDREN, "images"):
                await tx.script(f"DELETE FROM {table}")
        rows: list[tuple[str, str, str]] = []
        for n, in_state in enumerate(world["images"]):
            await put_image(db, f"i{n}", in_state)
            rows.append(("images", f"i{n}", in_state))
        for table, children in world["children"].items():
            for n, (in_state, parent) in enumerate(children):
                await put_child(db, table, n, f"i{parent}", in_state)
                rows.append((table, CHILD_VALUES[table](n)[KEY[table]], in_state))
        ctx = rawdb.Context(db, is_admin=True)
        max_rows = world["max_rows"]
        counted = await maintenance.purge_deleted_rows_count(ctx, 1)

        purged = await maintenance.purge_deleted_rows(ctx, 1, max_rows)
        counted_images = await maintenance.purge_deleted_rows_from_images_count(ctx, 1)
        purged_images = await maintenance.purge_deleted_rows_from_images(ctx, 1, max_rows)

        cap = max_rows if max_rows >= 0 else 10**6
        assert purged == {t: min(n, cap) for t, n in counted.items()}
        assert purged_images == {"images": min(counted_images["images"], cap)}
        left = {("images", r["k"]) for r in await select(db, "SELECT id AS k FROM images")}
        for table in CHILDREN:
            found = await select(db, f"SELECT {KEY[table]} AS k, image_id FROM {table}")
            left |= {(table, r["k"]) for r in found}
            assert all(("images", r["image_id"]) in left for r in found)  # no child lost its image
        gone = [(table, key, s) for table, key, s in rows if (table, key) not in left]
        assert all(s == "old" for _, _, s in gone), gone  # never a live, young or undated row
        assert len(gone) == sum(purged.values()) + purged_images["images"]


@pytest.fixture
def glance_url(url: str) -> str:
    async def bootstrap() -> None:
        async with rawdb.connect(url) as db:
            await schema.bootstrap(db, "glance")

    asyncio.run(bootstrap())
    return url


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
def test_purge_never_deletes_a_live_row_nor_an_image_something_refers_to(
    glance_url: str, world: dict[str, Any]
) -> None:
    asyncio.run(run_world(glance_url, world))
