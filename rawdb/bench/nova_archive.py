"""The nova_archive scenario: nova-manage's archive of soft-deleted instances, rawdb's and nova 34's.

    rawdb_url, peer_url = archive_urls(url)   # databases of their own: the run consumes the dataset
    run = await archive_scenarios(main_db, [20_000, 200_000], targets=["rawdb", "openstack"], say=print)
    print(archive_table(run.figures))

At each size the dataset of ``rawdb.bench.nova_archive_seed`` is loaded afresh and archived
the way each project's tool runs ``db archive --max-rows 1000 --until-complete``.  Targets:

- ``rawdb``: what ``rawdb db archive`` runs, ``rawdb.nova.archive.archive_deleted_rows(max_rows=None,
  batch=1000)`` (every row in transactions of at most 1000 rows) until a call moves nothing,
  on rawdb's nova schema;
- ``openstack``: what ``nova-manage`` runs, nova 34's ``nova.db.main.api.archive_deleted_rows(max_rows=1000)``
  until a call moves nothing, on a database its own
  db sync made, holding the same rows, in the child process of ``rawdb.bench.peers.nova``
  (nova-manage's clean-up of the API database's instance mappings and request specs after
  each call is left out: it has no counterpart here), at sizes up to ``PEER_MAX`` (``--archive-peer-max``).

Each figure is rows moved per second (every row a call reports, children included) and
carries the seconds, calls, statements, the longest transaction (rawdb: from its BEGIN's
start to its COMMIT's end, taken from the statement hook; nova: SQLAlchemy's begin to
commit, a proxy for the longest time a lock is held) and the peak RSS of the process during
the run (the high-water mark is reset first; ``rss_growth_mb`` is the peak over the RSS at
the start).  After each run the shadow tables must hold exactly the rows the dataset says
and the live tables no soft-deleted row; rawdb's and nova's shadow counts must agree.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rawdb
from rawdb import schema
from rawdb.bench.measure import Figure
from rawdb.bench.nova import NovaRun, ensure_database, start_peer
from rawdb.bench.nova_archive_seed import TABLES, counts, expected_shadow, live, load_archive
from rawdb.bench.options import ARCHIVE_PEER_MAX
from rawdb.bench.places import beside
from rawdb.database import Database, url_dialect
from rawdb.observe import StatementEvent

__all__ = [
    "BATCH",
    "PEER_MAX",
    "PG_LOCKED_BY_CAST",
    "SCENARIO",
    "ArchiveRun",
    "archive_scenarios",
    "archive_table",
    "archive_until_complete",
    "archive_urls",
    "check_archived",
    "rawdb_archive",
    "shadow_counts",
]

SCENARIO = "nova_archive"
BATCH = 1000  # max_rows per call, as nova-manage is usually run
PEER_MAX = ARCHIVE_PEER_MAX  # nova 34 moves a few hundred rows a second: larger sizes are rawdb's alone
# nova 34's db_sync gives instances.locked_by and shadow_instances.locked_by two distinct enum
# types on PostgreSQL, and its INSERT INTO shadow_instances … SELECT … FROM instances fails
# ("column locked_by is of type shadow_instances0locked_by but expression is of type
# instances0locked_by"): this cast lets the value through, changing nothing else.
PG_LOCKED_BY_CAST = """DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_cast WHERE castsource = 'instances0locked_by'::regtype
                   AND casttarget = 'shadow_instances0locked_by'::regtype) THEN
        CREATE CAST (instances0locked_by AS shadow_instances0locked_by) WITH INOUT AS ASSIGNMENT;
    END IF;
END $$"""
_TAILS = ("novaarc", "novaarc34")


def archive_urls(url: str) -> tuple[str, str]:
    """The URLs of rawdb's and nova 34's archive databases next to the database at ``url``.

    ``places.beside(url, "novaarc")`` and ``(url, "novaarc34")``: PostgreSQL: schemas
    ``<search_path>_novaarc`` / ``_novaarc34`` (or ``rawdb_bench_…``) of the same database,
    databases of their own through PgBouncer; MySQL/MariaDB: databases ``<db>_novaarc`` /
    ``<db>_novaarc34``; SQLite: files ``<name>.novaarc<suffix>`` / ``<name>.novaarc34<suffix>``
    beside it.

    :raises ValueError: a name that would not make an identifier, or an in-memory SQLite database
    """
    rawdb_url, peer_url = (beside(url, tail) for tail in _TAILS)
    return rawdb_url, peer_url


# --- measuring ------------------------------------------------------------------------------------


def _memory() -> tuple[float, float]:
    """(RSS, peak RSS) of this process in MB; NaN where /proc does not say."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return float("nan"), float("nan")
    found = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M))
    return int(found.get("VmRSS", 0)) / 1024, int(found.get("VmHWM", 0)) / 1024


def _reset_peak() -> float:
    """Reset this process's peak RSS to its RSS (Linux: clear_refs 5); the RSS in MB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _memory()[0]


class _Batches:
    """A statement hook: how long the longest transaction scope lasted, from its first round
    trip's start to its last one's end (BEGIN to COMMIT), without keeping the events."""

    def __init__(self) -> None:
        self.scope: int | None = None
        self.began = self.ended = 0.0
        self.longest_ms = 0.0
        self.scopes = 0
        self.statements = 0

    def __call__(self, event: StatementEvent) -> None:
        now = time.perf_counter()
        self.statements += 1
        if event.scope != self.scope:
            self._close()
            self.scope, self.began, self.scopes = event.scope, now - event.elapsed_ms / 1000, self.scopes + 1
        self.ended = now

    def _close(self) -> None:
        if self.scope is not None:
            self.longest_ms = max(self.longest_ms, (self.ended - self.began) * 1000)

    def finish(self) -> float:
        self._close()
        self.scope = None
        return self.longest_ms


@dataclass(slots=True)
class ArchiveRun:
    """One archive until complete: what moved and what it cost."""

    seconds: float
    tables: dict[str, int]
    calls: int
    statements: int
    longest_ms: float
    rss_mb: float
    peak_rss_mb: float
    transactions: int = 0

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def info(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "tables": self.tables,
            "seconds": round(self.seconds, 3),
            "calls": self.calls,
            "transactions": self.transactions,
            "longest_batch_ms": round(self.longest_ms, 1),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "rss_growth_mb": round(self.peak_rss_mb - self.rss_mb, 1),
        }


async def rawdb_archive(db: Database, max_rows: int = BATCH, say: Callable[[str], None] | None = None) -> ArchiveRun:
    """``rawdb db archive --until-complete``: ``archive_deleted_rows(batch=max_rows)`` until a call moves nothing.

    :raises ImportError: rawdb has no ``rawdb.nova.archive``
    """
    from rawdb.nova import archive

    ctx = db.context(is_admin=True)
    tables: dict[str, int] = {}
    calls = 0
    batches = _Batches()
    rss = _reset_peak()
    started = time.perf_counter()
    with db.hooked(batches):
        while True:
            moved = await archive.archive_deleted_rows(ctx, None, batch=max_rows)
            calls += 1
            for table, rows in moved.items():
                tables[table] = tables.get(table, 0) + rows
            if not any(moved.values()):
                break
            if say is not None and calls % 50 == 0:
                say(f"{SCENARIO}: rawdb moved {sum(tables.values()):,} rows in {calls} calls")
    seconds = time.perf_counter() - started
    return ArchiveRun(
        seconds, tables, calls, batches.statements, batches.finish(), rss, _memory()[1], transactions=batches.scopes
    )


def archive_until_complete(api: Any, ctx: Any, max_rows: int) -> dict[str, Any]:
    """(In nova's process) nova-manage's loop: ``api.archive_deleted_rows(ctx, max_rows)`` until
    a call archives nothing; the ``ArchiveRun`` fields as a dict."""
    from sqlalchemy import event

    engine = api.get_engine(use_slave=True, context=ctx)  # the engine archive_deleted_rows uses
    key = "rawdb_bench_began"
    seen = {"longest": 0.0, "statements": 0, "transactions": 0}

    def begin(conn: Any) -> None:
        conn.info[key] = time.perf_counter()
        seen["transactions"] += 1

    def end(conn: Any) -> None:
        began = conn.info.pop(key, None)
        if began is not None:
            seen["longest"] = max(seen["longest"], time.perf_counter() - began)

    def statement(*args: Any) -> None:
        seen["statements"] += 1

    listeners = [("begin", begin), ("commit", end), ("rollback", end), ("before_cursor_execute", statement)]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    tables: dict[str, int] = {}
    calls = 0
    rss = _reset_peak()
    started = time.perf_counter()
    try:
        while True:
            moved, _uuids, _total = api.archive_deleted_rows(ctx, max_rows=max_rows)
            calls += 1
            for table, rows in moved.items():
                tables[table] = tables.get(table, 0) + rows
            if not any(moved.values()):
                break
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)
    return {
        "seconds": time.perf_counter() - started,
        "tables": tables,
        "calls": calls,
        "statements": seen["statements"],
        "longest_ms": seen["longest"] * 1000,
        "rss_mb": rss,
        "peak_rss_mb": _memory()[1],
        "transactions": seen["transactions"],
    }


# --- checking ---------------------------------------------------------------------------------------


async def shadow_counts(db: Database) -> dict[str, int]:
    """Rows in the shadow table of each of the dataset's tables."""
    return await _counts(db, "shadow_{}", "")


async def _counts(db: Database, table: str, where: str) -> dict[str, int]:
    # table names and conditions are this module's own constants, never input
    sql = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {table.format(t)}{where}) AS {t}" for t in TABLES)
    statement = rawdb.Statement.portable(f"bench.nova_archive.count{len(where)}_{len(table)}", sql, "Rows per table.")
    async with db.reader() as tx:
        row = await tx.fetchrow(statement)
    assert row is not None
    return {t: int(row[t]) for t in TABLES}


async def check_archived(db: Database, size: int) -> list[str]:
    """What is wrong with ``db`` after the dataset of ``size`` was archived: shadow counts unlike
    the dataset's, soft-deleted rows left in the live tables, live rows gone."""
    problems = []
    shadow = await shadow_counts(db)
    if shadow != expected_shadow(size):
        wrong = {t: (n, expected_shadow(size)[t]) for t, n in shadow.items() if n != expected_shadow(size)[t]}
        problems.append(f"shadow rows (found, expected): {wrong}")
    left = {t: n for t, n in (await _counts(db, "{}", " WHERE deleted <> 0")).items() if n}
    if left:
        problems.append(f"soft-deleted rows left: {left}")
    stayed = await _counts(db, "{}", "")
    want = {t: counts(size)[t] - expected_shadow(size)[t] for t in TABLES}
    if stayed != want:
        problems.append(
            f"live rows (found, expected): { {t: (stayed[t], want[t]) for t in TABLES if stayed[t] != want[t]} }"
        )
    return problems


# --- the scenario, as the runner runs it ----------------------------------------------------------------


async def _start_peer(main_db: Database, url: str, run: NovaRun) -> Any:
    peer = await start_peer(main_db, url, run, SCENARIO)
    if peer is None:
        return None
    if url_dialect(url) == "postgresql":
        async with rawdb.connect(url) as peer_db, peer_db.context(is_admin=True).writer(autocommit=True) as tx:
            await tx.script(PG_LOCKED_BY_CAST, "let nova 34 archive instances on PostgreSQL")
        run.notes.append(
            f"{SCENARIO}: nova 34's archive of instances fails on PostgreSQL as its db_sync leaves the schema "
            "(shadow_instances.locked_by has an enum type of its own); an assignment cast between the two "
            "enum types was added so that it can run"
        )
    return peer


def _figure(target: str, size: int, done: ArchiveRun) -> Figure:
    figure = Figure(SCENARIO, target, "rows/s", [done.rows / done.seconds if done.seconds else float("nan")])
    figure.statements = done.statements / done.calls if done.calls else None
    figure.info = {"instances": size, "live_instances": live(size), **done.info()}
    return figure


async def archive_scenarios(
    main_db: Database,
    sizes: Sequence[int],
    *,
    targets: Sequence[str],
    say: Callable[[str], None],
    seed_progress: Callable[[str, int, int], None] | None = None,
    max_rows: int = BATCH,
    peer_max: int = PEER_MAX,
) -> NovaRun:
    """Load and archive the dataset at each size on rawdb (and nova 34 up to ``peer_max``)."""
    run = NovaRun()
    try:
        importlib.import_module("rawdb.nova.archive")
    except ImportError as exc:
        run.problems.append(f"{SCENARIO}: rawdb.nova.archive does not import ({exc})")
        return run
    rawdb_url, peer_url = archive_urls(main_db.url)
    await ensure_database(main_db, rawdb_url)
    peer = await _start_peer(main_db, peer_url, run) if "openstack" in targets else None
    try:
        async with rawdb.connect(rawdb_url) as db:
            await schema.bootstrap(db, "nova")
            for size in sizes:
                say(f"{SCENARIO}: loading {size:,} soft-deleted instances for rawdb")
                started = time.perf_counter()
                await load_archive(db, size, seed_progress)
                run.datasets[f"{SCENARIO}/instances={size}"] = {
                    "instances": size,
                    "live_instances": live(size),
                    "rows": sum(counts(size).values()),
                    "url": db.url_safe,
                    "seconds": round(time.perf_counter() - started, 1),
                }
                say(f"{SCENARIO}: rawdb archiving {size:,} instances")
                ours = await rawdb_archive(db, max_rows, say)
                run.figures.append(_figure("rawdb", size, ours))
                run.problems += [f"{SCENARIO} ({size} instances) rawdb: {p}" for p in await check_archived(db, size)]
                if peer is None:
                    continue
                if size > peer_max:
                    run.notes.append(f"{SCENARIO}: nova 34 not run at {size:,} instances (over {peer_max:,})")
                    continue
                run.problems += await _peer_size(peer, peer_url, db, size, max_rows, run, say, seed_progress)
    finally:
        if peer is not None:
            await peer.close()
    return run


async def _peer_size(
    peer: Any,
    peer_url: str,
    db: Database,
    size: int,
    max_rows: int,
    run: NovaRun,
    say: Callable[[str], None],
    seed_progress: Callable[[str, int, int], None] | None,
) -> list[str]:
    async with rawdb.connect(peer_url) as peer_db:
        say(f"{SCENARIO}: loading {size:,} soft-deleted instances for nova 34")
        await load_archive(peer_db, size, seed_progress)
        say(f"{SCENARIO}: nova 34 archiving {size:,} instances")
        reply = await peer.archive(max_rows)
        theirs = ArchiveRun(**reply)
        run.figures.append(_figure("openstack", size, theirs))
        problems = [f"{SCENARIO} ({size} instances) nova 34: {p}" for p in await check_archived(peer_db, size)]
        ours, nova = await shadow_counts(db), await shadow_counts(peer_db)
    if ours != nova:
        problems.append(f"{SCENARIO} ({size} instances): shadow rows differ, rawdb {ours}, nova 34 {nova}")
    return problems


def archive_table(figures: Sequence[Figure]) -> str:
    """The archive figures as text: one line per size and target, then rawdb's speedup."""
    mine = [f for f in figures if f.scenario == SCENARIO]
    if not mine:
        return ""
    header = (
        f"{'archive':<22}{'target':>10}{'rows':>12}{'rows/s':>11}{'seconds':>10}{'calls':>8}"
        f"{'stmts/call':>11}{'longest tx ms':>14}{'peak RSS MB':>12}{'RSS growth':>11}"
    )
    lines = [header, "-" * len(header)]
    by_size: dict[int, dict[str, Figure]] = {}
    for figure in mine:
        by_size.setdefault(int(figure.info["instances"]), {})[figure.target] = figure
        info = figure.info
        name = f"{SCENARIO} @{info['instances']:,}"
        lines.append(
            f"{name:<22}{figure.target:>10}{info['rows']:>12,}{figure.median:>11,.0f}"
            f"{info['seconds']:>10.1f}{info['calls']:>8}{figure.statements or 0:>11.1f}"
            f"{info['longest_batch_ms']:>14.1f}{info['peak_rss_mb']:>12.1f}{info['rss_growth_mb']:>11.1f}"
        )
    for size, targets in by_size.items():
        if "rawdb" in targets and "openstack" in targets:
            ratio = targets["rawdb"].median / targets["openstack"].median
            lines.append(f"{SCENARIO} @{size:,}: rawdb moves {ratio:.1f}x the rows per second nova 34 does")
    lines.append(
        "rows/s: rows moved to the shadow tables per second (children included) by each tool's db archive "
        f"--max-rows {BATCH} --until-complete (rawdb: uncapped runs in transactions of {BATCH} rows; nova: calls "
        f"of max_rows={BATCH}) until one moves nothing; longest tx: the longest transaction (no lock is held longer)."
    )
    return "\n".join(lines)
