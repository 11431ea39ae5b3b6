"""connect(): URL resolution, options, pools, replicas, lifecycle, and SQLite's connection setup."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqltools import timestamp_type

import rawdb
from rawdb import errors
from rawdb.database import DEFAULT_URL, resolve_url
from rawdb.statement import Statement

OpenDb = Callable[..., Awaitable[rawdb.Database]]

UNREACHABLE_PG = "postgresql://root@127.0.0.1:1/x"

PING = Statement.portable("test.ping", "SELECT 1 AS ok")
CREATE_T = "CREATE TABLE t (id INTEGER PRIMARY KEY, note VARCHAR(20));"
INSERT_T = Statement.portable("test.insert_t", "INSERT INTO t (id, note) VALUES (:id, :note)")
SELECT_T = Statement.portable("test.select_t", "SELECT id, note FROM t ORDER BY id")
FOREIGN_KEYS = Statement.portable("test.pragma_foreign_keys", "PRAGMA foreign_keys")
JOURNAL_MODE = Statement.portable("test.pragma_journal_mode", "PRAGMA journal_mode")
SYNCHRONOUS = Statement.portable("test.pragma_synchronous", "PRAGMA synchronous")
QUERY_ONLY = Statement.portable("test.pragma_query_only", "PRAGMA query_only")
REGEXP = Statement.portable("test.regexp", "SELECT 'abc' REGEXP 'b+' AS m, 'abc' REGEXP '^z' AS n")


def existing_files(path: str) -> list[str]:
    """Which of a SQLite database's files (main, WAL, shared memory) exist."""
    return [p for p in (path, path + "-wal", path + "-shm") if os.path.exists(p)]


# --- URL resolution ------------------------------------------------------------------------


def test_resolve_url_prefers_the_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAWDB_URL", "sqlite:///from-env.sqlite")
    assert resolve_url("sqlite:///explicit.sqlite") == "sqlite:///explicit.sqlite"


def test_resolve_url_falls_back_to_environment_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAWDB_URL", "sqlite:///from-env.sqlite")
    assert resolve_url(None) == "sqlite:///from-env.sqlite"
    monkeypatch.delenv("RAWDB_URL")
    assert resolve_url(None) == DEFAULT_URL == "sqlite:///rawdb.sqlite"


async def test_connect_uses_url_argument_over_environment(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    monkeypatch.setenv("RAWDB_URL", UNREACHABLE_PG)
    async with rawdb.connect(sqlite_url) as db:
        assert db.url == sqlite_url
        assert db.dialect == "sqlite"


async def test_connect_reads_rawdb_url_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "env.sqlite"
    monkeypatch.setenv("RAWDB_URL", f"sqlite:///{target}")
    async with rawdb.connect() as db:
        assert db.url == f"sqlite:///{target}"
        assert await db.ping() > 0
    assert target.exists()


async def test_connect_defaults_to_rawdb_sqlite_in_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RAWDB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    async with rawdb.connect() as db:
        assert db.url == "sqlite:///rawdb.sqlite"
        async with db.writer() as tx:
            await tx.script(CREATE_T)
    assert (tmp_path / "rawdb.sqlite").exists()


# --- lifecycle -----------------------------------------------------------------------------


async def test_async_with_closes_the_database(url: str) -> None:
    async with rawdb.connect(url) as db:
        assert not db.closed
        assert await db.ping() > 0
    assert db.closed
    assert "closed" in repr(db)


async def test_closing_twice_is_harmless(url: str) -> None:
    db = await rawdb.connect(url)
    await db.close()
    await db.close()
    assert db.closed


async def test_closed_database_refuses_new_scopes(url: str) -> None:
    db = await rawdb.connect(url)
    await db.close()
    try:
        with pytest.raises(errors.DBConnectionError):
            async with db.writer() as tx:
                await tx.fetch(PING)
    finally:
        await db.backend.close()  # whatever a failing run reopened must not outlive the test


async def test_unclosed_database_warns_when_collected(sqlite_url: str) -> None:
    db = await rawdb.connect(sqlite_url)
    await db.backend.close()  # release the real connections; the Database still thinks it is open
    with pytest.warns(ResourceWarning, match="without being closed"):
        del db
        gc.collect()


# --- options -------------------------------------------------------------------------------


async def test_unknown_keyword_option_is_invalid(url: str) -> None:
    with pytest.raises(errors.Invalid, match="no_such_option"):
        await rawdb.connect(url, no_such_option=1)


async def test_postgresql_option_on_sqlite_is_invalid(sqlite_url: str) -> None:
    with pytest.raises(errors.Invalid, match="pool_size"):
        await rawdb.connect(sqlite_url, pool_size=3)


async def test_unknown_sqlite_url_option_is_invalid(sqlite_url: str) -> None:
    with pytest.raises(errors.Invalid, match="bogus"):
        await rawdb.connect(f"{sqlite_url}?bogus=1")


@pytest.mark.parametrize("url", ["oracle://x", "mongodb://root@localhost/x", "nonsense"])
async def test_unsupported_scheme_is_invalid(url: str) -> None:
    with pytest.raises(errors.Invalid, match="scheme"):
        await rawdb.connect(url)


async def test_sqlite_url_with_a_host_is_invalid() -> None:
    with pytest.raises(errors.Invalid, match="no host"):
        await rawdb.connect("sqlite://somehost/x.sqlite")


async def test_bad_option_value_is_invalid(sqlite_url: str) -> None:
    with pytest.raises(errors.Invalid, match="synchronous"):
        await rawdb.connect(sqlite_url, synchronous="bogus")
    with pytest.raises(errors.Invalid, match="synchronous"):
        await rawdb.connect(f"{sqlite_url}?synchronous=bogus")
    with pytest.raises(errors.Invalid, match="readers"):
        await rawdb.connect(sqlite_url, readers="many")


@pytest.mark.parametrize("backend", ["postgresql", "mysql"], indirect=True)
async def test_bad_server_option_value_is_invalid(url: str) -> None:
    with pytest.raises(errors.Invalid, match="pool_size"):
        await rawdb.connect(url, pool_size="lots")


async def test_url_query_options_are_applied(sqlite_url: str, open_db: OpenDb) -> None:
    db = await open_db(f"{sqlite_url}?synchronous=normal&readers=2")
    assert db.options["synchronous"] == "NORMAL"
    assert db.options["readers"] == 2
    assert db.stats()["max_size"] == 3  # one writer and two readers
    async with db.writer() as tx:
        assert await tx.fetch(SYNCHRONOUS) == [{"synchronous": 1}]  # NORMAL


# --- unreachable servers --------------------------------------------------------------------

UNREACHABLE = pytest.mark.parametrize("scheme", ["postgresql", "mysql"])


@UNREACHABLE
async def test_unreachable_server_is_connection_error(scheme: str) -> None:
    with pytest.raises(errors.DBConnectionError, match=re.escape("127.0.0.1:1")) as info:
        await rawdb.connect(f"{scheme}://root@127.0.0.1:1/x", connect_timeout=2)
    assert info.value.__cause__ is not None


@UNREACHABLE
async def test_connection_error_message_hides_the_password(scheme: str) -> None:
    with pytest.raises(errors.DBConnectionError) as info:
        await rawdb.connect(f"{scheme}://root:s3cret-pw@127.0.0.1:1/x", connect_timeout=2)
    assert "s3cret-pw" not in str(info.value)
    assert "s3cret-pw" not in repr(info.value.__cause__)


# --- SQLite :memory: -----------------------------------------------------------------------


async def test_sqlite_memory_is_one_database_shared_by_writer_and_readers(open_db: OpenDb) -> None:
    db = await open_db("sqlite:///:memory:")
    async with db.writer() as tx:
        await tx.script(CREATE_T)
        await tx.execute(INSERT_T, id=1, note="shared")
    async with db.reader() as tx:
        assert await tx.fetch(SELECT_T) == [{"id": 1, "note": "shared"}]


async def test_sqlite_memory_file_is_removed_on_close() -> None:
    db = await rawdb.connect("sqlite:///:memory:")
    path = db.backend.path
    async with db.writer() as tx:
        await tx.script(CREATE_T)
        await tx.execute(INSERT_T, id=1, note="x")
    assert existing_files(path) == [path, path + "-wal", path + "-shm"]
    await db.close()
    assert existing_files(path) == []


async def test_two_sqlite_memory_databases_are_separate(open_db: OpenDb) -> None:
    first = await open_db("sqlite:///:memory:")
    second = await open_db("sqlite:///:memory:")
    async with first.writer() as tx:
        await tx.script(CREATE_T)
    with pytest.raises(errors.DBNonExistentTable):
        async with second.reader() as tx:
            await tx.fetch(SELECT_T)


# --- PostgreSQL pools: pgbouncer and replicas ----------------------------------------------


async def _statement_cache_size(db: rawdb.Database) -> int:
    conn = await db.backend.acquire("reader")
    try:
        size: int = conn.raw._stmt_cache.get_max_size()  # type: ignore[attr-defined]
        return size
    finally:
        db.backend.release(conn)


async def test_pgbouncer_disables_the_statement_cache(pg_url: str, open_db: OpenDb) -> None:
    plain = await open_db(pg_url)
    bouncer = await open_db(f"{pg_url}&pgbouncer=true")
    assert await _statement_cache_size(plain) > 0
    assert await _statement_cache_size(bouncer) == 0
    assert bouncer.options["pgbouncer"] is True
    assert await bouncer.ping() > 0


PLAN_CACHE_MODE = Statement.portable("test.plan_cache_mode", "SELECT current_setting('plan_cache_mode') AS mode")


async def test_writers_use_generic_plans_and_readers_the_server_default(pg_url: str, open_db: OpenDb) -> None:
    db = await open_db(pg_url)
    async with db.writer() as tx:
        assert await tx.fetchval(PLAN_CACHE_MODE) == "force_generic_plan"
    async with db.reader() as tx:
        assert await tx.fetchval(PLAN_CACHE_MODE) == "auto"
    custom = await open_db(f"{pg_url}&writer_plan_cache_mode=auto")
    async with custom.writer() as tx:
        assert await tx.fetchval(PLAN_CACHE_MODE) == "auto"


async def test_unknown_writer_plan_cache_mode_is_invalid(pg_url: str) -> None:
    with pytest.raises(errors.Invalid, match="writer_plan_cache_mode"):
        await rawdb.connect(pg_url, writer_plan_cache_mode="sometimes")


async def test_replica_reader_uses_the_replica_pool(pg_url: str, open_db: OpenDb) -> None:
    db = await open_db(pg_url, replicas=[pg_url], min_size=0)
    assert db.stats()["replicas"] == 1
    replica_pool = db.backend._replicas[0]  # type: ignore[attr-defined]
    assert replica_pool.opened == 0
    async with db.reader(replica=True) as tx:
        assert tx.transaction is not None and tx.transaction.conn is not None
        assert tx.transaction.conn.pool is replica_pool  # type: ignore[attr-defined]
        assert await tx.fetch(PING) == [{"ok": 1}]
        assert db.stats()["in_use"] == 0  # the primary pool is untouched
    assert replica_pool.opened == 1


async def test_plain_reader_ignores_the_replica(pg_url: str, open_db: OpenDb) -> None:
    db = await open_db(pg_url, replicas=[pg_url], min_size=0)
    replica_pool = db.backend._replicas[0]  # type: ignore[attr-defined]
    async with db.reader() as tx:
        assert await tx.fetch(PING) == [{"ok": 1}]
        assert db.stats()["in_use"] == 1
    assert replica_pool.opened == 0


@pytest.mark.parametrize("how", ["query", "option"])
async def test_unreachable_replica_falls_back_to_primary(
    how: str, pg_url: str, open_db: OpenDb, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="rawdb")
    if how == "query":
        db = await open_db(f"{pg_url}&replica=127.0.0.1:1", connect_timeout=2)
    else:
        db = await open_db(pg_url, replicas=[UNREACHABLE_PG], connect_timeout=2)
    assert db.stats()["replicas"] == 0
    warnings = [r for r in caplog.records if r.name == "rawdb" and r.levelno == logging.WARNING]
    assert any("127.0.0.1:1" in r.getMessage() for r in warnings)
    async with db.reader(replica=True) as tx:
        assert await tx.fetch(PING) == [{"ok": 1}]
        assert db.stats()["in_use"] == 1  # served by the primary


# --- stats and ping ------------------------------------------------------------------------


async def test_stats_report_pool_figures(db: rawdb.Database, backend: str) -> None:
    stats = db.stats()
    assert {"backend", "size", "max_size", "in_use", "idle", "waiting"} <= set(stats)
    assert stats["backend"] == backend
    assert stats["in_use"] == 0
    assert stats["waiting"] == 0
    assert stats["size"] <= stats["max_size"]
    async with db.writer():
        inside = db.stats()
        assert inside["in_use"] == 1
        assert inside["idle"] == inside["size"] - 1
    after = db.stats()
    assert after["in_use"] == 0
    assert after["idle"] == after["size"] >= 1


async def test_ping_returns_positive_milliseconds(db: rawdb.Database) -> None:
    elapsed = await db.ping()
    assert isinstance(elapsed, float)
    assert elapsed > 0
    assert db.stats()["in_use"] == 0


# --- SQLite connection setup ----------------------------------------------------------------


async def test_sqlite_reader_and_writer_use_wal_and_foreign_keys(sqlite_db: rawdb.Database) -> None:
    async with sqlite_db.reader() as tx:
        assert await tx.fetch(FOREIGN_KEYS) == [{"foreign_keys": 1}]
        assert await tx.fetch(JOURNAL_MODE) == [{"journal_mode": "wal"}]
        assert await tx.fetch(QUERY_ONLY) == [{"query_only": 1}]
    async with sqlite_db.writer() as tx:
        assert await tx.fetch(FOREIGN_KEYS) == [{"foreign_keys": 1}]
        assert await tx.fetch(JOURNAL_MODE) == [{"journal_mode": "wal"}]
        assert await tx.fetch(QUERY_ONLY) == [{"query_only": 0}]
        assert await tx.fetch(SYNCHRONOUS) == [{"synchronous": 2}]  # FULL by default


async def test_sqlite_regexp_function_works(sqlite_db: rawdb.Database) -> None:
    async with sqlite_db.reader() as tx:
        assert await tx.fetch(REGEXP) == [{"m": 1, "n": 0}]
    async with sqlite_db.writer() as tx:
        assert await tx.fetch(REGEXP) == [{"m": 1, "n": 0}]


async def test_datetimes_and_booleans_round_trip_identically(db: rawdb.Database) -> None:
    timestamp = timestamp_type(db.dialect)
    insert = Statement.portable("test.insert_typed", "INSERT INTO typed (id, at, flag) VALUES (:id, :at, :flag)")
    select = Statement.portable("test.select_typed", "SELECT id, at, flag FROM typed ORDER BY id")
    rows = [
        {"id": 1, "at": datetime(2024, 2, 29, 23, 59, 58, 123456), "flag": True},
        {"id": 2, "at": datetime(2000, 1, 1, 0, 0, 0, 1), "flag": False},
        {"id": 3, "at": datetime(2021, 6, 1, 12, 0, 0), "flag": True},
        {"id": 4, "at": None, "flag": None},
    ]
    async with db.writer() as tx:
        await tx.script(f"CREATE TABLE typed (id INTEGER PRIMARY KEY, at {timestamp}, flag BOOLEAN);")
        for row in rows:
            await tx.execute(insert, **row)
    async with db.reader() as tx:
        fetched = await tx.fetch(select)
    assert fetched == rows
    for got in fetched[:3]:
        assert type(got["at"]) is datetime
        assert got["at"].tzinfo is None
        assert type(got["flag"]) is bool


def test_rawdb_leaves_the_processes_own_sqlite3_connections_as_they_were(tmp_path: Path) -> None:
    """Importing and using rawdb registers no converters with the sqlite3 module."""
    path = tmp_path / "mine.sqlite"
    converters = dict(sqlite3.converters)

    async def use_rawdb() -> None:
        async with rawdb.connect(f"sqlite:///{path}") as db, db.writer() as tx:
            await tx.script("CREATE TABLE t (at DATETIME, flag BOOLEAN)")
            await tx.execute(
                rawdb.Statement.portable("test.t.insert", "INSERT INTO t VALUES (:at, :flag)"),
                at=datetime(2024, 1, 2, 3, 4, 5),
                flag=True,
            )
            rows = await tx.fetch(rawdb.Statement.portable("test.t.all", "SELECT at, flag FROM t"))
            assert rows == [{"at": datetime(2024, 1, 2, 3, 4, 5), "flag": True}]  # rawdb reads them typed

    asyncio.run(use_rawdb())
    assert sqlite3.converters == converters
    mine = sqlite3.connect(path, detect_types=sqlite3.PARSE_DECLTYPES)
    try:
        assert mine.execute("SELECT at, flag FROM t").fetchall() == [("2024-01-02 03:04:05.000000", 1)]
    finally:
        mine.close()


async def test_a_sqlite_file_that_cannot_be_opened_is_a_connection_error_naming_it(tmp_path: Path) -> None:
    missing_dir = tmp_path / "no" / "such" / "dir" / "db.sqlite"
    with pytest.raises(errors.DBConnectionError, match=f"Cannot open the SQLite database {missing_dir}"):
        await rawdb.connect(f"sqlite:///{missing_dir}")
    text_file = tmp_path / "notes.sqlite"
    text_file.write_text("not a database " * 200)
    with pytest.raises(errors.DBConnectionError, match="SQLITE_NOTADB"):
        await rawdb.connect(f"sqlite:///{text_file}")
