"""Rows from ``values`` dicts: what upstream's ORM accepted, checked against the schema first.

nova's and cinder's ``*_create(context, values)`` and ``*_update(context, id, values)``
take the caller's dict.  The ORM accepted, and callers rely on:

- keys the table lacks set to None (ignored); with another value they are ``Invalid``;
- integers given as strings (``'10'``), booleans as oslo's strings (``'false'``);
- timezone-aware datetimes (stored as naive UTC), and ISO-8601 strings for datetime
  columns where upstream parsed them (``parse_times=True``: spec B.4);
- ``ipaddress`` / ``netaddr`` address objects for address columns (stored as text).

A value a column cannot hold (a string too long for it, a number out of range, the
wrong type, NUL or a lone surrogate) is ``Invalid`` naming the key, before anything is
written.  Column types come from the service's schema scripts, read once; the columns
a call may set are the ones its statement lists.  ``created_at`` is now unless given;
an update sets ``updated_at`` to now unless given (spec B.4).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import ipaddress
import math
import re
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.checks import BIGINT_MAX, INT_MAX, check_bool, check_datetime, check_integer
from rawdb.context import Context
from rawdb.statement import Statement
from rawdb.timeutils import utcnow

_FLOAT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_LENGTH = re.compile(r"\((\d+)")
_ADDRESSES = (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network, ipaddress.IPv6Network)


@dataclass(frozen=True, slots=True)
class Column:
    """One column as the schema declares it."""

    name: str
    kind: str  # integer, bigint, float, boolean, datetime, string, blob
    length: int | None
    nullable: bool


def _kind(declared: str) -> str:
    upper = declared.upper()
    if "BIGINT" in upper:
        return "bigint"
    if "INT" in upper:
        return "integer"
    if "BOOL" in upper:
        return "boolean"
    if "DATE" in upper or "TIME" in upper:
        return "datetime"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL")):
        return "float"
    if "BLOB" in upper or "BINARY" in upper:
        return "blob"
    return "string"


@functools.cache
def table_columns(service: str) -> dict[str, dict[str, Column]]:
    """Every table of ``service`` and its columns, from its schema scripts (read once).

    The SQLite scripts are applied to a scratch in-memory database; its catalogue gives
    each column's declared type, length and nullability as the scripts wrote them.
    """
    from rawdb.schema.files import migrations

    scratch = sqlite3.connect(":memory:")
    try:
        for migration in migrations(service, "sqlite"):
            scratch.executescript(migration.sql)
        tables = [row[0] for row in scratch.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        result: dict[str, dict[str, Column]] = {}
        for table in tables:
            result[table] = {
                name: Column(name, _kind(declared), _length(declared), not notnull and not pk)
                for _, name, declared, notnull, _, pk in scratch.execute(f'PRAGMA table_info("{table}")')
            }
        return result
    finally:
        scratch.close()


def _length(declared: str) -> int | None:
    match = _LENGTH.search(declared)
    return int(match.group(1)) if match and "CHAR" in declared.upper() else None


def coerce(column: Column, key: str, value: Any, *, parse_times: bool = False) -> Any:
    """``value`` as ``column`` stores it.

    :raises Invalid: the column cannot hold it (naming ``key``)
    """
    if value is None:
        if not column.nullable:
            raise errors.Invalid(f"{key} cannot be None")
        return None
    kind = column.kind
    if kind in ("integer", "bigint"):
        limit = BIGINT_MAX if kind == "bigint" else INT_MAX
        return check_integer(value, key, -limit - 1, limit)
    if kind == "boolean":
        return check_bool(value, key)
    if kind == "datetime":
        if isinstance(value, str) and parse_times:
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise errors.Invalid(f"{key} is not an ISO-8601 time: {value!r:.80}") from None
        return check_datetime(value, key)
    if kind == "float":
        if isinstance(value, str) and _FLOAT.fullmatch(value):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise errors.Invalid(f"{key} must be a number, not {value!r:.80}")
        if not math.isfinite(value):
            raise errors.Invalid(f"{key} must be a finite number, not {value!r}")
        return float(value)
    if kind == "blob":
        if not isinstance(value, (bytes, bytearray)):
            raise errors.Invalid(f"{key} must be bytes, not {type(value).__name__}")
        return bytes(value)
    if isinstance(value, _ADDRESSES) or type(value).__module__.startswith("netaddr"):
        value = str(value)  # an address object is stored as its text
    if not isinstance(value, str):
        raise errors.Invalid(f"{key} must be a string, not {type(value).__name__}")
    if _UNSTORABLE.search(value):
        raise errors.Invalid(f"{key} can't contain NUL characters or lone surrogates (not UTF-8)")
    if column.length is not None and len(value) > column.length:
        raise errors.Invalid(f"{key} is longer than {column.length} characters")
    return value


def coerce_values(
    service: str,
    table: str,
    values: Any,
    settable: frozenset[str] | None = None,
    *,
    parse_times: bool = False,
) -> dict[str, Any]:
    """The keys of ``values`` the call may set, each as its column stores it.

    :param settable: the columns the statement takes (default: every column of the table)
    :raises Invalid: ``values`` is not a dict; a key that is not settable has a value
        other than None; a value its column cannot hold
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    columns = table_columns(service).get(table)
    if columns is None:
        raise errors.SchemaError(f"{service} has no table {table!r}")
    result: dict[str, Any] = {}
    for key, value in values.items():
        column = columns.get(key) if isinstance(key, str) else None
        if column is None or (settable is not None and key not in settable):
            if value is None:
                continue  # the ORM ignored keys it had no column for
            raise errors.Invalid(f"{table} has no column {key!r:.80} that can be set here")
        result[key] = coerce(column, key, value, parse_times=parse_times)
    return result


_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(?P<table>\w+)", re.IGNORECASE)


async def insert_values(
    context: Context,
    statement: str | Statement,
    values: Any,
    *,
    parse_times: bool = False,
    **fixed: Any,
) -> list[dict[str, Any]]:
    """Run an INSERT statement with its parameters taken from ``values``.

    The statement's parameters are the columns the caller may set (besides ``fixed``
    ones, which the code sets); a parameter missing from ``values`` is None (the SQL
    gives the column its default with COALESCE where upstream had one), ``created_at``
    is now unless given, ``:now`` is now.

    :param statement: a statement name (``nova.key_pairs.key_pair_create``: its first part
        names the service whose schema types the columns) or a Statement named so
    :returns: the rows the statement returns (its RETURNING clause)
    :raises Invalid: see ``coerce_values``; nothing is written
    """
    stmt = statement if isinstance(statement, Statement) else context.db.statement(statement)
    compiled = stmt.compiled(context.dialect)
    match = _INSERT.match(compiled.sql)
    if match is None:
        raise errors.StatementError(f"{stmt.name} is not an INSERT INTO <table> statement")
    params = frozenset(compiled.names) - frozenset(fixed) - {"now"}
    service = stmt.name.partition(".")[0]  # sql/<service>/...: the schema its tables belong to
    given = coerce_values(service, match.group("table"), values, params, parse_times=parse_times)
    now = utcnow()
    bound = dict.fromkeys(params)
    bound.update(given)
    if "created_at" in params and bound["created_at"] is None:
        bound["created_at"] = now
    if "now" in compiled.names:
        bound["now"] = now
    bound.update(fixed)
    return await context.fetch(stmt, **bound)


# --- building result rows ------------------------------------------------------------------


@contextlib.contextmanager
def collection_deferred() -> Iterator[None]:
    """Defer the cyclic garbage collector while a block builds many result rows.

    A page of nested dicts (1,000 instances with their children) allocates tens of thousands
    of containers, none of them in a reference cycle.  Every 700 allocations start a collection
    that traverses the young ones, moving the page built so far into older generations, which
    the next collections traverse again: about 15 ms of a 100 ms page.  Deferred, one collection
    runs after the block instead of dozens inside it, and frees the same.  The collector is the
    process's, so the block must not await (other tasks would run without it); a collector
    already disabled stays so.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
