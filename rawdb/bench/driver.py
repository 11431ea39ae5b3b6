"""The ``driver`` target: rawdb's own statements, replayed through the bare drivers.

A rawdb call is run once with a keeping ``StatementCounter``; its events (SQL text exactly as
sent, arguments exactly as bound) are then replayed on a bare driver connection set up the
way rawdb sets up its own (JIT off, read-only session for readers, generic plans for writers on
PostgreSQL; WAL, foreign keys, busy timeout, ``regexp`` and ``query_only`` on SQLite).  Rows
come back as dicts, as the least a caller needs.  The difference to rawdb is rawdb's layer.

On PostgreSQL the driver is asyncpg.  On SQLite it is Python's sqlite3 with no converters,
called through the least an event loop needs to reach a blocking connection: one worker
thread per connection, one queue put and one wake-up per statement (rawdb's own worker,
which is that and nothing more).  On MySQL/MariaDB it is asyncmy, on a connection opened
with rawdb's own session settings (the backend's connect function: sql_mode, collation,
time zone, READ COMMITTED, FOUND_ROWS) on the database rawdb's sessions use, and READ ONLY
for readers, as rawdb's reader pool;
the arguments are those rawdb bound (lists already JSON text), and rows come back as tuples
turned into dicts, without rawdb's BOOLEAN and whole-DECIMAL conversions.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from rawdb.backends._sqlite_thread import Worker
from rawdb.backends.mysql import MysqlBackend
from rawdb.backends.postgresql import PostgresBackend
from rawdb.backends.sqlite import SqliteBackend
from rawdb.database import Database
from rawdb.observe import StatementEvent


@functools.lru_cache(maxsize=256)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def regexp(pattern: str | None, value: Any) -> bool:
    """SQLite's ``value REGEXP pattern`` as rawdb defines it on its connections: ``re.search``
    on the value as text; NULL on either side never matches."""
    if pattern is None or value is None:
        return False
    return _pattern(pattern).search(str(value)) is not None


@dataclass(frozen=True, slots=True)
class Step:
    """One statement to replay."""

    sql: str
    args: tuple[Any, ...]
    session: tuple[tuple[str, str], ...] = ()  # settings of the reader session it ran on

    @classmethod
    def of(cls, event: StatementEvent) -> Step:
        return cls(event.sql, tuple(event.args), tuple(sorted((event.session or {}).items())))


def steps(events: Sequence[StatementEvent]) -> list[Step]:
    return [Step.of(event) for event in events]


class Driver:
    """One bare connection; ``replay`` runs steps in order and returns each one's rows."""

    dialect: str

    @staticmethod
    async def open(db: Database, *, read_only: bool) -> Driver:
        """A bare connection to the database ``db`` is connected to."""
        if isinstance(db.backend, SqliteBackend):
            return await SqliteDriver.connect(db.backend.path, read_only=read_only)
        if isinstance(db.backend, MysqlBackend):
            return await MysqlDriver.connect(db.backend, read_only=read_only)
        assert isinstance(db.backend, PostgresBackend)
        return await PgDriver.connect(db.backend.dsn, read_only=read_only, pgbouncer=db.options["pgbouncer"])

    async def replay(self, plan: Sequence[Step]) -> list[list[dict[str, Any]]]:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class PgDriver(Driver):
    """One connection per distinct session (a reader needing settings has a session of its own)."""

    dialect = "postgresql"

    def __init__(self, dsn: str, settings: dict[str, str], conn: asyncpg.Connection, cache: int | None = None) -> None:
        self.dsn = dsn
        self.settings = settings
        self.cache = cache  # asyncpg's statement cache size (0 through PgBouncer), None: its default
        self.conns: dict[tuple[tuple[str, str], ...], asyncpg.Connection] = {(): conn}

    @classmethod
    async def connect(cls, dsn: str, *, read_only: bool, pgbouncer: bool = False) -> PgDriver:
        """A connection as rawdb's sessions are: JIT off (PostgresBackend), read-only readers,
        generic plans for writers; through PgBouncer, as rawdb's there: no startup settings
        (PgBouncer refuses them) and no statement cache."""
        if pgbouncer:
            return cls(dsn, {}, await asyncpg.connect(dsn, statement_cache_size=0), cache=0)
        settings = {"jit": "off"}
        settings |= {"default_transaction_read_only": "on"} if read_only else {"plan_cache_mode": "force_generic_plan"}
        return cls(dsn, settings, await asyncpg.connect(dsn, server_settings=settings))

    async def _conn(self, session: tuple[tuple[str, str], ...]) -> asyncpg.Connection:
        conn = self.conns.get(session)
        if conn is None:
            settings = {**self.settings, **dict(session)}
            options: dict[str, Any] = {} if self.cache is None else {"statement_cache_size": self.cache}
            conn = self.conns[session] = await asyncpg.connect(self.dsn, server_settings=settings, **options)
        return conn

    async def replay(self, plan: Sequence[Step]) -> list[list[dict[str, Any]]]:
        out: list[list[dict[str, Any]]] = []
        for step in plan:
            conn = self.conns.get(step.session) or await self._conn(step.session)
            if step.args:
                out.append([dict(record.items()) for record in await conn.fetch(step.sql, *step.args)])
            else:
                await conn.execute(step.sql)  # BEGIN / COMMIT / SET LOCAL: simple protocol, as rawdb
                out.append([])
        return out

    async def close(self) -> None:
        for conn in self.conns.values():
            await conn.close()


class MysqlDriver(Driver):
    """One asyncmy connection; every step goes through one cursor execute, as rawdb sends it."""

    dialect = "mysql"

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, backend: MysqlBackend, *, read_only: bool) -> MysqlDriver:
        """A connection with rawdb's own session settings (nothing re-typed here)."""
        return cls(await backend.bare_connection(read_only=read_only))

    async def replay(self, plan: Sequence[Step]) -> list[list[dict[str, Any]]]:
        out: list[list[dict[str, Any]]] = []
        conn = self.conn
        for step in plan:
            cursor = conn.cursor()
            # args always given, as rawdb does: the driver then un-doubles every %% in the text
            await cursor.execute(step.sql, step.args)
            rows = await cursor.fetchall()
            names = [d[0] for d in cursor.description or ()]
            await cursor.close()
            out.append([dict(zip(names, row, strict=True)) for row in rows or ()])
        return out

    async def close(self) -> None:
        await self.conn.ensure_closed()


class SqliteDriver(Driver):
    dialect = "sqlite"

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    @classmethod
    async def connect(cls, path: str, *, read_only: bool) -> SqliteDriver:
        worker = Worker(f"replay of sqlite:///{path}")
        await worker.open(functools.partial(sqlite3.connect, path, isolation_level=None, check_same_thread=False))
        await worker.call(_setup, read_only)
        return cls(worker)

    async def replay(self, plan: Sequence[Step]) -> list[list[dict[str, Any]]]:
        out: list[list[dict[str, Any]]] = []
        worker = self.worker
        for step in plan:
            out.append(await worker.call(_rows, step.sql, step.args))
        return out

    async def close(self) -> None:
        await self.worker.close()


def _setup(conn: sqlite3.Connection, read_only: bool) -> None:
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    conn.create_function("regexp", 2, regexp, deterministic=True)
    conn.execute(f"PRAGMA query_only = {int(read_only)}")


def _rows(conn: sqlite3.Connection, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, args)
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
