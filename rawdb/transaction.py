"""One database transaction on one connection: an explicit state machine.

A Transaction is created by a scope (``ctx.reader()``, ``ctx.writer()``), never by
callers.  It sends every round trip through ``send``, which translates driver errors,
records the statement for logging, hooks and counters (and as a span, when the Database
traces: the transaction's ``span`` is its scope's), and keeps the transaction's state:
once a statement fails, the transaction is aborted on both backends (PostgreSQL would
refuse further statements; SQLite would not, so rawdb refuses them for it), until a
savepoint rolls the failure back or the scope ends.

Faults it survives:

- A connection found dead before the scope changed anything (it died idle in the
  pool: a terminated backend, a restart, a failover) is replaced and the statement
  re-sent, so the caller never sees it.  Later, a lost connection is a
  ``DBConnectionError`` and nothing of the transaction is committed.
- A cancelled scope (asyncio's cancellation, ``asyncio.timeout``, an anyio cancel
  scope that keeps re-cancelling) is rolled back by a teardown the cancellation cannot
  interrupt, and its connection goes back clean or is closed.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import re
import sys
import time
import warnings
from collections.abc import Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from rawdb import errors
from rawdb.backends.base import Connection, Mode, Row

if TYPE_CHECKING:
    from rawdb.database import Database
    from rawdb.tracing import ScopeSpan


_SETTING = re.compile(r"^[a-z_][a-z0-9_.]*$")
_SETTING_VALUE = re.compile(r"^[A-Za-z0-9_.:-]*$")


def set_local(settings: Mapping[str, str]) -> list[str]:
    """``SET LOCAL`` statements for PostgreSQL settings chosen by rawdb's code (never user input)."""
    statements = []
    for name, value in settings.items():
        if not _SETTING.match(name) or not _SETTING_VALUE.match(value):
            raise errors.ScopeError(f"refusing setting {name!r} = {value!r}: not a plain setting name and value")
        statements.append(f"SET LOCAL {name} = '{value}'")
    return statements


class TxState(enum.Enum):
    NEW = 0
    STARTED = 1
    COMMITTED = 2
    ROLLEDBACK = 3
    FAILED = 4


_ids = itertools.count(1)
log = logging.getLogger("rawdb")
T = TypeVar("T")

# Dead connections replaced, in a row, before the statement's error is given up on.
_REPLACEMENTS = 3
# Seconds a teardown ROLLBACK may take before its connection is closed instead.
TEARDOWN_TIMEOUT = 10.0


async def shielded(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end even if the caller is cancelled meanwhile, then re-raise that.

    Works for asyncio cancellation (``task.cancel()``, ``asyncio.timeout``) and for anyio
    cancel scopes, which cancel every await of a cancelled scope again and again.
    """
    task = asyncio.get_running_loop().create_task(coro)
    cancelled: BaseException | None = None
    with anyio.CancelScope(shield=True):
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError as exc:
                cancelled = exc
    if cancelled is not None:
        if not task.cancelled() and task.exception() is not None:
            cancelled.__context__ = task.exception()
        raise cancelled
    return task.result()


class Transaction:
    """A transaction bound to one pooled connection, from BEGIN to COMMIT or ROLLBACK."""

    __slots__ = (
        "_begin_sql",
        "_busy",
        "_ended_by_server",
        "_failure",
        "_replaceable",
        "_savepoints",
        "_settings",
        "conn",
        "db",
        "id",
        "mode",
        "session",
        "span",
        "state",
    )

    def __init__(self, db: Database, mode: Mode) -> None:
        self.db = db
        self.mode: Mode = mode
        self.id = next(_ids)
        self.state = TxState.NEW
        self.conn: Connection | None = None
        self._busy = False
        self._failure: BaseException | None = None
        # MariaDB/MySQL roll the whole transaction back on a deadlock: its savepoints are gone
        # with it, and only a retry of the whole scope can go on (the deadlock, kept here).
        self._ended_by_server: errors.RawdbError | None = None
        self._savepoints = 0
        self.session: Mapping[str, str] | None = None  # a reader's session settings (PostgreSQL)
        self._settings: Mapping[str, str] | None = None  # what the connection was acquired with
        # BEGIN (and SET LOCAL) once sent: the scope's end must make sure no transaction
        # stays open, and a replacement connection starts over with it.
        self._begin_sql: str | None = None
        # Whether the transaction could start over on a new connection: nothing of it has
        # run yet (a writer's first statement after BEGIN clears it).
        self._replaceable = True
        self.span: ScopeSpan | None = None  # the scope's span, when the Database traces

    def __repr__(self) -> str:
        return f"<Transaction {self.id} {self.mode} {self.state.name} on {self.db.dialect}>"

    @property
    def open(self) -> bool:
        """Whether BEGIN was sent (readers run without one unless asked)."""
        return self._begin_sql is not None

    @property
    def failure(self) -> BaseException | None:
        """The error that aborted this transaction, if one did."""
        return self._failure

    def check(self, call: str) -> None:
        """Raise ScopeError unless a statement may run now."""
        if self.state is not TxState.STARTED:
            raise errors.ScopeError(
                f"cannot call {call}: the transaction scope has ended ({self.state.name.lower()}); open a new scope"
            )
        if self._busy:
            raise errors.ScopeError(
                f"cannot call {call}: another statement is running in this transaction; a transaction "
                "runs one statement at a time, so give concurrent tasks scopes of their own"
            )

    async def begin(self, settings: Mapping[str, str] | None = None, autocommit: bool = False) -> None:
        """Acquire a connection and, for a writer, start the transaction.

        A reader runs its statements without BEGIN, on a read-only connection: at READ
        COMMITTED a transaction would give them no common snapshot anyway, and BEGIN and
        ROLLBACK would be two round trips more than the statement itself.

        :param settings: PostgreSQL settings a reader's statements run with: its connection
            comes from a pool of sessions that have them; ignored on SQLite
        :param autocommit: a writer whose statements commit one by one until
            ``open_transaction()`` is called (for a single statement that is atomic on its own)
        """
        if self.db.closed:
            raise errors.DBConnectionError(f"cannot open a scope: {self.db!r} is closed")
        self._settings = settings
        if self.db.tracing is not None:
            self.span = self.db.tracing.start_scope(self.mode)
        try:
            conn = await self.db.backend.acquire(self.mode, settings)
        except BaseException as exc:
            if self.span is not None:
                self.span.end("failed", exc)
                self.span = None
            raise
        conn.owner = self
        self.conn = conn
        self.state = TxState.STARTED
        if settings and self.mode != "writer" and self.db.dialect == "postgresql":
            self.session = dict(settings)
        if self.mode == "writer" and not autocommit:
            try:
                await self.open_transaction(settings)
            except BaseException:
                await self.abort()
                raise

    async def open_transaction(self, settings: Mapping[str, str] | None = None) -> None:
        """Send BEGIN (with ``SET LOCAL`` settings on PostgreSQL), once."""
        backend = self.db.backend
        if self.open:
            if settings and backend.dialect == "postgresql":
                set_sql = "; ".join(set_local(settings))
                await self.send("SET LOCAL", set_sql, [], fetch=None, control=True)
                self._begin_sql = f"{self._begin_sql}; {set_sql}"
            return
        begin = backend.begin_writer if self.mode == "writer" else backend.begin_reader
        if settings and backend.dialect == "postgresql":
            begin = "; ".join([begin, *set_local(settings)])
        assert self.conn is not None
        self._begin_sql = begin
        if self.conn.defer(begin):
            # SQLite: BEGIN goes to the worker thread with the first statement (one hop less)
            self.db.observer.record("BEGIN", begin, [], 0.0, 0, self.id, self.mode)
        else:
            await self.send("BEGIN", begin, [], fetch=False, control=True)

    async def send(
        self,
        name: str,
        sql: str,
        args: list[Any],
        *,
        fetch: bool | None,
        records: bool = False,
        control: bool = False,
    ) -> Any:
        """Run one round trip; return rows (``fetch``), the affected row count, or None (a script).

        :param records: with ``fetch``, the driver's read-only row mappings instead of dicts
        :param control: BEGIN or SET LOCAL: not a statement of the transaction's own
        """
        self.check(f"{name}()")
        if self._failure is not None:
            raise errors.DBInvalidTransaction(
                f"cannot run {name}: the transaction was aborted by an earlier error "
                f"({type(self._failure).__name__}: {self._failure}); end the scope, or catch such "
                "errors outside a tx.savepoint() block"
            ) from self._failure
        db = self.db
        self._busy = True
        started = time.perf_counter()
        replaced = 0
        restart: str | None = None
        try:
            while True:
                conn = self.conn
                assert conn is not None
                try:
                    if restart is not None:
                        if not conn.defer(restart):
                            await conn.execute(restart, [])
                        restart = None
                    result: Sequence[Mapping[str, Any]] | int
                    if fetch is None:
                        await conn.script(sql)
                        result = 0
                    elif fetch:
                        result = await (conn.fetch_records(sql, args) if records else conn.fetch(sql, args))
                    else:
                        result = await conn.execute(sql, args)
                    break
                except (asyncio.CancelledError, GeneratorExit):
                    # GeneratorExit: the coroutine was closed while it waited (a pending task
                    # garbage-collected); the statement must stop all the same.
                    self._failure = errors.DBError(f"statement {name} was cancelled")
                    conn.interrupt()
                    raise
                except Exception as exc:
                    if conn.broken and replaced < _REPLACEMENTS and self._may_replace(conn):
                        replaced += 1
                        await self._replace(name, exc)
                        # start the transaction over, unless this statement is its BEGIN
                        restart = self._begin_sql if sql != self._begin_sql else None
                        continue
                    raise self._failed(name, sql, args, started, exc) from exc
        finally:
            self._busy = False
        if not control:
            self._replaceable = False
        elapsed = (time.perf_counter() - started) * 1000
        rows = result if isinstance(result, int) else len(result)
        db.observer.record(name, sql, args, elapsed, rows, self.id, self.mode, session=self.session)
        if self.span is not None:
            affected = rows if fetch is False and not control else None
            self.span.statement(name, sql, elapsed, rows if fetch else None, affected)
        return result

    def _may_replace(self, conn: Connection) -> bool:
        """Whether the statement that found ``conn`` dead may run again on a new connection.

        A reader's statements change nothing.  A writer's transaction is never committed
        by a connection that died, so it can start over as long as nothing of it ran yet.
        An autocommit writer's statement may have committed before the connection died,
        unless the driver refused it before sending.
        """
        if self.mode != "writer":
            return True
        if self.open:
            return self._replaceable
        return conn.failed_before_sending

    async def _replace(self, name: str, exc: Exception) -> None:
        """Swap the dead connection for a new one."""
        dead = self.conn
        assert dead is not None
        log.info("%s: connection lost before anything ran (%s: %s); on a new one", name, type(exc).__name__, exc)
        self.conn = None
        dead.owner = None
        self.db.backend.release(dead)
        try:
            conn = await self.db.backend.acquire(self.mode, self._settings)
        except BaseException as err:
            self._failure = err
            raise
        conn.owner = self
        self.conn = conn

    def _failed(self, name: str, sql: str, args: list[Any], started: float, exc: Exception) -> errors.RawdbError:
        """Record a failed statement and return the rawdb error to raise for it."""
        db = self.db
        if getattr(exc, "rawdb_deferred_failed", False):
            self._begin_sql = None  # the deferred BEGIN failed: there is no transaction to end
        translated = exc if isinstance(exc, errors.RawdbError) else db.backend.translate(exc)
        if translated is None:
            # A driver error no table knows: still a rawdb error, never the driver's class.
            cls = errors.DBDataError if isinstance(exc, (TypeError, ValueError, OverflowError)) else errors.DBError
            translated = cls(f"{cls.msg_fmt} ({type(exc).__name__}: {exc})")
        if self.conn is not None and self.conn.broken and not isinstance(translated, errors.DBConnectionError):
            translated = errors.DBConnectionError(f"Connection to the database was lost: {type(exc).__name__}: {exc}")
        self._failure = translated
        if isinstance(translated, errors.DBDeadlock) and db.dialect == "mysql":
            self._ended_by_server = translated
        elapsed = (time.perf_counter() - started) * 1000
        db.observer.record(name, sql, args, elapsed, 0, self.id, self.mode, translated, self.session)
        if self.span is not None:
            self.span.statement(name, sql, elapsed, None, None, translated)
        if isinstance(translated, errors.DBError):
            translated.statement = name
        translated.add_note(f"in statement {name} ({db.statement_source(name)})")
        return translated

    async def fetch(self, name: str, sql: str, args: list[Any]) -> list[Row]:
        rows: list[Row] = await self.send(name, sql, args, fetch=True)
        return rows

    async def fetch_records(self, name: str, sql: str, args: list[Any]) -> Sequence[Mapping[str, Any]]:
        records: Sequence[Mapping[str, Any]] = await self.send(name, sql, args, fetch=True, records=True)
        return records

    async def execute(self, name: str, sql: str, args: list[Any]) -> int:
        count: int = await self.send(name, sql, args, fetch=False)
        return count

    async def script(self, name: str, sql: str) -> None:
        await self.send(name, sql, [], fetch=None)

    async def prepare(self, name: str, sql: str, nargs: int) -> None:
        """Compile a statement on this connection without running it."""
        self.check("prepare()")
        assert self.conn is not None
        try:
            await self.conn.prepare(sql, nargs)
        except Exception as exc:
            translated = exc if isinstance(exc, errors.RawdbError) else self.db.backend.translate(exc)
            if translated is None:
                translated = errors.DBError(f"{errors.DBError.msg_fmt} ({type(exc).__name__}: {exc})")
            translated.add_note(f"preparing {name} ({self.db.statement_source(name)})")
            raise translated from exc

    # --- savepoints --------------------------------------------------------------

    async def savepoint(self) -> tuple[str, BaseException | None]:
        """Start a savepoint; return its name and the failure state to restore."""
        if not self.open:
            raise errors.ScopeError("cannot call savepoint(): savepoints belong in a writer scope")
        self._savepoints += 1
        name = f"rawdb_sp_{self._savepoints}"
        await self.send("SAVEPOINT", f"SAVEPOINT {name}", [], fetch=False)
        return name, self._failure

    async def release_savepoint(self, name: str) -> None:
        await self.send("RELEASE SAVEPOINT", f"RELEASE SAVEPOINT {name}", [], fetch=False)

    async def rollback_savepoint(self, name: str, prior: BaseException | None) -> None:
        """Undo everything since the savepoint, including a failure that aborted the transaction.

        :raises DBDeadlock: MariaDB/MySQL ended the whole transaction on a deadlock after the
            savepoint began (there is nothing to roll back to): the scope must be retried whole
        """
        if self._ended_by_server is not None:
            raise self._ended_by_server
        self._failure = None
        try:
            await self.send("ROLLBACK TO SAVEPOINT", f"ROLLBACK TO SAVEPOINT {name}", [], fetch=False)
            await self.send("RELEASE SAVEPOINT", f"RELEASE SAVEPOINT {name}", [], fetch=False)
        finally:
            if self._failure is None:
                self._failure = prior

    # --- ending ------------------------------------------------------------------

    async def finish(self, commit: bool) -> None:
        """COMMIT (``commit``) or ROLLBACK, then give the connection back.

        The pool's bookkeeping never waits, so the connection's slot is always returned;
        a connection whose transaction could not be ended cleanly is closed, not reused.
        A cancellation that arrives during COMMIT leaves the outcome to the server, as
        with any driver: the connection is closed.

        :raises DBConnectionError: ``commit`` was asked but the connection was lost first
        :raises DBInvalidTransaction: ``commit`` was asked but a statement had failed
        """
        if self.state is not TxState.STARTED:
            return
        conn = self.conn
        failure, self._failure = self._failure, None
        if failure is not None and self.span is not None:
            self.span.failed(failure)
        try:
            if conn is None or conn.broken:
                self.state = TxState.FAILED
            elif not self.open:
                self.state = TxState.ROLLEDBACK  # nothing to end: its statements ran on their own
            elif conn.drop_deferred():
                # BEGIN never ran (no statement did): nothing to end, nothing was written
                self.state = TxState.COMMITTED if commit and failure is None else TxState.ROLLEDBACK
            elif commit and failure is None:
                await self._end("COMMIT")
                self.state = TxState.COMMITTED
            else:
                await self._end("ROLLBACK")
                self.state = TxState.ROLLEDBACK
        except BaseException as exc:
            if self.span is not None:
                self.span.failed(exc)
            raise
        finally:
            if self.state is TxState.STARTED:
                self.state = TxState.FAILED
            self._release()
        if commit and failure is None and self.state is TxState.FAILED:
            raise errors.DBConnectionError("the transaction was not committed: its connection was lost before COMMIT")
        if commit and failure is not None:
            raise errors.DBInvalidTransaction(
                "the transaction was rolled back, not committed: a statement failed inside it "
                f"({type(failure).__name__}: {failure}) and the error was caught without a savepoint"
            ) from failure

    async def abort(self) -> None:
        """Roll back and give the connection back, whatever cancels the caller meanwhile.

        What must be sent (a ROLLBACK) runs in a teardown the caller's cancellation cannot
        interrupt; without anything to send, nothing is awaited.
        """
        conn = self.conn
        if self.span is not None:
            self.span.failed(sys.exc_info()[1])  # what leaves the scope, when an exception does
        if self.state is not TxState.STARTED or conn is None or conn.broken or not self.open:
            await self.finish(commit=False)  # returns without suspending
            return
        await shielded(self._teardown())

    async def _teardown(self) -> None:
        try:
            async with asyncio.timeout(TEARDOWN_TIMEOUT):
                await self.finish(commit=False)
        except TimeoutError:
            log.warning("%r: ROLLBACK took over %s s; its connection is closed instead", self, TEARDOWN_TIMEOUT)
        except errors.RawdbError as exc:
            log.info("%r: ROLLBACK failed (%s); its connection is closed instead", self, exc)

    def abandon(self, why: str) -> None:
        """End the transaction without awaiting anything: its connection is closed, not reused."""
        if self.state is not TxState.STARTED:
            return
        warnings.warn(f"{self!r} {why}; its connection is closed and the transaction rolled back", ResourceWarning, 2)
        self.state = TxState.FAILED
        if self.conn is not None:
            self.conn.mark_broken()
        self._release()

    async def _end(self, verb: str) -> None:
        conn = self.conn
        assert conn is not None
        started = time.perf_counter()
        try:
            await conn.end(verb)
        except BaseException as exc:
            translated = exc if isinstance(exc, errors.RawdbError) else self.db.backend.translate(exc)
            elapsed = (time.perf_counter() - started) * 1000
            self.db.observer.record(verb, verb, [], elapsed, 0, self.id, self.mode, translated or exc)
            if self.span is not None:
                self.span.statement(verb, verb, elapsed, None, None, translated or exc)
            if isinstance(translated, errors.DBError) and not isinstance(translated, errors.DBConnectionError):
                # The server refused to end the transaction (a serialization failure at
                # COMMIT, say): make sure nothing stays open before the connection goes back.
                try:
                    await conn.end("ROLLBACK")
                except BaseException:
                    conn.mark_broken()
                    raise
            else:
                conn.mark_broken()  # cancelled or lost halfway: the outcome is the server's
            if translated is None or translated is exc:
                raise
            raise translated from exc
        elapsed = (time.perf_counter() - started) * 1000
        self.db.observer.record(verb, verb, [], elapsed, 0, self.id, self.mode)
        if self.span is not None:
            self.span.statement(verb, verb, elapsed, None, None)

    def _release(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.owner = None
            self.db.backend.release(conn)
        if self.span is not None:
            span, self.span = self.span, None
            span.end(self.state.name.lower(), None)
