"""MariaDB 10.6+ through asyncmy: a writer pool and a reader pool (MySQL 8.0 lacks INSERT … RETURNING).

Every session is set up so that statements mean what they mean on the other backends
(spec mariadb.md): utf8mb4 with the binary ``utf8mb4_nopad_bin`` collation (``'a' = 'A'``
is false, strings sort by code point), ``sql_mode`` TRADITIONAL (as oslo.db sets it) plus
ANSI_QUOTES and PIPES_AS_CONCAT (``"identifiers"`` and ``||`` as in standard SQL),
``time_zone`` UTC, autocommit with explicit ``BEGIN``, affected-row counts of matched rows
(``CLIENT.FOUND_ROWS``, as SQLAlchemy sets it), and READ COMMITTED: InnoDB's default
REPEATABLE READ takes gap locks on rows that do not exist, so two callers creating
missing rows deadlock, and its snapshot reads would see a different database than the
other backends' per-statement reads.  Reader sessions are READ ONLY.

asyncmy, not aiomysql: it binds bytes and tuples, its errors carry the error number, and
it fetches rows 2.5-3x faster (spec §1; measured again for rawdb's statements, see the
README).  A statement cancelled by its caller leaves the server running it, with its
locks: the connection is dropped and its session killed from another connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import select
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncmy
from asyncmy import errors as mysql_errors
from asyncmy.constants import CLIENT

from rawdb import errors
from rawdb.backends.base import Backend, Connection, Mode, Row
from rawdb.backends.pool import Pool

log = logging.getLogger("rawdb")

# Error number -> rawdb error (spec mariadb.md §4).
_ERRNO: dict[int, type[errors.DBError]] = {
    1062: errors.DBDuplicateEntry,
    1451: errors.DBReferenceError,  # a parent row still referenced
    1452: errors.DBReferenceError,  # a child row without its parent
    1213: errors.DBDeadlock,  # deadlock; also a Galera certification conflict
    1205: errors.DBDeadlock,  # lock wait timeout (and NOWAIT): retry the whole transaction
    1180: errors.DBDeadlock,  # Galera: "Got error 6 during COMMIT"
    1146: errors.DBNonExistentTable,
    1406: errors.DBDataError,  # data too long
    1366: errors.DBDataError,  # incorrect string value (a 4-byte character on utf8mb3)
    1264: errors.DBDataError,  # out of range
    1292: errors.DBDataError,  # incorrect datetime value
    1690: errors.DBDataError,  # an unsigned value out of range
    1265: errors.DBDataError,  # data truncated
    1048: errors.DBNotNullError,
    4025: errors.DBConstraintError,  # MariaDB CHECK constraint
    3819: errors.DBConstraintError,  # MySQL CHECK constraint
    1792: errors.DBReadOnlyTransaction,
    1317: errors.DBQueryTimeout,  # query execution was interrupted
    1969: errors.DBQueryTimeout,  # max_statement_time exceeded
    3024: errors.DBQueryTimeout,  # MySQL max_execution_time exceeded
    1040: errors.DBConnectionError,  # too many connections
    1045: errors.DBConnectionError,  # access denied
    1049: errors.DBConnectionError,  # unknown database
    1927: errors.DBConnectionError,  # connection was killed
    4031: errors.DBConnectionError,  # MySQL: disconnected for inactivity
    2002: errors.DBConnectionError,
    2003: errors.DBConnectionError,
    2006: errors.DBConnectionError,  # server has gone away
    2013: errors.DBConnectionError,  # lost connection during query
}
_CONNECTION_LOST = frozenset(n for n, cls in _ERRNO.items() if cls is errors.DBConnectionError)

_KEY = re.compile(r"for key '(?:(?P<table>[^'.]*)\.)?(?P<key>[^'.]+)'$")
# The table a statement writes (MariaDB's 1062 message names the key, not its table, and
# every table has a key named PRIMARY).
_TARGET = re.compile(
    r'^(?:\s|--[^\n]*\n)*(?:INSERT\s+(?:IGNORE\s+)?INTO|REPLACE\s+INTO|UPDATE(?:\s+IGNORE)?)\s+[`"]?(?P<table>\w+)',
    re.IGNORECASE,
)
_ENTRY = re.compile(r"^Duplicate entry '(?P<value>.*)' for key ")
# Names in messages are quoted with backticks, or with double quotes under ANSI_QUOTES.
_REFERENCE = re.compile(
    r'CONSTRAINT [`"](?P<constraint>[^`"]+)[`"] FOREIGN KEY \([`"](?P<key>[^`"]+)[`"]\) '
    r'REFERENCES [`"](?P<table>[^`"]+)[`"]'
)
_CHILD_TABLE = re.compile(r'fails \([`"][^`"]+[`"]\.[`"](?P<table>[^`"]+)[`"]')
_CHECK = re.compile(r'CONSTRAINT [`"](?P<check>[^`"]+)[`"] failed for [`"][^`"]+[`"]\.[`"](?P<table>[^`"]+)[`"]')
_MISSING_TABLE = re.compile(r"Table '(?:[^'.]+\.)?(?P<table>[^']+)' doesn't exist")
_NULL_COLUMN = re.compile(r"Column '(?P<column>[^']+)' cannot be null")

UNIQUE_KEYS = """SELECT TABLE_NAME AS tab, INDEX_NAME AS name,
    GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) AS columns
FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND NON_UNIQUE = 0
GROUP BY TABLE_NAME, INDEX_NAME"""


def _errno(exc: BaseException) -> int | None:
    number = exc.args[0] if exc.args else None
    return number if isinstance(number, int) else None


def _server_error(exc: BaseException, number: int) -> errors.DBError:
    cls = _ERRNO.get(number, errors.DBError)
    message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    err: errors.DBError
    if cls is errors.DBDuplicateEntry:
        entry = _ENTRY.search(message)  # (a composite key's values come joined with '-')
        columns = getattr(exc, "rawdb_columns", None) or [_key_name(message)]
        err = errors.DBDuplicateEntry(columns, entry.group("value") if entry else None)
    elif cls is errors.DBReferenceError:
        ref = _REFERENCE.search(message)
        child = _CHILD_TABLE.search(message)
        err = errors.DBReferenceError(
            table=child.group("table") if child else None,
            constraint=ref.group("constraint") if ref else None,
            key=ref.group("key") if ref else None,
            key_table=ref.group("table") if ref else None,
        )
    elif cls is errors.DBNonExistentTable:
        match = _MISSING_TABLE.search(message)
        err = errors.DBNonExistentTable(match.group("table") if match else None)
    elif cls is errors.DBNotNullError:
        match = _NULL_COLUMN.search(message)
        err = errors.DBNotNullError(match.group("column") if match else None)
    elif cls is errors.DBConstraintError:
        match = _CHECK.search(message)
        err = errors.DBConstraintError(match.group("table") if match else None, match.group("check") if match else None)
    elif cls is errors.DBDataError:
        err = errors.DBDataError(detail=message)
    else:
        err = cls(f"{cls.msg_fmt} ({number}: {message})")
    err.errorname = str(number)
    return err


def _key_name(message: str) -> str:
    match = _KEY.search(message)
    return match.group("key") if match else "?"


def _violated_key(message: str, sql: str) -> tuple[str | None, str]:
    """The table (when the message or the statement tells) and the name of a 1062's key."""
    match = _KEY.search(message)
    if match is None:
        return None, "?"
    target = _TARGET.match(sql)
    return match.group("table") or (target.group("table") if target else None), match.group("key")


class MysqlConnection(Connection):
    """An asyncmy connection from one of the backend's pools."""

    __slots__ = ("_broken", "_poll", "backend", "pool", "raw")

    def __init__(self, raw: Any, pool: Pool[MysqlConnection], backend: MysqlBackend) -> None:
        self.raw = raw
        self.pool = pool
        self.backend = backend
        self.owner: object = None
        self.failed_before_sending = False
        self._broken = False
        self._poll = select.poll()
        sock = raw._transport.get_extra_info("socket") if raw._transport is not None else None
        if sock is not None:
            self._poll.register(sock.fileno(), select.POLLIN)

    def __repr__(self) -> str:
        held = f" held by {self.owner!r}" if self.owner is not None else ""
        state = "broken" if self.broken else "open"
        return f"<MysqlConnection id={self.raw.thread_id()} {state} of {self.pool.name}{held}>"

    async def _run(self, sql: str, args: Sequence[Any], fetch: bool) -> Any:
        for value in args:
            if type(value) not in _SCALARS:
                _check_value(value)
        cursor = self.raw.cursor()
        try:
            await cursor.execute(sql, args)
            if not fetch:
                return cursor.rowcount
            rows = await cursor.fetchall()
            description = cursor.description
        except BaseException as exc:
            await self._failed(exc, sql)
            raise
        finally:
            with contextlib.suppress(Exception):
                await cursor.close()
        if not description:
            return []
        return _rows(description, rows)

    async def _failed(self, exc: BaseException, sql: str) -> None:
        """Decide whether the connection survives ``exc``; learn a duplicate key's columns."""
        if not isinstance(exc, Exception):
            # Cancelled, or the coroutine closed mid-statement (GeneratorExit: a pending task
            # garbage-collected): the driver stops reading, the server still runs the
            # statement and keeps its locks until it ends.  Kill the session.
            self._broken = True
            self.backend.kill(self.raw.thread_id())
            return
        number = _errno(exc)
        if isinstance(exc, mysql_errors.InterfaceError) or number in _CONNECTION_LOST or not self.raw.connected:
            self._broken = True
            self.failed_before_sending = isinstance(exc, mysql_errors.InterfaceError) and number == 0
            return
        if number == 1062:
            table, key = _violated_key(str(exc.args[-1]), sql)
            exc.rawdb_columns = await self.backend.key_columns(self, table, key)  # type: ignore[attr-defined]

    async def fetch(self, sql: str, args: list[Any]) -> list[Row]:
        rows: list[Row] = await self._run(sql, args, True)
        return rows

    async def execute(self, sql: str, args: list[Any]) -> int:
        count: int = await self._run(sql, args, False)
        return count

    async def script(self, sql: str) -> None:
        for statement in split_script(sql):
            await self._run(statement, (), False)

    async def prepare(self, sql: str, nargs: int) -> None:
        # The server parses a statement it prepares: a typo or an unknown column fails here.
        text = sql.replace("%%", "%").replace("%s", "?")
        await self._run(f"PREPARE rawdb_check FROM {_quote(text)}", (), False)
        await self._run("DEALLOCATE PREPARE rawdb_check", (), False)

    def mark_broken(self) -> None:
        self._broken = True

    @property
    def broken(self) -> bool:
        return self._broken or not self.raw.connected

    def alive(self) -> bool:
        """Open, and the server has said nothing while it sat idle (see PgConnection.alive)."""
        if self.broken:
            return False
        try:
            return not self._poll.poll(0)
        except OSError:
            return False


_SCALARS = frozenset({int, float, bool, Decimal, bytes, type(None)})


def _check_value(value: Any) -> None:
    """Refuse what the driver would store wrong or the other backends refuse.

    asyncmy formats a dict as its Python repr and drops a datetime's time zone silently;
    PostgreSQL refuses both, and a NUL in a string, so rawdb refuses them here too.
    """
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("a string holds a NUL character (0x00), which text columns cannot store")
    elif isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError(f"{value!r} is aware: timestamps are stored as naive UTC datetimes")
    elif not isinstance(value, (date, time, timedelta, Decimal, int, float, bytes)):
        raise TypeError(f"cannot bind a {type(value).__name__} as a statement parameter")


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


# Column types MySQL returns differently from the other backends.
_TINY, _NEWDECIMAL = 1, 246


def _rows(description: Sequence[Sequence[Any]], rows: Sequence[Sequence[Any]]) -> list[Row]:
    """Rows as dicts, with BOOLEAN (tinyint(1)) as bool and whole DECIMALs (SUM of ints) as int."""
    names = [d[0] for d in description]
    fix = [
        (i, bool) if d[1] == _TINY and d[3] == 1 else (i, _whole) if d[1] == _NEWDECIMAL and d[5] == 0 else None
        for i, d in enumerate(description)
    ]
    fixes = [f for f in fix if f is not None]
    if not fixes:
        return [dict(zip(names, row, strict=True)) for row in rows]
    out = []
    for row in rows:
        values = list(row)
        for i, convert in fixes:
            if values[i] is not None:
                values[i] = convert(values[i])
        out.append(dict(zip(names, values, strict=True)))
    return out


def _whole(value: Decimal) -> int:
    return int(value)


def split_script(sql: str) -> list[str]:
    """The statements of a script, split at semicolons outside quotes and comments."""
    statements, current, quote = [], [], ""
    i = 0
    while i < len(sql):
        char = sql[i]
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "'\"`":
            quote = char
            current.append(char)
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = len(sql) if end < 0 else end
            continue
        elif char == ";":
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    statements.append("".join(current).strip())
    return [s for s in statements if s]


class MysqlBackend(Backend):
    """Connection pools for writers and readers on one MariaDB/MySQL database."""

    dialect = "mysql"
    begin_writer = "BEGIN"
    begin_reader = "START TRANSACTION READ ONLY"

    def __init__(self, url: str, writers: Pool[MysqlConnection], readers: Pool[MysqlConnection]) -> None:
        self._url = url
        self._writers = writers
        self._readers = readers
        self._unique_keys: dict[tuple[str, str], list[str]] = {}  # (table, key name) -> columns
        self._kills: set[asyncio.Task[None]] = set()
        self._connect: Any = None
        self._connect_bare: Any = None

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        pool_size: int,
        min_size: int,
        acquire_timeout: float,
        connect_timeout: float,
        lock_wait_timeout: int,
        server_settings: Mapping[str, Any] | None = None,
        max_waiting: int | None = None,
        unix_socket: str | None = None,
    ) -> MysqlBackend:
        """Open the pools; raise DBConnectionError when the server cannot be reached.

        Whatever fails, every connection opened so far is closed before the error is raised.
        """
        parts = urlsplit(url)
        settings = {
            "sql_mode": "'TRADITIONAL,ANSI_QUOTES,PIPES_AS_CONCAT'",
            "time_zone": "'+00:00'",
            "tx_isolation": "'READ-COMMITTED'",
            "innodb_lock_wait_timeout": str(int(lock_wait_timeout)),
            "group_concat_max_len": "1073741824",  # JSON_ARRAYAGG is cut silently at this length
            "sql_notes": "0",  # notes (IF NOT EXISTS, ...) are no warnings: no SHOW WARNINGS round trip
            # Index merges look cheap to MariaDB's optimizer and are not, for rawdb's statements:
            # an intersection of two flag indexes (deleted, os_hidden), or a union of visibility
            # and owner, reads every matching image and sorts it, where the (created_at, id)
            # index reads one page in order (glance's first page of 10k images: admin 24 ms
            # against 0.2 ms, user 7 ms against 0.5 ms).  rawdb's statements are written, as for
            # PostgreSQL, to be served by one index each.
            "optimizer_switch": "'index_merge=off'",
        }
        for name, value in (server_settings or {}).items():
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or not re.fullmatch(r"[A-Za-z0-9_.:+,-]*", str(value)):
                raise errors.Invalid(f"server_settings: refusing {name!r} = {value!r}")
            # A number goes unquoted: integer variables (wait_timeout, max_statement_time) refuse
            # a string (1232 "Incorrect argument type").
            numeric = isinstance(value, (int, float)) or re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", str(value))
            settings[name] = str(value) if numeric else f"'{value}'"
        init = "SET NAMES utf8mb4 COLLATE utf8mb4_nopad_bin; SET SESSION " + ", ".join(
            f"{name} = {value}" for name, value in settings.items()
        )
        kwargs = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 3306,
            "user": unquote(parts.username or "root"),
            "password": unquote(parts.password or ""),
            "db": parts.path.lstrip("/") or None,
            "charset": "utf8mb4",
            "autocommit": True,
            "client_flag": CLIENT.FOUND_ROWS,
            "connect_timeout": connect_timeout,
        }
        if unix_socket:
            kwargs["unix_socket"] = unix_socket
        backend: MysqlBackend

        def pool(read_only: bool) -> Pool[MysqlConnection]:
            created: Pool[MysqlConnection]
            session = init + ("; SET SESSION TRANSACTION READ ONLY" if read_only else "")

            async def open_connection() -> MysqlConnection:
                return MysqlConnection(await _connect({**kwargs, "init_command": session}, url), created, backend)

            created = Pool(
                open_connection,
                _close,
                pool_size,
                acquire_timeout,
                lambda: errors.PoolTimeout(timeout=acquire_timeout),
                alive=MysqlConnection.alive,
                drop_connection=_drop,
                max_idle=300.0,
                max_waiting=max_waiting,
                name=f"{'reader' if read_only else 'writer'} pool of {_safe(url)}",
            )
            return created

        backend = cls(url, pool(False), pool(True))
        # The killer's connection names no database: it works even if the database was
        # dropped meanwhile, and is no session of it.
        backend._connect = lambda: _connect({**kwargs, "db": None, "init_command": init}, url)
        backend._connect_bare = lambda read_only: _connect(
            {**kwargs, "init_command": init + ("; SET SESSION TRANSACTION READ ONLY" if read_only else "")}, url
        )
        try:
            conns = [await backend._writers.acquire() for _ in range(max(1, min(min_size, pool_size)))]
            wsrep = await conns[0].fetch("SHOW VARIABLES LIKE 'wsrep_on'", [])
            backend.galera = bool(wsrep) and str(wsrep[0]["Value"]).upper() == "ON"
            for conn in conns:
                backend._writers.release(conn)
        except BaseException:
            await backend.close()
            raise
        return backend

    async def acquire(self, mode: Mode, settings: Mapping[str, str] | None = None) -> Connection:
        return await (self._writers if mode == "writer" else self._readers).acquire()

    def release(self, conn: Connection) -> None:
        assert isinstance(conn, MysqlConnection)
        conn.pool.release(conn, broken=conn.broken)

    async def close(self) -> None:
        await self._writers.close()
        await self._readers.close()
        if self._kills:
            await asyncio.gather(*self._kills, return_exceptions=True)

    def abandon(self) -> None:
        self._writers.abandon()
        self._readers.abandon()

    def stats(self) -> dict[str, Any]:
        writer, readers = self._writers.stats(), self._readers.stats()
        return {
            "backend": self.dialect,
            **{key: writer[key] + readers[key] for key in ("size", "in_use", "idle", "waiting")},
            "max_size": self._writers.size + self._readers.size,
            "writers_waiting": writer["waiting"],
            "pool_waits": writer["waits"] + readers["waits"],
            "pool_wait_seconds": writer["wait_seconds"] + readers["wait_seconds"],
        }

    def translate(self, exc: BaseException) -> errors.RawdbError | None:
        if isinstance(exc, mysql_errors.InterfaceError):
            return errors.DBConnectionError(f"Connection to the database failed: {exc}")
        if isinstance(exc, mysql_errors.Error):
            number = _errno(exc)
            if number is None:
                return errors.DBError(f"{errors.DBError.msg_fmt} ({type(exc).__name__}: {exc})")
            return _server_error(exc, number)
        if isinstance(exc, (OSError, ConnectionError)):
            return errors.DBConnectionError(f"Connection to the database failed: {exc}")
        if isinstance(exc, (TypeError, ValueError, OverflowError)):  # a value the driver cannot bind
            return errors.DBDataError(detail=str(exc))
        return None

    def describe(self) -> str:
        return _safe(self._url)

    async def key_columns(self, conn: MysqlConnection, table: str | None, key: str) -> list[str]:
        """The columns of a unique key (a duplicate-entry error names only the key).

        Without its table, a key name that several tables use (PRIMARY) is answered only
        when all of them have the same columns; else the key's name stands for them.
        """

        def lookup() -> list[str] | None:
            if table is not None:
                return self._unique_keys.get((table, key))
            found = {tuple(cols) for (_, name), cols in self._unique_keys.items() if name == key}
            return list(found.pop()) if len(found) == 1 else None

        columns = lookup()
        if columns is None:  # a table created since the keys were read, or never read yet
            with contextlib.suppress(Exception):
                cursor = conn.raw.cursor()
                await cursor.execute(UNIQUE_KEYS, ())
                for tab, name, cols in await cursor.fetchall():
                    self._unique_keys[(tab, name)] = cols.split(",")
                await cursor.close()
            columns = lookup()
        return list(columns) if columns is not None else [key]

    async def bare_connection(self, *, read_only: bool) -> Any:
        """An asyncmy connection outside the pools, with the session the pools' have (for the
        benchmark's driver replay); the caller closes it.

        :raises DBConnectionError: the server cannot be reached
        """
        return await self._connect_bare(read_only)

    def kill(self, thread_id: int) -> None:
        """Kill a session whose statement was cancelled, so the server stops it and rolls back."""
        if self._connect is None:
            return

        async def kill() -> None:
            raw = None
            try:
                raw = await self._connect()
                cursor = raw.cursor()
                await cursor.execute(f"KILL CONNECTION {int(thread_id)}", ())
            except Exception as exc:  # it may have ended already
                log.debug("KILL CONNECTION %s: %s", thread_id, exc)
            finally:
                if raw is not None:
                    raw.close()

        with contextlib.suppress(RuntimeError):  # no event loop any more
            task = asyncio.get_running_loop().create_task(kill())
            self._kills.add(task)
            task.add_done_callback(self._kills.discard)


async def _connect(kwargs: dict[str, Any], url: str) -> Any:
    try:
        return await asyncmy.connect(**kwargs)
    except (mysql_errors.Error, OSError, TimeoutError, ValueError) as exc:
        raise errors.DBConnectionError(f"Cannot connect to {_safe(url)}: {exc}") from exc


async def _close(conn: MysqlConnection) -> None:
    if conn.broken:
        _drop(conn)
        return
    try:
        await asyncio.wait_for(conn.raw.ensure_closed(), timeout=5)
    except BaseException:
        _drop(conn)
        raise


def _drop(conn: MysqlConnection) -> None:
    with contextlib.suppress(Exception):  # the event loop may be closed already
        conn.raw.close()


def _safe(url: str) -> str:
    """The URL without its password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)
