"""Cancelled tasks and killed connections: nothing half-written, the pool stays healthy."""

from __future__ import annotations

import asyncio

import pytest
from faulttools import INSERT, ServerSessions, assert_healthy, committed_ids, make_items, session_id, slow

import rawdb
from rawdb import errors


async def test_task_cancelled_while_awaiting_inside_writer_leaves_no_row(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    inserted = asyncio.Event()

    async def work() -> None:
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=1, name="cancelled")
            inserted.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(work())
    await asyncio.wait_for(inserted.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert db.stats()["in_use"] == 0
    assert await committed_ids(db) == []
    async with ctx.writer() as tx:
        await tx.execute(INSERT, id=2, name="next")
    assert await committed_ids(db) == [2]
    assert db.stats()["in_use"] == 0


async def test_task_cancelled_during_a_slow_statement_leaves_nothing_and_pool_stays_healthy(
    db: rawdb.Database,
) -> None:
    ctx = await make_items(db)
    inserted = asyncio.Event()

    async def work() -> None:
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=1, name="cancelled")
            inserted.set()
            await slow(tx)
            await tx.execute(INSERT, id=2, name="never")

    task = asyncio.create_task(work())
    await asyncio.wait_for(inserted.wait(), 2)
    await asyncio.sleep(0.1)  # well inside the slow statement
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert db.stats()["in_use"] == 0
    assert await committed_ids(db) == []
    await assert_healthy(db, ctx, first_id=10)
    assert await committed_ids(db) == [10, 11, 12]


async def test_reader_cancelled_during_a_slow_statement_frees_its_connection(db: rawdb.Database) -> None:
    ctx = await make_items(db)
    running = asyncio.Event()

    async def work() -> None:
        async with ctx.reader() as rx:
            running.set()
            await slow(rx)

    task = asyncio.create_task(work())
    await asyncio.wait_for(running.wait(), 2)
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert db.stats()["in_use"] == 0
    await assert_healthy(db, ctx, first_id=1)


# Server sessions that can be killed (pg_terminate_backend, KILL CONNECTION): not SQLite.
SERVERS = pytest.mark.parametrize("backend", ["postgresql", "mysql"], indirect=True)


@SERVERS
async def test_backend_terminated_mid_transaction_raises_connection_error(
    db: rawdb.Database, backend: str, url: str
) -> None:
    ctx = await make_items(db)
    sessions = ServerSessions(backend, url)
    with pytest.raises(errors.DBConnectionError):
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=1, name="doomed")
            pid = await session_id(tx)
            assert await sessions.kill(pid) == 1
            await asyncio.sleep(0.05)
            await tx.execute(INSERT, id=2, name="never")
    assert db.stats()["in_use"] == 0
    assert await committed_ids(db) == []
    # the pool replaced the dead connection: the next scopes on the same Database work
    async with ctx.reader() as rx:
        assert await session_id(rx) != pid
    await assert_healthy(db, ctx, first_id=10)
    assert await committed_ids(db) == [10, 11, 12]


@SERVERS
async def test_writer_whose_backend_dies_before_commit_raises_on_exit(
    db: rawdb.Database, backend: str, url: str
) -> None:
    ctx = await make_items(db)
    sessions = ServerSessions(backend, url)
    with pytest.raises(errors.DBConnectionError):
        async with ctx.writer() as tx:
            await tx.execute(INSERT, id=1, name="doomed")
            pid = await session_id(tx)
            assert await sessions.kill(pid) == 1
            await asyncio.sleep(0.05)
            # no further statement: the scope's exit is the first to find the connection gone
    assert db.stats()["in_use"] == 0
    assert await committed_ids(db) == []
    await assert_healthy(db, ctx, first_id=10)
