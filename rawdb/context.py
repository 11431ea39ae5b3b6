"""Who is asking, and — inside a scope — which transaction their statements run in.

A ``Context`` carries the caller's identity (as OpenStack's RequestContext does) and the
Database.  Scopes yield a *new* Context bound to one transaction; the original stays
unbound.  The bound context is passed explicitly to every API call, so two concurrent
tasks never share a transaction by accident (encode/databases #456)::

    async with ctx.writer() as tx:
        image = await images.image_create(tx, values)
        async with tx.savepoint() as sp:
            ...
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rawdb import errors
from rawdb.backends.base import Row
from rawdb.checks import check_bool, check_identity
from rawdb.statement import Statement
from rawdb.transaction import Transaction, TxState

if TYPE_CHECKING:
    from rawdb.database import Database

READ_DELETED = ("no", "yes", "only")


class Context:
    """The caller's identity, the Database, and (inside a scope) the bound transaction.

    :param db: the Database the calls run against
    :param project_id: the caller's project (glance calls it ``owner``); None for none
    :param user_id: the caller's user
    :param is_admin: whether the caller is an administrator
    :param roles: the caller's role names
    :param read_deleted: ``no``, ``yes`` or ``only`` (nova's soft-delete visibility)
    :param show_deleted: glance's flag to show deleted images
    :param quota_class: the project's quota class (nova and cinder), if it has one
    :raises Invalid: on a bad ``read_deleted`` value, an id that is not a string (or None)
        a database could hold, or a flag that is not a boolean (oslo's strings are parsed)
    """

    __slots__ = (
        "_tx",
        "db",
        "is_admin",
        "project_id",
        "quota_class",
        "read_deleted",
        "roles",
        "show_deleted",
        "user_id",
    )

    def __init__(
        self,
        db: Database,
        project_id: str | None = None,
        user_id: str | None = None,
        is_admin: bool = False,
        roles: Iterable[str] = (),
        read_deleted: str = "no",
        show_deleted: bool = False,
        quota_class: str | None = None,
    ) -> None:
        if read_deleted not in READ_DELETED:
            raise errors.InvalidReadDeleted(value=read_deleted)
        if isinstance(roles, str):
            raise errors.Invalid("roles must be a list of role names, not a string")
        self.db = db
        self.project_id = check_identity(project_id, "project_id")
        self.user_id = check_identity(user_id, "user_id")
        self.is_admin = check_bool(is_admin, "is_admin")  # is_admin='false' must never be an admin
        self.roles = list(roles)
        self.read_deleted = read_deleted
        self.show_deleted = check_bool(show_deleted, "show_deleted")
        self.quota_class = check_identity(quota_class, "quota_class")
        self._tx: Transaction | None = None

    def __repr__(self) -> str:
        bound = f" in {self._tx!r}" if self._tx is not None else ""
        return f"<Context project_id={self.project_id!r} user_id={self.user_id!r} is_admin={self.is_admin}{bound}>"

    # --- identity ------------------------------------------------------------------

    @property
    def owner(self) -> str | None:
        """The project id, under the name glance uses."""
        return self.project_id

    @property
    def can_see_deleted(self) -> bool:
        """Glance's rule: admins and contexts with ``show_deleted`` see deleted images."""
        return self.show_deleted or self.is_admin

    def elevated(self, read_deleted: str | None = None) -> Context:
        """Return an admin copy of this context (bound to the same transaction, if any)."""
        new = self._copy()
        new.is_admin = True
        if "admin" not in new.roles:
            new.roles = [*new.roles, "admin"]
        if read_deleted is not None:
            if read_deleted not in READ_DELETED:
                raise errors.InvalidReadDeleted(value=read_deleted)
            new.read_deleted = read_deleted
        return new

    def _copy(self) -> Context:
        new = object.__new__(Context)
        for name in Context.__slots__:
            setattr(new, name, getattr(self, name))
        return new

    def _bind(self, tx: Transaction) -> Context:
        new = self._copy()
        new._tx = tx
        return new

    # --- scopes --------------------------------------------------------------------

    @property
    def transaction(self) -> Transaction | None:
        """The transaction this context is bound to, or None."""
        return self._tx

    @property
    def dialect(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return self.db.dialect

    def reader(self, replica: bool = False, settings: Mapping[str, str] | None = None) -> Scope:
        """A read-only scope; joins the bound transaction if there is one.

        :param replica: read from a replica if one is configured (it may lag)
        :param settings: PostgreSQL settings the statements run with (e.g. ``plan_cache_mode``):
            a new reader takes a session that has them, from a pool per distinct settings;
            a reader joining a scope applies them with ``SET LOCAL``; ignored on SQLite
        """
        return Scope(self, "replica" if replica else "reader", independent=False, settings=settings)

    def writer(self, independent: bool = False, autocommit: bool = False) -> Scope:
        """A read-write scope that commits on exit and rolls back on an exception.

        :param independent: run in a transaction of its own, on its own connection,
            which commits whatever happens to the enclosing one
        :param autocommit: send no BEGIN: each statement commits by itself until
            ``tx.begin()`` starts the transaction.  For code whose common case is one
            statement (atomic on its own) and whose other cases call ``begin()`` first;
            joining an existing writer ignores it
        :raises ScopeError: (on entry) inside a reader scope, unless independent
        """
        return Scope(self, "writer", independent=independent, settings=None, autocommit=autocommit)

    async def begin(self) -> None:
        """Start the transaction of a ``writer(autocommit=True)`` scope (nothing if it has one)."""
        await self._bound("begin()").open_transaction()

    def savepoint(self) -> Savepoint:
        """A nested scope inside the bound transaction; an exception rolls back only its work."""
        return Savepoint(self)

    # --- statements ----------------------------------------------------------------

    def _bound(self, call: str) -> Transaction:
        tx = self._tx
        if tx is None:
            raise errors.ScopeError(
                f"cannot call {call}: this context is not bound to a transaction; "
                "use `async with ctx.reader() as tx` (or writer()) and call it on tx"
            )
        return tx

    async def fetch(self, statement: str | Statement, /, **params: Any) -> list[Row]:
        """Run a statement and return its rows as dicts.

        :param statement: a statement name from ``sql/`` or a Statement
        :raises StatementError: unknown statement, missing or unknown parameter
        :raises ScopeError: not in a scope, or the scope has ended
        :raises DBError: what the database said, translated
        """
        tx = self._bound("fetch()")
        stmt = statement if isinstance(statement, Statement) else self.db.statement(statement)
        compiled = stmt.compiled(self.db.dialect)
        return await tx.fetch(stmt.name, compiled.sql, compiled.bind(stmt.name, params))

    async def fetch_records(self, statement: str | Statement, /, **params: Any) -> Sequence[Mapping[str, Any]]:
        """Like fetch, but rows are the driver's read-only mappings (asyncpg Records on PostgreSQL).

        For callers that build their own dicts from the rows: it saves copying every row.
        """
        tx = self._bound("fetch_records()")
        stmt = statement if isinstance(statement, Statement) else self.db.statement(statement)
        compiled = stmt.compiled(self.db.dialect)
        return await tx.fetch_records(stmt.name, compiled.sql, compiled.bind(stmt.name, params))

    async def fetchrow(self, statement: str | Statement, /, **params: Any) -> Row | None:
        """Run a statement and return its first row, or None."""
        rows = await self.fetch(statement, **params)
        return rows[0] if rows else None

    async def fetchval(self, statement: str | Statement, /, **params: Any) -> Any:
        """Run a statement and return the first column of its first row, or None."""
        rows = await self.fetch(statement, **params)
        return next(iter(rows[0].values())) if rows else None

    async def execute(self, statement: str | Statement, /, **params: Any) -> int:
        """Run a statement that returns no rows; return the number of rows it affected."""
        tx = self._bound("execute()")
        if tx.mode != "writer":
            raise errors.ScopeError(f"cannot call execute(): {tx!r} is read-only; open ctx.writer()")
        stmt = statement if isinstance(statement, Statement) else self.db.statement(statement)
        compiled = stmt.compiled(self.db.dialect)
        return await tx.execute(stmt.name, compiled.sql, compiled.bind(stmt.name, params))

    async def prepare(self, statement: str | Statement, /) -> None:
        """Compile a statement on the bound connection without running it.

        :raises DBError: the database rejects the statement (a typo, an unknown column)
        """
        tx = self._bound("prepare()")
        stmt = statement if isinstance(statement, Statement) else self.db.statement(statement)
        compiled = stmt.compiled(self.db.dialect)
        await tx.prepare(stmt.name, compiled.sql, len(compiled.names))

    async def script(self, sql: str, name: str = "script") -> None:
        """Run several parameterless statements (DDL) in the bound writer transaction."""
        tx = self._bound("script()")
        if tx.mode != "writer":
            raise errors.ScopeError(f"cannot call script(): {tx!r} is read-only; open ctx.writer()")
        await tx.script(name, sql)


class Scope:
    """``async with ctx.reader()`` / ``ctx.writer()``: opens or joins a transaction."""

    __slots__ = ("_autocommit", "_ctx", "_independent", "_mode", "_settings", "_tx")

    def __init__(
        self,
        ctx: Context,
        mode: str,
        independent: bool,
        settings: Mapping[str, str] | None,
        autocommit: bool = False,
    ) -> None:
        self._ctx = ctx
        self._mode = mode
        self._independent = independent
        self._settings = settings
        self._autocommit = autocommit
        self._tx: Transaction | None = None

    async def __aenter__(self) -> Context:
        ctx = self._ctx
        outer = ctx._tx
        if outer is not None and outer.state is not TxState.STARTED:
            raise errors.ScopeError(f"cannot open a scope on a context whose transaction has ended: {outer!r}")
        if outer is not None and not self._independent:
            if self._mode == "writer" and outer.mode != "writer":
                raise errors.ScopeError(
                    "cannot open a writer inside a reader scope: a read-only transaction cannot be "
                    "upgraded mid-transaction; open the writer first, or use writer(independent=True)"
                )
            if self._settings and ctx.dialect == "postgresql":
                await outer.open_transaction(self._settings)  # SET LOCAL (after BEGIN, if none yet)
            return ctx  # join: the outer scope owns the transaction
        if outer is not None and outer.mode == "writer" and ctx.db.single_writer:
            raise errors.ScopeError(
                f"cannot open writer(independent=True) inside a writer on {ctx.db.url_safe}: SQLite allows "
                "one writer at a time, so it would wait for itself; run it before or after the outer writer"
            )
        tx = Transaction(ctx.db, self._mode)  # type: ignore[arg-type]
        await tx.begin(self._settings, autocommit=self._autocommit)
        self._tx = tx
        return ctx._bind(tx)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        tx = self._tx
        if tx is None:
            return
        self._tx = None
        if exc_type is None:
            await tx.finish(commit=tx.mode == "writer")
        elif exc_type is GeneratorExit:
            # The coroutine inside the scope was closed unfinished (garbage-collected):
            # nothing may be awaited any more.
            tx.abandon("was left when its coroutine was closed before the scope ended")
        else:
            await tx.abort()  # rolled back even if the caller's cancellation goes on

    def __del__(self) -> None:
        tx = getattr(self, "_tx", None)
        if tx is not None:
            tx.abandon("was garbage-collected without its scope being exited (`async with` it)")


class Savepoint:
    """``async with tx.savepoint()``: work inside it can be rolled back without the rest.

    If a statement fails inside the block, the block's work is rolled back when it ends,
    even when the error was caught inside it; the enclosing transaction goes on.
    """

    __slots__ = ("_ctx", "_name", "_prior")

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._name: str | None = None
        self._prior: BaseException | None = None

    async def __aenter__(self) -> Context:
        tx = self._ctx._bound("savepoint()")
        self._name, self._prior = await tx.savepoint()
        return self._ctx

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        tx = self._ctx._tx
        name, self._name = self._name, None
        assert tx is not None and name is not None
        if tx.state is not TxState.STARTED or tx.conn is None or tx.conn.broken:
            return  # nothing to undo: the transaction itself is gone
        if exc_type is None and tx.failure is self._prior:
            await tx.release_savepoint(name)
        else:
            await tx.rollback_savepoint(name, self._prior)
