"""Cells (rawdb.nova.cells, Newton spec A.3 "Cells"), on every backend."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqltools import OpenDb, count_rows, select

import rawdb
from rawdb import errors
from rawdb.nova import cells as db

T0 = datetime(2016, 1, 1, 10, 0, 0, 123456)
CELL_KEYS = {
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "id",
    "name",
    "api_url",
    "transport_url",
    "weight_offset",
    "weight_scale",
    "is_parent",
}


def cell_values(name: str = "child1", **extra: Any) -> dict[str, Any]:
    return {"name": name, "transport_url": f"rabbit://guest:guest@{name}:5672/", **extra}


async def test_cell_create_returns_the_row_with_newtons_keys_and_defaults(admin: rawdb.Context) -> None:
    cell = await db.cell_create(admin, cell_values(api_url="http://child1/", is_parent=False))
    assert set(cell) == CELL_KEYS
    assert (cell["name"], cell["api_url"], cell["transport_url"]) == (
        "child1",
        "http://child1/",
        "rabbit://guest:guest@child1:5672/",
    )
    assert cell["weight_offset"] == 0.0 and isinstance(cell["weight_offset"], float)
    assert cell["weight_scale"] == 1.0 and isinstance(cell["weight_scale"], float)
    assert cell["is_parent"] is False
    assert cell["deleted"] == 0 and cell["deleted_at"] is None and cell["updated_at"] is None
    assert isinstance(cell["created_at"], datetime) and cell["created_at"].tzinfo is None
    assert await db.cell_get(admin, "child1") == cell


async def test_cell_create_takes_weights_flags_and_times_as_given(admin: rawdb.Context) -> None:
    cell = await db.cell_create(
        admin, cell_values("parent", weight_offset="2.5", weight_scale=3, is_parent="true", created_at=T0)
    )
    assert (cell["weight_offset"], cell["weight_scale"], cell["is_parent"], cell["created_at"]) == (2.5, 3.0, True, T0)
    assert isinstance(cell["weight_scale"], float)
    assert [type(c["weight_scale"]) for c in await db.cell_get_all(admin)] == [float]


async def test_cell_create_with_a_live_name_is_cell_exists_and_the_enclosing_transaction_goes_on(
    admin: rawdb.Context, nova_db: rawdb.Database
) -> None:
    await db.cell_create(admin, cell_values())
    async with admin.writer() as tx:
        with pytest.raises(errors.CellExists) as caught:
            await db.cell_create(tx, cell_values(api_url="other"))
        other = await db.cell_create(tx, cell_values("child2"))
    assert caught.value.kwargs == {"name": "child1"}
    assert "child1" in str(caught.value)
    assert isinstance(caught.value, errors.Duplicate)
    assert [c["name"] for c in await db.cell_get_all(admin)] == ["child1", "child2"]
    assert other["name"] == "child2"
    assert await count_rows(nova_db, "cells") == 2


async def test_cell_create_reuses_the_name_of_a_deleted_cell(admin: rawdb.Context) -> None:
    first = await db.cell_create(admin, cell_values())
    assert await db.cell_delete(admin, "child1") == 1
    second = await db.cell_create(admin, cell_values())
    assert second["id"] != first["id"]
    assert (await db.cell_get(admin, "child1"))["id"] == second["id"]


async def test_concurrent_cell_creates_of_one_name_make_one_cell_and_one_cell_exists(
    nova_db: rawdb.Database, nova_url: str, open_db: OpenDb
) -> None:
    databases = [await open_db(nova_url) for _ in range(4)]
    results = await asyncio.gather(
        *(db.cell_create(rawdb.Context(d, is_admin=True), cell_values("race")) for d in databases),
        return_exceptions=True,
    )
    created = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, errors.CellExists)]
    assert (len(created), len(refused)) == (1, 3)
    rows = await select(nova_db, "SELECT id FROM cells WHERE name = 'race' AND deleted = 0")
    assert [row["id"] for row in rows] == [created[0]["id"]]


@pytest.mark.parametrize(
    "values",
    [
        {"name": "x"},  # no transport_url
        {"name": "x", "transport_url": None},
        {"name": "x", "transport_url": "t", "rpc_host": "h"},  # a Grizzly column Newton dropped
        {"name": "x", "transport_url": "t", "id": 7},
        {"name": "x", "transport_url": "t", "deleted": 1},
        {"name": "x" * 256, "transport_url": "t"},
        {"name": "x", "transport_url": "t", "weight_offset": "heavy"},
        {"name": "x", "transport_url": "t", "weight_scale": float("nan")},
        {"name": "x", "transport_url": "t", "is_parent": "maybe"},
        {"name": "x\x00y", "transport_url": "t"},
        {"name": 5, "transport_url": "t"},
        {"name": "x", "transport_url": "t", "created_at": "yesterday"},
    ],
)
async def test_cell_create_bad_values_are_invalid_and_write_nothing(
    admin: rawdb.Context, nova_db: rawdb.Database, values: dict[str, Any]
) -> None:
    with pytest.raises(errors.Invalid):
        await db.cell_create(admin, values)
    assert await count_rows(nova_db, "cells") == 0


async def test_cell_create_values_must_be_a_dict(admin: rawdb.Context) -> None:
    with pytest.raises(errors.Invalid, match="dict"):
        await db.cell_create(admin, [("name", "x")])  # type: ignore[arg-type]


async def test_cell_update_returns_the_updated_row_not_a_query(admin: rawdb.Context) -> None:
    cell = await db.cell_create(admin, cell_values(api_url="old"))
    updated = await db.cell_update(admin, "child1", {"api_url": "new", "weight_scale": 2})
    assert set(updated) == CELL_KEYS
    assert (updated["id"], updated["api_url"], updated["weight_scale"]) == (cell["id"], "new", 2.0)
    assert isinstance(updated["weight_scale"], float)
    assert updated["transport_url"] == cell["transport_url"]  # not given: kept
    assert updated["updated_at"] is not None and updated["updated_at"] >= cell["created_at"]
    assert await db.cell_get(admin, "child1") == updated


async def test_cell_update_can_rename_and_honours_a_given_updated_at(admin: rawdb.Context) -> None:
    await db.cell_create(admin, cell_values())
    renamed = await db.cell_update(admin, "child1", {"name": "child9", "updated_at": T0})
    assert (renamed["name"], renamed["updated_at"]) == ("child9", T0)
    with pytest.raises(errors.CellNotFound):
        await db.cell_get(admin, "child1")


async def test_cell_update_with_no_values_moves_updated_at_only(admin: rawdb.Context) -> None:
    cell = await db.cell_create(admin, cell_values())
    updated = await db.cell_update(admin, "child1", {})
    assert updated["updated_at"] is not None
    assert {k: v for k, v in updated.items() if k != "updated_at"} == {
        k: v for k, v in cell.items() if k != "updated_at"
    }


async def test_cell_update_of_an_unknown_or_deleted_cell_is_cell_not_found(admin: rawdb.Context) -> None:
    await db.cell_create(admin, cell_values())
    await db.cell_delete(admin, "child1")
    for name in ("child1", "nope", "n" * 300):
        with pytest.raises(errors.CellNotFound) as caught:
            await db.cell_update(admin, name, {"api_url": "x"})
        assert name in str(caught.value)


async def test_cell_update_with_read_deleted_yes_prefers_the_live_cell(admin: rawdb.Context) -> None:
    await db.cell_create(admin, cell_values(api_url="gone"))
    await db.cell_delete(admin, "child1")
    live = await db.cell_create(admin, cell_values(api_url="live"))
    updated = await db.cell_update(admin.elevated(read_deleted="yes"), "child1", {"weight_offset": 4.0})
    assert (updated["id"], updated["api_url"], updated["weight_offset"]) == (live["id"], "live", 4.0)


async def test_cell_update_onto_a_live_name_is_cell_exists_and_changes_nothing(admin: rawdb.Context) -> None:
    await db.cell_create(admin, cell_values("a"))
    await db.cell_create(admin, cell_values("b"))
    async with admin.writer() as tx:
        with pytest.raises(errors.CellExists):
            await db.cell_update(tx, "a", {"name": "b", "api_url": "changed"})
        assert (await db.cell_get(tx, "a"))["api_url"] is None
    assert [c["name"] for c in await db.cell_get_all(admin)] == ["a", "b"]


@pytest.mark.parametrize(
    "values", [{"transport_url": None}, {"bogus": 1}, {"weight_offset": "x"}, {"api_url": "u" * 256}, ["x"]]
)
async def test_cell_update_bad_values_are_invalid_and_change_nothing(admin: rawdb.Context, values: Any) -> None:
    cell = await db.cell_create(admin, cell_values())
    with pytest.raises(errors.Invalid):
        await db.cell_update(admin, "child1", values)
    assert await db.cell_get(admin, "child1") == cell


async def test_cell_delete_soft_deletes_and_returns_the_count(admin: rawdb.Context, nova_db: rawdb.Database) -> None:
    cell = await db.cell_create(admin, cell_values())
    assert await db.cell_delete(admin, "child1") == 1
    assert await db.cell_delete(admin, "child1") == 0
    assert await db.cell_delete(admin, "unknown") == 0
    assert await db.cell_delete(admin, "u" * 300) == 0
    rows = await select(nova_db, "SELECT id, deleted, deleted_at, updated_at FROM cells")
    assert len(rows) == 1
    assert rows[0]["deleted"] == cell["id"] and rows[0]["deleted_at"] is not None
    assert rows[0]["updated_at"] is None  # a bulk soft delete keeps updated_at
    with pytest.raises(errors.CellNotFound):
        await db.cell_get(admin, "child1")
    deleted = await db.cell_get(admin.elevated(read_deleted="yes"), "child1")
    assert deleted["deleted"] == cell["id"]


async def test_cell_delete_with_read_deleted_only_deletes_nothing(admin: rawdb.Context) -> None:
    await db.cell_create(admin, cell_values())
    assert await db.cell_delete(admin.elevated(read_deleted="only"), "child1") == 0
    assert (await db.cell_get(admin, "child1"))["deleted"] == 0


async def test_cell_get_follows_read_deleted(admin: rawdb.Context) -> None:
    gone = await db.cell_create(admin, cell_values())
    await db.cell_delete(admin, "child1")
    live = await db.cell_create(admin, cell_values())
    assert (await db.cell_get(admin, "child1"))["id"] == live["id"]
    assert (await db.cell_get(admin.elevated(read_deleted="yes"), "child1"))["id"] == live["id"]
    assert (await db.cell_get(admin.elevated(read_deleted="only"), "child1"))["id"] == gone["id"]


async def test_cell_get_of_an_unknown_cell_is_cell_not_found_naming_it(alice: rawdb.Context) -> None:
    with pytest.raises(errors.CellNotFound, match="nope") as caught:
        await db.cell_get(alice, "nope")
    assert isinstance(caught.value, errors.NotFound)


@pytest.mark.parametrize("name", [None, 5, b"child1", ["child1"]])
async def test_cell_lookups_by_a_name_that_is_no_string_are_invalid(admin: rawdb.Context, name: Any) -> None:
    await db.cell_create(admin, cell_values())
    for call in (db.cell_get, db.cell_delete):
        with pytest.raises(errors.Invalid):
            await call(admin, name)
    with pytest.raises(errors.Invalid):
        await db.cell_update(admin, name, {"api_url": "x"})


async def test_cell_get_all_lists_live_cells_oldest_first(admin: rawdb.Context) -> None:
    assert await db.cell_get_all(admin) == []
    for name in ("b", "a", "c"):
        await db.cell_create(admin, cell_values(name))
    await db.cell_delete(admin, "a")
    cells = await db.cell_get_all(admin.elevated(read_deleted="yes"))
    assert [c["name"] for c in cells] == ["b", "c"]
    assert all(set(c) == CELL_KEYS for c in cells)
