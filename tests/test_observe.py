"""Statement logging on ``rawdb.sql``, slow-statement warnings and StatementCounter hooks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

import rawdb
from rawdb import errors
from rawdb.statement import Statement

OpenDb = Callable[..., Awaitable[rawdb.Database]]

SECRET = "secret-value-4711"
LOOKUP = Statement.portable("test.lookup", "SELECT CAST(:token AS VARCHAR(40)) AS token")
ONE = Statement.portable("test.one", "SELECT 1 AS one")
TWO = Statement.portable("test.two", "SELECT 2 AS two")
SELECT_MISSING = Statement.portable("test.select_missing", "SELECT * FROM no_such_table")


def sql_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "rawdb.sql" and r.levelno == level]


def lines_about(records: list[logging.LogRecord], name: str) -> list[str]:
    return [r.getMessage() for r in records if name in r.getMessage()]


# --- logging ---------------------------------------------------------------------------------


async def test_statement_logs_debug_line_with_name_backend_and_rows(
    db: rawdb.Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="rawdb.sql")
    async with db.reader() as tx:
        assert await tx.fetch(LOOKUP, token=SECRET) == [{"token": SECRET}]
    lines = lines_about(sql_records(caplog, logging.DEBUG), "test.lookup")
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("test.lookup ")
    assert f" {db.dialect} " in line
    assert "rows=1" in line
    assert "ms" in line


async def test_parameter_values_are_not_logged_by_default(db: rawdb.Database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="rawdb.sql")
    async with db.reader() as tx:
        await tx.fetch(LOOKUP, token=SECRET)
    assert lines_about(sql_records(caplog, logging.DEBUG), "test.lookup")
    assert SECRET not in caplog.text
    assert "args=" not in caplog.text


async def test_log_parameters_logs_the_values(url: str, open_db: OpenDb, caplog: pytest.LogCaptureFixture) -> None:
    db = await open_db(url, log_parameters=True)
    caplog.set_level(logging.DEBUG, logger="rawdb.sql")
    async with db.reader() as tx:
        await tx.fetch(LOOKUP, token=SECRET)
    lines = lines_about(sql_records(caplog, logging.DEBUG), "test.lookup")
    assert len(lines) == 1
    assert SECRET in lines[0]
    assert "rows=1" in lines[0]


async def test_log_parameters_from_url_query(
    sqlite_url: str, open_db: OpenDb, caplog: pytest.LogCaptureFixture
) -> None:
    db = await open_db(f"{sqlite_url}?log_parameters=true")
    caplog.set_level(logging.DEBUG, logger="rawdb.sql")
    async with db.reader() as tx:
        await tx.fetch(LOOKUP, token=SECRET)
    assert SECRET in caplog.text


async def test_nothing_is_logged_above_debug_for_fast_statements(
    db: rawdb.Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rawdb.sql")
    async with db.writer() as tx:
        await tx.fetch(ONE)
    assert sql_records(caplog, logging.WARNING) == []
    assert sql_records(caplog, logging.DEBUG) == []


async def test_slow_statement_logs_warning_naming_it(
    url: str, open_db: OpenDb, caplog: pytest.LogCaptureFixture
) -> None:
    db = await open_db(url, slow_statement_ms=0)
    caplog.set_level(logging.WARNING, logger="rawdb.sql")
    async with db.reader() as tx:
        await tx.fetch(LOOKUP, token=SECRET)
    warnings = lines_about(sql_records(caplog, logging.WARNING), "test.lookup")
    assert len(warnings) == 1
    assert "slow statement test.lookup" in warnings[0]
    assert db.dialect in warnings[0]
    assert "CAST(" in warnings[0]  # the SQL text, for finding the culprit
    assert SECRET not in caplog.text


async def test_failing_statement_logs_the_error_class(db: rawdb.Database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="rawdb.sql")
    with pytest.raises(errors.DBNonExistentTable):
        async with db.reader() as tx:
            await tx.fetch(SELECT_MISSING)
    lines = lines_about(sql_records(caplog, logging.DEBUG), "test.select_missing")
    assert len(lines) == 1
    assert "error=DBNonExistentTable" in lines[0]
    assert "rows=" not in lines[0]


# --- hooks -----------------------------------------------------------------------------------


async def test_counter_counts_begin_statements_and_commit_in_one_scope(db: rawdb.Database) -> None:
    counter = rawdb.StatementCounter()
    db.add_hook(counter)
    async with db.writer() as tx:
        await tx.fetch(ONE)
        await tx.fetch(TWO)
        assert tx.transaction is not None
        scope_id = tx.transaction.id
    assert counter.total == 4
    assert counter.scopes == 1
    assert counter.per_scope == {scope_id: 4}
    assert counter.events == []  # keep=False keeps no events


async def test_counter_counts_each_scope(db: rawdb.Database) -> None:
    counter = rawdb.StatementCounter()
    db.add_hook(counter)
    async with db.writer() as tx:
        await tx.fetch(ONE)
        await tx.fetch(TWO)
    async with db.reader() as tx:
        await tx.fetch(ONE)
    assert counter.scopes == 2
    assert sorted(counter.per_scope.values()) == [1, 4]  # a reader sends no BEGIN or ROLLBACK
    assert counter.total == 5


async def test_counter_keep_records_events_with_sql_and_args(db: rawdb.Database) -> None:
    counter = rawdb.StatementCounter(keep=True)
    db.add_hook(counter)
    async with db.writer() as tx:
        await tx.fetch(LOOKUP, token="abc")
        assert tx.transaction is not None
        scope_id = tx.transaction.id
    names = [e.name for e in counter.events]
    assert names == ["BEGIN", "test.lookup", "COMMIT"]
    begin, lookup, commit = counter.events
    assert begin.sql == db.backend.begin_writer
    assert commit.sql == "COMMIT"
    assert lookup.sql == LOOKUP.compiled(db.dialect).sql
    assert {"postgresql": "$1", "mysql": "%s"}.get(db.dialect, "?1") in lookup.sql
    assert list(lookup.args) == ["abc"]
    assert lookup.rows == 1
    assert lookup.error is None
    assert lookup.elapsed_ms >= 0
    for event in counter.events:
        assert event.backend == db.dialect
        assert event.scope == scope_id
        assert event.mode == "writer"


async def test_reader_events_carry_reader_mode_and_no_transaction_control(db: rawdb.Database) -> None:
    counter = rawdb.StatementCounter(keep=True)
    db.add_hook(counter)
    async with db.reader() as tx:
        await tx.fetch(ONE)
    assert [(e.name, e.mode) for e in counter.events] == [("test.one", "reader")]


PLAN_CACHE_MODE = Statement.portable("test.plan_cache_mode", "SELECT current_setting('plan_cache_mode') AS mode")


async def test_a_reader_asking_for_settings_runs_one_statement_on_a_session_that_has_them(
    pg_db: rawdb.Database,
) -> None:
    counter = rawdb.StatementCounter(keep=True)
    pg_db.add_hook(counter)
    async with pg_db.reader(settings={"plan_cache_mode": "force_custom_plan"}) as tx:
        assert await tx.fetchval(PLAN_CACHE_MODE) == "force_custom_plan"
    assert [e.name for e in counter.events] == ["test.plan_cache_mode"]
    async with pg_db.reader() as tx:  # other readers keep the server's setting
        assert await tx.fetchval(PLAN_CACHE_MODE) == "auto"
    read_only = Statement.portable("test.read_only", "SELECT current_setting('default_transaction_read_only') AS ro")
    async with pg_db.reader(settings={"plan_cache_mode": "force_custom_plan"}) as tx:
        assert await tx.fetchval(read_only) == "on"  # still a reader's session
    assert pg_db.stats()["in_use"] == 0


async def test_a_reader_joining_a_writer_applies_settings_for_that_transaction(pg_db: rawdb.Database) -> None:
    async with pg_db.writer() as tx:
        async with tx.reader(settings={"plan_cache_mode": "force_custom_plan"}) as rx:
            assert await rx.fetchval(PLAN_CACHE_MODE) == "force_custom_plan"
    async with pg_db.writer() as tx:
        assert await tx.fetchval(PLAN_CACHE_MODE) == "force_generic_plan"  # SET LOCAL ended with it


async def test_sqlite_ignores_reader_settings(sqlite_db: rawdb.Database) -> None:
    counter = rawdb.StatementCounter(keep=True)
    sqlite_db.add_hook(counter)
    async with sqlite_db.reader(settings={"plan_cache_mode": "force_custom_plan"}) as tx:
        await tx.fetch(ONE)
    assert [e.name for e in counter.events] == ["test.one"]


async def test_counter_reset_forgets_everything(db: rawdb.Database) -> None:
    counter = rawdb.StatementCounter(keep=True)
    db.add_hook(counter)
    async with db.reader() as tx:
        await tx.fetch(ONE)
    counter.reset()
    assert (counter.total, counter.scopes, counter.events) == (0, 0, [])


async def test_remove_hook_stops_counting(db: rawdb.Database) -> None:
    counter = rawdb.StatementCounter()
    db.add_hook(counter)
    async with db.writer() as tx:
        await tx.fetch(ONE)
    assert counter.total == 3
    db.remove_hook(counter)
    async with db.writer() as tx:
        await tx.fetch(ONE)
    assert counter.total == 3


async def test_hooked_counts_only_inside_the_block(db: rawdb.Database) -> None:
    counter = rawdb.StatementCounter()
    with db.hooked(counter):
        async with db.writer() as tx:
            await tx.fetch(ONE)
    async with db.writer() as tx:
        await tx.fetch(ONE)
    assert counter.total == 3
    assert db.observer.hooks == []


async def test_failing_statement_event_carries_the_error(db: rawdb.Database) -> None:
    counter = rawdb.StatementCounter(keep=True)
    db.add_hook(counter)
    with pytest.raises(errors.DBNonExistentTable) as info:
        async with db.writer() as tx:
            await tx.fetch(SELECT_MISSING)
    assert [e.name for e in counter.events] == ["BEGIN", "test.select_missing", "ROLLBACK"]
    failed = counter.events[1]
    assert failed.error is info.value
    assert isinstance(failed.error, errors.DBNonExistentTable)
    assert failed.rows == 0
    assert counter.events[0].error is None
    assert counter.events[2].error is None


async def test_savepoint_round_trips_count_in_the_enclosing_scope(db: rawdb.Database) -> None:
    counter = rawdb.StatementCounter(keep=True)
    db.add_hook(counter)
    async with db.writer() as tx:
        async with tx.savepoint() as sp:
            await sp.fetch(ONE)
    assert [e.name for e in counter.events] == [
        "BEGIN",
        "SAVEPOINT",
        "test.one",
        "RELEASE SAVEPOINT",
        "COMMIT",
    ]
    assert counter.scopes == 1


# --- counters in db.stats() ------------------------------------------------------------------

COUNTERS = {"statements", "errors", "retries", "pool_waits", "pool_wait_seconds"}
CREATE_KEYS = "CREATE TABLE keyed (id INTEGER PRIMARY KEY)"
ADD_KEY = Statement.portable("test.keyed.add", "INSERT INTO keyed (id) VALUES (:id)")


async def test_stats_start_with_zero_counters_next_to_the_pool_figures(db: rawdb.Database) -> None:
    stats = db.stats()
    assert {"backend", "size", "max_size", "in_use", "idle", "waiting"} | COUNTERS <= set(stats)
    assert (stats["statements"], stats["errors"], stats["retries"]) == (0, {}, 0)
    assert (stats["pool_waits"], stats["pool_wait_seconds"]) == (0, 0.0)


async def test_stats_count_statements_as_hooks_see_them(db: rawdb.Database) -> None:
    counter = rawdb.StatementCounter()
    db.add_hook(counter)
    async with db.writer() as tx:
        await tx.fetch(ONE)
        await tx.fetch(TWO)
    async with db.reader() as tx:
        await tx.fetch(ONE)
    assert db.stats()["statements"] == counter.total == 5


async def test_stats_count_errors_by_class(db: rawdb.Database) -> None:
    async with db.writer() as tx:
        await tx.script(CREATE_KEYS)
        await tx.execute(ADD_KEY, id=1)
    for _ in range(2):
        with pytest.raises(errors.DBDuplicateEntry):
            async with db.writer() as tx:
                await tx.execute(ADD_KEY, id=1)
    with pytest.raises(errors.DBNonExistentTable):
        async with db.reader() as tx:
            await tx.fetch(SELECT_MISSING)
    stats = db.stats()
    assert stats["errors"] == {"DBDuplicateEntry": 2, "DBNonExistentTable": 1}
    stats["errors"]["DBDuplicateEntry"] = 99  # a copy: the caller cannot change the counters
    assert db.stats()["errors"]["DBDuplicateEntry"] == 2


async def test_stats_count_whole_scope_retries(db: rawdb.Database) -> None:
    calls = 0

    @rawdb.retry_on_deadlock(max_retries=3, interval=0.001)
    @rawdb.writer
    async def twice_deadlocked(context: rawdb.Context) -> int:
        nonlocal calls
        calls += 1
        await context.fetch(ONE)
        if calls < 3:
            raise errors.DBDeadlock()
        return calls

    assert await twice_deadlocked(rawdb.Context(db)) == 3
    assert db.stats()["retries"] == 2

    @rawdb.writer(retry=True, interval=0.001)
    async def fine(context: rawdb.Context) -> None:
        await context.fetch(ONE)

    await fine(rawdb.Context(db))
    assert db.stats()["retries"] == 2  # a scope that succeeds first time is no retry


async def test_stats_count_pool_waits_and_their_time(backend: str, url: str, open_db: OpenDb) -> None:
    # one writer connection: SQLite always, the servers with pool_size=1
    db = await open_db(url, **({} if backend == "sqlite" else {"pool_size": 1, "min_size": 1}))
    holding = asyncio.Event()

    async def hold() -> None:
        async with db.writer() as tx:
            await tx.fetch(ONE)
            holding.set()
            await asyncio.sleep(0.2)

    async def wait_then_write() -> None:
        await holding.wait()
        async with db.writer() as tx:
            await tx.fetch(TWO)

    async with db.writer() as tx:  # the connection is open before the race
        await tx.fetch(ONE)
    assert db.stats()["pool_waits"] == 0
    await asyncio.gather(hold(), wait_then_write())
    stats = db.stats()
    assert stats["pool_waits"] == 1
    assert 0.1 <= stats["pool_wait_seconds"] < 5
    assert stats["in_use"] == 0
