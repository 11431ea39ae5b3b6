"""One database transaction on one connection: an explicit state machine.

A Transaction is created by a scope (``ctx.reader()``, ``ctx.writer()``), never by
callers.  It sends every round trip through ``send``, which translates driver errors,
records the statement for logging and hooks, and keeps the transaction's state:
once a statement fails, the transaction is aborted on both backends (PostgreSQL would
refuse further statements; SQLite would not, so rawdb refuses them for it), until a
savepoint rolls the failure back or the scope ends.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import re
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rawdb import errors
from rawdb.backends.base import Connection, Mode, Row

if TYPE_CHECKING:
    from rawdb.database import Database


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


class Transaction:
    """A transaction bound to one pooled connection, from BEGIN to COMMIT or ROLLBACK."""

    __slots__ = ("_busy", "_failure", "_savepoints", "conn", "db", "id", "mode", "open", "session", "state")

    def __init__(self, db: Database, mode: Mode) -> None:
        self.db = db
        self.mode: Mode = mode
        self.id = next(_ids)
        self.state = TxState.NEW
        self.conn: Connection | None = None
        self._busy = False
        self._failure: BaseException | None = None
        self._savepoints = 0
        self.open = False  # whether BEGIN was sent (readers run without one unless asked)
        self.session: Mapping[str, str] | None = None  # a reader's session settings (PostgreSQL)

    def __repr__(self) -> str:
        return f"<Transaction {self.id} {self.mode} {self.state.name} on {self.db.dialect}>"

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
        self.conn = await self.db.backend.acquire(self.mode, settings)
        self.state = TxState.STARTED
        if settings and self.mode != "writer" and self.db.dialect == "postgresql":
            self.session = dict(settings)
        if self.mode == "writer" and not autocommit:
            try:
                await self.open_transaction(settings)
            except BaseException:
                self.state = TxState.FAILED
                await self._release()
                raise

    async def open_transaction(self, settings: Mapping[str, str] | None = None) -> None:
        """Send BEGIN (with ``SET LOCAL`` settings on PostgreSQL), once."""
        backend = self.db.backend
        if self.open:
            if settings and backend.dialect == "postgresql":
                await self.send("SET LOCAL", "; ".join(set_local(settings)), [], fetch=None)
            return
        begin = backend.begin_writer if self.mode == "writer" else backend.begin_reader
        if settings and backend.dialect == "postgresql":
            begin = "; ".join([begin, *set_local(settings)])
        assert self.conn is not None
        if self.conn.defer(begin):
            # SQLite: BEGIN goes to the worker thread with the first statement (one hop less)
            self.db.observer.record("BEGIN", begin, [], 0.0, 0, self.id, self.mode)
        else:
            await self.send("BEGIN", begin, [], fetch=False)
        self.open = True

    async def send(self, name: str, sql: str, args: list[Any], *, fetch: bool | None, records: bool = False) -> Any:
        """Run one round trip; return rows (``fetch``), the affected row count, or None (a script).

        :param records: with ``fetch``, the driver's read-only row mappings instead of dicts
        """
        self.check(f"{name}()")
        if self._failure is not None:
            raise errors.DBInvalidTransaction(
                f"cannot run {name}: the transaction was aborted by an earlier error "
                f"({type(self._failure).__name__}: {self._failure}); end the scope, or catch such "
                "errors outside a tx.savepoint() block"
            ) from self._failure
        conn = self.conn
        assert conn is not None
        db = self.db
        self._busy = True
        started = time.perf_counter()
        try:
            result: Sequence[Mapping[str, Any]] | int
            if fetch is None:
                await conn.script(sql)
                result = 0
            elif fetch:
                result = await (conn.fetch_records(sql, args) if records else conn.fetch(sql, args))
            else:
                result = await conn.execute(sql, args)
        except asyncio.CancelledError:
            self._failure = errors.DBError(f"statement {name} was cancelled")
            if db.cancel_breaks_connection:
                conn.mark_broken()
            raise
        except Exception as exc:
            if getattr(exc, "rawdb_deferred_failed", False):
                self.open = False  # the deferred BEGIN failed: there is no transaction to end
            translated = db.backend.translate(exc)
            elapsed = (time.perf_counter() - started) * 1000
            self._failure = translated or exc
            db.observer.record(name, sql, args, elapsed, 0, self.id, self.mode, self._failure, self.session)
            if translated is None:
                raise
            if isinstance(translated, errors.DBError):
                translated.statement = name
            translated.add_note(f"in statement {name} ({db.statement_source(name)})")
            raise translated from exc
        finally:
            self._busy = False
        elapsed = (time.perf_counter() - started) * 1000
        rows = result if isinstance(result, int) else len(result)
        db.observer.record(name, sql, args, elapsed, rows, self.id, self.mode, session=self.session)
        return result

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
            translated = self.db.backend.translate(exc)
            if translated is None:
                raise
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
        """Undo everything since the savepoint, including a failure that aborted the transaction."""
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

        A cancellation that arrives meanwhile marks the connection broken, so it is
        closed rather than reused halfway through ending its transaction; the pool's
        bookkeeping never waits, so the connection's slot is always returned.
        """
        await self._finish(commit)

    async def _finish(self, commit: bool) -> None:
        if self.state is not TxState.STARTED:
            return
        conn = self.conn
        assert conn is not None
        failure, self._failure = self._failure, None
        try:
            if conn.broken:
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
        finally:
            if self.state is TxState.STARTED:
                self.state = TxState.FAILED
            await self._release()
        if commit and failure is None and self.state is TxState.FAILED:
            raise errors.DBConnectionError("the transaction was not committed: its connection was lost before COMMIT")
        if commit and failure is not None:
            raise errors.DBInvalidTransaction(
                "the transaction was rolled back, not committed: a statement failed inside it "
                f"({type(failure).__name__}: {failure}) and the error was caught without a savepoint"
            ) from failure

    async def _end(self, verb: str) -> None:
        conn = self.conn
        assert conn is not None
        try:
            await self.send(verb, verb, [], fetch=False)
        except BaseException as exc:
            if isinstance(exc, errors.DBError) and not isinstance(exc, errors.DBConnectionError):
                # The server refused to end the transaction (a serialization failure at
                # COMMIT, say): make sure nothing stays open before the connection goes back.
                try:
                    await conn.execute("ROLLBACK", [])
                except Exception:
                    conn.mark_broken()
            else:
                conn.mark_broken()
            raise

    async def _release(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            await self.db.backend.release(conn)
