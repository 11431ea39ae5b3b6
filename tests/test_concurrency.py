"""Real concurrent connections: deadlocks and their retry, SQLite's single writer, pool limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

import rawdb
from rawdb import errors
from rawdb.transaction import TxState

OpenDb = Callable[..., Awaitable[rawdb.Database]]

CREATE = "CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"
ADD = rawdb.Statement.portable("test.counters.add", "INSERT INTO counters (id, n) VALUES (:id, 0)")
BUMP = rawdb.Statement.portable("test.counters.bump", "UPDATE counters SET n = n + 1 WHERE id = :id")
GET = rawdb.Statement.portable("test.counters.get", "SELECT n FROM counters WHERE id = :id")
SET = rawdb.Statement.portable("test.counters.set", "UPDATE counters SET n = :n + 1 WHERE id = :id")
ALL = rawdb.Statement.portable("test.counters.all", "SELECT id, n FROM counters ORDER BY id")

# PostgreSQL checks for deadlocks after deadlock_timeout (1 s by default): shorten it.
# InnoDB detects a deadlock as the second lock wait begins: nothing to set.
FAST_DEADLOCKS = {"server_settings": {"deadlock_timeout": "100ms"}}
# The backends with row locks, where two writers can deadlock (SQLite has one writer at a time).
SERVERS = pytest.mark.parametrize("backend", ["postgresql", "mysql"], indirect=True)


def fast_deadlocks(backend: str) -> dict[str, object]:
    return FAST_DEADLOCKS if backend == "postgresql" else {}


async def make_counters(db: rawdb.Database, *ids: int) -> rawdb.Context:
    async with db.writer() as tx:
        await tx.script(CREATE)
        for counter_id in ids:
            await tx.execute(ADD, id=counter_id)
    return rawdb.Context(db, project_id="p1", user_id="u1")


async def counts(db: rawdb.Database) -> dict[int, int]:
    async with db.reader() as rx:
        return {row["id"]: row["n"] for row in await rx.fetch(ALL)}


# --- deadlocks (PostgreSQL, MariaDB/MySQL) ----------------------------------------------


@SERVERS
async def test_opposite_lock_order_deadlocks_one_transaction(backend: str, url: str, open_db: OpenDb) -> None:
    db = await open_db(url, **fast_deadlocks(backend))
    ctx = await make_counters(db, 1, 2)
    locked = {1: asyncio.Event(), 2: asyncio.Event()}

    async def bump_both(first: int, second: int) -> None:
        async with ctx.writer() as tx:
            await tx.execute(BUMP, id=first)
            locked[first].set()
            await asyncio.wait_for(locked[second].wait(), 2)
            await tx.execute(BUMP, id=second)

    results = await asyncio.gather(bump_both(1, 2), bump_both(2, 1), return_exceptions=True)
    deadlocks = [r for r in results if isinstance(r, errors.DBDeadlock)]
    assert len(deadlocks) == 1, results
    assert results.count(None) == 1, results
    assert (deadlocks[0].sqlstate or deadlocks[0].errorname) in ("40P01", "1213")
    # only the survivor's two increments were committed
    assert await counts(db) == {1: 1, 2: 1}
    assert db.stats()["in_use"] == 0


@SERVERS
async def test_deadlock_retried_whole_scope_commits_both(backend: str, url: str, open_db: OpenDb) -> None:
    db = await open_db(url, **fast_deadlocks(backend))
    ctx = await make_counters(db, 1, 2)
    locked = {1: asyncio.Event(), 2: asyncio.Event()}
    attempts = {1: 0, 2: 0}

    @rawdb.retry_on_deadlock(max_retries=5, interval=0.01)
    @rawdb.writer
    async def bump_both(context: rawdb.Context, first: int, second: int) -> None:
        attempts[first] += 1
        await context.execute(BUMP, id=first)
        locked[first].set()
        await asyncio.wait_for(locked[second].wait(), 2)
        await context.execute(BUMP, id=second)

    await asyncio.gather(bump_both(ctx, 1, 2), bump_both(ctx, 2, 1))
    assert await counts(db) == {1: 2, 2: 2}
    assert sorted(attempts.values()) == [1, 2]  # the deadlock victim ran its whole scope again
    assert db.stats()["in_use"] == 0


@SERVERS
async def test_deadlock_retried_by_writer_retry_true_commits_both(backend: str, url: str, open_db: OpenDb) -> None:
    db = await open_db(url, **fast_deadlocks(backend))
    ctx = await make_counters(db, 1, 2)
    locked = {1: asyncio.Event(), 2: asyncio.Event()}
    attempts = {1: 0, 2: 0}

    @rawdb.writer(retry=True)
    async def bump_both(context: rawdb.Context, first: int, second: int) -> int:
        attempts[first] += 1
        await context.execute(BUMP, id=first)
        locked[first].set()
        await asyncio.wait_for(locked[second].wait(), 2)
        await context.execute(BUMP, id=second)
        return int(await context.fetchval(GET, id=first))

    results = await asyncio.gather(bump_both(ctx, 1, 2), bump_both(ctx, 2, 1))
    # both finished; the one that ran second saw the first's increment too
    assert sorted(results) == [1, 2]
    assert await counts(db) == {1: 2, 2: 2}
    assert sorted(attempts.values()) == [1, 2]
    assert db.stats()["in_use"] == 0


@SERVERS
async def test_a_deadlock_caught_inside_a_savepoint_is_retried_where_the_server_ended_the_transaction(
    backend: str, url: str, open_db: OpenDb
) -> None:
    """PostgreSQL rolls back to the savepoint and the scope goes on; MariaDB ends the whole
    transaction on a deadlock (no savepoint left: ROLLBACK TO would fail with 1305), so leaving
    the savepoint raises the deadlock and ``@writer(retry=True)`` runs the scope again."""
    db = await open_db(url, **fast_deadlocks(backend))
    ctx = await make_counters(db, 1, 2, 3)
    locked = {1: asyncio.Event(), 2: asyncio.Event()}
    attempts = {1: 0, 2: 0}
    caught = {1: 0, 2: 0}

    @rawdb.writer(retry=True)
    async def bump_both_then_three(context: rawdb.Context, first: int, second: int) -> None:
        attempts[first] += 1
        async with context.savepoint() as sp:
            try:
                await sp.execute(BUMP, id=first)
                locked[first].set()
                await asyncio.wait_for(locked[second].wait(), 2)
                await sp.execute(BUMP, id=second)
            except errors.DBDeadlock:
                caught[first] += 1
        await context.execute(BUMP, id=3)  # after the savepoint, in the same transaction

    await asyncio.gather(bump_both_then_three(ctx, 1, 2), bump_both_then_three(ctx, 2, 1))
    assert sum(caught.values()) == 1  # one of the two was the deadlock's victim
    if backend == "mysql":  # the victim ran again, whole: both pairs of bumps and both thirds
        assert sorted(attempts.values()) == [1, 2]
        assert await counts(db) == {1: 2, 2: 2, 3: 2}
    else:  # the victim's savepoint was undone, its scope went on and committed its third
        assert attempts == {1: 1, 2: 1}
        assert await counts(db) == {1: 1, 2: 1, 3: 2}
    assert db.stats()["in_use"] == 0


# --- retry_on_deadlock (both backends) ------------------------------------------------


async def test_retry_on_deadlock_inside_a_bound_writer_does_not_retry(db: rawdb.Database) -> None:
    ctx = await make_counters(db, 1)
    calls = 0

    @rawdb.retry_on_deadlock(max_retries=3, interval=0.001)
    @rawdb.writer
    async def fragment(context: rawdb.Context) -> None:
        nonlocal calls
        calls += 1
        await context.execute(BUMP, id=1)
        raise errors.DBDeadlock()

    with pytest.raises(errors.DBDeadlock):
        async with ctx.writer() as tx:
            await tx.execute(BUMP, id=1)
            await fragment(tx)
    assert calls == 1
    # the error reached the scope's owner, which rolled the whole transaction back
    assert await counts(db) == {1: 0}


async def test_retry_on_deadlock_retries_as_often_as_the_databases_deadlock_retries_says(
    url: str, open_db: OpenDb
) -> None:
    calls = 0

    @rawdb.writer(retry=True, interval=0.001)
    async def always_deadlocks(context: rawdb.Context) -> None:
        nonlocal calls
        calls += 1
        raise errors.DBDeadlock()

    for retries, expected in ((None, 6), (2, 3), (0, 1)):
        options = {} if retries is None else {"deadlock_retries": retries}
        database = await open_db(url, **options)
        calls = 0
        with pytest.raises(errors.DBDeadlock):
            await always_deadlocks(rawdb.Context(database))
        assert calls == expected
        assert database.stats()["retries"] == expected - 1
    for bad in (-1, 1.5, "many", True):
        with pytest.raises(errors.Invalid, match="deadlock_retries"):
            await open_db(url, deadlock_retries=bad)


async def test_retry_on_deadlock_unbound_retries_then_raises(db: rawdb.Database) -> None:
    ctx = await make_counters(db, 1)
    calls = 0

    @rawdb.retry_on_deadlock(max_retries=3, interval=0.001)
    @rawdb.writer
    async def always_deadlocks(context: rawdb.Context) -> None:
        nonlocal calls
        calls += 1
        assert context.transaction is not None
        await context.execute(BUMP, id=1)
        raise errors.DBDeadlock()

    with pytest.raises(errors.DBDeadlock) as raised:
        await always_deadlocks(ctx)
    assert calls == 3 + 1
    assert any("after 4 attempts" in note for note in getattr(raised.value, "__notes__", []))
    assert await counts(db) == {1: 0}  # every attempt was rolled back


async def test_retry_on_deadlock_commits_once_after_a_transient_deadlock(db: rawdb.Database) -> None:
    ctx = await make_counters(db, 1)
    calls = 0

    @rawdb.retry_on_deadlock(max_retries=3, interval=0.001)
    @rawdb.writer
    async def flaky(context: rawdb.Context) -> int:
        nonlocal calls
        calls += 1
        await context.execute(BUMP, id=1)
        if calls == 1:
            raise errors.DBDeadlock()
        return calls

    assert await flaky(ctx) == 2
    assert await counts(db) == {1: 1}  # the first attempt's increment was rolled back


async def test_retry_on_deadlock_does_not_retry_other_errors(db: rawdb.Database) -> None:
    ctx = await make_counters(db, 1)
    calls = 0

    @rawdb.retry_on_deadlock(max_retries=3, interval=0.001)
    @rawdb.writer
    async def duplicate(context: rawdb.Context) -> None:
        nonlocal calls
        calls += 1
        await context.execute(ADD, id=1)

    with pytest.raises(errors.DBDuplicateEntry):
        await duplicate(ctx)
    assert calls == 1


# --- SQLite: one writer at a time ---------------------------------------------------


async def test_sqlite_concurrent_read_then_write_increments_lose_nothing(sqlite_url: str, open_db: OpenDb) -> None:
    databases = [await open_db(sqlite_url) for _ in range(4)]
    await make_counters(databases[0], 1)

    async def increment_ten_times(db: rawdb.Database) -> None:
        ctx = rawdb.Context(db, project_id="p1")
        for _ in range(10):
            async with ctx.writer() as tx:
                n = await tx.fetchval(GET, id=1)
                await asyncio.sleep(0)  # let the other tasks run between the read and the write
                assert await tx.execute(SET, n=n, id=1) == 1

    tasks = [increment_ten_times(db) for db in databases for _ in range(4)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [r for r in results if r is not None] == []
    assert await counts(databases[1]) == {1: 160}
    assert all(db.stats()["in_use"] == 0 for db in databases)


# --- pools --------------------------------------------------------------------------


@SERVERS
async def test_second_writer_times_out_when_the_pool_is_exhausted(backend: str, url: str, open_db: OpenDb) -> None:
    db = await open_db(url, pool_size=1, acquire_timeout=0.2)
    ctx = await make_counters(db, 1)
    async with ctx.writer() as tx:
        await tx.execute(BUMP, id=1)
        started = time.perf_counter()
        with pytest.raises(errors.PoolTimeout):
            async with ctx.writer():
                pass
        assert 0.15 < time.perf_counter() - started < 1.5
        await tx.execute(BUMP, id=1)  # the held writer is unaffected
    assert await counts(db) == {1: 2}
    assert db.stats()["in_use"] == 0


@SERVERS
async def test_waiting_writer_gets_the_connection_when_it_is_freed(backend: str, url: str, open_db: OpenDb) -> None:
    db = await open_db(url, pool_size=1, acquire_timeout=2)
    ctx = await make_counters(db, 1)
    held = asyncio.Event()

    async def holder() -> None:
        async with ctx.writer() as tx:
            await tx.execute(BUMP, id=1)
            held.set()
            await asyncio.sleep(0.1)

    async def waiter() -> None:
        await held.wait()
        async with ctx.writer() as tx:
            await tx.execute(BUMP, id=1)

    await asyncio.gather(holder(), waiter())
    assert await counts(db) == {1: 2}


async def test_sqlite_second_writer_on_a_busy_database_raises_deadlock(sqlite_url: str, open_db: OpenDb) -> None:
    db = await open_db(sqlite_url, busy_timeout=0.2)
    ctx = await make_counters(db, 1)
    async with ctx.writer() as tx:
        await tx.execute(BUMP, id=1)
        started = time.perf_counter()
        with pytest.raises(errors.DBDeadlock):
            async with ctx.writer():
                pass
        assert 0.15 < time.perf_counter() - started < 1.5
        await tx.execute(BUMP, id=1)
    assert await counts(db) == {1: 2}
    assert db.stats()["in_use"] == 0


async def test_sqlite_writer_in_another_database_object_waits_on_busy_timeout(sqlite_url: str, open_db: OpenDb) -> None:
    first = await open_db(sqlite_url, busy_timeout=0.2)
    second = await open_db(sqlite_url, busy_timeout=0.2)
    await make_counters(first, 1)
    async with first.writer() as tx:
        await tx.execute(BUMP, id=1)
        with pytest.raises(errors.DBDeadlock):
            # BEGIN IMMEDIATE travels with a writer's first statement: that is where it waits
            async with second.writer() as blocked:
                await blocked.execute(BUMP, id=1)
    assert second.stats()["in_use"] == 0
    async with second.writer() as tx:
        await tx.execute(BUMP, id=1)
    assert await counts(second) == {1: 2}


async def test_sqlite_writer_that_runs_nothing_takes_no_lock_and_ends_committed(
    sqlite_url: str, open_db: OpenDb
) -> None:
    first = await open_db(sqlite_url, busy_timeout=0.2)
    second = await open_db(sqlite_url, busy_timeout=0.2)
    await make_counters(first, 1)
    async with first.writer() as idle:
        async with second.writer() as tx:
            await tx.execute(BUMP, id=1)  # would wait out busy_timeout if `idle` held the lock
    assert idle.transaction is not None and idle.transaction.state is TxState.COMMITTED
    assert await counts(first) == {1: 1}


async def test_sqlite_writer_whose_begin_fails_releases_its_connection(sqlite_url: str, open_db: OpenDb) -> None:
    first = await open_db(sqlite_url, busy_timeout=0.1)
    second = await open_db(sqlite_url, busy_timeout=0.1)
    await make_counters(first, 1)
    async with first.writer() as holder:
        await holder.execute(BUMP, id=1)
        with pytest.raises(errors.DBDeadlock):
            async with second.writer() as blocked:
                await blocked.execute(BUMP, id=1)
        assert blocked.transaction is not None and blocked.transaction.state is TxState.ROLLEDBACK
    async with second.writer() as tx:  # the same connection, with no transaction left open on it
        await tx.execute(BUMP, id=1)
    assert await counts(second) == {1: 2}


async def test_sqlite_second_reader_times_out_when_the_reader_pool_is_exhausted(
    sqlite_url: str, open_db: OpenDb
) -> None:
    db = await open_db(sqlite_url, readers=1, acquire_timeout=0.2)
    ctx = await make_counters(db, 1)
    async with ctx.reader() as rx:
        assert await rx.fetchval(GET, id=1) == 0
        with pytest.raises(errors.PoolTimeout):
            async with ctx.reader():
                pass
        # readers and the writer are separate pools: a writer still gets in
        async with ctx.writer() as tx:
            await tx.execute(BUMP, id=1)
        # readers run each statement on its own (as PostgreSQL's READ COMMITTED does):
        # the next statement sees the committed write
        assert await rx.fetchval(GET, id=1) == 1
    assert await counts(db) == {1: 1}
    assert db.stats()["in_use"] == 0
