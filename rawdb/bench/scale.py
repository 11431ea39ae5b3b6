"""The scale scenario: nova's instance listing and the quota engine served by 1, 2, … database nodes.

    run = await scale_scenarios(main_db, ["mysql://n1/bench", "mysql://n2/bench", "mysql://n3/bench"],
                                instances=10_000, callers=32, seconds=5, rounds=3, say=print)

``nodes`` are URLs of one database on each node of a cluster, ``--url``'s own node first: the
nodes of a MariaDB Galera cluster (every node takes reads and writes), or a PostgreSQL
primary and its hot standbys (reads only).  For k = 1, 2, … nodes, the same number of
callers (``callers``, fixed, so that the offered load is the same) is spread over the first k
nodes, each node with a pool of its own, and each caller repeats the call for ``seconds``:

- ``scale_listing_<k>n``: ``instance_get_all_by_filters_sort`` as nova's API lists a user's
  own project (the ``n_user_project_1000`` case) on the nova dataset, in calls per second;
- ``scale_quota_<k>n`` (Galera only: a standby takes no writes): cinder's reserve + commit
  pairs per second on the quota dataset's ten spread projects, callers on every node; the
  books must balance after each run (in_use equal to the committed pairs), and the figure
  records the whole-scope retries the cluster's certification conflicts cost.

Everything runs in this one process, so on a small machine the client's CPU bounds the
figure as much as the nodes do; each figure records the share of a core the process used
(``client_cpu``: 1.0 is one core busy), which says whether the nodes or the client set the pace.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import rawdb
from rawdb import errors
from rawdb.bench.measure import Figure
from rawdb.bench.nova import ensure_database, nova_urls, rawdb_call
from rawdb.bench.nova_cases import CASES_BY_NAME, call_spec
from rawdb.bench.quota import (
    SPREAD,
    TEST_PROJECTS,
    _balanced,
    _merge,
    _pairs_async,
    _RawdbCaller,
    _state,
    _Tally,
    quota_engine,
    reset_quota,
    seed_quota,
)
from rawdb.database import Database, url_dialect

__all__ = ["LISTING", "SCENARIO", "ScaleRun", "check_nodes", "scale_scenarios"]

SCENARIO = "scale"
LISTING = "n_user_project_1000"


@dataclass(slots=True)
class ScaleRun:
    """What the scale scenario measured and found, for the runner's report."""

    figures: list[Figure] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)


def check_nodes(url: str, nodes: Sequence[str]) -> list[str]:
    """The nodes to run on, ``url`` first: URLs of ``url``'s database on other servers.

    :raises ValueError: a node of another backend or another database, or an embedded SQLite file
    """
    dialect = url_dialect(url)
    if dialect == "sqlite":
        raise ValueError("the scale scenario needs a server with other nodes (a Galera cluster or standbys)")
    database = urlsplit(url).path
    ordered = [url, *(node for node in nodes if node != url)]
    for node in ordered[1:]:
        if url_dialect(node) != dialect or urlsplit(node).path != database:
            raise ValueError(f"--nodes: {node} is not {dialect} database {database.lstrip('/')} on another node")
    return ordered


_INSTANCES = rawdb.Statement.portable(
    "bench.scale.instances", "SELECT count(*) AS n FROM instances", "The nova dataset's instances on one node."
)


async def _replicated(nodes: Sequence[str], instances: int, within: float = 120.0) -> list[str]:
    """Wait until every node holds the dataset's instances (a standby replays it a moment later)."""
    missing = []
    for node in nodes:
        async with rawdb.connect(nova_urls(node)[0]) as db:
            deadline = time.monotonic() + within
            while True:
                try:
                    async with db.reader() as rx:
                        if await rx.fetchval(_INSTANCES) == instances:
                            break
                except errors.RawdbError:
                    pass  # its tables are not there yet
                if time.monotonic() > deadline:
                    missing.append(f"scale: {db.url_safe} did not receive the nova dataset in {within:.0f} s")
                    break
                await asyncio.sleep(0.1)
    return missing


async def _open(urls: Sequence[str], pool_size: int, stack: contextlib.AsyncExitStack) -> list[Database]:
    options: dict[str, Any] = {"pool_size": pool_size, "acquire_timeout": 120}
    if url_dialect(urls[0]) == "mysql":
        # Callers on several nodes: conflicts abort instead of waiting, so retry more.
        options["deadlock_retries"] = 50
    return [await stack.enter_async_context(rawdb.connect(url, **options)) for url in urls]


async def _for(seconds: float, calls: Sequence[Callable[[], Awaitable[Any]]]) -> tuple[int, list[str]]:
    """Every call repeated for ``seconds`` by one task each; calls made, and the errors met."""
    deadline = time.perf_counter() + seconds
    done = [0] * len(calls)
    failures: list[str] = []

    async def repeat(i: int) -> None:
        while time.perf_counter() < deadline:
            try:
                await calls[i]()
            except errors.RawdbError as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                if len(failures) > 100:
                    return
            else:
                done[i] += 1

    await asyncio.gather(*(repeat(i) for i in range(len(calls))))
    return sum(done), failures


async def _listing(
    nodes: Sequence[str], k: int, spec: dict[str, Any], callers: int, seconds: float, rounds: int
) -> tuple[Figure, list[str]]:
    figure = Figure(f"scale_listing_{k}n", "rawdb", "calls/s", info={"nodes": k, "callers": callers})
    problems: list[str] = []
    async with contextlib.AsyncExitStack() as stack:
        dbs = await _open([nova_urls(node)[0] for node in nodes[:k]], callers // k + 2, stack)
        calls = [rawdb_call(dbs[i % k], spec) for i in range(callers)]
        await _for(min(1.0, seconds), calls)  # warm the pools and the caches
        cpu = wall = 0.0
        for _ in range(rounds):
            started, used = time.perf_counter(), time.process_time()
            done, failures = await _for(seconds, calls)
            elapsed = time.perf_counter() - started
            cpu, wall = cpu + time.process_time() - used, wall + elapsed
            figure.samples.append(done / elapsed)
            problems += [f"scale_listing_{k}n: {failure}" for failure in failures[:3]]
    figure.info["client_cpu"] = round(cpu / wall, 2)
    return figure, problems


async def _quota(
    main_db: Database, nodes: Sequence[str], k: int, callers: int, seconds: float, rounds: int
) -> tuple[Figure, list[str]]:
    figure = Figure(f"scale_quota_{k}n", "rawdb", "pairs/s", info={"nodes": k, "callers": callers})
    problems: list[str] = []
    engine = quota_engine()
    retries = 0
    cpu = wall = 0.0
    async with contextlib.AsyncExitStack() as stack:
        dbs = await _open(nodes[:k], callers // k + 4, stack)
        checker = await stack.enter_async_context(rawdb.connect(nodes[0], server_settings={"wsrep_sync_wait": 1}))
        for _ in range(rounds):
            await reset_quota(main_db)
            before = sum(db.stats()["retries"] for db in dbs)
            tallies = [_Tally() for _ in range(callers)]
            deadline = time.perf_counter() + seconds
            started, used = time.perf_counter(), time.process_time()
            await asyncio.gather(
                *(
                    _pairs_async(_RawdbCaller(engine, dbs[i % k]), SPREAD[i % len(SPREAD)], deadline, tallies[i])
                    for i in range(callers)
                )
            )
            elapsed = time.perf_counter() - started
            cpu, wall = cpu + time.process_time() - used, wall + elapsed
            total = _merge(tallies)
            figure.samples.append(total.pairs / elapsed)
            retries += sum(db.stats()["retries"] for db in dbs) - before
            if total.errors:
                problems.append(f"scale_quota_{k}n: {total.errors} failed pairs, the first {total.first_error}")
            if not _balanced(await _state(checker, TEST_PROJECTS), total.committed):
                problems.append(f"scale_quota_{k}n: the books do not balance after the run")
    figure.info |= {"retries": retries, "client_cpu": round(cpu / wall, 2)}
    return figure, problems


async def scale_scenarios(
    main_db: Database,
    nodes: Sequence[str],
    *,
    instances: int,
    callers: int,
    seconds: float,
    rounds: int,
    say: Callable[[str], None],
    seed_progress: Callable[[str, int, int], None] | None = None,
) -> ScaleRun:
    """Seed (or reuse) the nova and quota datasets through ``main_db`` and measure 1 … len(nodes) nodes."""
    from rawdb.bench.nova_load import load_nova
    from rawdb.bench.nova_seed import describe, nova_plan

    run = ScaleRun()
    nodes = check_nodes(main_db.url, nodes)
    rawdb_url = nova_urls(main_db.url)[0]
    await ensure_database(main_db, rawdb_url)
    plan = nova_plan(instances)
    dataset = describe(plan)
    async with rawdb.connect(rawdb_url) as nova_db:
        started = time.perf_counter()
        loaded = await load_nova(nova_db, plan, seed_progress)
        galera = nova_db.backend.galera
    run.datasets[dataset.fingerprint] = {
        "instances": instances,
        "reused": not loaded,
        "seconds": round(time.perf_counter() - started, 1),
        "nodes": len(nodes),
    }
    if galera:
        await seed_quota(main_db)
    else:
        run.notes.append("scale: quota pairs are measured on Galera only (a standby takes no writes)")
    run.problems += await _replicated(nodes[1:], dataset.counts["instances"])
    if run.problems:
        return run
    spec = call_spec(CASES_BY_NAME[LISTING], dataset)
    for k in range(1, len(nodes) + 1):
        say(f"scale: the instance listing through {k} node(s)")
        figure, problems = await _listing(nodes, k, spec, callers, seconds, rounds)
        figure.info["instances"] = instances
        run.figures.append(figure)
        run.problems += problems
        if galera:
            say(f"scale: quota pairs through {k} node(s)")
            figure, problems = await _quota(main_db, nodes, k, callers, seconds, rounds)
            run.figures.append(figure)
            run.problems += problems
    return run
