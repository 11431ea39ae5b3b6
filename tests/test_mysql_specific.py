"""MariaDB/MySQL only: its error numbers provoked for real, and what a utf8mb3 table cannot hold.

The behaviour all backends share (deadlock retry, collation, 4-byte text, lock timeouts)
is tested across backends in test_errors.py and test_concurrency.py; here is what only
MySQL has: the error-number table of ``rawdb/backends/mysql.py`` and legacy character sets.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncmy.errors
import pytest
from faulttools import OpenDb, ServerSessions, session_id

import rawdb
from rawdb import errors
from rawdb.statement import Statement

TABLES = """
CREATE TABLE parents (id INTEGER PRIMARY KEY, name VARCHAR(10) NOT NULL, CONSTRAINT parents_name UNIQUE (name));
CREATE TABLE children (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER NOT NULL,
    qty TINYINT NOT NULL,
    stock BIGINT UNSIGNED NOT NULL DEFAULT 3,
    born DATETIME(6),
    CONSTRAINT qty_positive CHECK (qty > 0),
    CONSTRAINT children_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES parents (id)
);
CREATE TABLE legacy (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL) CHARACTER SET utf8mb3;
INSERT INTO parents (id, name) VALUES (1, 'p1');
INSERT INTO children (id, parent_id, qty) VALUES (1, 1, 1);
"""


def stmt(name: str, sql: str) -> Statement:
    return Statement.portable(f"test.mysql.{name}", sql)


INSERT_PARENT = stmt("insert_parent", "INSERT INTO parents (id, name) VALUES (:id, :name)")
INSERT_CHILD = stmt("insert_child", "INSERT INTO children (id, parent_id, qty) VALUES (:id, :parent_id, :qty)")

# errno -> the statement that provokes it here, its arguments, and the rawdb error expected.
CASES: list[tuple[int, Statement, dict[str, Any], type[errors.DBError]]] = [
    (1062, INSERT_PARENT, {"id": 2, "name": "p1"}, errors.DBDuplicateEntry),
    (1451, stmt("delete_parent", "DELETE FROM parents WHERE id = :id"), {"id": 1}, errors.DBReferenceError),
    (1452, INSERT_CHILD, {"id": 2, "parent_id": 99, "qty": 1}, errors.DBReferenceError),
    (1146, stmt("missing", "SELECT * FROM no_such_table"), {}, errors.DBNonExistentTable),
    (1406, INSERT_PARENT, {"id": 2, "name": "x" * 11}, errors.DBDataError),
    (
        1366,
        stmt("legacy", "INSERT INTO legacy (id, name) VALUES (:id, :name)"),
        {"id": 1, "name": "🚀"},
        errors.DBDataError,
    ),
    (1366, stmt("not_int", "UPDATE children SET qty = :qty WHERE id = 1"), {"qty": "many"}, errors.DBDataError),
    (1264, INSERT_CHILD, {"id": 2, "parent_id": 1, "qty": 1000}, errors.DBDataError),
    (1292, stmt("born", "UPDATE children SET born = :born WHERE id = 1"), {"born": "2024-13-45"}, errors.DBDataError),
    (1690, stmt("underflow", "UPDATE children SET stock = stock - 5 WHERE id = 1"), {}, errors.DBDataError),
    (1048, INSERT_PARENT, {"id": 2, "name": None}, errors.DBNotNullError),
    (4025, INSERT_CHILD, {"id": 2, "parent_id": 1, "qty": 0}, errors.DBConstraintError),
]


@pytest.fixture
async def mysql_db(mysql_url: str, open_db: OpenDb) -> rawdb.Database:
    db: rawdb.Database = await open_db(mysql_url, lock_wait_timeout=1)
    async with db.writer() as tx:
        await tx.script(TABLES)
    return db


@pytest.mark.parametrize(
    ("errno", "statement", "args", "expected"), CASES, ids=[f"{c[0]}-{c[1].name.split('.')[-1]}" for c in CASES]
)
async def test_each_error_number_becomes_its_rawdb_error_and_nothing_is_written(
    mysql_db: rawdb.Database, errno: int, statement: Statement, args: dict[str, Any], expected: type[errors.DBError]
) -> None:
    with pytest.raises(errors.DBError) as info:
        async with mysql_db.writer() as tx:
            await tx.execute(stmt("marker", "INSERT INTO parents (id, name) VALUES (50, 'marker')"))
            await tx.execute(statement, **args)
    err = info.value
    assert type(err) is expected, err
    assert err.errorname == str(errno)
    assert isinstance(err.__cause__, asyncmy.errors.Error)
    assert err.__cause__.args[0] == errno
    assert err.statement == statement.name
    # the statement before it, in the same transaction, was rolled back with it
    async with mysql_db.reader() as rx:
        assert await rx.fetch(stmt("parents", "SELECT id, name FROM parents ORDER BY id")) == [{"id": 1, "name": "p1"}]
        assert await rx.fetchval(stmt("legacy_count", "SELECT count(*) AS n FROM legacy")) == 0


async def test_error_attributes_name_the_key_table_and_column(mysql_db: rawdb.Database) -> None:
    with pytest.raises(errors.DBDuplicateEntry) as dup:
        async with mysql_db.writer() as tx:
            await tx.execute(INSERT_PARENT, id=2, name="p1")
    assert dup.value.columns == ["name"] and dup.value.value == "p1"
    with pytest.raises(errors.DBReferenceError) as ref:
        async with mysql_db.writer() as tx:
            await tx.execute(INSERT_CHILD, id=2, parent_id=99, qty=1)
    assert (ref.value.table, ref.value.key, ref.value.key_table) == ("children", "parent_id", "parents")
    with pytest.raises(errors.DBNonExistentTable) as missing:
        async with mysql_db.reader() as rx:
            await rx.fetch(stmt("missing2", "SELECT * FROM no_such_table"))
    assert missing.value.table == "no_such_table"
    with pytest.raises(errors.DBNotNullError) as null:
        async with mysql_db.writer() as tx:
            await tx.execute(INSERT_PARENT, id=2, name=None)
    assert null.value.column == "name"
    with pytest.raises(errors.DBConstraintError) as check:
        async with mysql_db.writer() as tx:
            await tx.execute(INSERT_CHILD, id=2, parent_id=1, qty=0)
    assert (check.value.table, check.value.check_name) == ("children", "qty_positive")


async def test_a_four_byte_character_on_a_utf8mb3_table_is_invalid_and_writes_nothing(
    mysql_db: rawdb.Database,
) -> None:
    insert = stmt("legacy_insert", "INSERT INTO legacy (id, name) VALUES (:id, :name)")
    names = stmt("legacy_names", "SELECT id, name FROM legacy ORDER BY id")
    async with mysql_db.writer() as tx:
        await tx.execute(insert, id=1, name="café ß")  # three bytes at most: utf8mb3 holds it
    with pytest.raises(errors.Invalid) as info:
        async with mysql_db.writer() as tx:
            await tx.execute(insert, id=2, name="plain")
            await tx.execute(insert, id=3, name="rocket 🚀")
    assert isinstance(info.value, errors.DBDataError)
    assert info.value.errorname == "1366"
    assert "Incorrect string value" in str(info.value)
    async with mysql_db.reader() as rx:
        assert await rx.fetch(names) == [{"id": 1, "name": "café ß"}]  # neither row 2 nor row 3, nor a '?'


SLEEP = stmt("sleep", "SELECT SLEEP(:seconds) AS slept")


async def test_a_session_killed_mid_statement_is_a_connection_error_2013(
    mysql_db: rawdb.Database, mysql_url: str
) -> None:
    sessions = ServerSessions("mysql", mysql_url)
    with pytest.raises(errors.DBConnectionError) as info:
        async with mysql_db.writer() as tx:
            await tx.execute(INSERT_PARENT, id=2, name="doomed")
            pid = await session_id(tx)
            running = asyncio.create_task(tx.fetch(SLEEP, seconds=3))
            await asyncio.sleep(0.2)
            assert await sessions.kill(pid) == 1
            await running
    assert info.value.errorname == "2013"  # lost connection during query
    assert isinstance(info.value.__cause__, asyncmy.errors.Error)
    async with mysql_db.reader() as rx:
        assert await rx.fetchval(stmt("count2", "SELECT count(*) AS n FROM parents")) == 1
    assert mysql_db.stats()["in_use"] == 0


async def test_a_session_killed_while_idle_in_a_transaction_is_a_connection_error(
    mysql_db: rawdb.Database, mysql_url: str
) -> None:
    sessions = ServerSessions("mysql", mysql_url)
    with pytest.raises(errors.DBConnectionError) as info:
        async with mysql_db.writer() as tx:
            await tx.execute(INSERT_PARENT, id=2, name="doomed")
            assert await sessions.kill(await session_id(tx)) == 1
            await asyncio.sleep(0.1)
            await tx.execute(INSERT_PARENT, id=3, name="never")
    assert info.value.errorname == "2006"  # MySQL server has gone away
    assert isinstance(info.value.__cause__, asyncmy.errors.Error)
    async with mysql_db.reader() as rx:
        assert await rx.fetchval(stmt("count3", "SELECT count(*) AS n FROM parents")) == 1
