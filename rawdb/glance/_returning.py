"""An UPDATE that returns the row it changed, on every backend.

PostgreSQL and SQLite run ``UPDATE … RETURNING``.  MariaDB/MySQL has no such clause (spec
mariadb.md 2.1): its variant of the statement is the bare UPDATE, and the row is read back
by its key in the same transaction.  The UPDATE holds the row's lock until the transaction
ends, so the SELECT sees the row exactly as the UPDATE left it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rawdb.context import Context
from rawdb.glance._rows import Row

# Whether a dialect's UPDATE can return the rows it changed.
UPDATE_RETURNING = {"postgresql": True, "sqlite": True, "mysql": False}


async def update_returning(
    tx: Context, update: str, params: Mapping[str, Any], read_back: str, key: Mapping[str, Any]
) -> Row | None:
    """Run ``update`` and return the row it changed, or None when it matched no row.

    :param update: an UPDATE of at most one row, with RETURNING where the dialect has it
    :param read_back: a SELECT of that row by ``key``, run where the UPDATE cannot return it
    """
    if UPDATE_RETURNING[tx.dialect]:
        return await tx.fetchrow(update, **params)
    if await tx.execute(update, **params) == 0:  # matched rows: MariaDB sessions set CLIENT.FOUND_ROWS
        return None
    return await tx.fetchrow(read_back, **key)
