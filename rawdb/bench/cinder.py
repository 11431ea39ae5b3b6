"""The cinder scenarios: volume listings, get, the scheduler's sorted services and iSCSI target allocation.

    run = await cinder_scenarios(main_db, [100_000], cases, targets=..., rounds=3, calls=30, callers=(1, 8, 32))

The volume dataset (``rawdb.bench.cinder_seed``) lives in a database of its own next to
``--url`` (``cinder_url``): the quota scenarios bootstrap cinder's schema in the ``--url``
database itself and keep their own volume types and usages there.

Cases:

- ``c_volumes_by_project``: ``volume_get_all_by_project`` of the project of 1,000 volumes
  (its live ones, with metadata and volume type), as that project's user; latency;
- ``c_volume_get``: ``volume_get`` of one of its volumes; latency;
- ``c_volume_sorted``: ``service_get_all_volume_sorted`` (admin) over the 100 hosts and the
  live volumes; latency;
- ``c_iscsi_alloc_xN``: ``volume_allocate_iscsi_target`` on one host by N concurrent callers
  for ``seconds``; allocations per second.  The pool is freed before each run and checked
  after it: no target handed out twice, and exactly the targets handed out are taken.

Targets: ``rawdb`` (``rawdb.cinder.api``), ``driver`` (the statements rawdb sent, replayed
on a bare driver connection, ``rawdb.bench.driver``; an allocation only where it is one
statement: MariaDB's reads a row, then claims the row it read, and a replay would claim the
captured row again) and ``openstack`` for ``c_volumes_by_project`` and ``c_volume_get``:
cinder 29's ``cinder.db.api`` in this process (``rawdb.bench.peers.cinder_volumes``, its calls
in a thread) on a database of cinder's own schema next to rawdb's (``cinder29_url``), synced by
cinder's ``db_sync`` and seeded with the same rows (``seed_cinder29``).  Its results and
rawdb's are compared in ``compared``'s shape; a disagreement is a problem.  The peer is closed
before ``cinder_scenarios`` returns, so the quota scenarios (run after it) can open theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import rawdb
from rawdb import errors
from rawdb.bench.cinder_seed import (
    HOT_PROJECT,
    POOL_HOST,
    CinderDataset,
    reset_targets,
    seed_cinder,
    seed_cinder29,
)
from rawdb.bench.driver import Driver, Step, steps
from rawdb.bench.measure import Figure, time_async, time_sync
from rawdb.bench.nova import NovaRun, ensure_database
from rawdb.bench.places import beside
from rawdb.cinder import api
from rawdb.database import Database
from rawdb.statement import Statement

__all__ = [
    "CinderRun",
    "cinder29_url",
    "cinder_scenarios",
    "cinder_url",
    "compared",
    "run_cinder",
    "run_iscsi",
    "shape",
]

CinderRun = NovaRun  # figures, results, problems, datasets, notes
LATENCY = ("c_volumes_by_project", "c_volume_get", "c_volume_sorted")
ALLOC = "c_iscsi_alloc"
PEER_CASES = ("c_volumes_by_project", "c_volume_get")  # the cases cinder 29 still has


def cinder_url(url: str) -> str:
    """The URL of the cinder benchmark's database next to the one at ``url``.

    ``places.beside(url, "cinder")``: PostgreSQL: the schema ``<search_path>_cinder`` (or
    ``rawdb_bench_cinder``) of the same database, a database of its own through PgBouncer;
    MySQL/MariaDB: the database ``<db>_cinder``; SQLite: the file ``<name>.cinder<suffix>``
    beside it.

    :raises ValueError: a name that would not make an identifier, or an in-memory SQLite database
    """
    return beside(url, "cinder")


def cinder29_url(url: str) -> str:
    """The URL of cinder 29's database next to the one at ``url`` (``_cinder29`` / ``.cinder29``,
    named as ``cinder_url`` names rawdb's)."""
    return beside(url, "cinder29")


# --- the latency cases ----------------------------------------------------------------------------


def _contexts(db: Database) -> tuple[rawdb.Context, rawdb.Context]:
    user = rawdb.Context(db, project_id=HOT_PROJECT, user_id="bench-user")
    admin = rawdb.Context(db, project_id="admin-proj", user_id="admin-user", is_admin=True)
    return user, admin


def rawdb_call(db: Database, case: str, dataset: CinderDataset) -> Callable[[], Awaitable[Any]]:
    user, admin = _contexts(db)
    if case == "c_volumes_by_project":
        return lambda: api.volume_get_all_by_project(user, HOT_PROJECT)
    if case == "c_volume_get":
        return lambda: api.volume_get(user, dataset.get_volume)
    if case == "c_volume_sorted":
        return lambda: api.service_get_all_volume_sorted(admin)
    raise ValueError(f"no cinder latency case {case!r}")


def _volume(volume: dict[str, Any]) -> list[Any]:
    keys = ("id", "project_id", "host", "size", "status", "attach_status", "instance_uuid", "mountpoint")
    kind = volume["volume_type"]
    return [
        *(volume[k] for k in keys),
        volume["display_name"],
        str(volume["created_at"]),
        bool(volume["deleted"]),
        None if kind is None else kind["name"],
        [[m["key"], m["value"]] for m in volume["volume_metadata"]],
    ]


def shape(case: str, result: Any) -> Any:
    """A case's result in one comparable form (the digests of ``--check``)."""
    if case == "c_volumes_by_project":
        return [_volume(v) for v in result]
    if case == "c_volume_get":
        return _volume(result)
    if case == "c_volume_sorted":
        return [[s["id"], s["host"], bool(s["disabled"]), gigabytes] for s, gigabytes in result]
    raise ValueError(f"no cinder case {case!r}")


def _compared_volume(volume: dict[str, Any]) -> list[Any]:
    kind = volume["volume_type"]
    metadata = sorted([m["key"], m["value"]] for m in volume["volume_metadata"])
    keys = ("id", "size", "status", "project_id", "host")
    return [*(volume[k] for k in keys), metadata, None if kind is None else kind["name"]]


def compared(case: str, result: Any) -> Any:
    """rawdb's or cinder 29's result (``CinderVolumesPeer.plain``) in the shape they are compared in:
    per volume its id (in the listing's order), size, status, project, host, live metadata as
    sorted ``[key, value]`` pairs and live type's name."""
    if case == "c_volumes_by_project":
        return [_compared_volume(v) for v in result]
    if case == "c_volume_get":
        return _compared_volume(result)
    raise ValueError(f"cinder {case!r} is not compared with cinder 29")


def _difference(ours: Any, theirs: Any) -> str:
    if isinstance(ours, list) and isinstance(theirs, list) and ours and isinstance(ours[0], list):
        if len(ours) != len(theirs):
            return f"rawdb returned {len(ours)} volumes, cinder {len(theirs)}"
        for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            if a != b:
                return f"volume {k}: rawdb {a!r}, cinder {b!r}"
    return f"rawdb {ours!r}, cinder {theirs!r}"[:1000]


def _replayed_keys(case: str, replayed: list[list[dict[str, Any]]]) -> list[Any]:
    """What a replay returned, in the terms ``_expected_keys`` gives rawdb's result."""
    data = [rows for rows in replayed if rows]
    if not data:
        return []
    if case == "c_volume_sorted":
        return [row["host"] for row in data[0]]
    return [row["id"] for row in data[0]]


def _expected_keys(case: str, result: Any) -> list[Any]:
    if case == "c_volume_sorted":
        return [s["host"] for s, _ in result]
    if case == "c_volume_get":
        return [result["id"]]
    return [v["id"] for v in result]


async def _counted(db: Database, call: Callable[[], Awaitable[Any]]) -> tuple[Any, rawdb.StatementCounter]:
    counter = rawdb.StatementCounter(keep=True)
    with db.hooked(counter):
        result = await call()
    failed = [event.name for event in counter.events if event.error is not None]
    if failed:
        raise RuntimeError(f"rawdb's statements failed while captured: {failed}")
    return result, counter


async def run_cinder(
    db: Database,
    dataset: CinderDataset,
    cases: Sequence[str],
    *,
    targets: Sequence[str],
    rounds: int,
    calls: int,
    say: Callable[[str], None] = lambda text: None,
    peer: Any = None,
) -> tuple[list[Figure], dict[str, Any], list[str]]:
    """Time every latency case on rawdb, the driver replay and cinder 29, interleaved round by round.

    ``peer`` is an open ``CinderVolumesPeer`` on the seeded cinder 29 copy of ``dataset``, or None.
    Returns the figures, the shaped rawdb result of each case, and the problems found (a
    replay that does not return rawdb's rows, cinder 29 disagreeing with rawdb or failing).
    """
    figures: dict[tuple[str, str], Figure] = {}
    results: dict[str, Any] = {}
    problems: list[str] = []
    replays: dict[str, Callable[[], Awaitable[Any]]] = {}
    theirs: dict[str, Callable[[], Any]] = {}
    driver = await Driver.open(db, read_only=True) if "driver" in targets else None
    try:
        for case in cases:
            say(f"cinder {case}: rawdb's statements")
            result, counter = await _counted(db, rawdb_call(db, case, dataset))
            results[case] = shape(case, result)
            figure = figures[case, "rawdb"] = Figure(case, "rawdb", "ms", statements=float(counter.total))
            figure.info["rows"] = 1 if case == "c_volume_get" else len(result)
            if driver is not None:
                plan = steps(counter.events)

                async def replay(plan: list[Step] = plan) -> list[list[dict[str, Any]]]:
                    return await driver.replay(plan)

                if _replayed_keys(case, await replay()) != _expected_keys(case, result):
                    problems.append(f"{case}: the replayed statements do not return rawdb's rows")
                replays[case] = replay
                figures[case, "driver"] = Figure(case, "driver", "ms", statements=float(counter.total))
            if peer is not None and case in PEER_CASES:
                say(f"cinder {case}: cinder 29's result")
                call = peer.caller(case, HOT_PROJECT, dataset.get_volume)
                peer.reset_counts()
                try:
                    found = peer.plain(case, await asyncio.to_thread(call))
                except Exception as exc:  # any failure of cinder's code is a problem of the run
                    problems.append(f"{case}: cinder 29 failed: {type(exc).__name__}: {exc}")
                    continue
                statements = float(peer.statements)
                figures[case, "openstack"] = Figure(case, "openstack", "ms", statements=statements)
                ours = compared(case, result)
                if compared(case, found) != ours:
                    problems.append(f"{case}: rawdb and cinder 29 disagree: {_difference(ours, compared(case, found))}")
                theirs[case] = call
        for round_ in range(rounds):
            for case in cases:
                say(f"cinder round {round_ + 1}/{rounds}: {case}")
                warm = min(5, max(1, calls // 3))
                figures[case, "rawdb"].samples += await time_async(rawdb_call(db, case, dataset), calls, warm)
                if case in replays:
                    figures[case, "driver"].samples += await time_async(replays[case], calls, warm)
                if case in theirs:
                    timed = await asyncio.to_thread(time_sync, theirs[case], calls, warm)
                    figures[case, "openstack"].samples += timed
    finally:
        if driver is not None:
            await driver.close()
    return list(figures.values()), results, problems


# --- iSCSI target allocation ----------------------------------------------------------------------

Allocate = Callable[[str], Awaitable[int | None]]  # volume id -> the target number, None: no target left

_TAKEN = Statement.portable(
    "bench.cinder.taken",
    f"SELECT target_num FROM iscsi_targets WHERE host = '{POOL_HOST}' AND volume_id IS NOT NULL",
    "The targets of the pool taken by the last run.",
)


def _rawdb_caller(db: Database) -> Allocate:
    _, admin = _contexts(db)

    async def allocate(volume: str) -> int | None:
        try:
            return await api.volume_allocate_iscsi_target(admin, volume, POOL_HOST)
        except errors.NoMoreTargets:
            return None

    return allocate


class _Replayer:
    """rawdb's captured statements of one allocation, replayed with another volume id."""

    def __init__(self, driver: Driver, plan: Sequence[Step], captured: str) -> None:
        self.driver, self.plan, self.captured = driver, list(plan), captured

    async def __call__(self, volume: str) -> int | None:
        plan = [Step(s.sql, tuple(volume if a == self.captured else a for a in s.args), s.session) for s in self.plan]
        for rows in reversed(await self.driver.replay(plan)):
            for row in rows:
                if "target_num" in row:
                    return int(row["target_num"])
        return None


def _data_statements(plan: Sequence[Step]) -> int:
    scope = ("BEGIN", "COMMIT", "ROLLBACK", "START TRANSACTION", "SET ")
    return sum(1 for step in plan if not step.sql.lstrip().upper().startswith(scope))


async def _loop(allocate: Allocate, volumes: Sequence[str], start: int, deadline: float, run: dict[str, Any]) -> None:
    k = start
    while time.monotonic() < deadline:
        number = await allocate(volumes[k % len(volumes)])
        k += 7919
        if number is None:
            run["gave_up"] += 1
            continue
        run["handed"].append(number)


async def _verify(db: Database, handed: list[int]) -> str | None:
    async with db.reader() as rx:
        taken = sorted(int(r["target_num"]) for r in await rx.fetch(_TAKEN))
    if len(set(handed)) != len(handed):
        return f"{len(handed) - len(set(handed))} targets handed out twice"
    if taken != sorted(handed):
        return f"{len(taken)} targets taken, {len(handed)} handed out"
    return None


async def run_iscsi(
    db: Database,
    dataset: CinderDataset,
    *,
    targets: Sequence[str],
    callers: Sequence[int],
    seconds: float,
    rounds: int,
    say: Callable[[str], None] = lambda text: None,
) -> tuple[list[Figure], list[str], list[str]]:
    """Allocations per second for every number of callers and target; problems; notes."""
    volumes = dataset.alloc_volumes()
    await reset_targets(db)
    counter = rawdb.StatementCounter(keep=True)
    with db.hooked(counter):
        await _rawdb_caller(db)(volumes[0])
    plan, statements = steps(counter.events), float(counter.total)
    await reset_targets(db)
    notes: list[str] = []
    replayable = _data_statements(plan) == 1
    if "driver" in targets and not replayable:
        notes.append(
            f"{ALLOC}: no driver replay on {db.dialect} (rawdb's claim reads a row, then updates the row it read:"
            " a replay of the captured statements would update the captured row again)"
        )
    figures: dict[tuple[str, int], Figure] = {}
    problems: list[str] = []
    for round_ in range(rounds):
        for n in callers:
            for target in targets:
                if target not in ("rawdb", "driver") or (target == "driver" and not replayable):
                    continue
                say(f"cinder round {round_ + 1}/{rounds}: {ALLOC} {target} x{n}")
                calls: list[Allocate] = []
                drivers: list[Driver] = []
                for _ in range(n):
                    if target == "rawdb":
                        calls.append(_rawdb_caller(db))
                    else:
                        drivers.append(await Driver.open(db, read_only=False))
                        calls.append(_Replayer(drivers[-1], plan, volumes[0]))
                run: dict[str, Any] = {"handed": [], "gave_up": 0}
                started = time.monotonic()
                deadline = started + seconds
                try:
                    await asyncio.gather(*(_loop(c, volumes, i, deadline, run) for i, c in enumerate(calls)))
                finally:
                    for driver in drivers:
                        await driver.close()
                elapsed = time.monotonic() - started
                name = f"{ALLOC}_x{n}"
                figure = figures.setdefault((target, n), Figure(name, target, "allocs/s", statements=statements))
                figure.samples.append(len(run["handed"]) / elapsed)
                figure.info["gave_up"] = figure.info.get("gave_up", 0) + run["gave_up"]
                problem = await _verify(db, run["handed"])
                if problem is not None:
                    problems.append(f"{name} ({target}): {problem}")
                await reset_targets(db)
    return list(figures.values()), problems, notes


# --- the scenarios, as the runner runs them ----------------------------------------------------------


async def cinder_scenarios(
    main_db: Database,
    sizes: Sequence[int],
    cases: Sequence[str],
    *,
    targets: Sequence[str],
    rounds: int,
    calls: int,
    callers: Sequence[int],
    seconds: float,
    say: Callable[[str], None] = lambda text: None,
) -> CinderRun:
    """Seed (or reuse) each size of the volume dataset next to ``main_db`` and run the cases on it."""
    run = CinderRun()
    url = cinder_url(main_db.url)
    await ensure_database(main_db, url)
    latency = [case for case in cases if case in LATENCY]
    async with contextlib.AsyncExitStack() as stack:
        db = await stack.enter_async_context(rawdb.connect(url))
        peer = peer_db = None
        if "openstack" in targets and any(case in PEER_CASES for case in latency):
            peer = await _open_peer(main_db, run, say)
        if peer is not None:
            stack.callback(peer.close)  # closed before returning: the quota scenarios open their own
            peer_db = await stack.enter_async_context(rawdb.connect(peer.url))
        for size in sizes:
            started = time.perf_counter()
            say(f"seeding the cinder dataset ({size} volumes)")
            dataset = await seed_cinder(db, size)
            run.datasets[dataset.fingerprint] = {
                "volumes": size,
                "url": db.url_safe,
                "reused": dataset.reused,
                "seconds": round(time.perf_counter() - started, 1),
            }
            if peer_db is not None:
                started = time.perf_counter()
                say(f"seeding cinder 29's copy of the cinder dataset ({size} volumes)")
                copy = await seed_cinder29(peer_db, size)
                run.datasets[dataset.fingerprint] |= {
                    "peer_url": peer_db.url_safe,
                    "peer_reused": copy.reused,
                    "peer_seconds": round(time.perf_counter() - started, 1),
                }
            figures, results, problems = await run_cinder(
                db, dataset, latency, targets=targets, rounds=rounds, calls=calls, say=say, peer=peer
            )
            if ALLOC in cases:
                allocated, alloc_problems, notes = await run_iscsi(
                    db, dataset, targets=targets, callers=callers, seconds=seconds, rounds=rounds, say=say
                )
                figures += allocated
                problems += alloc_problems
                run.notes += [note for note in notes if note not in run.notes]
            for figure in figures:
                figure.info["volumes"] = size
            run.figures += figures
            if results:
                run.results[dataset.fingerprint] = results
            run.problems += [f"{problem} ({size} volumes)" for problem in problems]
    return run


async def _open_peer(main_db: Database, run: CinderRun, say: Callable[[str], None]) -> Any:
    """cinder 29 on its own database next to ``main_db``'s, its schema synced; None (with a note)
    when it cannot run."""
    from rawdb.bench.peers import cinder_volumes

    url = cinder29_url(main_db.url)
    reason = cinder_volumes.available(url)
    if reason is not None:
        run.notes.append(f"openstack cinder target skipped for the cinder cases: {reason}")
        return None
    await ensure_database(main_db, url)
    peer = await asyncio.to_thread(cinder_volumes.CinderVolumesPeer, url)
    try:
        say(f"cinder {cinder_volumes.CINDER_VERSION}'s schema (db_sync)")
        seconds = await asyncio.to_thread(peer.sync)
    except BaseException:
        peer.close()
        raise
    run.notes.append(f"cinder {cinder_volumes.CINDER_VERSION}'s schema by its db_sync in {seconds:.1f} s")
    return peer
