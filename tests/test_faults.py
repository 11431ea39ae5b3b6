"""Faults through real connections: cancelled and timed-out waiters, killed and dead connections,
anyio cancel scopes, leaked scopes, and connect() failures.

Every test runs on the three backends, except those about server sessions (killed,
timed out by the server), which run on PostgreSQL and MariaDB/MySQL: SQLite has none.
The server side is checked through ``faulttools.ServerSessions`` (pg_stat_activity, or
information_schema.PROCESSLIST and INNODB_TRX).
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import anyio
import asyncmy.errors
import asyncpg
import pytest
from faulttools import (
    INSERT,
    NAMES,
    ONE,
    OpenDb,
    ServerSessions,
    admin_url,
    assert_healthy,
    committed_ids,
    make_items,
    session_id,
    slow,
)

import rawdb
from rawdb import errors


def app_name() -> str:
    return f"rawdb-faults-{uuid.uuid4().hex[:8]}"


# The backends with server sessions that can be killed, timed out or listed.
SERVERS = pytest.mark.parametrize("backend", ["postgresql", "mysql"], indirect=True)


def one_writer(backend: str, **server: Any) -> dict[str, Any]:
    """Options for a database with a single writer connection (SQLite has one anyway)."""
    return {"pool_size": 1, **server} if backend != "sqlite" else {}


def sessions_of(backend: str, url: str) -> ServerSessions | None:
    """The server sessions of a test's Database, or None on SQLite (it has none)."""
    return None if backend == "sqlite" else ServerSessions(backend, url)


def server_options(sessions: ServerSessions | None) -> dict[str, Any]:
    return sessions.options if sessions is not None else {}


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


# --- the pool under cancellation and timeouts ---------------------------------------------------


async def test_a_writer_cancelled_as_the_connection_is_handed_to_it_loses_nothing(
    backend: str, url: str, open_db: OpenDb
) -> None:
    db = await open_db(url, **one_writer(backend))
    ctx = await make_items(db)
    holding, let_go = asyncio.Event(), asyncio.Event()
    waiter: asyncio.Task[None] | None = None

    async def holder() -> None:
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=1, name="held")
            holding.set()
            await let_go.wait()
        # The scope's exit handed the connection to the waiter, which has not run yet:
        # its request times out right now.
        assert waiter is not None
        waiter.cancel()

    async def wait_for_writer() -> None:
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=2, name="never")

    held = asyncio.create_task(holder())
    await holding.wait()
    waiter = asyncio.create_task(wait_for_writer())
    await settle()
    assert db.stats()["writers_waiting"] == 1
    let_go.set()
    await held
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert db.stats()["in_use"] == 0
    async with asyncio.timeout(2):  # the single writer connection is free at once
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=3, name="next")
    assert await committed_ids(db) == [1, 3]


async def test_waiters_whose_deadline_meets_the_hand_over_lose_no_connection(
    backend: str, url: str, open_db: OpenDb
) -> None:
    timeout = 0.02
    options = one_writer(backend, acquire_timeout=timeout) if backend != "sqlite" else {"busy_timeout": timeout}
    db = await open_db(url, **options)
    ctx = await make_items(db)
    outcomes = {"served": 0, "timed out": 0}
    for trial in range(60):
        holding = asyncio.Event()
        # The holder lets go a little before, at, or after the waiter's deadline.
        hold_for = timeout + (trial % 7 - 3) * 0.0003

        async def holder(hold_for: float = hold_for, holding: asyncio.Event = holding) -> None:
            async with ctx.writer() as tx:
                await tx.fetch(ONE)
                holding.set()
                await asyncio.sleep(hold_for)

        held = asyncio.create_task(holder())
        await holding.wait()
        try:
            async with ctx.writer() as tx:
                await tx.fetch(ONE)
            outcomes["served"] += 1
        except (errors.PoolTimeout, errors.DBDeadlock):
            outcomes["timed out"] += 1
        await held
        assert db.stats()["in_use"] == 0, (trial, db.stats())
    assert outcomes["served"] + outcomes["timed out"] == 60
    async with asyncio.timeout(1):
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=1, name="after")
    assert await committed_ids(db) == [1]


@SERVERS
async def test_pool_never_exceeds_its_size_when_a_broken_connection_is_released(
    backend: str, url: str, open_db: OpenDb
) -> None:
    sessions = ServerSessions(backend, url)
    db = await open_db(url, pool_size=1, **sessions.options)
    ctx = await make_items(db)
    sizes: list[int] = []
    sampling = True

    async def sample() -> None:
        while sampling:
            sizes.append(db.stats()["size"] - db.backend._readers.opened)  # type: ignore[attr-defined]
            await asyncio.sleep(0)

    sampler = asyncio.create_task(sample())
    holding = asyncio.Event()

    async def queued_writer() -> None:
        await holding.wait()
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=2, name="queued")

    queued = asyncio.create_task(queued_writer())
    try:
        async with ctx.writer() as tx:
            pid = await session_id(tx)
            holding.set()
            await settle()  # the other writer now waits for this connection
            assert await sessions.kill(pid) == 1
            await asyncio.sleep(0.05)
            await tx.execute(INSERT, id=1, name="doomed")
    except errors.DBConnectionError:
        # Straight back in, without yielding: this caller and the queued one race for the slot.
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=3, name="again")
    await queued
    sampling = False
    await sampler
    assert max(sizes) <= 1
    assert len([s for s in await sessions.list() if s["state"] is not None]) <= 2  # writer + reader
    assert await committed_ids(db) == [2, 3]
    assert db.stats()["in_use"] == 0


async def test_max_waiting_turns_away_callers_beyond_the_queue_at_once(backend: str, url: str, open_db: OpenDb) -> None:
    db = await open_db(url, max_waiting=1, **one_writer(backend))
    ctx = await make_items(db)
    holding, let_go = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with ctx.writer() as tx:
            await tx.fetch(ONE)
            holding.set()
            await let_go.wait()

    async def writer(item: int) -> None:
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=item, name="queued")

    held = asyncio.create_task(holder())
    await holding.wait()
    queued = asyncio.create_task(writer(1))
    await settle()
    started = time.monotonic()
    with pytest.raises(errors.PoolTimeout, match="connection"):
        await writer(2)
    assert time.monotonic() - started < 0.5
    let_go.set()
    await held
    await queued
    assert await committed_ids(db) == [1]


# --- cancellation at any point ------------------------------------------------------------------


@pytest.mark.parametrize("how", ["anyio_move_on", "anyio_cancel_scope", "asyncio_timeout", "task_cancel"])
async def test_a_writer_cancelled_mid_statement_frees_the_write_lock_within_milliseconds(
    backend: str, url: str, open_db: OpenDb, how: str
) -> None:
    sessions = sessions_of(backend, url)
    db = await open_db(url, **(one_writer(backend, **server_options(sessions)) if sessions else {"busy_timeout": 5}))
    ctx = await make_items(db)
    inside = asyncio.Event()

    async def doomed_body() -> None:
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=1, name="cancelled")
            inside.set()
            await slow(tx, seconds=3)
            await tx.execute(INSERT, id=2, name="never")

    async def doomed() -> None:
        if how == "anyio_move_on":
            with anyio.move_on_after(0.2):
                await doomed_body()
        elif how == "anyio_cancel_scope":
            with anyio.CancelScope() as scope:
                asyncio.get_running_loop().call_later(0.2, scope.cancel)
                await doomed_body()
        elif how == "asyncio_timeout":
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await doomed_body()
        else:
            task = asyncio.current_task()
            assert task is not None
            asyncio.get_running_loop().call_later(0.2, task.cancel)
            with pytest.raises(asyncio.CancelledError):
                await doomed_body()

    async def next_writer() -> float:
        await inside.wait()
        async with ctx.writer() as tx:
            # The very row the cancelled writer inserted: its row lock (MySQL, PostgreSQL) or
            # the write lock (SQLite) must be gone, not only its pooled connection.
            await tx.execute(INSERT, id=1, name="next")
        return time.monotonic()

    started = time.monotonic()
    first = asyncio.create_task(doomed())
    second = asyncio.create_task(next_writer())
    await first
    cancelled_at = time.monotonic()
    finished_at = await asyncio.wait_for(second, 5)
    # The slow statement (3 s) was stopped: the next writer got in right after the cancel.
    assert finished_at - started < 1.5
    assert finished_at - cancelled_at < 0.5
    async with ctx.reader() as rx:
        assert await rx.fetch(NAMES) == [{"id": 1, "name": "next"}]
    assert db.stats()["in_use"] == 0
    if sessions is not None:
        # the slow statement was stopped on the server (no session still runs it), and no
        # session was left in a transaction
        assert await sessions.settled(within=1)
    await assert_healthy(db, ctx, first_id=10)


@pytest.mark.parametrize("point", ["before_begin", "begin", "first_statement", "between", "savepoint", "sleep"])
async def test_a_scope_cancelled_by_a_re_cancelling_anyio_scope_at_any_point_rolls_back_cleanly(
    backend: str, url: str, open_db: OpenDb, point: str
) -> None:
    sessions = sessions_of(backend, url)
    db = await open_db(url, **(server_options(sessions) if sessions else {"busy_timeout": 5}))
    ctx = await make_items(db)
    for attempt in range(5):  # a few delays around the chosen point
        with anyio.CancelScope() as scope:
            delay = attempt * 0.0007

            async def body(scope: anyio.CancelScope = scope, delay: float = delay, attempt: int = attempt) -> None:
                if point == "before_begin":
                    scope.cancel()
                async with ctx.writer() as tx:
                    if point == "begin":
                        asyncio.get_running_loop().call_later(delay, scope.cancel)
                    await tx.execute(INSERT, id=100 + attempt, name="doomed")
                    if point == "first_statement":
                        asyncio.get_running_loop().call_later(delay, scope.cancel)
                    await tx.execute(INSERT, id=200 + attempt, name="doomed")
                    if point == "between":
                        scope.cancel()
                    async with tx.savepoint() as sp:
                        if point == "savepoint":
                            asyncio.get_running_loop().call_later(delay, scope.cancel)
                        await slow(sp, seconds=0.05)
                    if point == "sleep":
                        scope.cancel()
                        await asyncio.sleep(1)
                    scope.cancel()
                    await asyncio.sleep(1)

            await body()
        assert scope.cancelled_caught
        assert db.stats()["in_use"] == 0
        assert await committed_ids(db) == []
    if sessions is not None:
        assert await sessions.settled(within=1)
    async with asyncio.timeout(1):
        await assert_healthy(db, ctx, first_id=1)


async def test_a_reader_cancelled_mid_statement_leaves_its_connection_usable(
    backend: str, url: str, open_db: OpenDb
) -> None:
    db = await open_db(url, **({"pool_size": 1} if backend != "sqlite" else {"readers": 1}))
    ctx = await make_items(db)
    with anyio.move_on_after(0.1):
        async with ctx.reader() as rx:
            await slow(rx, seconds=3)
    started = time.monotonic()
    async with ctx.reader() as rx:  # the one reader connection, right after its statement was stopped
        assert await rx.fetchval(ONE) == 1
    assert time.monotonic() - started < 1
    assert db.stats()["in_use"] == 0


# --- dead connections -----------------------------------------------------------------------------


async def _use_every_kind_of_scope(db: rawdb.Database, ctx: rawdb.Context, first_id: int) -> None:
    async with ctx.writer() as tx:
        await tx.execute(INSERT, id=first_id, name="writer")
    async with ctx.writer(autocommit=True) as tx:
        await tx.execute(INSERT, id=first_id + 1, name="autocommit")
    async with ctx.reader() as rx:
        assert await rx.fetchval(ONE) == 1
    async with ctx.reader(settings={"plan_cache_mode": "force_custom_plan"}) as rx:
        assert await rx.fetchval(ONE) == 1


def _blocking_kill(sessions: ServerSessions) -> None:
    """Terminate the sessions from another thread while this event loop is blocked.

    The loop then reads neither the servers' goodbye nor the closed sockets before the next
    call: exactly what a connection that died idle in the pool looks like to the driver.
    """
    killed: list[int] = []
    thread = threading.Thread(target=lambda: killed.append(asyncio.run(sessions.kill())))
    thread.start()
    thread.join()
    time.sleep(0.2)
    assert killed and killed[0] > 0


@SERVERS
@pytest.mark.parametrize("loop_runs_first", [True, False])
async def test_connections_killed_while_idle_are_replaced_without_errors(
    backend: str, url: str, open_db: OpenDb, loop_runs_first: bool
) -> None:
    sessions = ServerSessions(backend, url)
    db = await open_db(url, pool_size=3, min_size=3, **sessions.options)
    ctx = await make_items(db)
    await asyncio.gather(*(_use_every_kind_of_scope(db, ctx, 10 * i) for i in range(1, 4)))
    before = {s["id"] for s in await sessions.list()}
    assert len(before) >= 4
    if loop_runs_first:
        assert await sessions.kill() == len(before)
        await asyncio.sleep(0.2)
    else:
        _blocking_kill(sessions)
    # Every kind of scope, several at once, finds its dead connection replaced.
    await asyncio.gather(*(_use_every_kind_of_scope(db, ctx, 100 + 10 * i) for i in range(3)))
    after = {s["id"] for s in await sessions.list()}
    assert after and not after & before
    assert db.stats()["in_use"] == 0
    assert db.stats()["size"] <= db.stats()["max_size"]


@SERVERS
async def test_sessions_ended_by_the_servers_idle_timeout_are_replaced(backend: str, url: str, open_db: OpenDb) -> None:
    # The setting's name and unit are the server's: PostgreSQL's idle_session_timeout takes
    # milliseconds, MySQL's wait_timeout whole seconds.
    if backend == "postgresql":
        db = await open_db(url, server_settings={"idle_session_timeout": "150ms"})
        idle = 0.4
    else:
        db = await open_db(url, server_settings={"wait_timeout": "1"})
        idle = 1.6
    ctx = await make_items(db)
    for round_ in range(3):
        await _use_every_kind_of_scope(db, ctx, 10 * round_)
        await asyncio.sleep(idle)  # every pooled session has been ended by the server
    assert await committed_ids(db) == [0, 1, 10, 11, 20, 21]


@SERVERS
async def test_connection_killed_mid_transaction_is_a_connection_error_and_nothing_commits(
    backend: str, url: str, open_db: OpenDb
) -> None:
    sessions = ServerSessions(backend, url)
    db = await open_db(url, **sessions.options)
    ctx = await make_items(db)
    with pytest.raises(errors.DBConnectionError) as caught:
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=1, name="doomed")
            _blocking_kill(sessions)  # the driver finds out only at the next statement
            await tx.execute(INSERT, id=2, name="never")
    assert not isinstance(caught.value, asyncpg.PostgresError | asyncpg.InterfaceError | asyncmy.errors.Error)
    assert type(caught.value).__module__.startswith("rawdb")
    assert await committed_ids(db) == []
    await assert_healthy(db, ctx, first_id=10)


@SERVERS
async def test_retry_on_disconnect_reruns_a_scope_whose_connection_died_mid_transaction(
    backend: str, url: str, open_db: OpenDb
) -> None:
    sessions = ServerSessions(backend, url)
    db = await open_db(url, **sessions.options)
    ctx = await make_items(db)
    attempts = 0

    @rawdb.retry_on_deadlock(retry_on_disconnect=True, interval=0.01)
    @rawdb.writer
    async def insert_two(context: rawdb.Context) -> None:
        nonlocal attempts
        attempts += 1
        await context.execute(INSERT, id=1, name="one")
        if attempts == 1:
            _blocking_kill(sessions)
        await context.execute(INSERT, id=2, name="two")

    await insert_two(ctx)
    assert attempts == 2
    assert await committed_ids(db) == [1, 2]


@SERVERS
async def test_retry_on_disconnect_sees_only_rawdb_errors_when_every_idle_connection_died(
    backend: str, url: str, open_db: OpenDb
) -> None:
    sessions = ServerSessions(backend, url)
    db = await open_db(url, pool_size=3, min_size=3, **sessions.options)
    ctx = await make_items(db)
    await asyncio.gather(*(_use_every_kind_of_scope(db, ctx, 10 * i) for i in range(1, 4)))
    _blocking_kill(sessions)  # every pooled session: the driver has read nothing of it yet
    attempts = 0

    @rawdb.retry_on_deadlock(retry_on_disconnect=True, interval=0.01)
    @rawdb.writer
    async def insert(context: rawdb.Context) -> None:
        nonlocal attempts
        attempts += 1
        await context.execute(INSERT, id=1, name="one")

    await insert(ctx)
    assert attempts == 1  # the dead connections were replaced before the scope began
    assert 1 in await committed_ids(db)


# --- leaks ------------------------------------------------------------------------------------------


async def test_a_scope_garbage_collected_without_being_exited_warns_and_frees_its_connection(
    backend: str, url: str, open_db: OpenDb
) -> None:
    db = await open_db(url)
    ctx = await make_items(db)
    scope = ctx.writer()
    tx = await scope.__aenter__()
    await tx.execute(INSERT, id=1, name="leaked")
    with pytest.warns(ResourceWarning, match=r"<Transaction \d+ writer STARTED .*garbage-collected without its scope"):
        del scope
        gc.collect()
    await settle()
    assert db.stats()["in_use"] == 0
    async with asyncio.timeout(2):
        await assert_healthy(db, ctx, first_id=10)
    assert await committed_ids(db) == [10, 11, 12]


async def test_a_generator_closed_inside_a_scope_warns_and_frees_its_connection(
    backend: str, url: str, open_db: OpenDb
) -> None:
    db = await open_db(url)
    ctx = await make_items(db)

    async def rows() -> AsyncIterator[int]:
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=1, name="abandoned")
            yield 1
            await tx.execute(INSERT, id=2, name="never")

    stream = rows()
    assert await anext(stream) == 1
    with pytest.warns(ResourceWarning, match="its coroutine was closed"):
        await stream.aclose()  # the consumer stopped reading: GeneratorExit inside the scope
    await settle()
    assert db.stats()["in_use"] == 0
    async with asyncio.timeout(2):
        await assert_healthy(db, ctx, first_id=10)
    assert await committed_ids(db) == [10, 11, 12]


async def _step_until_stuck(coro: Coroutine[Any, Any, Any], stuck_for: float) -> None:
    """Run ``coro`` by hand until it has waited ``stuck_for`` seconds on one thing.

    What asyncio's Task does, minus the cancellation: the futures ``coro`` yields are
    awaited here, so the coroutine can then be closed while it waits (as when a pending
    task is garbage-collected), which throws GeneratorExit, not CancelledError, into it.
    """
    yielded = coro.send(None)
    while True:
        assert isinstance(yielded, asyncio.Future), yielded
        done, _ = await asyncio.wait({yielded}, timeout=stuck_for)
        if not done:
            return
        yielded = coro.send(None)


async def test_a_coroutine_closed_mid_statement_frees_the_write_lock_and_its_connection(
    backend: str, url: str, open_db: OpenDb
) -> None:
    db = await open_db(url, **({"busy_timeout": 5} if backend == "sqlite" else {}))
    ctx = await make_items(db)

    async def doomed() -> None:
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=1, name="abandoned")
            await slow(tx, seconds=3)

    coro = doomed()
    await _step_until_stuck(coro, stuck_for=0.2)  # well inside the slow statement
    with pytest.warns(ResourceWarning, match="its coroutine was closed"):
        coro.close()
    await settle()
    assert db.stats()["in_use"] == 0
    started = time.monotonic()
    async with asyncio.timeout(5), ctx.writer() as tx:
        await tx.execute(INSERT, id=1, name="next")  # the abandoned writer's row lock is gone
    assert time.monotonic() - started < 0.5  # not the 3 s the statement would have run
    async with ctx.reader() as rx:
        assert await rx.fetch(NAMES) == [{"id": 1, "name": "next"}]
    sessions = sessions_of(backend, url)
    if sessions is not None:
        assert await sessions.settled(within=1)


async def test_closing_a_database_with_a_scope_in_use_warns_naming_it(backend: str, url: str) -> None:
    db = await rawdb.connect(url)
    ctx = await make_items(db)
    async with ctx.writer() as tx:
        await tx.execute(INSERT, id=1, name="open")
        with pytest.warns(ResourceWarning, match=r"still in use: .*held by <Transaction \d+ writer STARTED"):
            await db.close()
    # the scope ended on its own connection, which was closed once released
    assert db.stats()["in_use"] == 0 and db.stats()["size"] == 0


# --- connect() ---------------------------------------------------------------------------------------


def _run_python(code: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_failed_sqlite_connect_leaves_nothing_that_keeps_the_process_alive(tmp_path: Path) -> None:
    not_a_database = tmp_path / "notes.sqlite"
    not_a_database.write_bytes(b"this is not a SQLite database, it is a text file" * 100)
    result = _run_python(
        f"""
        import asyncio, rawdb
        from rawdb import errors
        async def main():
            try:
                await rawdb.connect("sqlite:///{not_a_database}")
            except errors.DBError as exc:
                print("refused:", type(exc).__name__, exc)
        asyncio.run(main())
        """
    )
    assert result.returncode == 0, result.stderr
    assert f"refused: DBConnectionError Cannot open the SQLite database {not_a_database}" in result.stdout
    assert "SQLITE_NOTADB" in result.stdout


def test_an_unclosed_database_warns_and_lets_the_process_exit(backend: str, url: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        kept_url, dropped_url = f"sqlite:///{tmp_path / 'kept.sqlite'}", f"sqlite:///{tmp_path / 'dropped.sqlite'}"
    else:
        kept_url = dropped_url = url
    result = _run_python(
        f"""
        import asyncio, gc, rawdb
        kept = []
        async def main():
            db = await rawdb.connect("{kept_url}")
            async with db.reader() as rx:
                await rx.fetch(rawdb.Statement.portable("one", "SELECT 1 AS one"))
            kept.append(db)  # never closed, still referenced at exit
            forgotten = await rawdb.connect("{dropped_url}")
            del forgotten
            gc.collect()
        asyncio.run(main())
        print("done")
        """
    )
    assert result.returncode == 0, result.stderr
    assert "done" in result.stdout
    assert "ResourceWarning" in result.stderr and "without being closed" in result.stderr


@SERVERS
def test_failed_connects_close_everything_they_opened(backend: str, url: str) -> None:
    app = app_name()
    if backend == "postgresql":
        base = admin_url(url)
        attempts = f"""[
            ("{base.replace("postgresql://root@", "postgresql://nobody_at_all@")}", {{}}),
            ("postgresql://root@127.0.0.1:9/test", {{"connect_timeout": 2}}),
            ("{base}", {{"server_settings": {{"application_name": "{app}", "statement_timeout": "soon"}}}}),
            ("{base}", {{"server_settings": {{"application_name": "{app}"}}, "pool_size": "x"}}),
        ]"""
    else:  # the sessions are found by the test's database, which every attempt names
        attempts = f"""[
            ("{url.replace("mysql://root@", "mysql://nobody_at_all@")}", {{}}),
            ("mysql://root@127.0.0.1:9/test", {{"connect_timeout": 2}}),
            ("{url}", {{"min_size": 3, "server_settings": {{"max_statement_time": "soon"}}}}),
            ("{url}", {{"pool_size": "x"}}),
        ]"""
    # The sessions are counted before the process exits: its exit would close any socket.
    result = _run_python(
        f"""
        import asyncio, sys, rawdb
        from rawdb import errors
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from faulttools import ServerSessions
        attempts = {attempts}
        async def main():
            for url, options in attempts:
                try:
                    await rawdb.connect(url, **options)
                except errors.RawdbError as exc:
                    print("refused:", type(exc).__name__)
            await asyncio.sleep(0.2)  # a server notices a closed socket at once, not within 0 s
            print("sessions:", await ServerSessions("{backend}", "{url}", "{app}").list())
        asyncio.run(main())
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("refused:") == 4, result.stdout
    assert "sessions: []" in result.stdout, result.stdout


@pytest.mark.parametrize("unreachable", ["postgresql://root@127.0.0.1:9/test", "mysql://root@127.0.0.1:9/test"])
async def test_connect_fails_at_once_by_default_and_waits_with_connect_retries(
    caplog: pytest.LogCaptureFixture, unreachable: str
) -> None:
    started = time.monotonic()
    with pytest.raises(errors.DBConnectionError):
        await rawdb.connect(unreachable)
    assert time.monotonic() - started < 2
    started = time.monotonic()
    with caplog.at_level("WARNING", logger="rawdb"), pytest.raises(errors.DBConnectionError):
        await rawdb.connect(unreachable, connect_retries=2, connect_retry_interval=0.1)
    assert time.monotonic() - started >= 0.2
    retries = [r for r in caplog.records if "cannot connect to the database" in r.getMessage()]
    assert [r.getMessage().split(")")[0] for r in retries] == [
        "cannot connect to the database (attempt 1 of 3",
        "cannot connect to the database (attempt 2 of 3",
    ]
    with pytest.raises(errors.Invalid):
        await rawdb.connect(unreachable, connect_retries=-1)


async def test_names_survive_in_the_rows_after_faults(backend: str, url: str, open_db: OpenDb) -> None:
    db = await open_db(url)
    ctx = await make_items(db)
    await assert_healthy(db, ctx, first_id=1)
    async with ctx.reader() as rx:
        assert [r["name"] for r in await rx.fetch(NAMES)] == ["after"] * 3
