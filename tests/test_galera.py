"""The core on a real three-node Galera cluster: conflicts across nodes, and what rawdb does with them.

On Galera a row lock taken on one node means nothing to the others: two nodes' transactions
that write one row both run, and the later one to commit fails certification (1213), or is
aborted by the applier of the earlier one.  rawdb reports either as DBDeadlock, and
``retry_on_deadlock`` / ``@writer(retry=True)`` re-run the whole scope.  The quota engine,
nova's allocations and security groups are tested across nodes in their own modules
(``GALERA = True``, or ``node_databases``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import galera
import pytest
from sqltools import OpenDb, stmt

import rawdb
from rawdb import errors

pytestmark = pytest.mark.parametrize("backend", ["galera"], indirect=True)

TABLE = "CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, note VARCHAR(40))"
READ = stmt("SELECT n, note FROM counters WHERE id = 1")
BUMP = stmt("UPDATE counters SET n = n + :by WHERE id = 1")
NOTE = stmt("UPDATE counters SET note = :note WHERE id = 1")


async def nodes(url: str, open_db: OpenDb, **options: Any) -> list[rawdb.Database]:
    """The test's database through each node (causal: wsrep_sync_wait 15), with a counters table of one row, n = 0."""
    dbs = [await open_db(u, server_settings={"wsrep_sync_wait": 15}, **options) for u in galera.spread(url)]
    async with dbs[0].writer() as tx:
        await tx.script(TABLE)
        await tx.execute(stmt("INSERT INTO counters (id, n) VALUES (1, 0)"))
    return dbs


async def read(db: rawdb.Database) -> dict[str, Any]:
    async with db.reader() as rx:
        return dict((await rx.fetch(READ))[0])


async def test_a_node_knows_it_is_on_galera_and_a_single_server_does_not(
    url: str, mysql_url: str, open_db: OpenDb
) -> None:
    assert (await open_db(url)).backend.galera is True
    assert (await open_db(mysql_url)).backend.galera is False


async def test_a_write_that_loses_certification_is_a_dbdeadlock_and_keeps_nothing(url: str, open_db: OpenDb) -> None:
    first, second, _ = await nodes(url, open_db)
    with pytest.raises(errors.DBDeadlock):
        async with second.writer() as tx:
            await tx.execute(BUMP, by=10)
            await tx.execute(NOTE, note="second")
            async with first.writer() as other:  # the other node commits the same row first
                await other.execute(BUMP, by=1)
            await tx.execute(NOTE, note="second, again")  # aborted by the applier, or at COMMIT
    assert await read(first) == {"n": 1, "note": None}
    assert await read(second) == {"n": 1, "note": None}
    assert second.stats()["errors"] == {"DBDeadlock": 1}


async def test_retry_on_deadlock_runs_the_whole_scope_again_through_the_same_node(url: str, open_db: OpenDb) -> None:
    first, second, _ = await nodes(url, open_db)
    attempts = 0

    @rawdb.writer(retry=True)
    async def bump_and_note(ctx: rawdb.Context) -> int:
        nonlocal attempts
        attempts += 1
        await ctx.execute(BUMP, by=10)
        if attempts == 1:  # another node writes the row while this attempt holds it
            async with first.writer() as other:
                await other.execute(BUMP, by=1)
        await ctx.execute(NOTE, note=f"attempt {attempts}")
        return attempts

    assert await bump_and_note(rawdb.Context(second)) == 2
    assert await read(first) == {"n": 11, "note": "attempt 2"}  # one of ours, one of theirs
    assert second.stats()["retries"] == 1


async def test_concurrent_increments_through_three_nodes_lose_none(url: str, open_db: OpenDb) -> None:
    dbs = await nodes(url, open_db, deadlock_retries=50)

    @rawdb.writer(retry=True)
    async def bump(ctx: rawdb.Context) -> None:
        await ctx.execute(BUMP, by=1)
        await asyncio.sleep(0.001)  # hold the row a moment: the nodes' writes overlap

    await asyncio.gather(*(bump(rawdb.Context(dbs[n % 3])) for n in range(30)))
    assert [(await read(db))["n"] for db in dbs] == [30, 30, 30]
    assert sum(db.stats()["retries"] for db in dbs) > 0  # they did conflict, and were retried


async def test_the_scale_scenario_measures_one_two_and_three_nodes_and_the_books_balance(
    url: str, open_db: OpenDb
) -> None:
    from rawdb.bench.nova_seed import MIN_INSTANCES
    from rawdb.bench.scale import scale_scenarios

    nodes = galera.spread(url)
    run = await scale_scenarios(
        await open_db(nodes[0]), nodes[1:], instances=MIN_INSTANCES, callers=6, seconds=0.3, rounds=1, say=print
    )
    assert run.problems == []
    names = [(f.scenario, f.unit, f.info["nodes"]) for f in run.figures]
    assert names == [
        (f"scale_{case}_{k}n", unit, k)
        for k in (1, 2, 3)
        for case, unit in (("listing", "calls/s"), ("quota", "pairs/s"))
    ]
    assert all(len(f.samples) == 1 and f.samples[0] > 0 for f in run.figures)


async def test_a_nova_reservation_fences_its_project_and_resources_on_galera_only(
    url: str, mysql_url: str, open_db: OpenDb
) -> None:
    from rawdb import schema
    from rawdb.nova import sync
    from rawdb.quota import NOVA, QuotaEngine

    engine = QuotaEngine(NOVA, sync.resources(), sync.DEFAULTS)
    fences = stmt("SELECT project_id, resource, generation FROM rawdb_quota_fences ORDER BY resource")
    written = []
    for where in (url, mysql_url):
        db = await open_db(where)
        await schema.bootstrap(db, "nova")
        for user in ("alice", "bob"):
            await engine.reserve(rawdb.Context(db, project_id="p1", user_id=user), instances=1, cores=2)
        async with db.reader() as rx:
            written.append([dict(row) for row in await rx.fetch(fences)])
    assert written == [
        [
            {"project_id": "p1", "resource": "cores", "generation": 2},
            {"project_id": "p1", "resource": "instances", "generation": 2},
        ],
        [],  # one server: the usage rows' locks serialise the check
    ]
