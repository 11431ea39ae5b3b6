"""Replica readers against a real PostgreSQL hot standby (tests/pgstandby.py).

``reader(replica=True)`` reads from the standby; the standby going away sends replica readers
to the primary (the statement in flight at most fails) and its return brings them back;
``max_replica_lag`` sends them to the primary while the standby's replay lags further behind.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator

import asyncpg
import pgcluster
import pgstandby
import pytest
from sqltools import OpenDb

import rawdb
from rawdb import errors, schema
from rawdb.nova import api as nova

IN_RECOVERY = rawdb.Statement.portable("test.standby.in_recovery", "SELECT pg_is_in_recovery() AS r")
INSERT = rawdb.Statement.portable("test.standby.insert", "INSERT INTO notes (id, note) VALUES (:id, :note)")
NOTE = rawdb.Statement.portable("test.standby.note", "SELECT note FROM notes WHERE id = :id")
SLOW = rawdb.Statement.portable("test.standby.slow", "SELECT pg_is_in_recovery() AS r FROM pg_sleep(0.5)")

_ids = iter(range(1, 1_000_000))


@pytest.fixture(scope="module")
def pair() -> Iterator[pgstandby.Pair]:
    reason = pgstandby.unavailable()
    if reason is not None:
        pgcluster.skip_or_fail(reason)
    made = pgstandby.Pair()
    try:
        made.create()
        asyncio.run(_create_table(made))
        yield made
    finally:
        made.drop()


async def _create_table(pair: pgstandby.Pair) -> None:
    """The tests' table on the primary, and on the standby once visible there (tests start after).

    The wait asks the standby for the table itself: with ``synchronous_commit=off`` the primary's
    write position can still be short of the commit record, so a replayed LSN proves nothing.
    """
    conn = await asyncpg.connect(pair.primary.url)
    try:
        await conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, note TEXT NOT NULL)")
    finally:
        await conn.close()
    standby = await asyncpg.connect(pair.standby.url)
    try:
        for _ in range(600):
            if await standby.fetchval("SELECT to_regclass('notes') IS NOT NULL"):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the standby never replayed the table's creation")
    finally:
        await standby.close()


async def _on_standby(db: rawdb.Database) -> bool:
    """Whether a replica reader of ``db`` is served by the standby (else by the primary)."""
    async with db.reader(replica=True) as rx:
        served: bool = await rx.fetchval(IN_RECOVERY)
    return served


async def _until(check: object, within: float) -> bool:
    """Poll the async ``check()`` every 50 ms until it is true or ``within`` seconds passed."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


async def _standby_sql(pair: pgstandby.Pair, sql: str) -> None:
    conn = await asyncpg.connect(pair.standby.url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.mark.parametrize("how", ["option", "query"])
async def test_replica_reader_reads_from_the_standby_and_a_plain_reader_from_the_primary(
    pair: pgstandby.Pair, how: str
) -> None:
    if how == "option":
        connecting = rawdb.connect(pair.primary.url, replicas=[pair.standby.url])
    else:
        connecting = rawdb.connect(f"{pair.primary.url}?replica=127.0.0.1:{pair.standby.port}")
    async with connecting as db:
        assert db.stats()["replicas"] == 1
        assert await _on_standby(db) is True
        async with db.reader() as rx:
            assert await rx.fetchval(IN_RECOVERY) is False
        async with db.writer() as tx:
            assert await tx.fetchval(IN_RECOVERY) is False
        assert db.stats()["replica_lag_seconds"] is None  # measured only with max_replica_lag


async def test_a_write_reaches_replica_readers_after_replay_and_its_writer_reads_it_at_once(
    pair: pgstandby.Pair,
) -> None:
    async with rawdb.connect(pair.primary.url, replicas=[pair.standby.url]) as db:
        key = next(_ids)
        async with db.writer() as tx:
            await tx.execute(INSERT, id=key, note="written")
        # Reading one's own write: the primary has it as soon as the writer committed.
        async with db.reader(replica=False) as rx:
            assert await rx.fetchval(NOTE, id=key) == "written"

        async def replayed() -> bool:
            async with db.reader(replica=True) as rx:
                assert await rx.fetchval(IN_RECOVERY) is True
                return bool(await rx.fetchval(NOTE, id=key) == "written")

        assert await _until(replayed, within=10), "the write never reached the standby"


async def test_nova_reads_bound_to_a_replica_reader_are_served_by_the_standby(pair: pgstandby.Pair) -> None:
    # nova's use_slave: its allow_async reads run in the caller's replica reader when bound to one.
    async with rawdb.connect(pair.primary.url, replicas=[pair.standby.url]) as db:
        await schema.bootstrap(db, "nova")
        admin = rawdb.Context(db, project_id="p1", user_id="u1", is_admin=True)
        created = await nova.instance_create(admin, {"project_id": "p1", "user_id": "u1", "hostname": "web1"})

        async def read_on_standby() -> bool:
            async with admin.reader(replica=True) as rx:
                assert await rx.fetchval(IN_RECOVERY) is True
                try:
                    found = await nova.instance_get_by_uuid(rx, created["uuid"])
                except (errors.InstanceNotFound, errors.DBError):  # not replayed yet (the table, or the row)
                    return False
                return bool(found["hostname"] == "web1")

        assert await _until(read_on_standby, within=10), "the instance never reached the standby"


@pytest.mark.parametrize("value", [-1, "-0.5", "soon", True, math.nan, "nan", [1]])
async def test_max_replica_lag_must_be_a_number_of_seconds(value: object) -> None:
    with pytest.raises(errors.Invalid, match="max_replica_lag"):
        await rawdb.connect("postgresql://root@127.0.0.1:1/x", max_replica_lag=value)
    if isinstance(value, str):
        with pytest.raises(errors.Invalid, match="max_replica_lag"):
            await rawdb.connect(f"postgresql://root@127.0.0.1:1/x?max_replica_lag={value}")


async def test_a_standby_whose_replay_lags_beyond_max_replica_lag_is_left_out_until_it_catches_up(
    pair: pgstandby.Pair,
) -> None:
    url = f"{pair.primary.url}?replica=127.0.0.1:{pair.standby.port}&max_replica_lag=1"
    async with rawdb.connect(url) as db:
        assert db.options["max_replica_lag"] == 1.0
        assert await _on_standby(db) is True
        assert db.stats()["replica_lag_seconds"] == 0
        await _standby_sql(pair, "SELECT pg_wal_replay_pause()")
        try:
            key = next(_ids)
            async with db.writer() as tx:
                await tx.execute(INSERT, id=key, note="lagging")
            assert await _on_standby(db) is True  # the lag measured a moment ago still holds
            await asyncio.sleep(2.2)  # past the limit, and past the measurement's 1 s
            assert await _on_standby(db) is False
            assert db.stats()["replica_lag_seconds"] > 1
            async with db.reader(replica=True) as rx:  # from the primary: the write is there
                assert await rx.fetchval(NOTE, id=key) == "lagging"
        finally:
            await _standby_sql(pair, "SELECT pg_wal_replay_resume()")
        assert await _until(lambda: _on_standby(db), within=10), "replica reads never came back"
        assert db.stats()["replica_lag_seconds"] <= 1


async def test_a_stopped_standby_costs_at_most_the_statement_in_flight_and_is_used_again_once_back(
    pair: pgstandby.Pair,
) -> None:
    async with rawdb.connect(pair.primary.url, replicas=[pair.standby.url], pool_size=3) as db:
        assert await _on_standby(db) is True
        failures: list[str] = []
        served: list[bool] = []
        running = True

        async def replica_reader() -> None:
            while running:
                try:
                    async with db.reader(replica=True) as rx:
                        served.append(await rx.fetchval(SLOW))
                except errors.RawdbError as exc:
                    failures.append(type(exc).__name__)

        readers = [asyncio.create_task(replica_reader()) for _ in range(2)]
        try:
            await asyncio.sleep(0.7)
            assert True in served
            await asyncio.to_thread(pair.standby.stop)
            stopped_at = len(served)
            await asyncio.sleep(1.5)
            after_stop = served[stopped_at:]
            assert after_stop and not any(after_stop), "replica readers did not move to the primary"
            assert db.stats()["replicas"] == 0
        finally:
            running = False
            await asyncio.gather(*readers)
        assert len(failures) <= len(readers), failures  # one statement in flight per reader, at most

        await asyncio.to_thread(pair.standby.start)
        assert await _until(lambda: _on_standby(db), within=30), "replica reads never returned to the standby"
        assert db.stats()["replicas"] == 1


async def test_the_scale_scenario_serves_the_listing_from_the_primary_and_its_standby(
    pair: pgstandby.Pair, open_db: OpenDb
) -> None:
    from rawdb.bench.nova_seed import MIN_INSTANCES
    from rawdb.bench.scale import scale_scenarios

    run = await scale_scenarios(
        await open_db(pair.primary.url),
        [pair.standby.url],
        instances=MIN_INSTANCES,
        callers=4,
        seconds=0.3,
        rounds=1,
        say=print,
    )
    assert run.problems == []
    assert [(f.scenario, f.info["nodes"]) for f in run.figures] == [("scale_listing_1n", 1), ("scale_listing_2n", 2)]
    assert all(f.samples[0] > 0 for f in run.figures)
    assert run.notes == ["scale: quota pairs are measured on Galera only (a standby takes no writes)"]
