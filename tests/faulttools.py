"""Faults for tests: an items table, slow statements, killed backends and what the server sees."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

import rawdb

OpenDb = Callable[..., Awaitable[rawdb.Database]]

CREATE = "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL)"
INSERT = rawdb.Statement.portable("test.items.insert", "INSERT INTO items (id, name) VALUES (:id, :name)")
IDS = rawdb.Statement.portable("test.items.ids", "SELECT id FROM items ORDER BY id")
NAMES = rawdb.Statement.portable("test.items.names", "SELECT id, name FROM items ORDER BY id")
ONE = rawdb.Statement.portable("test.one", "SELECT 1 AS one")
PG_SLOW = rawdb.Statement.portable("test.slow.pg", "SELECT 1 AS done FROM pg_sleep(:seconds)")
SQLITE_SLOW = rawdb.Statement.portable(
    "test.slow.sqlite",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n) SELECT count(*) AS n FROM c",
)
SQLITE_ROWS_PER_SECOND = 3_000_000  # what SQLITE_SLOW counts in about a second here
PID = rawdb.Statement.portable("test.pg.pid", "SELECT pg_backend_pid() AS pid")
TERMINATE = rawdb.Statement.portable("test.pg.terminate", "SELECT pg_terminate_backend(:pid) AS ok")


async def make_items(db: rawdb.Database) -> rawdb.Context:
    async with db.writer() as tx:
        await tx.script(CREATE)
    return rawdb.Context(db, project_id="p1", user_id="u1")


async def committed_ids(db: rawdb.Database) -> list[int]:
    async with db.reader() as tx:
        return [row["id"] for row in await tx.fetch(IDS)]


async def slow(tx: rawdb.Context, seconds: float = 0.5) -> object:
    """A statement that runs for a while (``seconds`` on PostgreSQL, roughly on SQLite)."""
    if tx.dialect == "postgresql":
        return await tx.fetchval(PG_SLOW, seconds=seconds)
    return await tx.fetchval(SQLITE_SLOW, n=int(SQLITE_ROWS_PER_SECOND * seconds))


async def assert_healthy(db: rawdb.Database, ctx: rawdb.Context, first_id: int, scopes: int = 3) -> None:
    """Several writers and readers in a row work, and every connection goes back to the pool."""
    for i in range(scopes):
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=first_id + i, name="after")
        async with ctx.reader() as rx:
            assert first_id + i in [row["id"] for row in await rx.fetch(IDS)]
    assert db.stats()["in_use"] == 0


def admin_url(pg_url: str) -> str:
    """The URL without rawdb's query options, for a bare asyncpg connection."""
    return pg_url.split("?", 1)[0]


async def pg_sessions(pg_url: str, application_name: str) -> list[dict[str, Any]]:
    """The server sessions of one application: pid and state."""
    conn = await asyncpg.connect(admin_url(pg_url))
    try:
        rows = await conn.fetch(
            "SELECT pid, state FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid", application_name
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]


async def terminate_sessions(pg_url: str, application_name: str) -> int:
    """pg_terminate_backend every session of one application; return how many."""
    conn = await asyncpg.connect(admin_url(pg_url))
    try:
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
            application_name,
        )
    finally:
        await conn.close()
    return int(killed)


async def wait_until(predicate: Callable[[], Awaitable[bool]], within: float = 5.0) -> bool:
    """Poll ``predicate`` until it holds or ``within`` seconds pass; return whether it held."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.02)
    return await predicate()
