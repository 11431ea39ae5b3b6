"""Faults for tests: an items table, slow statements, killed backends and what the server sees.

Server sessions are found per backend: on PostgreSQL by ``application_name`` (set through
``server_settings``), on MariaDB/MySQL by the test's own scratch database (every test
gets one: ``information_schema.PROCESSLIST.DB``).  ``ServerSessions`` hides the difference
and gives both the same states: ``idle``, ``idle in transaction`` and ``active``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import asyncmy
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
MYSQL_SLOW = rawdb.Statement.portable("test.slow.mysql", "SELECT 1 + SLEEP(:seconds) AS done")
SQLITE_ROWS_PER_SECOND = 3_000_000  # what SQLITE_SLOW counts in about a second here
PID = rawdb.Statement.portable("test.pg.pid", "SELECT pg_backend_pid() AS pid")
MYSQL_PID = rawdb.Statement.portable("test.mysql.pid", "SELECT CONNECTION_ID() AS pid")
TERMINATE = rawdb.Statement.portable("test.pg.terminate", "SELECT pg_terminate_backend(:pid) AS ok")


async def make_items(db: rawdb.Database) -> rawdb.Context:
    async with db.writer() as tx:
        await tx.script(CREATE)
    return rawdb.Context(db, project_id="p1", user_id="u1")


async def committed_ids(db: rawdb.Database) -> list[int]:
    async with db.reader() as tx:
        return [row["id"] for row in await tx.fetch(IDS)]


async def slow(tx: rawdb.Context, seconds: float = 0.5) -> object:
    """A statement that runs for a while (``seconds`` on PostgreSQL and MySQL, roughly on SQLite).

    Its value is 1, except on SQLite, where it is the number of rows it counted.
    """
    if tx.dialect == "postgresql":
        return await tx.fetchval(PG_SLOW, seconds=seconds)
    if tx.dialect == "mysql":
        return await tx.fetchval(MYSQL_SLOW, seconds=seconds)
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


async def session_id(tx: rawdb.Context) -> int:
    """The server's id of the session a scope runs on (PostgreSQL's pid, MySQL's connection id)."""
    return int(await tx.fetchval(MYSQL_PID if tx.dialect == "mysql" else PID))


async def mysql_admin(url: str) -> Any:
    """A bare asyncmy connection to the server of ``url``, outside any database."""
    parts = urlsplit(url)
    return await asyncmy.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        connect_timeout=5,
        autocommit=True,
    )


# A session's state as pg_stat_activity names it: a statement running, or a transaction open.
_MYSQL_SESSIONS = """
SELECT p.ID AS id,
       CASE WHEN p.COMMAND <> 'Sleep' THEN 'active'
            WHEN t.trx_id IS NOT NULL THEN 'idle in transaction'
            ELSE 'idle' END AS state
FROM information_schema.PROCESSLIST p
LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
WHERE p.DB = %s AND p.ID <> CONNECTION_ID()
ORDER BY p.ID
"""


class ServerSessions:
    """The server sessions of one test's Database, on PostgreSQL or MariaDB/MySQL.

    ``options`` are what the Database must be opened with for its sessions to be found.
    """

    def __init__(self, backend: str, url: str, app: str | None = None) -> None:
        if backend not in ("postgresql", "mysql"):
            raise ValueError(f"{backend} has no server sessions")
        self.backend = backend
        self.url = url
        self.app = app or f"rawdb-faults-{uuid.uuid4().hex[:8]}"
        self.database = urlsplit(url).path.lstrip("/")

    @property
    def options(self) -> dict[str, Any]:
        if self.backend == "postgresql":
            return {"server_settings": {"application_name": self.app}}
        return {}  # the test's scratch database is its own: PROCESSLIST.DB finds its sessions

    async def list(self) -> list[dict[str, Any]]:
        """Every session: ``{"id": ..., "state": "idle" | "idle in transaction" | "active" | None}``."""
        if self.backend == "postgresql":
            return [{"id": s["pid"], "state": s["state"]} for s in await pg_sessions(self.url, self.app)]
        conn = await mysql_admin(self.url)
        try:
            async with conn.cursor() as cursor:
                await cursor.execute(_MYSQL_SESSIONS, (self.database,))
                return [{"id": int(row[0]), "state": row[1]} for row in await cursor.fetchall()]
        finally:
            conn.close()

    async def kill(self, session: int | None = None) -> int:
        """End one session (by id) or every session, as an operator would; return how many.

        PostgreSQL: ``pg_terminate_backend``; MySQL: ``KILL CONNECTION`` (the statement running
        stops, the transaction rolls back, the client finds its socket closed).
        """
        if self.backend == "postgresql":
            if session is None:
                return await terminate_sessions(self.url, self.app)
            conn = await asyncpg.connect(admin_url(self.url))
            try:
                return int(bool(await conn.fetchval("SELECT pg_terminate_backend($1)", session)))
            finally:
                await conn.close()
        ids = [session] if session is not None else [s["id"] for s in await self.list()]
        conn = await mysql_admin(self.url)
        killed = 0
        try:
            async with conn.cursor() as cursor:
                for one in ids:
                    try:
                        await cursor.execute(f"KILL CONNECTION {int(one)}")
                        killed += 1
                    except asyncmy.errors.Error:  # 1094 unknown thread: it ended meanwhile
                        pass
        finally:
            conn.close()
        return killed

    async def settled(self, within: float = 5.0) -> bool:
        """Whether, within a few seconds, no session runs a statement or holds a transaction open."""

        async def calm() -> bool:
            return all(s["state"] in ("idle", None) for s in await self.list())

        return await wait_until(calm, within)
