"""The nova scenarios: instance listings, get, compare-and-swap update and create, on three targets.

    rawdb_url, peer_url = nova_urls(url)   # nova's schema clashes with cinder's: a database of its own
    figures, found = await run_nova(db, peer_db, dataset, cases, targets=..., rounds=3, calls=30, peer=peer)

Targets: ``rawdb`` (``rawdb.nova.instances``), ``driver`` (the statements rawdb sent,
replayed on a bare driver connection, ``rawdb.bench.driver``) and ``openstack`` (nova 34's
``nova.db.main.api`` in a child process, ``rawdb.bench.peers.nova``, on a database of nova's
own schema holding the same rows).  Writes leave the dataset as it was: n_update_cas moves
its instances between two task states (each call expecting the other) and their
``task_state`` and ``updated_at`` are restored afterwards; n_create's instances carry
``CREATE_MARK`` and are deleted before and after the case.  The replay of a create gets a
fresh uuid each time; the replay of the update alternates the two captured statements on an
instance of its own.

Before timing, each case's rawdb result is shaped (``nova_cases.shape``) and kept (the runner
checks its digest), compared with nova's, and the replay is checked: a listing's or get's rows
must be rawdb's instances, an update must move its instance, a create must add one.
"""

from __future__ import annotations

import contextlib
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import rawdb
from rawdb.bench.driver import Driver, Step, steps
from rawdb.bench.measure import Figure, time_async
from rawdb.bench.nova_alloc import run_alloc
from rawdb.bench.nova_cases import (
    CAS_STATES,
    CREATE_MARK,
    NovaCase,
    call_spec,
    cas_values,
    difference,
    fresh,
    shape,
    warmup,
)
from rawdb.bench.nova_inventory import api_url, load_inventory
from rawdb.bench.nova_seed import NovaDataset
from rawdb.bench.places import beside, ensure
from rawdb.database import Database
from rawdb.nova import api as instances

__all__ = ["NovaRun", "ensure_database", "nova_scenarios", "nova_urls", "restore", "run_nova"]


def nova_urls(url: str) -> tuple[str, str]:
    """The URLs of rawdb's nova database and of nova 34's, next to the database at ``url``.

    ``places.beside(url, "nova")`` and ``(url, "nova34")``: on PostgreSQL the schemas
    ``<search_path>_nova`` / ``_nova34`` (or ``rawdb_bench_nova`` / ``rawdb_bench_nova34``),
    databases of their own through PgBouncer; MySQL/MariaDB: databases ``<db>_nova`` /
    ``<db>_nova34`` on the same server; SQLite: files ``<name>.nova<suffix>`` /
    ``<name>.nova34<suffix>`` beside it.

    :raises ValueError: a database or schema name that would not make an identifier, or an
        in-memory SQLite database
    """
    return beside(url, "nova"), beside(url, "nova34")


ensure_database = ensure  # the schema or database a nova_urls URL names


# --- keeping the dataset as it was ---------------------------------------------------------------

_RESET = rawdb.Statement.portable(
    "bench.nova.reset_cas",
    "UPDATE instances SET task_state = :task_state, updated_at = :updated_at WHERE uuid = :uuid",
    "Put an n_update_cas instance in a given task state, with a given updated_at.",
)
_MARKED = "(SELECT uuid FROM instances WHERE reservation_id = :mark)"
_CLEANUP = [
    rawdb.Statement.portable(f"bench.nova.cleanup_{table}", f"DELETE FROM {table} WHERE {column} IN {_MARKED}")
    for table, column in (
        ("instance_metadata", "instance_uuid"),
        ("instance_system_metadata", "instance_uuid"),
        ("instance_info_caches", "instance_uuid"),
        ("instance_extra", "instance_uuid"),
        ("security_group_instance_association", "instance_uuid"),
        ("instance_id_mappings", "uuid"),
        ("tags", "resource_id"),
        ("instance_faults", "instance_uuid"),
        ("instance_actions", "instance_uuid"),
    )
] + [rawdb.Statement.portable("bench.nova.cleanup_instances", "DELETE FROM instances WHERE reservation_id = :mark")]
_CREATED = rawdb.Statement.portable(
    "bench.nova.created", "SELECT COUNT(*) AS n FROM instances WHERE reservation_id = :mark", "n_create's instances."
)
_TASK_STATE = rawdb.Statement.portable(
    "bench.nova.task_state", "SELECT task_state FROM instances WHERE uuid = :uuid", "An instance's task state."
)


async def _reset_cas(db: Database, dataset: NovaDataset, task_state: str | None) -> None:
    async with db.writer() as tx:
        for uuid, updated in zip(dataset.cas_uuids, dataset.cas_updated, strict=True):
            await tx.execute(_RESET, uuid=uuid, task_state=task_state, updated_at=updated)


async def _cleanup_created(db: Database) -> None:
    async with db.writer() as tx:
        for statement in _CLEANUP:
            await tx.execute(statement, mark=CREATE_MARK)


async def restore(db: Database, dataset: NovaDataset) -> None:
    """Undo what the write cases did: seeded task state and updated_at, no created instance."""
    await _reset_cas(db, dataset, None)
    await _cleanup_created(db)


async def _prepare(db: Database | None, dataset: NovaDataset, case: NovaCase) -> None:
    """Put the database in the state the case starts from."""
    if db is None:
        return
    if case.kind == "update":
        await _reset_cas(db, dataset, CAS_STATES[0])
    elif case.kind == "create":
        await _cleanup_created(db)


# --- the rawdb target ------------------------------------------------------------------------------


def rawdb_call(db: Database, spec: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
    """The case as rawdb's public API runs it; an update alternates its two steps from CAS_STATES[0]."""
    ctx = rawdb.Context(db, project_id=spec["project_id"], user_id=spec["user_id"], is_admin=spec["admin"])
    kind = spec["kind"]
    if kind == "list":
        return lambda: instances.instance_get_all_by_filters_sort(
            ctx,
            fresh(spec["filters"]),
            limit=spec["limit"],
            marker=spec["marker"],
            sort_keys=list(spec["sort_keys"]),
            sort_dirs=list(spec["sort_dirs"]),
        )
    if kind == "get":
        return lambda: instances.instance_get_by_uuid(ctx, spec["uuid"])
    if kind == "inventory":
        function = getattr(instances, spec["function"])
        return lambda: function(ctx, **fresh(spec["arguments"]))
    if kind == "update":
        step = [0]

        def update() -> Awaitable[Any]:
            step[0] += 1
            return instances.instance_update(ctx, spec["uuid"], cas_values(step[0] - 1))

        return update
    return lambda: instances.instance_create(ctx, fresh(spec["values"]))


async def _counted(db: Database, call: Callable[[], Awaitable[Any]]) -> tuple[Any, rawdb.StatementCounter]:
    counter = rawdb.StatementCounter(keep=True)
    with db.hooked(counter):
        result = await call()
    failed = [event.name for event in counter.events if event.error is not None]
    if failed:
        raise RuntimeError(f"rawdb's statements failed while captured: {failed}")
    return result, counter


# --- the driver target -----------------------------------------------------------------------------


def _substitute(plan: Sequence[Step], old: str, new: str) -> list[Step]:
    def arg(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(old, new)
        if isinstance(value, list):
            return [arg(item) for item in value]
        return value

    return [Step(step.sql, tuple(arg(a) for a in step.args), step.session) for step in plan]


class _Replay:
    """What the driver target replays for one case: a fixed plan, two alternating ones, or a create."""

    def __init__(self, driver: Driver, plans: Sequence[Sequence[Step]], uuid: str | None = None) -> None:
        self.driver = driver
        self.plans = [list(plan) for plan in plans]
        self.uuid = uuid  # create: the captured instance's uuid, replaced by a fresh one each time
        self.calls = 0

    async def __call__(self) -> list[list[dict[str, Any]]]:
        plan = self.plans[self.calls % len(self.plans)]
        self.calls += 1
        if self.uuid is not None:
            plan = _substitute(plan, self.uuid, str(uuidlib.uuid4()))
        return await self.driver.replay(plan)


async def _capture_replay(
    db: Database, dataset: NovaDataset, case: NovaCase, spec: dict[str, Any], events: Sequence[Any], result: Any
) -> tuple[Callable[[Driver], _Replay], Callable[[Driver], Awaitable[str | None]]]:
    """The replay of the case and a check of it; an update is captured anew on the replay's own instance."""
    if case.kind == "update":
        own = dict(spec, uuid=dataset.cas_uuids[1])
        call = rawdb_call(db, own)
        plans = [steps((await _counted(db, call))[1].events) for _ in CAS_STATES]  # there and back
    else:
        plans = [steps(events)]
    expected = shape(case.kind, result, case.function)

    async def check(driver: Driver) -> str | None:
        replay = _Replay(driver, plans, result["uuid"] if case.kind == "create" else None)
        if case.kind == "inventory":
            replayed = await replay()
            return None if replayed and replayed[-1] else "the replayed statements returned no rows"
        if case.kind in ("list", "get"):
            rows = (await replay())[-1]
            want = [i["uuid"] for i in (expected if case.kind == "list" else [expected])]
            return None if [row["uuid"] for row in rows] == want else "the replayed rows are not rawdb's instances"
        if case.kind == "update":
            states = []
            for _ in CAS_STATES:
                await replay()
                async with db.reader() as tx:
                    states.append(await tx.fetchval(_TASK_STATE, uuid=dataset.cas_uuids[1]))
            return None if states == [*CAS_STATES[1:], CAS_STATES[0]] else f"the replayed updates left {states}"
        async with db.reader() as tx:
            before = await tx.fetchval(_CREATED, mark=CREATE_MARK)
        await replay()
        async with db.reader() as tx:
            after = await tx.fetchval(_CREATED, mark=CREATE_MARK)
        return None if after == before + 1 else "the replayed create did not add one instance"

    def replay_of(driver: Driver) -> _Replay:
        return _Replay(driver, plans, result["uuid"] if case.kind == "create" else None)

    return replay_of, check


# --- the run ----------------------------------------------------------------------------------------


async def run_nova(
    db: Database,
    dataset: NovaDataset,
    cases: Sequence[NovaCase],
    *,
    targets: Sequence[str],
    rounds: int,
    calls: int,
    peer: Any = None,
    peer_db: Database | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[Figure], dict[str, Any]]:
    """Time every case on every target, interleaved round by round.

    Returns the figures and, per case, the shaped rawdb result (``"results"``), disagreements
    between rawdb and nova (``"mismatches"``) and replays that do not do what rawdb did
    (``"replay"``).  ``peer`` is a started ``NovaPeer`` on ``peer_db``'s database, or None.
    """
    cases = [case for case in cases if case.kind != "alloc"]  # throughputs: run_alloc's
    figures: dict[tuple[str, str], Figure] = {}
    results: dict[str, Any] = {}
    mismatches: dict[str, str] = {}
    replay_problems: dict[str, str] = {}
    replays: dict[str, Callable[[], Awaitable[Any]]] = {}
    specs = {case.name: call_spec(case, dataset) for case in cases}
    say = progress or (lambda text: None)
    reader = await Driver.open(db, read_only=True) if "driver" in targets else None
    writer = await Driver.open(db, read_only=False) if "driver" in targets else None
    try:
        for case in cases:
            say(f"nova {case.name}: rawdb's statements")
            spec = specs[case.name]
            await _prepare(db, dataset, case)
            result, counter = await _counted(db, rawdb_call(db, spec))
            results[case.name] = shape(case.kind, result, case.function)
            figures[case.name, "rawdb"] = Figure(case.name, "rawdb", "ms", statements=float(counter.total))
            figures[case.name, "rawdb"].info["rows"] = len(result) if case.kind in ("list", "inventory") else 1
            if reader is not None and writer is not None:
                driver = reader if case.kind in ("list", "get", "inventory") else writer
                replay_of, check = await _capture_replay(db, dataset, case, spec, counter.events, result)
                problem = await check(driver)
                if problem is not None:
                    replay_problems[case.name] = problem
                replays[case.name] = replay_of(driver)
                figures[case.name, "driver"] = Figure(case.name, "driver", "ms", statements=float(counter.total))
            if peer is not None:
                say(f"nova {case.name}: nova 34's result")
                await _prepare(peer_db, dataset, case)
                try:
                    theirs, statements = await peer.call(spec)
                except RuntimeError as exc:
                    mismatches[case.name] = f"nova failed: {exc}"
                    continue
                figures[case.name, "openstack"] = Figure(case.name, "openstack", "ms", statements=float(statements))
                if theirs != _jsonable(results[case.name]):
                    mismatches[case.name] = difference(_jsonable(results[case.name]), theirs)
        timed = {}
        for case in cases:  # the write cases start over from their first state, on every target
            await _prepare(db, dataset, case)
            await _prepare(peer_db, dataset, case)
            timed[case.name] = rawdb_call(db, specs[case.name])  # one per case: an update's steps go on
        if peer is not None:
            await peer.restart()
        for round_ in range(rounds):
            for case in cases:
                say(f"nova round {round_ + 1}/{rounds}: {case.name}")
                n = max(min(calls, 3), calls // 10) if case.limit and case.limit >= 1000 else calls
                figures[case.name, "rawdb"].samples += await time_async(timed[case.name], n, warmup(n))
                if case.name in replays:
                    figures[case.name, "driver"].samples += await time_async(replays[case.name], n, warmup(n))
                if (case.name, "openstack") in figures:
                    figures[case.name, "openstack"].samples += await peer.time(specs[case.name], n)
    finally:
        for opened in (reader, writer):
            if opened is not None:
                await opened.close()
        await restore(db, dataset)
        if peer_db is not None:
            await restore(peer_db, dataset)
    return list(figures.values()), {"results": results, "mismatches": mismatches, "replay": replay_problems}


def _jsonable(value: Any) -> Any:
    """A shaped result as it comes back through JSON (tuples as lists)."""
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


# --- the scenarios, as the runner runs them ----------------------------------------------------------


@dataclass(slots=True)
class NovaRun:
    """What the nova scenarios measured and found, for the runner's report."""

    figures: list[Figure] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # fingerprint -> case -> shaped
    problems: list[str] = field(default_factory=list)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


async def start_peer(main_db: Database, url: str, run: NovaRun, scenario: str = "nova") -> Any:
    """nova 34 on the database ``url`` (created if missing), its schema made by nova's db_sync;
    None (with a note) when it cannot run."""
    from rawdb.bench.peers import nova as nova_peer

    reason = nova_peer.available(url)
    if reason is not None:
        run.notes.append(f"openstack {scenario} target skipped: {reason}")
        return None
    await ensure_database(main_db, url)
    try:
        peer = await nova_peer.NovaPeer.start(url)
    except RuntimeError as exc:
        run.notes.append(f"openstack {scenario} target skipped: {exc}")
        return None
    try:
        seconds = await peer.sync()
    except BaseException:
        await peer.close()
        raise
    label = "" if scenario == "nova" else f"{scenario}: "
    run.notes.append(f"{label}nova {nova_peer.NOVA_VERSION}'s schema by its db_sync in {seconds:.1f} s")
    return peer


async def _start_peer(main_db: Database, url: str, run: NovaRun) -> Any:
    """nova 34 on its main and API databases next to ``url``, both synced; None (with a note) when it cannot run."""
    from rawdb.bench.peers import nova as nova_peer

    peer = await start_peer(main_db, url, run)
    if peer is None:
        return None
    try:
        await ensure_database(main_db, api_url(url))
        seconds = await peer.sync_api(api_url(url))
        run.notes.append(f"nova {nova_peer.NOVA_VERSION}'s API database by its db_sync in {seconds:.1f} s")
    except BaseException:
        await peer.close()
        raise
    return peer


async def nova_scenarios(
    main_db: Database,
    sizes: Sequence[int],
    cases: Sequence[NovaCase],
    *,
    targets: Sequence[str],
    rounds: int,
    calls: int,
    say: Callable[[str], None],
    seed_progress: Callable[[str, int, int], None] | None = None,
    callers: Sequence[int] = (1, 8, 32),
    seconds: float = 5.0,
) -> NovaRun:
    """Seed (or reuse) each size of the nova dataset next to ``main_db`` and run the cases on it."""
    from rawdb.bench.nova_load import load_nova
    from rawdb.bench.nova_seed import describe, nova_plan

    run = NovaRun()
    rawdb_url, peer_url = nova_urls(main_db.url)
    await ensure_database(main_db, rawdb_url)
    async with contextlib.AsyncExitStack() as stack:
        db = await stack.enter_async_context(rawdb.connect(rawdb_url))
        peer = await _start_peer(main_db, peer_url, run) if "openstack" in targets else None
        peer_db = api_db = None
        if peer is not None:
            stack.push_async_callback(peer.close)
            peer_db = await stack.enter_async_context(rawdb.connect(peer_url))
            api_db = await stack.enter_async_context(rawdb.connect(api_url(peer_url)))
        inventory = any(case.kind == "inventory" for case in cases)
        allocations = [case.name for case in cases if case.kind == "alloc"]
        for size in sizes:
            plan = nova_plan(size)
            dataset = describe(plan)
            started = time.perf_counter()
            loaded = await load_nova(db, plan, seed_progress)
            info: dict[str, Any] = {
                "instances": size,
                "url": db.url_safe,
                "reused": not loaded,
                "seconds": round(time.perf_counter() - started, 1),
                "counts": dataset.counts,
            }
            if peer_db is not None:
                started = time.perf_counter()
                loaded = await load_nova(peer_db, plan, seed_progress, name="nova34", bootstrap=False)
                info |= {
                    "peer_url": peer_db.url_safe,
                    "peer_reused": not loaded,
                    "peer_seconds": round(time.perf_counter() - started, 1),
                }
            if inventory:
                await load_inventory(db, dataset.probe_project)
                if peer_db is not None:
                    await load_inventory(peer_db, dataset.probe_project, api=api_db)
            run.datasets[dataset.fingerprint] = info
            figures, found = await run_nova(
                db,
                dataset,
                cases,
                targets=[t for t in targets if t in ("rawdb", "driver")],
                rounds=rounds,
                calls=calls,
                peer=peer,
                peer_db=peer_db,
                progress=say,
            )
            if allocations:
                allocated, problems, notes = await run_alloc(
                    db,
                    allocations,
                    plan.uuids,
                    targets=[t for t in targets if t in ("rawdb", "driver", "limit")],
                    callers=callers,
                    seconds=seconds,
                    rounds=rounds,
                    say=say,
                )
                figures += allocated
                run.problems += [f"{problem} ({size} instances)" for problem in problems]
                run.notes += [note for note in notes if note not in run.notes]
            for figure in figures:
                figure.info["instances"] = size
            run.figures += figures
            run.results[dataset.fingerprint] = found["results"]
            disagree = found["mismatches"].items()
            run.problems += [f"{case} ({size} instances): rawdb and nova disagree: {why}" for case, why in disagree]
            run.problems += [f"{case} ({size} instances): {why}" for case, why in found["replay"].items()]
    return run
