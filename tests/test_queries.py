"""The pypika compiler and keyset pagination, on both backends.

The property test walks every page of random sort orders over random rows (NULLs and
ties included) with markers, and checks that the pages concatenate to exactly the
unpaged ordering — the same on SQLite and PostgreSQL, and the same as a Python model.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypika import Table
from sqltools import timestamp_type

import rawdb
from rawdb import errors
from rawdb.queries import (
    AnyOf,
    Param,
    Query,
    Regex,
    SortKey,
    after_marker,
    compile_statement,
    marker_params,
    marker_shape,
    order_by,
)
from rawdb.statement import Statement

T = Table("items")
CREATE = (
    "CREATE TABLE items (id INTEGER NOT NULL PRIMARY KEY, n INTEGER NOT NULL, a INTEGER, b VARCHAR(8), c {timestamp})"
)
INSERT = Statement.portable("test.items.insert", "INSERT INTO items (id, n, a, b, c) VALUES (:id, :n, :a, :b, :c)")
CLEAR = Statement.portable("test.items.clear", "DELETE FROM items")
MOMENTS = [
    datetime(2024, 1, 1, 0, 0, 0),
    datetime(2024, 1, 1, 0, 0, 0, 1),
    datetime(2023, 12, 31, 23, 59, 59, 999999),
]
COLUMNS = {"n": False, "a": True, "b": True, "c": True}  # column -> nullable


@functools.cache
def page_statement(keys: tuple[SortKey, ...], nulls: tuple[bool, ...] | None, limit: int) -> Statement:
    """One statement per query shape, as domain code caches them."""
    query = Query.from_(T).select(T.id, T.n, T.a, T.b, T.c).orderby(*order_by(keys, T.field)).limit(limit)
    if nulls is not None:
        query = query.where(after_marker(keys, nulls, T.field))
    return compile_statement("test.items.page", query)


def python_order(rows: list[dict[str, Any]], keys: tuple[SortKey, ...]) -> list[int]:
    def compare(x: dict[str, Any], y: dict[str, Any]) -> int:
        for key in keys:
            u, v = x[key.column], y[key.column]
            if u == v:
                continue
            if u is None or v is None:
                first = u is None if key.nulls_go_first else v is None
                return -1 if first else 1
            smaller = -1 if u < v else 1
            return -smaller if key.desc else smaller
        return 0

    return [r["id"] for r in sorted(rows, key=functools.cmp_to_key(compare))]


async def walk(url: str, rows: list[dict[str, Any]], keys: tuple[SortKey, ...], limit: int) -> tuple[list, list]:
    async with rawdb.connect(url) as db, db.writer() as tx:
        await tx.execute(CLEAR)
        for row in rows:
            await tx.execute(INSERT, **row)
        unpaged = [r["id"] for r in await tx.fetch(page_statement(keys, None, 10_000))]
        paged: list[int] = []
        marker: dict[str, Any] | None = None
        for _ in range(len(rows) + 2):
            if marker is None:
                page = await tx.fetch(page_statement(keys, None, limit))
            else:
                stmt = page_statement(keys, marker_shape(keys, marker), limit)
                page = await tx.fetch(stmt, **marker_params(keys, marker))
            paged += [r["id"] for r in page]
            if len(page) < limit:
                break
            marker = page[-1]
        await tx.execute(CLEAR)
    return unpaged, paged


row_values = st.fixed_dictionaries(
    {
        "n": st.integers(0, 2),
        "a": st.none() | st.integers(-1, 2),
        "b": st.none() | st.sampled_from(["", "a", "B", "b", "ab", "é"]),
        "c": st.none() | st.sampled_from(MOMENTS),
    }
)
sort_key = st.builds(
    lambda column, desc, nulls: SortKey(column, desc, nulls, COLUMNS[column]),
    st.sampled_from(sorted(COLUMNS)),
    st.booleans(),
    st.sampled_from([None, True, False]),
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[dict[str, Any]], tuple[SortKey, ...], int]:
    values = draw(st.lists(row_values, max_size=14))
    rows = [{"id": i + 1, **v} for i, v in enumerate(values)]
    keys = draw(st.lists(sort_key, min_size=0, max_size=3, unique_by=lambda k: k.column))
    id_key = SortKey("id", draw(st.booleans()), None, nullable=False)
    return rows, (*keys, id_key), draw(st.integers(1, 4))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_walking_pages_with_markers_yields_the_unpaged_order_on_every_backend(
    sqlite_url: str,
    pg_url: str,
    mysql_url: str,
    prepared_items: None,
    case: tuple[list[dict[str, Any]], tuple[SortKey, ...], int],
) -> None:
    rows, keys, limit = case
    expected = python_order(rows, keys)
    for url in (sqlite_url, pg_url, mysql_url):
        unpaged, paged = asyncio.run(walk(url, rows, keys, limit))
        assert unpaged == expected, f"{url.split(':')[0]} unpaged order"
        assert paged == expected, f"{url.split(':')[0]} paged walk"


@pytest.fixture
async def prepared_items(sqlite_url: str, pg_url: str, mysql_url: str) -> None:
    for url in (sqlite_url, pg_url, mysql_url):
        async with rawdb.connect(url) as db, db.writer() as tx:
            await tx.script(CREATE.format(timestamp=timestamp_type(db.dialect)))


def test_row_value_predicate_serves_same_direction_not_null_keys() -> None:
    keys = (SortKey("n", True, None, False), SortKey("id", True, None, False))
    sql = page_statement(keys, (False, False), 5).compiled("postgresql").sql
    assert '("n","id")<($1,$2)' in sql
    assert "NULLS" not in sql  # NOT NULL keys keep PostgreSQL free to walk an index


def test_nullable_keys_get_explicit_null_placement_and_a_sargable_marker_predicate() -> None:
    keys = (SortKey("b", False, None, True), SortKey("id", False, None, False))
    with_value = page_statement(keys, (False, False), 5)
    assert '"b" ASC NULLS FIRST' in with_value.compiled("postgresql").sql  # PostgreSQL puts NULLs last
    # SQLite and MySQL put NULLs first ascending already: nothing that would keep MySQL off an index
    assert '"b" ASC,' in with_value.compiled("sqlite").sql
    assert '"b" ASC,' in with_value.compiled("mysql").sql and "IS NULL," not in with_value.compiled("mysql").sql
    assert '"b">=?1' in with_value.compiled("sqlite").sql
    last = page_statement((SortKey("b", False, False, True), SortKey("id")), (False, False), 5)
    assert '"b" IS NULL, "b" ASC' in last.compiled("mysql").sql  # NULLs last ascending: said explicitly
    with_null = page_statement(keys, (True, False), 5).compiled("postgresql").sql
    assert 'NOT "b" IS NULL OR ("b" IS NULL AND "id">$1)' in with_null
    assert "DISTINCT" not in with_null


def test_a_marker_after_which_nothing_can_sort_gives_a_false_predicate_not_no_where() -> None:
    keys = (SortKey("a", True, False, True),)  # DESC NULLS LAST, marker NULL: nothing after it
    sql = page_statement(keys, (True,), 5).compiled("postgresql").sql
    assert "WHERE 1 = 0" in sql


def test_an_unbound_literal_is_refused() -> None:
    with pytest.raises(TypeError, match="unbound"):
        compile_statement("test.bad", Query.from_(T).select(T.id).where(T.b == "x"))
    with pytest.raises(TypeError, match="unbound"):
        compile_statement("test.bad", Query.from_(T).select(T.id).where(T.c > datetime(2024, 1, 1)))


def test_params_are_numbered_per_dialect_and_reused() -> None:
    query = Query.from_(T).select(T.id).where((T.a == Param("x")) | (T.n == Param("x"))).where(T.b == Param("y"))
    stmt = compile_statement("test.reuse", query)
    assert stmt.compiled("postgresql").sql.count("$1") == 2
    assert stmt.compiled("postgresql").names == ("x", "y")
    assert "?2" in stmt.compiled("sqlite").sql


@pytest.fixture
async def items(db: rawdb.Database) -> rawdb.Database:
    async with db.writer() as tx:
        await tx.script(CREATE.format(timestamp=timestamp_type(db.dialect)))
        for i, (b, c) in enumerate([("apple", MOMENTS[0]), ("Banana", MOMENTS[1]), ("cherry", None)], start=1):
            await tx.execute(INSERT, id=i, n=i, a=None, b=b, c=c)
    return db


async def test_any_of_and_regex_select_the_same_rows_on_both_backends(items: rawdb.Database) -> None:
    query = Query.from_(T).select(T.id).where(AnyOf(T.id, "ids")).where(Regex(T.b, "pattern")).orderby(T.id)
    stmt = compile_statement("test.any_regex", query)
    async with items.reader() as tx:
        assert [r["id"] for r in await tx.fetch(stmt, ids=[1, 2, 3], pattern="^[a-c]")] == [1, 3]
        assert [r["id"] for r in await tx.fetch(stmt, ids=[], pattern=".")] == []
        excluded = compile_statement("test.none_of", Query.from_(T).select(T.id).where(AnyOf(T.id, "ids", negate=True)))
        assert sorted(r["id"] for r in await tx.fetch(excluded, ids=[2])) == [1, 3]


async def test_datetime_params_are_bound_not_stringified(items: rawdb.Database) -> None:
    stmt = compile_statement("test.after", Query.from_(T).select(T.id).where(T.c >= Param("after")).orderby(T.id))
    async with items.reader() as tx:
        assert [r["id"] for r in await tx.fetch(stmt, after=MOMENTS[1])] == [2]
        with pytest.raises(errors.StatementError, match=":after"):
            await tx.fetch(stmt)
