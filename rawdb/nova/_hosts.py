"""Helpers shared by ``rawdb.nova.services`` and ``rawdb.nova.compute_nodes`` (they run no SQL of their own).

Lookup keys a caller passes are checked for their type (``Invalid``), but a key no row can
hold (an id out of INTEGER's range, a host longer than its column or holding NUL) simply
finds nothing, as upstream's queries did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rawdb import errors
from rawdb.context import Context

Row = dict[str, Any]


def mapping(values: Any) -> Mapping[str, Any]:
    """``values`` if it is a dict.

    :raises Invalid: it is not
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    return values


def set_flags(given: Mapping[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    """The parameters of an UPDATE whose ``:set_<c>`` flags say which ``columns`` the caller gave."""
    params: dict[str, Any] = {}
    for column in columns:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    return params


async def returning(
    context: Context, statement: str, read_back: str, params: Mapping[str, Any], key: Mapping[str, Any]
) -> Row | None:
    """Run an UPDATE of one row and return the row (None when none matched).

    MariaDB has no UPDATE ... RETURNING: there the row is read back by ``key`` in the same
    transaction.
    """
    if context.dialect != "mysql":
        row = await context.fetchrow(statement, **params)
        return None if row is None else dict(row)
    if await context.execute(statement, **params) == 0:
        return None
    row = await context.fetchrow(read_back, **key)
    return None if row is None else dict(row)
