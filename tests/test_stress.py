"""Hundreds of scopes cancelled at random points, and (PostgreSQL) backends killed at random.

At the end the pool is idle, no session is left idle in a transaction, the SQLite write
lock is free at once, and the rows are exactly what the scopes that returned committed.
"""

from __future__ import annotations

import asyncio
import enum
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import asyncpg
import pytest
from faulttools import CREATE, IDS, INSERT, ONE, OpenDb, admin_url, pg_sessions, slow

import rawdb
from rawdb import errors

# RAWDB_STRESS_SCALE=10 runs ten times as many scopes (for figures, not for CI).
SCALE = int(os.environ.get("RAWDB_STRESS_SCALE", "1"))


class Phase(enum.Enum):
    WAITING = "waiting"  # not in its scope yet (queued for a connection)
    BODY = "body"  # inside the scope
    EXITING = "exiting"  # the body is done: COMMIT may be under way
    RETURNED = "returned"  # the scope returned normally


class SavepointDropped(Exception):
    """Raised inside a savepoint on purpose: its row must not be committed."""


@dataclass
class Run:
    phases: dict[int, Phase] = field(default_factory=dict)
    expected: dict[int, set[int]] = field(default_factory=dict)  # scope -> the rows it commits
    faults: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)


async def writer_scope(ctx: rawdb.Context, run: Run, k: int, rng: random.Random) -> None:
    base = k * 10
    keep_savepoint = rng.random() < 0.7
    run.expected[k] = {base, base + 1, base + 3} | ({base + 2} if keep_savepoint else set())
    run.phases[k] = Phase.WAITING
    async with ctx.writer() as tx:
        run.phases[k] = Phase.BODY
        await tx.execute(INSERT, id=base, name="first")
        if rng.random() < 0.3:
            await slow(tx, seconds=rng.random() * 0.02)
        await tx.execute(INSERT, id=base + 1, name="second")
        try:
            async with tx.savepoint() as sp:
                await sp.execute(INSERT, id=base + 2, name="savepoint")
                await asyncio.sleep(rng.random() * 0.002)
                if not keep_savepoint:
                    raise SavepointDropped()
        except SavepointDropped:
            pass
        await tx.execute(INSERT, id=base + 3, name="last")
        run.phases[k] = Phase.EXITING
    run.phases[k] = Phase.RETURNED


async def reader_scope(ctx: rawdb.Context, rng: random.Random) -> None:
    async with ctx.reader() as rx:
        await rx.fetch(IDS)
        await slow(rx, seconds=rng.random() * 0.02)
        await rx.fetchval(ONE)


async def cancellable(kind: str, rng: random.Random, work: Callable[[], Awaitable[None]]) -> str:
    """Run ``work`` under one kind of cancellation; return how it ended."""
    try:
        if kind == "anyio":
            with anyio.move_on_after(rng.random() * 0.05) as scope:
                await work()
            return "cancelled" if scope.cancelled_caught else "returned"
        if kind == "timeout":
            async with asyncio.timeout(rng.random() * 0.05):
                await work()
            return "returned"
        await work()  # cancelled from outside by the chaos task, or not at all
        return "returned"
    except (TimeoutError, asyncio.CancelledError):
        return "cancelled"
    except errors.RawdbError as exc:
        return type(exc).__name__


async def stress(db: rawdb.Database, pg_url: str | None, app: str | None, seed: int) -> Run:
    rng = random.Random(seed)
    async with db.writer() as tx:
        await tx.script(CREATE)
    ctx = rawdb.Context(db, project_id="p1", user_id="u1")
    run = Run()
    tasks: list[asyncio.Task[str]] = []
    for k in range(1, 300 * SCALE + 1):
        kind = rng.choice(["anyio", "timeout", "outside", "none"])
        run.faults[f"{kind} cancellation armed"] += kind != "none"
        task_rng = random.Random(rng.random())

        async def work(k: int = k, task_rng: random.Random = task_rng) -> None:
            if k % 3 == 0:
                await reader_scope(ctx, task_rng)
            else:
                await writer_scope(ctx, run, k, task_rng)

        tasks.append(asyncio.create_task(cancellable(kind, task_rng, work), name=f"{kind}:{k}"))

    async def chaos() -> None:
        killer = await asyncpg.connect(admin_url(pg_url)) if pg_url else None
        try:
            while not all(t.done() for t in tasks):
                await asyncio.sleep(rng.random() * 0.01)
                pending = [t for t in tasks if not t.done() and t.get_name().startswith("outside")]
                if pending and rng.random() < 0.5:
                    rng.choice(pending).cancel()
                    run.faults["task cancelled from outside"] += 1
                if killer is not None and rng.random() < 0.3:
                    killed = await killer.fetchval(
                        "SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity "
                        "WHERE application_name = $1 ORDER BY random() LIMIT 1) s",
                        app,
                    )
                    run.faults["backend killed"] += killed
        finally:
            if killer is not None:
                await killer.close()

    chaos_task = asyncio.create_task(chaos())
    results = await asyncio.gather(*tasks)
    await chaos_task
    run.outcomes.update(results)
    return run


async def assert_exact_rows(db: rawdb.Database, run: Run) -> None:
    async with db.reader() as rx:
        present = {row["id"] for row in await rx.fetch(IDS)}
    by_scope: dict[int, set[int]] = {}
    for row_id in present:
        by_scope.setdefault(row_id // 10, set()).add(row_id)
    for k, phase in run.phases.items():
        got = by_scope.pop(k, set())
        if phase is Phase.RETURNED:
            assert got == run.expected[k], (k, phase, got)
        elif phase is Phase.EXITING:  # cancelled during COMMIT: all or nothing
            assert got in (set(), run.expected[k]), (k, phase, got)
        else:
            assert got == set(), (k, phase, got)
    assert by_scope == {}, "rows of scopes that never ran"


async def test_sqlite_random_cancellations_leave_exactly_the_returned_scopes_rows(
    sqlite_url: str, open_db: OpenDb
) -> None:
    db = await open_db(sqlite_url, busy_timeout=30)
    run = await stress(db, None, None, seed=20261206)
    print(f"\nSQLite: {dict(run.faults)}; outcomes {dict(run.outcomes)}")
    assert set(run.outcomes) <= {"returned", "cancelled"}, run.outcomes
    assert run.outcomes["cancelled"] >= 50 and run.outcomes["returned"] >= 50
    assert db.stats()["in_use"] == 0 and db.stats()["waiting"] == 0
    await assert_exact_rows(db, run)
    # The write lock is free at once, for this Database and for another process's connection.
    other = await open_db(sqlite_url, busy_timeout=0.2)
    started = time.monotonic()
    async with other.writer() as tx:
        await tx.execute(INSERT, id=1, name="lock is free")
    assert time.monotonic() - started < 0.2


async def test_postgresql_random_cancellations_and_kills_leave_exactly_the_returned_scopes_rows(
    pg_url: str, open_db: OpenDb
) -> None:
    app = f"rawdb-stress-{uuid.uuid4().hex[:8]}"
    db = await open_db(pg_url, pool_size=5, server_settings={"application_name": app})
    run = await stress(db, pg_url, app, seed=20261207)
    print(f"\nPostgreSQL: {dict(run.faults)}; outcomes {dict(run.outcomes)}")
    # A killed backend is a DBConnectionError; nothing else but cancellation may end a scope.
    assert set(run.outcomes) <= {"returned", "cancelled", "DBConnectionError"}, run.outcomes
    assert run.outcomes["cancelled"] >= 50 and run.outcomes["returned"] >= 50
    assert run.faults["backend killed"] >= 3
    assert db.stats()["in_use"] == 0 and db.stats()["waiting"] == 0
    assert all(s["state"] != "idle in transaction" for s in await pg_sessions(pg_url, app))
    await assert_exact_rows(db, run)


@pytest.fixture(autouse=True)
def _quiet_slow_statements(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("ERROR", logger="rawdb.sql")
