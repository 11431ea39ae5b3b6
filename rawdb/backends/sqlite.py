"""SQLite: one writer connection, a few reader connections, WAL; each in a thread of its own.

Writers run ``BEGIN IMMEDIATE``: with a deferred BEGIN, read-then-write transactions
fail with SQLITE_BUSY most of the time under contention (ecosystem spec A.7), because
SQLite cannot wait for a lock a reader wants to upgrade.  In-process writers queue on
the single writer connection; other processes wait on ``busy_timeout``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.backends._sqlite_thread import Error, Worker, sqlite
from rawdb.backends.base import Backend, Connection, Mode, Row
from rawdb.backends.pool import Pool

_CONSTRAINT_COLUMNS = re.compile(r"constraint failed: (?P<cols>.+)$")
_NO_TABLE = re.compile(r"no such table: (?:\w+\.)?(?P<table>\w+)")

# sqlite_errorname -> rawdb error class (Python >= 3.11 exposes the extended code name).
_ERRORNAME: dict[str, type[errors.DBError]] = {
    "SQLITE_CONSTRAINT_UNIQUE": errors.DBDuplicateEntry,
    "SQLITE_CONSTRAINT_PRIMARYKEY": errors.DBDuplicateEntry,
    "SQLITE_CONSTRAINT_FOREIGNKEY": errors.DBReferenceError,
    "SQLITE_CONSTRAINT_CHECK": errors.DBConstraintError,
    "SQLITE_CONSTRAINT_NOTNULL": errors.DBNotNullError,
    "SQLITE_BUSY": errors.DBDeadlock,
    "SQLITE_BUSY_SNAPSHOT": errors.DBDeadlock,
    "SQLITE_BUSY_RECOVERY": errors.DBDeadlock,
    "SQLITE_BUSY_TIMEOUT": errors.DBDeadlock,
    "SQLITE_LOCKED": errors.DBDeadlock,
    "SQLITE_LOCKED_SHAREDCACHE": errors.DBDeadlock,
    "SQLITE_CANTOPEN": errors.DBConnectionError,
    "SQLITE_IOERR": errors.DBConnectionError,
    "SQLITE_TOOBIG": errors.DBDataError,
    "SQLITE_MISMATCH": errors.DBDataError,
    "SQLITE_RANGE": errors.DBDataError,
    "SQLITE_INTERRUPT": errors.DBQueryTimeout,
    "SQLITE_READONLY": errors.DBReadOnlyTransaction,
}


def _columns(message: str) -> list[str]:
    match = _CONSTRAINT_COLUMNS.search(message)
    if not match:
        return []
    return [c.strip().rpartition(".")[2] for c in match.group("cols").split(",")]


def _sqlite_error(exc: Exception) -> errors.DBError:
    name = getattr(exc, "sqlite_errorname", None) or ""
    message = str(exc)
    cls = _ERRORNAME.get(name) or _ERRORNAME.get(name.rsplit("_", 1)[0]) or errors.DBError
    if cls is errors.DBError and _NO_TABLE.search(message):
        cls = errors.DBNonExistentTable
    err: errors.DBError
    if cls is errors.DBDuplicateEntry:
        err = errors.DBDuplicateEntry(_columns(message))
    elif cls is errors.DBReferenceError:
        err = errors.DBReferenceError()
    elif cls is errors.DBConstraintError:
        cols = _columns(message)
        err = errors.DBConstraintError(check_name=cols[0] if cols else None)
    elif cls is errors.DBNotNullError:
        cols = _columns(message)
        err = errors.DBNotNullError(cols[0] if cols else None)
    elif cls is errors.DBNonExistentTable:
        match = _NO_TABLE.search(message)
        err = errors.DBNonExistentTable(match.group("table") if match else None)
    elif cls is errors.DBDataError:
        err = errors.DBDataError(detail=message)
    else:
        err = cls(f"{cls.msg_fmt} ({name or type(exc).__name__}: {message})")
    err.errorname = name or None
    return err


def _adapt(value: Any) -> Any:
    """Store datetimes as SQLAlchemy does (naive UTC, six fractional digits); refuse what
    PostgreSQL refuses, so that the backends accept the same values.

    SQLite would store a string holding a lone surrogate as invalid UTF-8 (every later
    read of it fails), a NUL as part of the text, and an aware datetime converted; the
    timestamp columns are naive UTC, and asyncpg refuses an aware datetime for them.
    """
    if isinstance(value, str):
        if not value.isascii():
            value.encode()  # UnicodeEncodeError for a lone surrogate
        if "\x00" in value:
            raise ValueError("a string holds a NUL character (0x00), which text columns cannot store")
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError(f"{value!r} is aware: timestamps are stored as naive UTC datetimes")
        return value.isoformat(" ", "microseconds")
    return value


@functools.lru_cache(maxsize=256)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _regexp(pattern: str | None, value: Any) -> bool:
    if pattern is None or value is None:
        return False
    return _pattern(pattern).search(str(value)) is not None


# --- functions that run in the connection's worker thread ----------------------------


def _fetch(raw: sqlite3.Connection, sql: str, args: list[Any]) -> list[Row]:
    cursor = raw.execute(sql, [_adapt(a) for a in args])
    try:
        if cursor.description is None:
            return []
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cursor.close()


def _execute(raw: sqlite3.Connection, sql: str, args: list[Any]) -> int:
    cursor = raw.execute(sql, [_adapt(a) for a in args])
    try:
        cursor.fetchall()  # a RETURNING clause's rows must be consumed for the statement to finish
        return cursor.rowcount
    finally:
        cursor.close()


def split_script(sql: str) -> list[str]:
    """Split a script into statements at the semicolons SQLite itself sees as ends."""
    statements: list[str] = []
    start = 0
    for end, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[start : end + 1]):
            statements.append(sql[start : end + 1])
            start = end + 1
    rest = sql[start:]
    if any(line.strip() and not line.strip().startswith("--") for line in rest.splitlines()):
        statements.append(rest)
    return statements


def _script(raw: sqlite3.Connection, sql: str) -> None:
    # executescript() would COMMIT the open transaction first; run statement by statement.
    for statement in split_script(sql):
        raw.execute(statement)


def _end(raw: sqlite3.Connection, verb: str) -> None:
    # An interrupted write statement rolls its transaction back by itself: ROLLBACK
    # would then fail with "no transaction is active".
    if verb == "COMMIT" or raw.in_transaction:
        raw.execute(verb)


def _prepare(raw: sqlite3.Connection, sql: str, nargs: int) -> None:
    # EXPLAIN compiles the statement (names, types, syntax) without running it.
    raw.execute(f"EXPLAIN {sql}", [None] * nargs).fetchall()


def _with_deferred(raw: sqlite3.Connection, deferred: str | None, fn: Callable[..., Any], *args: Any) -> Any:
    if deferred is not None:
        try:
            raw.execute(deferred)
        except Error as exc:
            exc.rawdb_deferred_failed = True  # type: ignore[attr-defined]  # the BEGIN, not the statement
            raise
    return fn(raw, *args)


def _setup(raw: sqlite3.Connection, busy_timeout_ms: int, synchronous: str, read_only: bool) -> None:
    raw.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    raw.execute("PRAGMA foreign_keys = ON")
    if raw.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        raw.execute("PRAGMA journal_mode = WAL")
    raw.execute(f"PRAGMA synchronous = {synchronous}")
    raw.create_function("regexp", 2, _regexp, deterministic=True)
    # Reader connections refuse writes, as PostgreSQL's READ ONLY transactions do.
    raw.execute(f"PRAGMA query_only = {int(read_only)}")


class SqliteConnection(Connection):
    """A sqlite3 connection in a worker thread of its own; statements run there."""

    __slots__ = ("_broken", "_deferred", "pool", "worker")

    def __init__(self, worker: Worker, pool: Pool[SqliteConnection]) -> None:
        self.worker = worker
        self.pool = pool
        self.owner: object = None
        self._broken = False
        self._deferred: str | None = None
        self.failed_before_sending = False

    def __repr__(self) -> str:
        held = f" held by {self.owner!r}" if self.owner is not None else ""
        return f"<SqliteConnection {'broken' if self.broken else 'open'} of {self.pool.name}{held}>"

    def defer(self, sql: str) -> bool:
        """Send ``sql`` (a BEGIN) in the same thread hop as the next statement."""
        self._deferred = sql
        return True

    def drop_deferred(self) -> bool:
        """Forget a deferred statement that never ran; return whether there was one."""
        deferred, self._deferred = self._deferred, None
        return deferred is not None

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        worker = self.worker
        if not worker.running:
            self._broken = True
            self.failed_before_sending = True
            raise errors.DBConnectionError(f"the SQLite connection of {self.pool.name} is closed")
        deferred, self._deferred = self._deferred, None
        # One hop to the worker thread per statement (a deferred BEGIN rides along):
        # the rows come back as dicts.
        return await worker.call(_with_deferred, deferred, fn, *args)

    async def fetch(self, sql: str, args: list[Any]) -> list[Row]:
        rows: list[Row] = await self._call(_fetch, sql, args)
        return rows

    async def execute(self, sql: str, args: list[Any]) -> int:
        count: int = await self._call(_execute, sql, args)
        return count

    async def script(self, sql: str) -> None:
        await self._call(_script, sql)

    async def prepare(self, sql: str, nargs: int) -> None:
        await self._call(_prepare, sql, nargs)

    async def end(self, verb: str) -> None:
        await self._call(_end, verb)

    def interrupt(self) -> None:
        """Stop the statement running in the worker thread (its caller was cancelled).

        sqlite3_interrupt is safe from any thread and does nothing when no statement
        runs; the statements queued after it (the scope's ROLLBACK) are not affected.
        """
        self.worker.interrupt()

    def mark_broken(self) -> None:
        self._broken = True

    @property
    def broken(self) -> bool:
        return self._broken

    def alive(self) -> bool:
        return not self._broken and self.worker.running


async def _open(path: str, shown: str, busy_ms: int, synchronous: str, read_only: bool) -> Worker:
    """Open and set up one connection; on any failure, close what was opened.

    :raises DBConnectionError: the file cannot be opened, or is not a SQLite database (naming it)
    :raises DBDeadlock: another process held the database locked past busy_timeout
    """
    worker = Worker(f"{'reader' if read_only else 'writer'} of sqlite:///{path}")
    try:
        await worker.open(
            functools.partial(
                sqlite.connect, path, isolation_level=None, detect_types=sqlite.PARSE_DECLTYPES, check_same_thread=False
            )
        )
        await worker.call(_setup, busy_ms, synchronous, read_only)
    except BaseException as exc:
        worker.stop()
        if not isinstance(exc, Error):
            raise
        err = _sqlite_error(exc)
        if not isinstance(err, errors.DBDeadlock):  # a file that cannot be opened or is no database
            err = errors.DBConnectionError(
                f"Cannot open the SQLite database {shown}: {exc} ({err.errorname or 'sqlite3'})"
            )
        raise err from exc
    return worker


async def _close(conn: SqliteConnection) -> None:
    """Close ``conn`` and wait until its thread has closed the database file."""
    await conn.worker.close()


def _drop(conn: SqliteConnection) -> None:
    conn.worker.stop()


class SqliteBackend(Backend):
    """A SQLite database file with a writer pool of one and a small reader pool."""

    dialect = "sqlite"
    begin_writer = "BEGIN IMMEDIATE"
    begin_reader = "BEGIN"

    def __init__(
        self,
        path: str,
        *,
        readers: int,
        busy_timeout: float,
        acquire_timeout: float,
        synchronous: str,
        temporary: bool,
        max_waiting: int | None = None,
    ) -> None:
        self.path = path
        self._temporary = temporary
        self._closed = False
        busy_ms = int(busy_timeout * 1000)
        shown = os.path.abspath(path)  # what messages name

        def pool(
            read_only: bool, size: int, timeout: float, on_timeout: Callable[[], errors.DBError]
        ) -> Pool[SqliteConnection]:
            created: Pool[SqliteConnection]

            async def open_connection() -> SqliteConnection:
                return SqliteConnection(await _open(path, shown, busy_ms, synchronous, read_only), created)

            created = Pool(
                open_connection,
                _close,
                size,
                timeout,
                on_timeout,
                alive=SqliteConnection.alive,
                drop_connection=_drop,
                max_waiting=max_waiting,
                name=f"{'reader' if read_only else 'writer'} pool of sqlite:///{path}",
            )
            return created

        # Waiting for the writer connection is waiting for SQLite's write lock: a busy
        # database, which the retry machinery treats like a deadlock.
        def busy() -> errors.DBError:
            return errors.DBDeadlock(f"SQLite database {path} stayed busy (another writer) for {busy_timeout} s")

        def starved() -> errors.DBError:
            return errors.PoolTimeout(timeout=acquire_timeout)

        self._writer = pool(False, 1, busy_timeout, busy)
        self._readers = pool(True, readers, acquire_timeout, starved)

    @classmethod
    async def open(
        cls,
        path: str,
        *,
        readers: int,
        busy_timeout: float,
        acquire_timeout: float,
        synchronous: str,
        max_waiting: int | None = None,
    ) -> SqliteBackend:
        """Open (or create) the database file and check that it can be written.

        Whatever fails, the connection opened (and a temporary file) is removed first.
        """
        temporary = path in ("", ":memory:")
        if temporary:
            # SQLite's own in-memory databases are private to one connection (or, with
            # shared cache, lock differently from a file); a temporary file behaves
            # exactly like the files rawdb is used with, and is removed on close.
            fd, path = tempfile.mkstemp(prefix="rawdb-", suffix=".sqlite")
            os.close(fd)
        backend = cls(
            path,
            readers=readers,
            busy_timeout=busy_timeout,
            acquire_timeout=acquire_timeout,
            synchronous=synchronous,
            temporary=temporary,
            max_waiting=max_waiting,
        )
        try:
            conn = await backend._writer.acquire()  # opens the file, sets WAL
            backend._writer.release(conn)
        except BaseException:
            await backend.close()
            raise
        return backend

    async def acquire(self, mode: Mode, settings: Mapping[str, str] | None = None) -> Connection:
        if self._closed:
            raise errors.DBConnectionError(f"SQLite database {self.path} is closed")
        pool = self._writer if mode == "writer" else self._readers
        return await pool.acquire()

    def release(self, conn: Connection) -> None:
        assert isinstance(conn, SqliteConnection)
        conn.pool.release(conn, broken=conn.broken)

    async def close(self) -> None:
        self._closed = True
        await self._writer.close()
        await self._readers.close()
        self._remove_temporary()

    def abandon(self) -> None:
        self._closed = True
        for pool in (self._writer, self._readers):
            pool.abandon()
        self._remove_temporary()

    def _remove_temporary(self) -> None:
        if self._temporary:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path + suffix)

    def stats(self) -> dict[str, Any]:
        writer, readers = self._writer.stats(), self._readers.stats()
        return {
            "backend": self.dialect,
            **{key: writer[key] + readers[key] for key in ("size", "in_use", "idle", "waiting")},
            "max_size": self._writer.size + self._readers.size,
            "writers_waiting": writer["waiting"],
            "pool_waits": writer["waits"] + readers["waits"],
            "pool_wait_seconds": writer["wait_seconds"] + readers["wait_seconds"],
        }

    def translate(self, exc: BaseException) -> errors.RawdbError | None:
        if isinstance(exc, sqlite.InterfaceError) or (
            isinstance(exc, sqlite.ProgrammingError) and "binding parameter" in str(exc)
        ):  # a value sqlite3 cannot bind
            return errors.DBDataError(detail=str(exc))
        if isinstance(exc, Error):
            return _sqlite_error(exc)
        if isinstance(exc, (OverflowError, ValueError)):  # a value sqlite3 cannot store (UnicodeError too)
            return errors.DBDataError(detail=str(exc))
        return None

    def describe(self) -> str:
        return f"sqlite:///{self.path}"
