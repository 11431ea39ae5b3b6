"""The connection pool's bookkeeping: hand-over order, deadlines, cancellation and broken connections.

These drive the pool with stand-in connections, so that every interleaving of acquire,
release, cancellation, timeout and failure can be forced; tests/test_faults.py does
the same through real connections.
"""

from __future__ import annotations

import asyncio
import itertools
import random

import anyio
import pytest

from rawdb import errors
from rawdb.backends.pool import Pool


class FakeConn:
    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False
        self.dead = False

    def __repr__(self) -> str:
        return f"<FakeConn {self.number}>"


class Tracked:
    """A pool of FakeConns that records the most connections ever open at once."""

    def __init__(self, size: int = 2, timeout: float = 0.2, max_waiting: int | None = None) -> None:
        self.made: list[FakeConn] = []
        self.open_now = 0
        self.most_open = 0
        numbers = itertools.count(1)

        async def open_connection() -> FakeConn:
            await asyncio.sleep(0)
            conn = FakeConn(next(numbers))
            self.made.append(conn)
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
            return conn

        async def close_connection(conn: FakeConn) -> None:
            await asyncio.sleep(0)
            drop_connection(conn)

        def drop_connection(conn: FakeConn) -> None:
            conn.closed = True
            self.open_now -= 1

        self.pool: Pool[FakeConn] = Pool(
            open_connection,
            close_connection,
            size,
            timeout,
            lambda: errors.PoolTimeout(timeout=timeout),
            alive=lambda conn: not conn.dead,
            drop_connection=drop_connection,
            max_waiting=max_waiting,
            name="test pool",
        )


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_idle_connections_are_reused_before_new_ones_are_opened() -> None:
    t = Tracked()
    first = await t.pool.acquire()
    t.pool.release(first)
    assert await t.pool.acquire() is first
    assert len(t.made) == 1
    assert (t.pool.opened, t.pool.in_use, t.pool.idle) == (1, 1, 0)


async def test_waiters_are_served_in_arrival_order() -> None:
    t = Tracked(size=1, timeout=2)
    held = await t.pool.acquire()
    order: list[str] = []

    async def take(name: str) -> None:
        conn = await t.pool.acquire()
        order.append(name)
        await asyncio.sleep(0.01)
        t.pool.release(conn)

    tasks = [asyncio.create_task(take(n)) for n in "abc"]
    await asyncio.sleep(0.01)
    assert t.pool.waiting == 3
    t.pool.release(held)
    await asyncio.gather(*tasks)
    assert order == ["a", "b", "c"]
    assert (t.pool.opened, t.pool.waiting, t.pool.in_use) == (1, 0, 0)


async def test_waiting_past_the_deadline_raises_the_pools_error() -> None:
    t = Tracked(size=1, timeout=0.05)
    held = await t.pool.acquire()
    with pytest.raises(errors.PoolTimeout):
        await t.pool.acquire()
    t.pool.release(held)
    assert t.pool.waiting == 0
    assert await t.pool.acquire() is held


async def test_a_waiter_cancelled_after_the_hand_over_gives_the_connection_back_to_the_pool() -> None:
    t = Tracked(size=1, timeout=2)
    held = await t.pool.acquire()
    doomed = asyncio.create_task(t.pool.acquire())
    await settle()
    t.pool.release(held)  # handed to `doomed`...
    doomed.cancel()  # ...which is cancelled before it runs; nobody else waits
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert (t.pool.in_use, t.pool.idle, t.pool.opened) == (0, 1, 1)
    assert await asyncio.wait_for(t.pool.acquire(), 1) is held


async def test_a_cancelled_waiter_passes_the_connection_to_the_next_waiter() -> None:
    t = Tracked(size=1, timeout=2)
    held = await t.pool.acquire()
    doomed = asyncio.create_task(t.pool.acquire())
    patient = asyncio.create_task(t.pool.acquire())
    await settle()
    t.pool.release(held)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert await asyncio.wait_for(patient, 1) is held


async def test_a_waiter_whose_deadline_passes_as_a_connection_arrives_loses_nothing() -> None:
    t = Tracked(size=1, timeout=0.05)
    held = await t.pool.acquire()
    waiter = asyncio.create_task(t.pool.acquire())
    await settle()
    # Hand the connection over at the very moment of the deadline.
    asyncio.get_running_loop().call_later(0.05, t.pool.release, held)
    try:
        got = await waiter
    except errors.PoolTimeout:
        got = None
    if got is not None:
        t.pool.release(got)
    await settle()
    assert (t.pool.in_use, t.pool.idle, t.pool.opened) == (0, 1, 1)


async def test_a_broken_connection_is_closed_before_its_slot_is_reopened_for_a_waiter() -> None:
    t = Tracked(size=1, timeout=2)
    broken = await t.pool.acquire()
    waiter = asyncio.create_task(t.pool.acquire())
    await settle()
    t.pool.release(broken, broken=True)
    assert t.pool.opened == 1  # the slot is not free until the broken one is closed
    fresh = await asyncio.wait_for(waiter, 1)
    assert broken.closed and fresh is not broken and not fresh.closed
    assert (len(t.made), t.pool.opened, t.most_open) == (2, 1, 1)


async def test_a_broken_release_with_a_new_caller_arriving_never_overshoots_the_size() -> None:
    t = Tracked(size=1, timeout=2)
    broken = await t.pool.acquire()
    waiter = asyncio.create_task(t.pool.acquire())
    await settle()
    t.pool.release(broken, broken=True)
    newcomer = asyncio.create_task(t.pool.acquire())  # arrives while the slot is being freed
    first = await asyncio.wait_for(waiter, 1)
    assert t.pool.opened == 1
    t.pool.release(first)
    second = await asyncio.wait_for(newcomer, 1)
    t.pool.release(second)
    assert t.most_open == 1 and t.pool.opened == 1


async def test_a_dead_idle_connection_is_replaced_on_acquire() -> None:
    t = Tracked()
    conn = await t.pool.acquire()
    t.pool.release(conn)
    conn.dead = True  # the server hung up while it sat idle
    replacement = await t.pool.acquire()
    assert replacement is not conn and len(t.made) == 2
    await settle()
    assert conn.closed and t.pool.opened == 1


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


async def test_a_failed_open_hands_its_slot_to_the_next_waiter() -> None:
    gate = asyncio.Event()
    calls = 0

    async def slow_then_fail() -> FakeConn:
        nonlocal calls
        calls += 1
        if calls == 1:
            await gate.wait()
            raise errors.DBConnectionError("refused")
        return FakeConn(calls)

    async def close(conn: FakeConn) -> None:
        conn.closed = True

    pool: Pool[FakeConn] = Pool(slow_then_fail, close, 1, 2, lambda: errors.PoolTimeout(timeout=2))
    opener = asyncio.create_task(pool.acquire())
    await settle()
    waiter = asyncio.create_task(pool.acquire())
    await settle()
    gate.set()
    with pytest.raises(errors.DBConnectionError):
        await opener
    assert (await asyncio.wait_for(waiter, 1)).number == 2
    assert pool.opened == 1


async def test_callers_beyond_max_waiting_get_pool_timeout_at_once() -> None:
    t = Tracked(size=1, timeout=5, max_waiting=2)
    held = await t.pool.acquire()
    queued = [asyncio.create_task(t.pool.acquire()) for _ in range(2)]
    await settle()
    started = asyncio.get_running_loop().time()
    with pytest.raises(errors.PoolTimeout) as caught:
        await t.pool.acquire()
    assert asyncio.get_running_loop().time() - started < 0.1
    assert "2 callers already wait for the test pool (max_waiting=2)" in str(caught.value)
    t.pool.release(held)
    for task in queued:
        t.pool.release(await task)
    assert t.pool.in_use == 0


async def test_a_closed_pool_refuses_fails_its_waiters_and_warns_about_connections_in_use() -> None:
    t = Tracked(size=1, timeout=2)
    held = await t.pool.acquire()
    waiter = asyncio.create_task(t.pool.acquire())
    await settle()
    with pytest.warns(ResourceWarning, match=r"test pool closed with 1 connection\(s\) still in use: <FakeConn 1>"):
        await t.pool.close()
    with pytest.raises(errors.DBConnectionError):
        await waiter
    with pytest.raises(errors.DBConnectionError):
        await t.pool.acquire()
    t.pool.release(held)
    await t.pool.close()
    assert held.closed and t.pool.opened == 0


async def test_releasing_a_connection_twice_is_refused_and_changes_nothing() -> None:
    t = Tracked()
    conn = await t.pool.acquire()
    t.pool.release(conn)
    with pytest.raises(errors.ScopeError, match="not lent out"):
        t.pool.release(conn)
    assert (t.pool.opened, t.pool.idle, t.pool.in_use) == (1, 1, 0)


async def test_an_anyio_cancel_scope_around_waiters_loses_no_connection() -> None:
    """Waiters in anyio scopes: four cancelled while queued, the last cancelled as the connection reaches it."""
    t = Tracked(size=1, timeout=2)
    held = await t.pool.acquire()
    scopes = [anyio.CancelScope() for _ in range(5)]
    got: list[FakeConn] = []

    async def wait_in_scope(scope: anyio.CancelScope) -> None:
        with scope:
            conn = await t.pool.acquire()
            try:
                got.append(conn)
                await asyncio.sleep(1)
            finally:
                t.pool.release(conn)

    waiters = [asyncio.create_task(wait_in_scope(scope)) for scope in scopes]
    await settle()
    assert t.pool.waiting == 5
    for scope in scopes[:4]:
        scope.cancel()
    t.pool.release(held)  # skips the four cancelled waiters, reaches the fifth
    scopes[4].cancel()
    await asyncio.wait_for(asyncio.gather(*waiters), 0.5)
    await settle()
    assert got in ([], [held])
    assert (t.pool.in_use, t.pool.opened, t.pool.waiting, t.pool.idle) == (0, 1, 0, 1)


async def test_random_interleavings_of_acquire_release_cancel_timeout_and_breakage_keep_the_books() -> None:
    """Hundreds of tasks doing everything at once: the size is never exceeded, nothing is lost."""
    rng = random.Random(1234)
    t = Tracked(size=3, timeout=0.03, max_waiting=40)
    over: list[int] = []

    def check() -> None:
        if t.pool.opened > t.pool.size or t.open_now > t.pool.size:
            over.append(t.pool.opened)

    async def user(seed: int) -> None:
        r = random.Random(seed)
        try:
            conn = await t.pool.acquire()
        except (errors.PoolTimeout, errors.DBConnectionError):
            return
        check()
        try:
            await asyncio.sleep(r.random() * 0.01)
        finally:
            t.pool.release(conn, broken=r.random() < 0.2)
            if r.random() < 0.1:
                conn.dead = True  # dies idle in the pool
        check()

    tasks = [asyncio.create_task(user(rng.randrange(10**9))) for _ in range(400)]
    for _ in range(150):
        await asyncio.sleep(rng.random() * 0.002)
        check()
        victim = rng.choice(tasks)
        victim.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _ in range(20):
        await settle()
    assert over == []
    assert t.most_open <= t.pool.size
    assert (t.pool.in_use, t.pool.waiting) == (0, 0)
    assert t.pool.opened == t.pool.idle == t.open_now
    await t.pool.close()
    assert t.pool.opened == t.open_now == 0
