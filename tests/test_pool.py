"""The connection pool's bookkeeping: hand-over order, deadlines, cancellation and broken connections."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from rawdb import errors
from rawdb.backends.pool import Pool


class FakeConn:
    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False


def make_pool(size: int = 2, timeout: float = 0.2) -> tuple[Pool[FakeConn], list[FakeConn]]:
    made: list[FakeConn] = []
    numbers = itertools.count(1)

    async def open_connection() -> FakeConn:
        await asyncio.sleep(0)
        conn = FakeConn(next(numbers))
        made.append(conn)
        return conn

    async def close_connection(conn: FakeConn) -> None:
        conn.closed = True

    pool = Pool(
        open_connection,
        close_connection,
        size,
        timeout,
        lambda: errors.PoolTimeout(timeout=timeout),
        usable=lambda conn: not conn.closed,
    )
    return pool, made


async def test_idle_connections_are_reused_before_new_ones_are_opened() -> None:
    pool, made = make_pool()
    first = await pool.acquire()
    await pool.release(first)
    assert await pool.acquire() is first
    assert len(made) == 1
    assert (pool.opened, pool.in_use, pool.idle) == (1, 1, 0)


async def test_waiters_are_served_in_arrival_order() -> None:
    pool, _ = make_pool(size=1, timeout=2)
    held = await pool.acquire()
    order: list[str] = []

    async def take(name: str) -> None:
        conn = await pool.acquire()
        order.append(name)
        await asyncio.sleep(0.01)
        await pool.release(conn)

    tasks = [asyncio.create_task(take(n)) for n in "abc"]
    await asyncio.sleep(0.01)
    assert pool.waiting == 3
    await pool.release(held)
    await asyncio.gather(*tasks)
    assert order == ["a", "b", "c"]
    assert (pool.opened, pool.waiting) == (1, 0)


async def test_waiting_past_the_deadline_raises_the_pools_error() -> None:
    pool, _ = make_pool(size=1, timeout=0.05)
    held = await pool.acquire()
    with pytest.raises(errors.PoolTimeout):
        await pool.acquire()
    await pool.release(held)
    assert pool.waiting == 0
    assert await pool.acquire() is held


async def test_a_cancelled_waiter_does_not_swallow_the_connection_it_was_handed() -> None:
    pool, _ = make_pool(size=1, timeout=2)
    held = await pool.acquire()
    doomed = asyncio.create_task(pool.acquire())
    patient = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.01)
    await pool.release(held)  # handed to `doomed`...
    doomed.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert await asyncio.wait_for(patient, 1) is held


async def test_a_broken_connection_is_closed_and_its_slot_reopened_for_a_waiter() -> None:
    pool, made = make_pool(size=1, timeout=2)
    broken = await pool.acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.01)
    await pool.release(broken, broken=True)
    fresh = await asyncio.wait_for(waiter, 1)
    assert broken.closed and fresh is not broken and not fresh.closed
    assert (len(made), pool.opened) == (2, 1)


async def test_an_unusable_idle_connection_is_replaced_on_acquire() -> None:
    pool, made = make_pool()
    conn = await pool.acquire()
    await pool.release(conn)
    conn.closed = True  # the server hung up while it sat idle
    replacement = await pool.acquire()
    assert replacement is not conn and len(made) == 2 and pool.opened == 1


async def test_a_failed_open_frees_its_slot() -> None:
    calls = 0

    async def flaky_open() -> FakeConn:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise errors.DBConnectionError("refused")
        return FakeConn(calls)

    async def close(conn: FakeConn) -> None:
        conn.closed = True

    pool: Pool[FakeConn] = Pool(flaky_open, close, 1, 0.1, lambda: errors.PoolTimeout(timeout=0.1))
    with pytest.raises(errors.DBConnectionError):
        await pool.acquire()
    assert pool.opened == 0
    assert (await pool.acquire()).number == 2


async def test_a_closed_pool_refuses_and_fails_its_waiters() -> None:
    pool, _ = make_pool(size=1, timeout=2)
    held = await pool.acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.01)
    await pool.close()
    with pytest.raises(errors.DBConnectionError):
        await waiter
    with pytest.raises(errors.DBConnectionError):
        await pool.acquire()
    await pool.release(held)
    assert held.closed and pool.opened == 0
