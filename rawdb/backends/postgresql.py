"""PostgreSQL through an asyncpg pool (and optional read-replica pools)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import select
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import asyncpg
from asyncpg.exceptions import _base as asyncpg_base

from rawdb import errors
from rawdb.backends._pg_replicas import Replica, ReplicaSet
from rawdb.backends.base import Backend, Connection, Mode, Row, parse_key_detail
from rawdb.backends.pool import Pool

log = logging.getLogger("rawdb")

# SQLSTATE (or its two-character class) -> how to build the rawdb error.
_SQLSTATE: dict[str, type[errors.DBError]] = {
    "23505": errors.DBDuplicateEntry,
    "23503": errors.DBReferenceError,
    "23514": errors.DBConstraintError,
    "23502": errors.DBNotNullError,
    "40P01": errors.DBDeadlock,  # deadlock_detected
    "40001": errors.DBDeadlock,  # serialization_failure
    "55P03": errors.DBDeadlock,  # lock_not_available (NOWAIT, lock_timeout)
    "57014": errors.DBQueryTimeout,  # query_canceled (statement_timeout)
    "42P01": errors.DBNonExistentTable,
    "25P02": errors.DBInvalidTransaction,
    "25006": errors.DBReadOnlyTransaction,  # read_only_sql_transaction
    "57P01": errors.DBConnectionError,  # admin_shutdown, pg_terminate_backend
    "57P02": errors.DBConnectionError,
    "57P03": errors.DBConnectionError,
    "53300": errors.DBConnectionError,  # too_many_connections
    "08": errors.DBConnectionError,
    "22": errors.DBDataError,
}

_PRESENT_IN = re.compile(r'(?:present in|referenced from) table "(?P<table>[^"]+)"')
_RELATION = re.compile(r'relation "(?P<table>[^"]+)" does not exist')


def _server_error(exc: asyncpg.PostgresError) -> errors.DBError:
    state = exc.sqlstate or ""
    cls = _SQLSTATE.get(state) or _SQLSTATE.get(state[:2]) or errors.DBError
    detail = getattr(exc, "detail", None)
    err: errors.DBError
    if cls is errors.DBDuplicateEntry:
        columns, value = parse_key_detail(detail)
        err = errors.DBDuplicateEntry(columns or [getattr(exc, "constraint_name", None) or "?"], value)
    elif cls is errors.DBReferenceError:
        columns, _ = parse_key_detail(detail)
        match = _PRESENT_IN.search(detail or "")
        err = errors.DBReferenceError(
            table=getattr(exc, "table_name", None),
            constraint=getattr(exc, "constraint_name", None),
            key=columns[0] if columns else None,
            key_table=match.group("table") if match else None,
        )
    elif cls is errors.DBConstraintError:
        err = errors.DBConstraintError(getattr(exc, "table_name", None), getattr(exc, "constraint_name", None))
    elif cls is errors.DBNotNullError:
        err = errors.DBNotNullError(getattr(exc, "column_name", None))
    elif cls is errors.DBNonExistentTable:
        match = _RELATION.search(str(exc))
        err = errors.DBNonExistentTable(match.group("table") if match else None)
    elif cls is errors.DBDataError:
        err = errors.DBDataError(detail=str(exc))
    else:
        err = cls(f"{cls.msg_fmt} ({type(exc).__name__}: {exc})")
    err.sqlstate = state
    return err


_server_cancels: set[asyncio.Task[None]] = set()


def _cancel_on_server(raw: asyncpg.Connection) -> None:
    """Send a CancelRequest for ``raw``'s running statement, in the background.

    asyncpg's own cancellation task belongs to the connection and is cancelled when the
    connection is terminated, so the request is sent here, on its own.
    """
    from asyncpg import connect_utils

    try:
        loop = asyncio.get_running_loop()
        request = connect_utils._cancel(
            loop=loop,
            addr=raw._addr,
            params=raw._params,
            backend_pid=raw.get_server_pid(),
            backend_secret=raw._protocol.backend_secret,
        )
    except (RuntimeError, AttributeError) as exc:  # no event loop any more; or an asyncpg without these
        log.debug("cannot cancel the statement of a closed coroutine: %s", exc)
        return

    async def cancel() -> None:
        try:
            await request
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:  # it may have ended already
            log.debug("cancelling the statement of a closed coroutine failed: %s", exc)

    task = loop.create_task(cancel())
    _server_cancels.add(task)
    task.add_done_callback(_server_cancels.discard)


class PgConnection(Connection):
    """An asyncpg connection from one of the backend's pools."""

    __slots__ = ("_broken", "_poll", "pool", "raw", "shared_session")

    def __init__(self, raw: asyncpg.Connection, pool: Pool[PgConnection], shared_session: bool = False) -> None:
        """``shared_session``: through PgBouncer (transaction pooling), where the server session
        is another client's between transactions, so nothing may outlive one on it."""
        self.raw = raw
        self.pool = pool
        self.shared_session = shared_session
        self.owner: object = None
        self._broken = False
        self.failed_before_sending = False
        # A poll object with the socket registered: asking it costs one system call (half
        # of what select() costs, which builds its fd sets anew every time).
        self._poll = select.poll()
        sock = raw._transport.get_extra_info("socket") if raw._transport is not None else None
        if sock is not None:
            self._poll.register(sock.fileno(), select.POLLIN)

    def __repr__(self) -> str:
        held = f" held by {self.owner!r}" if self.owner is not None else ""
        state = "broken" if self.broken else "open"
        return f"<PgConnection pid={self.raw.get_server_pid()} {state} of {self.pool.name}{held}>"

    def _failed(self, exc: BaseException) -> None:
        """Decide from a driver error whether the connection can still be used."""
        if isinstance(exc, GeneratorExit):
            # The coroutine was closed mid-statement (a pending task garbage-collected):
            # asyncpg cancels a statement only on CancelledError, and the server would run
            # this one to its end, keeping its locks, although its connection is closed.
            self._broken = True
            _cancel_on_server(self.raw)
            return
        if isinstance(exc, asyncpg.PostgresError):
            # The server answered: the session lives on, unless it was ended (57P0x) or lost.
            if self.raw.is_closed() or (exc.sqlstate or "").startswith(("57P0", "08")):
                self._broken = True
            return
        if isinstance(exc, (asyncpg_base.DataError, asyncpg_base.OutdatedSchemaCacheError, asyncio.CancelledError)):
            # An argument asyncpg could not encode, a stale type cache, or a cancelled call:
            # asyncpg cancels the statement on the server and waits for that before the
            # connection's next statement, so it stays usable.
            return
        # Anything else (the socket went away, the protocol is out of step) leaves the
        # connection unusable.  A protocol out of step, or a connection already closed,
        # refuses before writing anything: the statement never reached the server.
        self._broken = True
        self.failed_before_sending = isinstance(exc, asyncpg_base.InternalClientError) or (
            isinstance(exc, asyncpg.InterfaceError) and self.raw.is_closed()
        )

    async def fetch(self, sql: str, args: list[Any]) -> list[Row]:
        try:
            records = await self.raw.fetch(sql, *args)
        except BaseException as exc:
            self._failed(exc)
            raise
        return [dict(r.items()) for r in records]

    async def fetch_records(self, sql: str, args: list[Any]) -> Sequence[Mapping[str, Any]]:
        try:
            records: list[asyncpg.Record] = await self.raw.fetch(sql, *args)
        except BaseException as exc:
            self._failed(exc)
            raise
        return records

    async def execute(self, sql: str, args: list[Any]) -> int:
        try:
            status = await self.raw.execute(sql, *args)
        except BaseException as exc:
            self._failed(exc)
            raise
        last = status.rpartition(" ")[2]
        return int(last) if last.isdigit() else 0

    async def script(self, sql: str) -> None:
        try:
            await self.raw.execute(sql)
        except BaseException as exc:
            self._failed(exc)
            raise

    async def prepare(self, sql: str, nargs: int) -> None:
        try:
            await self.raw.prepare(sql)
            if self.shared_session:
                # asyncpg ends Parse/Describe with Flush, not Sync (a statement's Bind follows):
                # PgBouncer keeps the server session this client's until a Sync, so a reader that
                # only prepared would hold one while idle in the pool (a pool of one hung).  A
                # simple query ends the exchange.  (The statement is unnamed: statement cache off.)
                await self.raw.execute("SELECT 1")
        except BaseException as exc:
            self._failed(exc)
            raise

    def mark_broken(self) -> None:
        self._broken = True

    @property
    def broken(self) -> bool:
        return self._broken or self.raw.is_closed()

    def alive(self) -> bool:
        """Whether an idle connection can be handed out: open, and the server has said nothing.

        A server that ends an idle session (pg_terminate_backend, idle_session_timeout,
        a shutdown or failover) sends an error and closes the socket; the event loop may
        not have read either yet.  An idle session otherwise receives nothing, so a
        readable socket means a dead one.  One poll of the socket, no round trip.
        """
        if self._broken or self.raw.is_closed():
            return False  # (checked first: a closed socket's number may belong to another one now)
        try:
            return not self._poll.poll(0)
        except OSError:
            return False


class PostgresBackend(Backend):
    """Connection pools: writers and readers on the primary, and optional read replicas.

    ``pool_size`` applies to each of the writer and reader pools.  A replica that cannot be
    reached is left out (its readers go to the primary) and tried again in the background;
    with ``max_replica_lag`` one whose replay lags further behind is left out too.
    """

    dialect = "postgresql"
    begin_writer = "BEGIN"
    begin_reader = "BEGIN READ ONLY"

    def __init__(
        self,
        dsn: str,
        primary: Pool[PgConnection],
        readers: Pool[PgConnection],
        replicas: list[Pool[PgConnection]],
    ) -> None:
        self._dsn = dsn
        self._primary = primary
        self._readers = readers
        self._replica_set = ReplicaSet(None)
        for pool in replicas:
            self._replica_set.add(pool)
        self._pool_for: Callable[[str, bool, Mapping[str, str]], Pool[PgConnection]] | None = None
        self._session_pools: dict[tuple[tuple[str, str], ...], Pool[PgConnection]] = {}
        self._pgbouncer = False  # sessions carry no settings of rawdb's own (see open())

    @property
    def _replicas(self) -> list[Pool[PgConnection]]:
        """The replicas' pools, reachable or not."""
        return [replica.pool for replica in self._replica_set.replicas]

    @property
    def dsn(self) -> str:
        """The primary's connection string (rawdb's own URL options removed)."""
        return self._dsn

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        replicas: list[str],
        pool_size: int,
        min_size: int,
        acquire_timeout: float,
        pgbouncer: bool,
        connect_timeout: float,
        statement_cache_size: int | None = None,
        server_settings: dict[str, str] | None = None,
        command_timeout: float | None = None,
        writer_plan_cache_mode: str | None = "force_generic_plan",
        max_waiting: int | None = None,
        max_replica_lag: float | None = None,
    ) -> PostgresBackend:
        """Open the pools; raise DBConnectionError when the primary cannot be reached.

        A replica that cannot be reached is logged and retried in the background.

        Whatever fails, every connection opened so far is closed before the error is raised.
        """
        kwargs: dict[str, Any] = {
            "timeout": connect_timeout,
            # JIT compiles a statement whose estimated cost passes jit_above_cost, which a page of
            # 1,000 rows with correlated children does: 40-75 ms of compiling for a 65 ms statement
            # (nova's 1,000-instance page).  rawdb's statements are short; callers may turn it on.
            "server_settings": {"jit": "off", **(server_settings or {})},
            "command_timeout": command_timeout,
        }
        # PgBouncer in transaction mode hands each transaction a different server
        # connection, so prepared statements cannot be cached (asyncpg FAQ, #121).
        if pgbouncer:
            kwargs["statement_cache_size"] = 0
        elif statement_cache_size is not None:
            kwargs["statement_cache_size"] = statement_cache_size

        def pool_for(target: str, read_only: bool, session: Mapping[str, str] = {}) -> Pool[PgConnection]:
            pool: Pool[PgConnection]
            if pgbouncer:
                # PgBouncer refuses startup parameters it does not know, and a session setting
                # would not follow the client from one server connection to the next anyway:
                # only the caller's own server_settings are sent (PgBouncer must accept them).
                settings: dict[str, Any] = dict(server_settings or {})
            elif read_only:
                # Readers run without BEGIN; the session refuses writes as BEGIN READ ONLY would.
                settings = {**kwargs["server_settings"], **session, "default_transaction_read_only": "on"}
            else:
                # Writers' statements are keyed updates whose best plan does not depend on the
                # values; PostgreSQL kept re-planning the one-statement quota reserve for every
                # call (0.6 ms of its 1.7 ms).  Readers keep custom plans: listings depend on
                # their filter values.
                settings = {"plan_cache_mode": writer_plan_cache_mode, **kwargs["server_settings"]}
                if writer_plan_cache_mode is None:
                    del settings["plan_cache_mode"]
            options = {**kwargs, "server_settings": settings}

            async def open_connection() -> PgConnection:
                return PgConnection(await _connect(target, options), pool, shared_session=pgbouncer)

            role = "writer" if not read_only else "reader" if not session else f"reader {dict(session)}"
            pool = Pool(
                open_connection,
                _close,
                pool_size,
                acquire_timeout,
                lambda: errors.PoolTimeout(timeout=acquire_timeout),
                alive=PgConnection.alive,
                drop_connection=_drop,
                max_idle=300.0,
                max_waiting=max_waiting,
                name=f"{role} pool of {_safe(target)}",
            )
            return pool

        primary = pool_for(dsn, read_only=False)
        backend = cls(dsn, primary, pool_for(dsn, read_only=True), [])
        backend._pool_for = pool_for
        backend._pgbouncer = pgbouncer
        backend._replica_set.max_lag = max_replica_lag
        try:
            await _warm(primary, min(min_size, pool_size))
            for replica in replicas:
                pool = pool_for(replica, read_only=True)
                known = backend._replica_set.add(pool, replica)
                try:
                    await _warm(pool, min(min_size, pool_size))
                except errors.DBConnectionError as exc:
                    backend._replica_set.down(known, exc)
        except BaseException:
            await backend.close()
            raise
        return backend

    async def acquire(self, mode: Mode, settings: Mapping[str, str] | None = None) -> Connection:
        if mode == "replica" and self._replicas:
            sessions = self._replica_sessions(settings) if settings and not self._pgbouncer else None
            conn = await self._replica_set.acquire(sessions)
            if conn is not None:
                return conn
        if settings and mode != "writer" and not self._pgbouncer:
            # A reader that needs settings (the listing's force_custom_plan) gets a session
            # that has them, from a pool of its own: one statement, no BEGIN/SET LOCAL/ROLLBACK.
            # (Through PgBouncer no session keeps settings: such a reader runs with the server's.)
            key = tuple(sorted(settings.items()))
            pool = self._session_pools.get(key)
            if pool is None:
                assert self._pool_for is not None
                pool = self._session_pools[key] = self._pool_for(self._dsn, True, dict(settings))
            return await pool.acquire()
        return await (self._primary if mode == "writer" else self._readers).acquire()

    def _replica_sessions(self, settings: Mapping[str, str]) -> Callable[[Replica], Pool[PgConnection]]:
        """A replica's pool of sessions with ``settings``, made the first time a reader asks."""
        key = tuple(sorted(settings.items()))

        def sessions(replica: Replica) -> Pool[PgConnection]:
            pool = replica.sessions.get(key)
            if pool is None:
                assert self._pool_for is not None
                pool = replica.sessions[key] = self._pool_for(replica.target, True, dict(settings))
            return pool

        return sessions

    def release(self, conn: Connection) -> None:
        assert isinstance(conn, PgConnection)
        conn.pool.release(conn, broken=conn.broken)

    def _pools(self) -> list[Pool[PgConnection]]:
        sessions = [pool for replica in self._replica_set.replicas for pool in replica.sessions.values()]
        return [self._primary, self._readers, *self._session_pools.values(), *self._replicas, *sessions]

    async def close(self) -> None:
        await self._replica_set.close()
        for pool in self._pools():
            await pool.close()

    def abandon(self) -> None:
        self._replica_set.abandon()
        for pool in self._pools():
            pool.abandon()

    def stats(self) -> dict[str, Any]:
        pools = (self._primary, self._readers, *self._session_pools.values())
        figures = [p.stats() for p in pools]
        return {
            "backend": self.dialect,
            **{key: sum(f[key] for f in figures) for key in ("size", "in_use", "idle", "waiting")},
            "max_size": sum(p.size for p in pools),
            "writers_waiting": self._primary.waiting,
            **self._replica_set.stats(),
            "pool_waits": sum(p.waits for p in self._pools()),
            "pool_wait_seconds": sum(p.wait_seconds for p in self._pools()),
        }

    def translate(self, exc: BaseException) -> errors.RawdbError | None:
        if isinstance(exc, asyncpg.PostgresError):
            return _server_error(exc)
        if isinstance(exc, asyncpg_base.DataError):
            return errors.DBDataError(detail=str(exc))
        if isinstance(exc, (asyncpg.InterfaceError, asyncpg_base.InternalClientError, OSError)):
            # asyncpg refused the call or lost the socket; PgConnection has already marked
            # the connection broken where its state is unknown.
            return errors.DBConnectionError(f"Connection to the database failed: {type(exc).__name__}: {exc}")
        return None

    def describe(self) -> str:
        return _safe(self._dsn)


# Address columns (nova's INET) read as the text PostgreSQL prints, as the other backends store them,
# not as ipaddress objects: the same call returns the same types everywhere.
_TEXT_TYPES = ("inet", "cidr")


async def _connect(dsn: str, kwargs: dict[str, Any]) -> asyncpg.Connection:
    try:
        raw = await asyncpg.connect(dsn, **kwargs)
        try:
            for name in _TEXT_TYPES:
                await raw.set_type_codec(name, schema="pg_catalog", encoder=str, decoder=str, format="text")
        except BaseException:
            raw.terminate()
            raise
        return raw
    except (TimeoutError, OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise errors.DBConnectionError(f"Cannot connect to {_safe(dsn)}: {exc}") from exc
    except asyncpg_base.InternalClientError as exc:
        raise errors.DBConnectionError(f"Cannot connect to {_safe(dsn)}: {type(exc).__name__}: {exc}") from exc


async def _close(conn: PgConnection) -> None:
    if conn.raw.is_closed():
        return
    if conn._broken:
        conn.raw.terminate()  # its state is unknown: do not wait for a goodbye
        return
    try:
        await asyncio.wait_for(conn.raw.close(), timeout=5)
    except BaseException:
        conn.raw.terminate()
        raise


def _drop(conn: PgConnection) -> None:
    with contextlib.suppress(Exception):  # the event loop may be closed already
        conn.raw.terminate()


async def _warm(pool: Pool[PgConnection], count: int) -> None:
    """Open ``count`` connections now, so a bad URL fails at connect() time."""
    conns: list[PgConnection] = []
    try:
        for _ in range(count):
            conns.append(await pool.acquire())
    finally:
        for conn in conns:
            pool.release(conn)


def _safe(dsn: str) -> str:
    """The DSN without its password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", dsn)
