"""Replica readers against a real PostgreSQL hot standby (tests/pgstandby.py).

``reader(replica=True)`` reads from the standby; the standby going away sends replica readers
to the primary (the statement in flight at most fails) and its return brings them back;
``max_replica_lag`` sends them to the primary while the standby's replay lags further behind.
Nova's use_slave functions (spec B.8) bound to a replica reader answer with the standby's rows.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

import asyncpg
import pgcluster
import pgstandby
import pytest
from novatools import make_instance
from sqltools import OpenDb, execute

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


async def _replay_paused(pair: pgstandby.Pair) -> bool:
    conn = await asyncpg.connect(pair.standby.url)
    try:
        return bool(await conn.fetchval("SELECT pg_get_wal_replay_pause_state() = 'paused'"))
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


SETTING = rawdb.Statement.portable(
    "test.standby.setting", "SELECT pg_is_in_recovery() AS r, current_setting('plan_cache_mode') AS mode"
)


async def test_a_replica_reader_with_settings_reads_from_the_standby_with_them(pair: pgstandby.Pair) -> None:
    async with rawdb.connect(pair.primary.url, replicas=[pair.standby.url]) as db:
        for _ in range(2):  # the second time from the replica's pool of such sessions
            async with db.reader(replica=True, settings={"plan_cache_mode": "force_custom_plan"}) as rx:
                row = await rx.fetchrow(SETTING)
            assert (row["r"], row["mode"]) == (True, "force_custom_plan")
        async with db.reader(replica=True) as rx:  # a plain replica session does not carry them
            row = await rx.fetchrow(SETTING)
        assert (row["r"], row["mode"]) == (True, "auto")
        async with db.reader(settings={"plan_cache_mode": "force_custom_plan"}) as rx:
            row = await rx.fetchrow(SETTING)
        assert (row["r"], row["mode"]) == (False, "force_custom_plan")


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


# --- nova's use_slave (spec B.8) -----------------------------------------------------------
#
# Every function nova 14.0.0 decorates allow_async, with arguments that find the rows below, and
# a change on the primary that changes its answer.  Bound to a replica reader, it must give the
# answer from before the change while the standby's replay is paused: a statement it sent to the
# primary (a scope of its own, a fallback) would see the change.

B8_HOST = "b8-host"
B8_INSTANCE = "0b8b8b8b-0000-4000-8000-0000000000b8"
B8_MAC = "fa:16:3e:b8:00:01"
B8_T0 = datetime(2016, 10, 6, 12, 0, 0, 123456)
_T0 = f"'{B8_T0.isoformat(sep=' ')}'"

B8_ROWS = (
    'INSERT INTO services (host, "binary", topic, report_count, version, created_at) '
    f"VALUES ('{B8_HOST}', 'nova-compute', 'compute', 1, 15, {_T0})",
    "INSERT INTO compute_nodes (host, hypervisor_hostname, vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used, "
    "local_gb_used, hypervisor_type, hypervisor_version, cpu_info, created_at) "
    f"VALUES ('{B8_HOST}', 'b8-node', 8, 4096, 100, 1, 512, 1, 'QEMU', 2005000, '{{}}', {_T0})",
    "INSERT INTO virtual_interfaces (address, uuid, instance_uuid, created_at) "
    f"VALUES ('{B8_MAC}', '1b8b8b8b-0000-4000-8000-0000000000b8', '{B8_INSTANCE}', {_T0})",
    "INSERT INTO block_device_mapping (instance_uuid, device_name, source_type, destination_type, boot_index, "
    f"volume_size, created_at) VALUES ('{B8_INSTANCE}', '/dev/vda', 'image', 'local', 0, 1, {_T0})",
    "INSERT INTO migrations (source_compute, dest_compute, dest_host, status, instance_uuid, migration_type, "
    f"created_at, updated_at) VALUES ('b8-source', '{B8_HOST}', '{B8_HOST}', 'finished', '{B8_INSTANCE}', "
    f"'migration', {_T0}, {_T0})",
    "INSERT INTO bw_usage_cache (uuid, mac, start_period, last_refreshed, bw_in, bw_out, created_at) "
    f"VALUES ('{B8_INSTANCE}', '{B8_MAC}', {_T0}, {_T0}, 100, 200, {_T0})",
)


class UseSlave(NamedTuple):
    """How to call one B.8 function so that it finds rows, and SQL that changes its answer."""

    args: tuple[Any, ...]
    change: str
    kwargs: Mapping[str, Any] = MappingProxyType({})


_RENAME = f"UPDATE instances SET display_name = md5(random()::text) WHERE uuid = '{B8_INSTANCE}'"
_BW_IN = f"UPDATE bw_usage_cache SET bw_in = bw_in + 1 WHERE uuid = '{B8_INSTANCE}'"
_BDM = f"UPDATE block_device_mapping SET volume_size = volume_size + 1 WHERE instance_uuid = '{B8_INSTANCE}'"

USE_SLAVE = {  # spec B.8's allow_async list at nova 14.0.0, every one of which rawdb has
    "instance_get_by_uuid": UseSlave((B8_INSTANCE,), _RENAME),
    "instance_get_all_by_filters": UseSlave(({"host": B8_HOST},), _RENAME),
    "instance_get_all_by_filters_sort": UseSlave(({"host": B8_HOST},), _RENAME, {"sort_keys": ["display_name", "id"]}),
    "instance_get_active_by_window_joined": UseSlave((B8_T0,), _RENAME, {"host": B8_HOST}),
    "instance_get_all_by_host": UseSlave((B8_HOST,), _RENAME),
    "service_get_minimum_version": UseSlave(
        (["nova-compute"],), f"UPDATE services SET version = version + 1 WHERE host = '{B8_HOST}'"
    ),
    "service_get_by_compute_host": UseSlave(
        (B8_HOST,), f"UPDATE services SET report_count = report_count + 1 WHERE host = '{B8_HOST}'"
    ),
    "compute_node_get_all_by_host": UseSlave(
        (B8_HOST,), f"UPDATE compute_nodes SET vcpus_used = vcpus_used + 1 WHERE host = '{B8_HOST}'"
    ),
    "virtual_interface_get_by_instance": UseSlave(
        (B8_INSTANCE,), f"UPDATE virtual_interfaces SET tag = md5(random()::text) WHERE instance_uuid = '{B8_INSTANCE}'"
    ),
    "block_device_mapping_get_all_by_instance": UseSlave((B8_INSTANCE,), _BDM),
    "block_device_mapping_get_all_by_instance_uuids": UseSlave(([B8_INSTANCE],), _BDM),
    "migration_get_unconfirmed_by_dest_compute": UseSlave(
        (3600, B8_HOST), f"UPDATE migrations SET dest_node = md5(random()::text) WHERE dest_compute = '{B8_HOST}'"
    ),
    "bw_usage_get": UseSlave((B8_INSTANCE, B8_T0, B8_MAC), _BW_IN),
    "bw_usage_get_by_uuids": UseSlave(([B8_INSTANCE], B8_T0), _BW_IN),
}


@pytest.fixture(scope="module")
def use_slave_rows(pair: pgstandby.Pair) -> None:
    """Nova's schema on the primary with one host's rows for every B.8 function (replayed later)."""

    async def seed() -> None:
        async with rawdb.connect(pair.primary.url) as db:
            await schema.bootstrap(db, "nova")
            await make_instance(
                db,
                uuid=B8_INSTANCE,
                host=B8_HOST,
                node="b8-node",
                display_name="b8",
                created_at=B8_T0,
                launched_at=B8_T0,
            )
            for sql in B8_ROWS:
                await execute(db, sql)

    asyncio.run(seed())


@pytest.mark.parametrize("name", list(USE_SLAVE))
async def test_nova_use_slave_reads_bound_to_a_replica_reader_are_served_by_the_standby(
    pair: pgstandby.Pair, use_slave_rows: None, name: str
) -> None:
    function, case = getattr(nova, name), USE_SLAVE[name]
    # synchronous_commit: the change reaches the standby at once when its replay resumes
    async with rawdb.connect(
        pair.primary.url, replicas=[pair.standby.url], server_settings={"synchronous_commit": "on"}
    ) as db:
        admin = rawdb.Context(db, is_admin=True)

        async def answer(replica: bool) -> Any:
            async with admin.reader(replica=replica) as rx:
                assert await rx.fetchval(IN_RECOVERY) is replica
                return await function(rx, *case.args, **case.kwargs)

        before = await answer(replica=False)
        assert before  # rows found: an answer to tell apart

        async def replayed() -> bool:
            try:
                return bool(await answer(replica=True) == before)
            except errors.RawdbError:  # not replayed yet (the schema, or the rows)
                return False

        assert await _until(replayed, within=10), "the rows never reached the standby"
        await _standby_sql(pair, "SELECT pg_wal_replay_pause()")
        try:
            assert await _until(lambda: _replay_paused(pair), within=10), "the standby's replay never paused"
            await execute(db, case.change)
            assert await answer(replica=False) != before  # the primary has the change
            assert await answer(replica=True) == before  # the standby has not replayed it
        finally:
            await _standby_sql(pair, "SELECT pg_wal_replay_resume()")


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
