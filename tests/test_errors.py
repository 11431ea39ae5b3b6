"""Driver errors become rawdb's flat error family, on both backends; the family's own rules."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

import rawdb
from rawdb import errors
from rawdb.backends import sqlite as sqlite_backend
from rawdb.statement import Statement

TABLES = """
CREATE TABLE parents (
    id INTEGER PRIMARY KEY,
    name VARCHAR(10) NOT NULL UNIQUE
);
CREATE TABLE children (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER NOT NULL REFERENCES parents (id),
    slot INTEGER NOT NULL,
    label VARCHAR(10) NOT NULL,
    qty INTEGER NOT NULL CONSTRAINT qty_positive CHECK (qty > 0),
    CONSTRAINT children_parent_slot UNIQUE (parent_id, slot)
);
"""

INSERT_PARENT = Statement.portable("test.insert_parent", "INSERT INTO parents (id, name) VALUES (:id, :name)")
INSERT_CHILD = Statement.portable(
    "test.insert_child",
    "INSERT INTO children (id, parent_id, slot, label, qty) VALUES (:id, :parent_id, :slot, :label, :qty)",
)
COUNT_PARENTS = Statement.portable("test.count_parents", "SELECT count(*) AS n FROM parents")
PARENT_NAMES = Statement.portable("test.parent_names", "SELECT name FROM parents ORDER BY id")
SELECT_MISSING = Statement.portable("test.select_missing", "SELECT * FROM no_such_table")
ECHO = Statement.portable("test.echo", "SELECT :a AS a, :b AS b")


def child(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"id": 1, "parent_id": 1, "slot": 1, "label": "c", "qty": 1}
    values.update(overrides)
    return values


@pytest.fixture
async def tables(db: rawdb.Database) -> rawdb.Database:
    """``db`` with ``parents`` (row 1, 'p1') and ``children`` created."""
    async with db.writer() as tx:
        await tx.script(TABLES)
        await tx.execute(INSERT_PARENT, id=1, name="p1")
    return db


def driver_error_type(db: rawdb.Database) -> type[BaseException]:
    # rawdb's SQLite connections come from its own instance of the sqlite3 module
    return asyncpg.PostgresError if db.dialect == "postgresql" else sqlite_backend.Error


# --- constraint violations ---------------------------------------------------------------


async def test_unique_violation_is_duplicate_entry_naming_the_column(tables: rawdb.Database) -> None:
    with pytest.raises(errors.DBDuplicateEntry) as info:
        async with tables.writer() as tx:
            await tx.execute(INSERT_PARENT, id=2, name="p1")
    err = info.value
    assert err.columns == ["name"]
    assert isinstance(err, errors.Duplicate)
    assert isinstance(err, errors.DBError)
    assert isinstance(err.__cause__, driver_error_type(tables))
    assert err.statement == "test.insert_parent"
    if tables.dialect == "postgresql":
        assert err.sqlstate == "23505"
        assert err.value == "p1"
    else:
        assert err.errorname == "SQLITE_CONSTRAINT_UNIQUE"


async def test_composite_unique_violation_names_every_column(tables: rawdb.Database) -> None:
    async with tables.writer() as tx:
        await tx.execute(INSERT_CHILD, **child(id=1, parent_id=1, slot=7))
    with pytest.raises(errors.DBDuplicateEntry) as info:
        async with tables.writer() as tx:
            await tx.execute(INSERT_CHILD, **child(id=2, parent_id=1, slot=7))
    err = info.value
    assert err.columns == ["parent_id", "slot"]
    assert err.statement == "test.insert_child"
    if tables.dialect == "postgresql":
        assert err.sqlstate == "23505"
        assert err.value == "1, 7"
    else:
        assert err.errorname == "SQLITE_CONSTRAINT_UNIQUE"


async def test_duplicate_primary_key_is_duplicate_entry(tables: rawdb.Database) -> None:
    with pytest.raises(errors.DBDuplicateEntry) as info:
        async with tables.writer() as tx:
            await tx.execute(INSERT_PARENT, id=1, name="other")
    assert info.value.columns == ["id"]


async def test_foreign_key_violation_is_reference_error(tables: rawdb.Database) -> None:
    with pytest.raises(errors.DBReferenceError) as info:
        async with tables.writer() as tx:
            await tx.execute(INSERT_CHILD, **child(parent_id=999))
    err = info.value
    assert isinstance(err, errors.DBError)
    assert isinstance(err.__cause__, driver_error_type(tables))
    assert err.statement == "test.insert_child"
    if tables.dialect == "postgresql":
        assert err.sqlstate == "23503"
        assert err.table == "children"
        assert err.key == "parent_id"
        assert err.key_table == "parents"
    else:
        assert err.errorname == "SQLITE_CONSTRAINT_FOREIGNKEY"


async def test_not_null_violation_names_the_column(tables: rawdb.Database) -> None:
    with pytest.raises(errors.DBNotNullError) as info:
        async with tables.writer() as tx:
            await tx.execute(INSERT_PARENT, id=2, name=None)
    err = info.value
    assert err.column == "name"
    assert err.statement == "test.insert_parent"
    assert "name" in str(err)


async def test_check_violation_is_constraint_error(tables: rawdb.Database) -> None:
    with pytest.raises(errors.DBConstraintError) as info:
        async with tables.writer() as tx:
            await tx.execute(INSERT_CHILD, **child(qty=0))
    err = info.value
    assert err.check_name == "qty_positive"
    assert err.statement == "test.insert_child"
    if tables.dialect == "postgresql":
        assert err.sqlstate == "23514"
        assert err.table == "children"
    else:
        assert err.errorname == "SQLITE_CONSTRAINT_CHECK"


# --- other database errors ---------------------------------------------------------------


async def test_unknown_table_is_non_existent_table_naming_it(db: rawdb.Database) -> None:
    with pytest.raises(errors.DBNonExistentTable) as info:
        async with db.reader() as tx:
            await tx.fetch(SELECT_MISSING)
    err = info.value
    assert err.table == "no_such_table"
    assert err.statement == "test.select_missing"
    assert "no_such_table" in str(err)
    assert isinstance(err.__cause__, driver_error_type(db))


async def test_value_the_driver_cannot_bind_is_data_error(tables: rawdb.Database) -> None:
    with pytest.raises(errors.DBDataError) as info:
        async with tables.writer() as tx:
            await tx.execute(INSERT_PARENT, id=2, name={"not": "a string"})
    assert info.value.statement == "test.insert_parent"
    assert "dict" in str(info.value)
    assert info.value.__cause__ is not None


@pytest.mark.parametrize(
    "name",
    ["lone \ud800 surrogate", "nul \x00 inside"],
    ids=["surrogate", "nul"],
)
async def test_text_no_database_can_store_is_data_error_and_writes_nothing_on_every_backend(
    tables: rawdb.Database, name: str
) -> None:
    with pytest.raises(errors.DBDataError):
        async with tables.writer() as tx:
            await tx.execute(INSERT_PARENT, id=2, name=name)
    async with tables.reader() as rx:
        assert await rx.fetchval(COUNT_PARENTS) == 1


async def test_an_aware_datetime_is_refused_on_every_backend(db: rawdb.Database) -> None:
    aware = datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    stamp = Statement.portable("test.stamp", "SELECT CAST(:t AS TIMESTAMP) AS t")
    with pytest.raises(errors.DBDataError, match=r"aware|offset"):
        async with db.reader() as rx:
            await rx.fetchval(stamp, t=aware)
    async with db.reader() as rx:  # naive UTC is how timestamps are stored
        assert await rx.fetchval(stamp, t=aware.replace(tzinfo=None)) is not None


async def test_oversized_varchar_is_data_error_on_postgresql(pg_db: rawdb.Database) -> None:
    async with pg_db.writer() as tx:
        await tx.script(TABLES)
    with pytest.raises(errors.DBDataError) as info:
        async with pg_db.writer() as tx:
            await tx.execute(INSERT_PARENT, id=1, name="x" * 11)
    err = info.value
    assert err.sqlstate == "22001"
    assert err.statement == "test.insert_parent"
    assert isinstance(err.__cause__, asyncpg.StringDataRightTruncationError)


# --- statement calls -----------------------------------------------------------------------


async def test_unknown_statement_name_is_statement_error(db: rawdb.Database) -> None:
    async with db.reader() as tx:
        with pytest.raises(errors.StatementError, match=re.escape("no.such.statement")):
            await tx.fetch("no.such.statement")


async def test_missing_parameter_is_statement_error_naming_it(db: rawdb.Database) -> None:
    async with db.reader() as tx:
        with pytest.raises(errors.StatementError, match=r":b"):
            await tx.fetch(ECHO, a="x")


async def test_extra_parameter_is_statement_error_naming_it(db: rawdb.Database) -> None:
    async with db.reader() as tx:
        with pytest.raises(errors.StatementError, match="surplus"):
            await tx.fetch(ECHO, a="x", b="y", surplus="z")
        # the binding error never reached the database: the transaction goes on
        assert await tx.fetch(ECHO, a="x", b="y") == [{"a": "x", "b": "y"}]


def test_statement_error_is_a_lookup_error() -> None:
    assert issubclass(errors.StatementError, LookupError)
    assert issubclass(errors.StatementError, errors.RawdbError)


# --- the hierarchy and messages ----------------------------------------------------------


@pytest.mark.parametrize(
    ("child_cls", "parent_cls"),
    [
        (errors.MarkerNotFound, errors.NotFound),
        (errors.AdminRequired, errors.NotAuthorized),
        (errors.DBDuplicateEntry, errors.Duplicate),
        (errors.DBDuplicateEntry, errors.DBError),
        (errors.PoolTimeout, errors.DBConnectionError),
        (errors.DBConnectionError, errors.DBError),
        (errors.DBError, errors.RawdbError),
        (errors.NotFound, errors.RawdbError),
    ],
)
def test_error_hierarchy(child_cls: type[Exception], parent_cls: type[Exception]) -> None:
    assert issubclass(child_cls, parent_cls)


def test_api_errors_are_not_database_errors() -> None:
    assert not issubclass(errors.NotFound, errors.DBError)
    assert not issubclass(errors.Duplicate, errors.DBError)
    assert not issubclass(errors.NotFound, errors.NotAuthorized)


def test_message_is_formatted_from_kwargs_which_stay_attributes() -> None:
    err = errors.MarkerNotFound(marker="m1")
    assert "m1" in str(err)
    assert str(err) == "Marker m1 could not be found."
    assert err.marker == "m1"
    assert err.kwargs == {"marker": "m1"}


def test_pool_timeout_message_names_the_timeout() -> None:
    err = errors.PoolTimeout(timeout=2.5)
    assert "2.5" in str(err)
    assert err.timeout == 2.5


def test_explicit_message_wins_over_the_format() -> None:
    assert str(errors.NotFound("image abc is gone")) == "image abc is gone"


def test_missing_format_kwargs_fall_back_to_the_bare_format() -> None:
    assert str(errors.MarkerNotFound()) == errors.MarkerNotFound.msg_fmt


def test_duplicate_entry_message_names_columns_and_value() -> None:
    err = errors.DBDuplicateEntry(["name"], "p1")
    assert err.columns == ["name"]
    assert err.value == "p1"
    assert "name" in str(err) and "p1" in str(err)


# --- savepoints ----------------------------------------------------------------------------


async def test_duplicate_inside_savepoint_keeps_outer_work(tables: rawdb.Database) -> None:
    async with tables.writer() as tx:
        await tx.execute(INSERT_PARENT, id=2, name="p2")
        with pytest.raises(errors.DBDuplicateEntry):
            async with tx.savepoint() as sp:
                await sp.execute(INSERT_PARENT, id=3, name="p3")
                await sp.execute(INSERT_PARENT, id=4, name="p1")
        await tx.execute(INSERT_PARENT, id=5, name="p5")
    async with tables.reader() as tx:
        rows = await tx.fetch(PARENT_NAMES)
    assert [r["name"] for r in rows] == ["p1", "p2", "p5"]


async def test_error_caught_inside_savepoint_still_rolls_back_only_the_savepoint(
    tables: rawdb.Database,
) -> None:
    async with tables.writer() as tx:
        await tx.execute(INSERT_PARENT, id=2, name="p2")
        async with tx.savepoint() as sp:
            await sp.execute(INSERT_PARENT, id=3, name="p3")
            with pytest.raises(errors.DBReferenceError):
                await sp.execute(INSERT_CHILD, **child(parent_id=999))
    async with tables.reader() as tx:
        rows = await tx.fetch(PARENT_NAMES)
    assert [r["name"] for r in rows] == ["p1", "p2"]


async def test_unbindable_value_inside_savepoint_keeps_outer_work(tables: rawdb.Database) -> None:
    async with tables.writer() as tx:
        await tx.execute(INSERT_PARENT, id=2, name="p2")
        with pytest.raises(errors.DBError):
            async with tx.savepoint() as sp:
                await sp.execute(INSERT_PARENT, id=3, name={"not": "a string"})
        await tx.execute(INSERT_PARENT, id=4, name="p4")
    async with tables.reader() as tx:
        rows = await tx.fetch(PARENT_NAMES)
    assert [r["name"] for r in rows] == ["p1", "p2", "p4"]


async def test_error_outside_savepoint_rolls_back_the_whole_writer(tables: rawdb.Database) -> None:
    with pytest.raises(errors.DBDuplicateEntry):
        async with tables.writer() as tx:
            await tx.execute(INSERT_PARENT, id=2, name="p2")
            await tx.execute(INSERT_PARENT, id=3, name="p1")
    async with tables.reader() as tx:
        assert await tx.fetchval(COUNT_PARENTS) == 1
