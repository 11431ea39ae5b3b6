"""Raw SQL for tests: read or change rows behind the API's back (set-up and checks)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import rawdb

# The ``open_db`` fixture: opens a Database that the test's teardown closes.
OpenDb = Callable[..., Awaitable[rawdb.Database]]


def stmt(sql: str) -> rawdb.Statement:
    """A portable statement named after its text (the same text, the same statement)."""
    return rawdb.Statement.portable(f"test.sql.q{abs(hash(sql))}", sql)


async def select(db: rawdb.Database, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with db.reader() as rx:
        return [dict(row) for row in await rx.fetch(stmt(sql), **params)]


async def execute(db: rawdb.Database, sql: str, **params: Any) -> int:
    async with db.writer() as tx:
        return await tx.execute(stmt(sql), **params)


async def count_rows(db: rawdb.Database, table: str) -> int:
    rows = await select(db, f"SELECT count(*) AS n FROM {table}")
    return int(rows[0]["n"])


def timestamp_type(dialect: str) -> str:
    """The column type the schema scripts give a timestamp on ``dialect`` (microseconds kept)."""
    return {"sqlite": "DATETIME", "mysql": "DATETIME(6)"}.get(dialect, "TIMESTAMP")
