"""Hundreds of scopes cancelled at random points, and (PostgreSQL) backends killed at random.

At the end the pool is idle, no session is left idle in a transaction, the SQLite write
lock is free at once, and the rows are exactly what the scopes that returned committed.
"""

from __future__ import annotations

import asyncio
import enum
import os
import random
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import asyncpg
import pytest
from faulttools import CREATE, IDS, INSERT, ONE, OpenDb, admin_url, pg_sessions, slow

import rawdb
from rawdb import errors, schema
from rawdb.cinder import sync as cinder_sync
from rawdb.quota import CINDER, QuotaEngine
from rawdb.quota import api as quota_api

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
    phases: dict[int, Phase] = field(default_factory=dict)  # writer scopes; readers' in reader_phases
    reader_phases: dict[int, Phase] = field(default_factory=dict)
    most_connections: int = 0
    expected: dict[int, set[int]] = field(default_factory=dict)  # scope -> the rows it commits
    faults: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)


Arm = Callable[[], None]


async def writer_scope(ctx: rawdb.Context, run: Run, k: int, rng: random.Random, arm: Arm) -> None:
    base = k * 10
    keep_savepoint = rng.random() < 0.7
    run.expected[k] = {base, base + 1, base + 3} | ({base + 2} if keep_savepoint else set())
    run.phases[k] = Phase.WAITING
    async with ctx.writer() as tx:
        run.phases[k] = Phase.BODY
        arm()
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


async def reader_scope(ctx: rawdb.Context, run: Run, k: int, rng: random.Random, arm: Arm) -> None:
    run.reader_phases[k] = Phase.WAITING
    async with ctx.reader() as rx:
        run.reader_phases[k] = Phase.BODY
        arm()
        await rx.fetch(IDS)
        await slow(rx, seconds=rng.random() * 0.02)
        await rx.fetchval(ONE)
        run.reader_phases[k] = Phase.EXITING
    run.reader_phases[k] = Phase.RETURNED


async def cancellable(kind: str, rng: random.Random, work: Callable[[Arm], Awaitable[None]]) -> str:
    """Run ``work`` under one kind of cancellation; return how it ended.

    The cancellation comes a random time after the scope's body begins (``work`` calls
    ``arm``), or, for one caller in five, while it still waits for a connection.
    """
    loop = asyncio.get_running_loop()
    early = rng.random() < 0.2

    def soon(within: float) -> float:
        return rng.random() * within

    try:
        if kind == "anyio":
            with anyio.CancelScope() as scope:
                if early:
                    loop.call_later(soon(0.01), scope.cancel)
                await work(lambda: loop.call_later(soon(0.03), scope.cancel) and None)
            return "cancelled" if scope.cancelled_caught else "returned"
        if kind == "timeout":
            async with asyncio.timeout(loop.time() + soon(0.01) if early else None) as deadline:
                await work(lambda: deadline.reschedule(loop.time() + soon(0.03)))
            return "returned"
        if kind == "outside":
            task = asyncio.current_task()
            assert task is not None
            if early:
                loop.call_later(soon(0.01), task.cancel)
            await work(lambda: loop.call_later(soon(0.03), task.cancel) and None)
            return "returned"
        await work(lambda: None)
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
        task_rng = random.Random(rng.random())

        async def work(arm: Arm, k: int = k, task_rng: random.Random = task_rng) -> None:
            await asyncio.sleep(task_rng.random() * 0.002 * k)  # callers arrive over time
            if k % 3 == 0:
                await reader_scope(ctx, run, k, task_rng, arm)
            else:
                await writer_scope(ctx, run, k, task_rng, arm)

        tasks.append(asyncio.create_task(cancellable(kind, task_rng, work), name=f"{kind}:{k}"))

    async def chaos() -> None:
        killer = await asyncpg.connect(admin_url(pg_url)) if pg_url else None
        try:
            while not all(t.done() for t in tasks):
                await asyncio.sleep(rng.random() * 0.01)
                run.most_connections = max(run.most_connections, db.stats()["size"])
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
    for k, outcome in enumerate(results, start=1):
        phase = run.phases.get(k) or run.reader_phases.get(k)
        if outcome != "returned":
            where = f"while {phase.value}" if phase is not None else "before its scope"
            run.faults[f"{'reader' if k % 3 == 0 else 'writer'} {outcome} {where}"] += 1
    assert run.most_connections <= db.stats()["max_size"]
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


async def test_postgresql_quota_with_64_callers_under_backend_kills_never_exceeds_a_limit(
    pg_url: str, open_db: OpenDb
) -> None:
    app = f"rawdb-stress-{uuid.uuid4().hex[:8]}"
    db = await open_db(pg_url, pool_size=16, acquire_timeout=60, server_settings={"application_name": app})
    watcher = await open_db(pg_url)  # the monitor's connections are not killed
    await schema.bootstrap(db, "cinder")
    engine = QuotaEngine(CINDER, cinder_sync.resources(), cinder_sync.DEFAULTS)
    admin = rawdb.Context(db, is_admin=True, project_id="admin", user_id="admin")
    project, limits = "tight", {"volumes": 30, "gigabytes": 80}
    for resource, limit in limits.items():
        await quota_api.quota_create(admin, engine.service, project, resource, limit)
    known: list[dict[str, int]] = []  # committed, acknowledged
    unsure: list[dict[str, int]] = []  # commit interrupted by a killed backend: applied or not
    violations: list[str] = []
    tally: Counter[str] = Counter()
    done = asyncio.Event()

    async def monitor() -> None:
        while not done.is_set():
            async with watcher.reader() as rx:
                rows = await rx.fetch(QUOTA_USAGES, p=project)
            for resource, limit in limits.items():
                total = sum(r["in_use"] + r["reserved"] for r in rows if r["resource"] == resource)
                if total > limit or any(r["in_use"] < 0 or r["reserved"] < 0 for r in rows):
                    violations.append(f"{resource}: {rows}")
            await asyncio.sleep(0.002)

    async def caller(n: int) -> None:
        rng = random.Random(n)
        ctx = rawdb.Context(db, project_id=project, user_id=f"u{n % 8}")
        for _ in range(8 * SCALE):
            deltas = {"volumes": rng.randint(1, 2), "gigabytes": rng.randint(1, 4)}
            try:
                reservations = await engine.reserve(ctx, expire=1, **deltas)
            except errors.OverQuota:
                tally["refused"] += 1
                continue
            except errors.DBConnectionError:
                tally["reserve lost"] += 1  # if it was applied, it expires
                continue
            commit = rng.random() < 0.7
            try:
                await (engine.commit if commit else engine.rollback)(ctx, reservations)
            except errors.DBConnectionError:
                tally["finish lost"] += 1
                if commit:
                    unsure.append(deltas)
                continue
            tally["committed" if commit else "rolled back"] += 1
            if commit:
                known.append(deltas)

    async def killer() -> None:
        conn = await asyncpg.connect(admin_url(pg_url))
        try:
            while not done.is_set():
                await asyncio.sleep(random.random() * 0.01)
                tally["backend killed"] += await conn.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity "
                    "WHERE application_name = $1 ORDER BY random() LIMIT 1) s",
                    app,
                )
        finally:
            await conn.close()

    watch, kill = asyncio.create_task(monitor()), asyncio.create_task(killer())
    await asyncio.gather(*(caller(n) for n in range(64)))
    done.set()
    await asyncio.gather(watch, kill)
    await asyncio.sleep(1.1)  # reservations whose outcome was lost expire...
    await engine.expire(admin)  # ...and give back what they held
    print(f"\nquota under kills: {dict(tally)}")
    assert violations == []
    assert tally["backend killed"] >= 5 and tally["refused"] > 0 and tally["committed"] > 0
    async with watcher.reader() as rx:
        rows = await rx.fetch(QUOTA_USAGES, p=project)
    for resource, limit in limits.items():
        in_use = sum(r["in_use"] for r in rows if r["resource"] == resource)
        reserved = sum(r["reserved"] for r in rows if r["resource"] == resource)
        lowest = sum(d[resource] for d in known)
        assert reserved == 0, resource
        assert lowest <= in_use <= lowest + sum(d[resource] for d in unsure) and in_use <= limit, resource
    assert db.stats()["in_use"] == 0


def test_several_processes_writing_one_sqlite_file_see_no_raw_lock_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"

    async def create() -> None:
        async with rawdb.connect(url) as db, db.writer() as tx:
            await tx.script(CREATE)

    asyncio.run(create())
    worker = textwrap.dedent(
        f"""
        import asyncio, sys, rawdb
        from rawdb import errors
        INSERT = rawdb.Statement.portable("i", "INSERT INTO items (id, name) VALUES (:id, :name)")
        COUNT = rawdb.Statement.portable("c", "SELECT count(*) AS n FROM items")

        @rawdb.retry_on_deadlock(max_retries=50, interval=0.01)
        @rawdb.writer
        async def insert(tx, item):
            await tx.fetchval(COUNT)
            await tx.execute(INSERT, id=item, name="p")

        async def main(proc):
            async with rawdb.connect("{url}", busy_timeout=2) as db:
                ctx = rawdb.Context(db)
                for i in range({60 * SCALE}):
                    await insert(ctx, proc * 100000 + i)
                    async with ctx.reader() as rx:
                        await rx.fetchval(COUNT)
        asyncio.run(main(int(sys.argv[1])))
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", worker, str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for n in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "database is locked" not in out + err and "OperationalError" not in out + err

    async def count() -> int:
        async with rawdb.connect(url) as db, db.reader() as rx:
            return int(await rx.fetchval(rawdb.Statement.portable("n", "SELECT count(*) AS n FROM items")))

    assert asyncio.run(count()) == 4 * 60 * SCALE


QUOTA_USAGES = rawdb.Statement.portable(
    "test.stress.quota_usages",
    "SELECT resource, in_use, reserved FROM quota_usages WHERE project_id = :p AND NOT deleted",
)


@pytest.fixture(autouse=True)
def _quiet_slow_statements(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("ERROR", logger="rawdb.sql")
