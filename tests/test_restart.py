"""A real PostgreSQL restart under load, and connect() waiting for a database that is not up yet.

These run on a scratch cluster of their own (tests/pgcluster.py), which they stop and start.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pgcluster
import pytest

import rawdb
from rawdb import errors

PAIRS = "CREATE TABLE pairs (id INTEGER PRIMARY KEY, k INTEGER NOT NULL)"
INSERT = rawdb.Statement.portable("test.pairs.insert", "INSERT INTO pairs (id, k) VALUES (:id, :k)")
ALL = rawdb.Statement.portable("test.pairs.all", "SELECT id, k FROM pairs ORDER BY id")
COUNT = rawdb.Statement.portable("test.pairs.count", "SELECT count(*) AS n FROM pairs")

# RAWDB_STRESS_SCALE=10 runs ten times as many restarts (for figures, not for CI).
SCALE = int(os.environ.get("RAWDB_STRESS_SCALE", "1"))


@pytest.fixture(scope="module")
def cluster() -> Iterator[pgcluster.ScratchCluster]:
    reason = pgcluster.unavailable()
    if reason is not None:
        pgcluster.skip_or_fail(reason)
    made = pgcluster.ScratchCluster()
    try:
        made.create()
        made.start()
        yield made
    finally:
        made.drop()


@dataclass
class Load:
    """What 20 callers saw: acknowledged writes, and every error with when it happened."""

    acked: set[int] = field(default_factory=set)
    unsure: set[int] = field(default_factory=set)  # the error came at COMMIT: written or not
    errors: list[tuple[float, str]] = field(default_factory=list)
    successes: list[float] = field(default_factory=list)


async def _caller(db: rawdb.Database, keys: Iterator[int], load: Load, running: asyncio.Event) -> None:
    ctx = rawdb.Context(db, is_admin=True)
    while running.is_set():
        k = next(keys)
        committing = False
        try:
            if k % 3 == 0:
                async with ctx.reader() as rx:
                    await rx.fetchval(COUNT)
            else:
                async with ctx.writer() as tx:
                    await tx.execute(INSERT, id=2 * k, k=k)
                    await tx.execute(INSERT, id=2 * k + 1, k=k)
                    committing = True
                load.acked.add(k)
            load.successes.append(time.monotonic())
        except errors.RawdbError as exc:  # anything else escaping fails the test
            load.errors.append((time.monotonic(), type(exc).__name__))
            if committing:
                load.unsure.add(k)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.002)


async def test_twenty_callers_through_postgresql_restarts_lose_no_write_and_recover_within_a_second(
    cluster: pgcluster.ScratchCluster,
) -> None:
    db = await rawdb.connect(cluster.url, pool_size=10, connect_timeout=2, acquire_timeout=5)
    try:
        async with db.writer() as tx:
            await tx.script(PAIRS)
        load = Load()
        running = asyncio.Event()
        running.set()
        keys = itertools.count(1)
        callers = [asyncio.create_task(_caller(db, keys, load, running)) for _ in range(20)]
        windows: list[tuple[float, float]] = []
        for _ in range(2 * SCALE):
            await asyncio.sleep(0.5)
            went_down = time.monotonic()
            await asyncio.to_thread(cluster.restart)  # returns once the server accepts connections
            windows.append((went_down, time.monotonic()))
        await asyncio.sleep(1.5)
        running.clear()
        await asyncio.gather(*callers)

        # Errors only while the server was down, or within a second of it accepting connections.
        for at, kind in load.errors:
            assert any(down <= at <= up + 1.0 for down, up in windows), (at, kind, windows)
        for _, up in windows:
            assert any(up <= ok <= up + 1.0 for ok in load.successes), "no call succeeded within 1 s of the restart"
        assert len(load.acked) > 50

        async with db.reader() as rx:
            rows = await rx.fetch(ALL)
        written: dict[int, int] = {}
        for row in rows:
            written[row["k"]] = written.get(row["k"], 0) + 1
        assert all(count == 2 for count in written.values()), "a half-written transaction is visible"
        assert load.acked <= set(written), "an acknowledged write was lost"
        assert set(written) <= load.acked | load.unsure
        assert db.stats()["in_use"] == 0
        print(
            f"\n{len(windows)} restarts, {len(load.acked)} acknowledged writes, {len(load.errors)} errors while down, "
            f"{len(load.unsure)} unsure at COMMIT ({len(load.unsure & set(written))} of them committed)"
        )
    finally:
        await db.close()


async def test_connect_retries_wait_for_a_database_that_is_starting(cluster: pgcluster.ScratchCluster) -> None:
    async def connect(**options: object) -> rawdb.Database:
        return await rawdb.connect(cluster.url, connect_timeout=2, **options)

    await asyncio.to_thread(cluster.stop)
    try:
        with pytest.raises(errors.DBConnectionError):
            await connect()  # the default: fail at once
        connecting = asyncio.create_task(connect(connect_retries=60, connect_retry_interval=0.1))
        await asyncio.sleep(0.5)
        assert not connecting.done()
    finally:
        await asyncio.to_thread(cluster.start)
    db = await asyncio.wait_for(connecting, 10)
    try:
        assert await db.ping() > 0
    finally:
        await db.close()
