"""Driver errors become rawdb's flat error family, on both backends; the family's own rules."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncmy.errors
import asyncpg
import pytest

import rawdb
from rawdb import errors
from rawdb.backends import sqlite as sqlite_backend
from rawdb.statement import Statement

TABLES = """
CREATE TABLE parents (
    id INTEGER PRIMARY KEY,
    name VARCHAR(10) NOT NULL,
    CONSTRAINT parents_name UNIQUE (name)
);
CREATE TABLE children (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER NOT NULL,
    slot INTEGER NOT NULL,
    label VARCHAR(10) NOT NULL,
    qty INTEGER NOT NULL,
    CONSTRAINT qty_positive CHECK (qty > 0),
    CONSTRAINT children_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES parents (id),
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
    return {"postgresql": asyncpg.PostgresError, "mysql": asyncmy.errors.Error}.get(db.dialect, sqlite_backend.Error)


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
    if tables.dialect in ("postgresql", "mysql"):
        assert (err.sqlstate or err.errorname) in ("23505", "1062")
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
    elif tables.dialect == "mysql":
        assert err.errorname == "1062"
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
    if tables.dialect in ("postgresql", "mysql"):
        assert (err.sqlstate or err.errorname) in ("23503", "1452")
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
    if tables.dialect in ("postgresql", "mysql"):
        assert (err.sqlstate or err.errorname) in ("23514", "4025")
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
    timestamp = "DATETIME(6)" if db.dialect == "mysql" else "TIMESTAMP"
    stamp = Statement.portable(f"test.stamp.{db.dialect}", f"SELECT CAST(:t AS {timestamp}) AS t")
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


# --- across backends: keys, references, lock timeouts ------------------------------------

CODES = "CREATE TABLE codes (code VARCHAR(10) PRIMARY KEY, label VARCHAR(10) NOT NULL)"
INSERT_CODE = Statement.portable("test.insert_code", "INSERT INTO codes (code, label) VALUES (:code, :label)")
DELETE_PARENT = Statement.portable("test.delete_parent", "DELETE FROM parents WHERE id = :id")
RENAME_PARENT = Statement.portable("test.rename_parent", "UPDATE parents SET name = :name WHERE id = :id")


async def test_duplicate_primary_keys_of_two_tables_name_each_its_own_column(tables: rawdb.Database) -> None:
    # MariaDB names the violated key (PRIMARY) but not its table: the columns must still be
    # those of the table the statement wrote, not of the first table with a key so named.
    async with tables.writer() as tx:
        await tx.script(CODES)
        await tx.execute(INSERT_CODE, code="c1", label="one")
    with pytest.raises(errors.DBDuplicateEntry) as in_parents:
        async with tables.writer() as tx:
            await tx.execute(INSERT_PARENT, id=1, name="again")
    with pytest.raises(errors.DBDuplicateEntry) as in_codes:
        async with tables.writer() as tx:
            await tx.execute(INSERT_CODE, code="c1", label="again")
    assert in_parents.value.columns == ["id"]
    assert in_codes.value.columns == ["code"]


async def test_deleting_a_referenced_parent_is_reference_error_and_deletes_nothing(tables: rawdb.Database) -> None:
    async with tables.writer() as tx:
        await tx.execute(INSERT_CHILD, **child())
    with pytest.raises(errors.DBReferenceError) as info:
        async with tables.writer() as tx:
            await tx.execute(DELETE_PARENT, id=1)
    err = info.value
    assert err.statement == "test.delete_parent"
    assert isinstance(err.__cause__, driver_error_type(tables))
    if tables.dialect in ("postgresql", "mysql"):
        assert (err.sqlstate or err.errorname) in ("23503", "1451")
        # The referencing table and the constraint are what both servers name alike; key and
        # key_table follow each server's message, as in oslo.db (PostgreSQL: the parent's
        # key and the referencing table; MySQL: the child's column and the parent table).
        assert err.table == "children"
        assert err.constraint == "children_parent_id_fkey"
    async with tables.reader() as rx:
        assert await rx.fetchval(COUNT_PARENTS) == 1


# How long a writer waits for a lock another holds, per backend (the options differ).
SHORT_LOCK_WAIT: dict[str, dict[str, Any]] = {
    "postgresql": {"server_settings": {"lock_timeout": "300ms"}},
    "mysql": {"lock_wait_timeout": 1},  # innodb_lock_wait_timeout: whole seconds
    "sqlite": {"busy_timeout": 0.3},
}


async def test_a_lock_wait_timeout_is_deadlock_and_nothing_of_the_waiters_scope_commits(
    backend: str, url: str, open_db: Any
) -> None:
    db = await open_db(url, **SHORT_LOCK_WAIT[backend])
    async with db.writer() as tx:
        await tx.script(TABLES)
        await tx.execute(INSERT_PARENT, id=1, name="p1")
        await tx.execute(INSERT_PARENT, id=2, name="p2")
    async with db.writer() as holder:
        await holder.execute(RENAME_PARENT, id=1, name="held")
        with pytest.raises(errors.DBDeadlock) as info:
            async with db.writer() as waiter:
                # MySQL rolls back only the statement that timed out (1205), not the
                # transaction: rawdb must still not commit what ran before it.
                await waiter.execute(RENAME_PARENT, id=2, name="waiter")
                await waiter.execute(RENAME_PARENT, id=1, name="waiter")
    if backend in ("postgresql", "mysql"):
        assert (info.value.sqlstate or info.value.errorname) in ("55P03", "1205")
    async with db.reader() as rx:
        assert [r["name"] for r in await rx.fetch(PARENT_NAMES)] == ["held", "p2"]
    assert db.stats()["in_use"] == 0


# --- across backends: text ---------------------------------------------------------------

NAMES_TABLE = "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL)"
INSERT_PERSON = Statement.portable("test.insert_person", "INSERT INTO people (id, name) VALUES (:id, :name)")
PEOPLE_SORTED = Statement.portable("test.people_sorted", "SELECT name FROM people ORDER BY name, id")
PERSON_NAMED = Statement.portable("test.person_named", "SELECT id FROM people WHERE name = :name ORDER BY id")
PERSON_NAME = Statement.portable("test.person_name", "SELECT name FROM people WHERE id = :id")
COMPARE = Statement.portable(
    "test.compare",
    "SELECT CASE WHEN :a < :b THEN 1 ELSE 0 END AS lt, CASE WHEN :a = :b THEN 1 ELSE 0 END AS eq",
)
MIXED = ["bob", "Bob", "BOB", "alice", "Álvaro", "álvaro", "Zoë", "zoe", "émile", "Émile", "eve", "Eve ", "ß", "ss"]


async def test_text_compares_and_sorts_by_code_point_on_every_backend(db: rawdb.Database) -> None:
    async with db.writer() as tx:
        await tx.script(NAMES_TABLE)
        for i, name in enumerate(MIXED):
            await tx.execute(INSERT_PERSON, id=i, name=name)
    async with db.reader() as rx:
        assert await rx.fetch(COMPARE, a="A", b="a") == [{"lt": 1, "eq": 0}]
        assert await rx.fetch(COMPARE, a="a", b="A") == [{"lt": 0, "eq": 0}]
        assert await rx.fetch(COMPARE, a="a", b="a ") == [{"lt": 1, "eq": 0}]  # no padding to equal length
        # the same order everywhere: Python's, by code point, not a language's
        assert [r["name"] for r in await rx.fetch(PEOPLE_SORTED)] == sorted(MIXED)
        # equality is exact: no case folding, no accent folding, no trailing-space padding
        assert await rx.fetch(PERSON_NAMED, name="bob") == [{"id": 0}]
        assert await rx.fetch(PERSON_NAMED, name="alvaro") == []
        assert await rx.fetch(PERSON_NAMED, name="Eve") == []
        assert await rx.fetch(PERSON_NAMED, name="s") == []


async def test_four_byte_characters_are_stored_and_read_back_on_every_backend(db: rawdb.Database) -> None:
    text = "rocket 🚀 flag 🇪🇺 family 👨‍👩‍👧 math \U0001d538"
    async with db.writer() as tx:
        await tx.script(NAMES_TABLE)
        await tx.execute(INSERT_PERSON, id=1, name=text)
    async with db.reader() as rx:
        assert await rx.fetchval(PERSON_NAME, id=1) == text
        assert await rx.fetch(PERSON_NAMED, name=text) == [{"id": 1}]
