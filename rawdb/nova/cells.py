"""Cells (nova/db/sqlalchemy/api.py at 14.0.0, spec A.3 "Cells"): the parent and child cells of this cell.

A cell is ``{created_at, updated_at, deleted_at, deleted, id, name, api_url, transport_url,
weight_offset, weight_scale, is_parent}``, found by name.  As in Newton, the DB layer checks no
caller (Grizzly's ``@require_admin_context`` is gone); lookups by name see cells as
``context.read_deleted`` says, ``cell_get_all`` only live ones.  A name that is no string is
``Invalid``; one no cell can have (too long, NUL) finds nothing.

Where rawdb departs from upstream:

- ``cell_update`` returns the updated cell (Grizzly returned the Query: spec F.3); when several
  cells match (``read_deleted='yes'``), the live one.  Renaming onto a live cell's name is
  ``CellExists`` (upstream let ``DBDuplicateEntry`` out), and changes nothing.
- ``cell_delete`` soft-deletes only a live cell (upstream's soft delete with
  ``read_deleted='yes'`` deleted the deleted ones again, moving their ``deleted_at``).
- ``cell_create`` and ``cell_update`` run in a savepoint, so a duplicate name leaves an
  enclosing transaction usable on every backend.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values, read_deleted
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

# The columns a caller may set (id and the soft-delete columns belong to rawdb).
COLUMNS = ("name", "api_url", "transport_url", "weight_offset", "weight_scale", "is_parent", "created_at")
NAME_LENGTH = 255

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _name(cell_name: Any) -> str | None:
    """The name to look cells up by, or None when no cell can have it.

    :raises Invalid: not a string
    """
    if not isinstance(cell_name, str):
        raise errors.Invalid(f"cell_name must be a string, not {type(cell_name).__name__}")
    if len(cell_name) > NAME_LENGTH or _UNSTORABLE.search(cell_name):
        return None
    return cell_name


def _cell(row: Mapping[str, Any]) -> Row:
    """A cell as a dict, its weights floats (SQLite's RETURNING gives a whole REAL as an integer)."""
    cell = dict(row)
    for column in ("weight_offset", "weight_scale"):
        if cell[column] is not None:
            cell[column] = float(cell[column])
    return cell


@writer(retry=True)
async def cell_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a cell.

    :param values: ``name``, ``transport_url`` (required), ``api_url``, ``weight_offset``
        (default 0.0), ``weight_scale`` (default 1.0), ``is_parent``, ``created_at``, ``updated_at``
    :returns: the cell
    :raises CellExists: a live cell has this name; nothing is written, an enclosing
        transaction goes on
    :raises Invalid: ``transport_url`` missing, another key, or a value its column cannot hold;
        nothing is written
    """
    given = coerce_values("nova", "cells", values, frozenset((*COLUMNS, "updated_at")))
    if given.get("transport_url") is None:
        raise errors.Invalid("a cell needs a transport_url")
    try:
        async with context.savepoint() as sp:
            rows = await insert_values(sp, "nova.cells.cell_create", given)
            if sp.dialect == "mysql":
                rows = await sp.fetch("nova.cells.cell_read_back", id=None)
    except errors.DBDuplicateEntry as exc:
        raise errors.CellExists(name=given.get("name")) from exc
    return _cell(rows[0])


@writer
async def cell_update(context: Context, cell_name: str, values: Mapping[str, Any]) -> Row:
    """Change the given columns of the cells by this name (visible as ``context.read_deleted`` says).

    ``updated_at`` becomes now unless given, even when nothing else changes.

    :returns: the updated cell (the live one, if several matched)
    :raises CellNotFound: no cell by this name
    :raises CellExists: the new name is a live cell's; nothing changed, an enclosing
        transaction goes on
    :raises Invalid: a name that is no string, another key, or a value its column cannot hold;
        nothing is written
    """
    given = coerce_values("nova", "cells", values, frozenset((*COLUMNS, "updated_at")))
    if "transport_url" in given and given["transport_url"] is None:
        raise errors.Invalid("transport_url cannot be None")
    name = _name(cell_name)
    ids = []
    if name is not None:
        rows = await context.fetch("nova.cells.cell_lock", cell_name=name, read_deleted=read_deleted(context))
        ids = [row["id"] for row in rows]
    if not ids:
        raise errors.CellNotFound(cell_name=cell_name)
    params: dict[str, Any] = {}
    for column in COLUMNS:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    params["updated_at"] = given.get("updated_at") or utcnow()
    try:
        async with context.savepoint() as sp:
            await sp.execute("nova.cells.cell_update", ids=ids, **params)
    except errors.DBDuplicateEntry as exc:
        raise errors.CellExists(name=given.get("name")) from exc
    row = await context.fetchrow("nova.cells.cell_first", ids=ids)
    assert row is not None  # locked above
    return _cell(row)


@writer
async def cell_delete(context: Context, cell_name: str) -> int:
    """Soft-delete the live cell by this name (``updated_at`` kept, as upstream's bulk soft delete).

    :returns: the number of cells deleted (0 or 1; 0 also when ``context.read_deleted`` is 'only')
    :raises Invalid: the name is not a string
    """
    name = _name(cell_name)
    if name is None:
        return 0
    return await context.execute(
        "nova.cells.cell_delete", cell_name=name, read_deleted=read_deleted(context), now=utcnow()
    )


@reader
async def cell_get(context: Context, cell_name: str) -> Row:
    """A cell by name, as ``context.read_deleted`` says (the live one first).

    :raises CellNotFound: none
    :raises Invalid: the name is not a string
    """
    name = _name(cell_name)
    row = None
    if name is not None:
        row = await context.fetchrow("nova.cells.cell_get", cell_name=name, read_deleted=read_deleted(context))
    if row is None:
        raise errors.CellNotFound(cell_name=cell_name)
    return _cell(row)


@reader
async def cell_get_all(context: Context) -> list[Row]:
    """Every live cell, oldest first."""
    return [_cell(row) for row in await context.fetch("nova.cells.cell_get_all")]
