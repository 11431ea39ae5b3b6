"""Database errors: oslo.db's ``DBError`` family, translated from driver errors, and rawdb's own plumbing errors.

A translated error keeps the driver's exception as ``__cause__`` and exposes ``sqlstate`` (PostgreSQL) or
``errorname`` (SQLite) and the name of the statement that failed.
"""

from __future__ import annotations

from typing import Any

from rawdb.errors._base import Duplicate, Invalid, RawdbError


class DBError(RawdbError):
    """The database rejected a statement; the driver error is ``__cause__``."""

    msg_fmt = "Database error."
    sqlstate: str | None = None
    errorname: str | None = None
    statement: str | None = None


class DBDuplicateEntry(DBError, Duplicate):
    """A unique constraint was violated; ``columns`` and ``value`` say which."""

    msg_fmt = "Duplicate entry for %(columns)s: %(value)s."

    def __init__(
        self,
        columns: list[str] | None = None,
        value: Any = None,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, columns=list(columns or []), value=value, **kwargs)


class DBReferenceError(DBError):
    """A foreign key was violated: the row refers to one that does not exist (or is still referred to)."""

    msg_fmt = "Foreign key violation on %(table)s (%(key)s refers to %(key_table)s)."

    def __init__(
        self,
        table: str | None = None,
        constraint: str | None = None,
        key: str | None = None,
        key_table: str | None = None,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, table=table, constraint=constraint, key=key, key_table=key_table, **kwargs)


class DBConstraintError(DBError):
    """A CHECK constraint was violated."""

    msg_fmt = "Check constraint %(check_name)s failed on %(table)s."

    def __init__(
        self,
        table: str | None = None,
        check_name: str | None = None,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, table=table, check_name=check_name, **kwargs)


class DBNotNullError(DBError):
    """A NOT NULL column was given no value."""

    msg_fmt = "Column %(column)s may not be NULL."

    def __init__(self, column: str | None = None, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, column=column, **kwargs)


class DBDeadlock(DBError):
    """A deadlock, serialization failure, lock timeout or busy database: re-run the whole transaction."""

    msg_fmt = "Deadlock or lock conflict; the transaction can be retried."


class DBConnectionError(DBError):
    """The connection to the database was lost or could not be made."""

    msg_fmt = "Connection to the database failed."


class PoolTimeout(DBConnectionError):
    """The pool couldn't provide a connection in acceptable time; raise pool_size or acquire_timeout."""

    msg_fmt = "The pool couldn't provide a connection within %(timeout)s s."


class DBDataError(DBError, Invalid):
    """A value does not fit its column (too long, out of range, wrong type, a character its charset lacks)."""

    msg_fmt = "Invalid data for the database: %(detail)s."


class DBInvalidUnicodeParameter(DBError, Invalid):
    """A text parameter cannot be encoded for the database (oslo.db's translation of ``UnicodeEncodeError``)."""

    msg_fmt = "Invalid Parameter: Unicode is not supported by the current database."


class DBNonExistentTable(DBError):
    """The statement refers to a table that does not exist; bootstrap the schema."""

    msg_fmt = "Table %(table)s does not exist."

    def __init__(self, table: str | None = None, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, table=table, **kwargs)


class DBQueryTimeout(DBError):
    """The statement was cancelled by a timeout."""

    msg_fmt = "The statement timed out."


class DBReadOnlyTransaction(DBError):
    """A statement tried to write inside a reader scope; open ctx.writer() instead."""

    msg_fmt = "Cannot write in a read-only transaction; use a writer scope."


class DBInvalidTransaction(DBError):
    """A statement ran in a transaction that an earlier failure has aborted; end the scope."""

    msg_fmt = "The transaction was aborted by an earlier error; no statement can run until the scope ends."


# --- rawdb's own plumbing ----------------------------------------------------------------


class ScopeError(RawdbError, TypeError):
    """A transaction scope was used in a way its state or mode forbids."""

    msg_fmt = "Invalid use of a transaction scope."


class StatementError(RawdbError, LookupError):
    """A named SQL statement is unknown, or was called with the wrong parameters."""

    msg_fmt = "Invalid statement call."


class SQLLoadError(RawdbError):
    """A .sql file could not be loaded; the message names file:line."""

    msg_fmt = "Cannot load SQL statements."


class SchemaError(RawdbError):
    """The schema cannot be bootstrapped or does not match what rawdb expects."""

    msg_fmt = "Schema error."
