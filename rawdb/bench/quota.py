"""The cinder quota scenarios of perf_baseline.md: reserve + commit, alone, under load and past the limits.

    figures = await run_quota(db, targets=("rawdb", "driver", "openstack"))
    problems = quota_check(figures)  # over-limit states, unbalanced books, errors

Every operation is a volume create, ``deltas = {volumes: 1, gigabytes: 10}``, reserved and
then committed: one *pair*.  Scenarios (``Figure.scenario``):

* ``quota_single`` (ms per pair; one caller, the hot project);
* ``quota_{n}_spread`` / ``quota_{n}_hot`` (pairs/s; ``n`` concurrent callers over the 10
  spread projects, or all of them on the one hot project, for ``seconds``);
* ``quota_overlimit_tight10`` / ``quota_overlimit_tight1`` (committed pairs/s of the push):
  32 callers push past the limits of the 10 tight projects (or of one): each reserves, waits
  1 ms and commits, or in 10% of the pairs rolls back, until it has been refused 50 times.
  A monitor on its own connection polls the usages all along (1 ms apart) and counts every
  ``in_use + reserved > hard_limit`` it sees; afterwards nothing may stay reserved and
  ``in_use`` must be exactly the committed pairs times the deltas;
* ``quota_history_0`` / ``quota_history_stale`` / ``quota_history_fresh`` (ms per pair; rawdb
  and driver only): one caller on the hot project with no past reservations, then with
  ``history`` finished ones on its own usage rows (``insert_history``: one INSERT ... SELECT),
  first with the statistics of the table without them (analyzed before the insert; the
  database kept from refreshing them by itself: PostgreSQL ``autovacuum_enabled = false``,
  MariaDB ``STATS_AUTO_RECALC=0``), then after ANALYZE.  Each state: fresh connections,
  WARMUP untimed pairs, WARMUP counted, then ``history_batches`` batches of
  ``history_pairs`` pairs, the targets taking turns by batch.  ``quota_check`` reports a
  state with history whose fastest batch median is over HISTORY_RATIO times that of
  quota_history_0 (such a state is measured again first, up to HISTORY_RETRIES times).
  Afterwards the history is deleted and the table's options and statistics restored.

Targets:

* ``rawdb``: ``QuotaEngine.reserve`` / ``commit``; each caller is an asyncio task.  On
  PostgreSQL and MySQL the callers share a Database of their own with a pool of 36.  On SQLite they
  share the one writer connection of the Database passed in (rawdb has one writer per SQLite
  database), so ``n`` callers queue for it.
* ``driver``: the statements rawdb sent for one reserve, one commit and one rollback of each
  project (captured with a keeping ``StatementCounter`` at setup), replayed on a bare
  asyncpg/sqlite3/asyncmy connection per caller with fresh reservation uuids and timestamps, so
  every replay reserves and commits for real.  Only rawdb's steady state is replayed: one
  statement each on PostgreSQL, whose result says whether the reservation was refused; on
  SQLite the replay is rawdb's transaction (BEGIN IMMEDIATE, lock, limits, reserve, insert,
  COMMIT) with the limit check done on the rows it read, and a ROLLBACK when refused; on MySQL
  likewise (BEGIN, usages_lock_limits, reserve_apply, reservations_insert, COMMIT; the finish
  gives finish_apply the ids finish_lock found), and a deadlock or lock wait timeout reruns the
  transaction as rawdb's ``retry_on_deadlock`` does.
* ``openstack``: cinder 29's ``quota_reserve`` / ``reservation_commit`` / ``reservation_rollback``
  (``rawdb.bench.peers.cinder``); each caller is a thread.  On SQLite it runs the one-caller
  scenarios only: concurrent callers of cinder's quota code there fail with "database is locked".

Before timing, every target makes the same 40 reservations on one tight project (``agree``);
one that commits, rolls back or refuses a different one than rawdb, or ends with other usages,
is reported as a problem.

The dataset (``seed_quota``) is recorded in ``rawdb_bench_datasets`` and reused when present;
usages and reservations of the test projects are reset before every target and round.  For
fairness on a noisy machine, the targets take turns within each round of each scenario.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar

import rawdb
from rawdb import errors, schema
from rawdb.bench.driver import Driver, Step
from rawdb.bench.measure import Figure, time_async, time_sync
from rawdb.bench.options import HISTORY
from rawdb.bench.seed import FORGET, RECORD, RECORDED, seeding
from rawdb.cinder import sync
from rawdb.database import Database
from rawdb.observe import StatementEvent
from rawdb.quota import CINDER, QuotaEngine
from rawdb.statement import Dialect, Statement, convert
from rawdb.timeutils import utcnow

__all__ = [
    "DELTAS",
    "HOT",
    "SPREAD",
    "TIGHT",
    "QuotaDataset",
    "quota_check",
    "reset_quota",
    "run_quota",
    "seed_quota",
]

DELTAS: dict[str, int] = {"volumes": 1, "gigabytes": 10}
RESOURCES = ("volumes", "gigabytes", "snapshots", "backups")
SPREAD = tuple(f"bench-quota-spread-{k:02d}" for k in range(10))
HOT = "bench-quota-hot"
TIGHT = tuple(f"bench-quota-tight-{k:02d}" for k in range(10))
TEST_PROJECTS = (*SPREAD, HOT, *TIGHT)
PROJECTS = TEST_PROJECTS + tuple(f"bench-quota-other-{k:02d}" for k in range(100 - len(TEST_PROJECTS)))
VOLUME_TYPES = ("bench-quota-ssd", "bench-quota-hdd", "bench-quota-nvme")
UNLIMITED = 1_000_000_000
TIGHT_LIMITS = {"volumes": 30, "gigabytes": 250, "snapshots": 10, "backups": 10}
OTHER_LIMITS = {"volumes": 10, "gigabytes": 1000, "snapshots": 10, "backups": 10}

DATASET = "cinder-quota"
GENERATOR_VERSION = 1
FINGERPRINT = f"{DATASET}/v{GENERATOR_VERSION}/projects={len(PROJECTS)}"

POOL_SIZE = 36  # PostgreSQL connections for 32 callers, as the peer's max_pool_size
WARMUP = 5  # untimed pairs before the single-caller timing, then as many counted ones
PUSH_CALLERS = 32
PUSH_REFUSALS = 50  # a pushing caller stops once refused this many times
PUSH_PAUSE = 0.001  # seconds between reserve and commit
PUSH_ROLLBACK = 0.1  # share of pushed pairs rolled back instead of committed
MONITOR_PAUSE = 0.001  # seconds between two monitor polls
MAX_ERRORS = 100  # a caller gives up after this many errors
USER = "bench-user"
HISTORY_BATCHES = 5  # timed batches per target and state of quota_history
HISTORY_PAIRS = 40  # timed pairs per batch
HISTORY_RATIO = 1.5  # quota_check: a state with history may take at most this times quota_history_0
HISTORY_RETRIES = 3  # more measurements of a state with history found over HISTORY_RATIO
HISTORY_STATES = ("quota_history_0", "quota_history_stale", "quota_history_fresh")
HISTORY_TARGETS = ("rawdb", "driver")  # (cinder's own code is not what this guards)

Progress = Callable[[str], None]
Layout = Literal["tight10", "tight1"]
_PUSH_LAYOUTS: tuple[Layout, ...] = ("tight10", "tight1")


# --- statements ---------------------------------------------------------------------------


def _each(name: str, doc: str, postgresql: str, sqlite: str, mysql: str) -> Statement:
    texts: dict[Dialect, str] = {"postgresql": postgresql, "sqlite": sqlite, "mysql": mysql}
    return Statement(name, doc, "<python>", {dialect: convert(sql, dialect) for dialect, sql in texts.items()})


_COUNTS = Statement.portable(
    "bench.quota.counts",
    """SELECT (SELECT count(*) FROM quotas WHERE project_id = ANY(:projects) AND NOT deleted) AS quotas,
              (SELECT count(*) FROM quota_usages WHERE project_id = ANY(:projects) AND NOT deleted) AS usages,
              (SELECT count(*) FROM volume_types WHERE name = ANY(:types) AND NOT deleted) AS types""",
    "Live rows of the quota dataset.",
)
_CLEAR = [
    Statement.portable(
        f"bench.quota.clear_{table}",
        f"DELETE FROM {table} WHERE {column} = ANY(:names)",
        f"Delete the quota dataset's {table}.",
    )
    for table, column in (
        ("reservations", "project_id"),
        ("quota_usages", "project_id"),
        ("quotas", "project_id"),
        ("volume_types", "name"),
    )
]
_INSERT_TYPES = _each(
    "bench.quota.insert_types",
    "Insert volume types from a JSON array of names.",
    """INSERT INTO volume_types (name, created_at, updated_at, deleted)
       SELECT t.name, :now, :now, false
       FROM jsonb_array_elements_text(CAST(:names AS jsonb)) WITH ORDINALITY AS t(name, n) ORDER BY t.n""",
    """INSERT INTO volume_types (name, created_at, updated_at, deleted)
       SELECT value, :now, :now, false FROM json_each(:names) ORDER BY key""",
    """INSERT INTO volume_types (name, created_at, updated_at, deleted)
       SELECT t.name, :now, :now, false
       FROM JSON_TABLE(:names, '$[*]' COLUMNS (n FOR ORDINALITY, name VARCHAR(255) PATH '$')) AS t ORDER BY t.n""",
)
_INSERT_QUOTAS = _each(
    "bench.quota.insert_quotas",
    "Insert limits from a JSON array of [project_id, resource, hard_limit].",
    """INSERT INTO quotas (project_id, resource, hard_limit, created_at, updated_at, deleted)
       SELECT e ->> 0, e ->> 1, CAST(e ->> 2 AS integer), :now, :now, false
       FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS r(e, n) ORDER BY r.n""",
    """INSERT INTO quotas (project_id, resource, hard_limit, created_at, updated_at, deleted)
       SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), :now, :now, false
       FROM json_each(:rows) ORDER BY key""",
    """INSERT INTO quotas (project_id, resource, hard_limit, created_at, updated_at, deleted)
       SELECT r.project_id, r.resource, r.hard_limit, :now, :now, false
       FROM JSON_TABLE(:rows, '$[*]' COLUMNS (n FOR ORDINALITY, project_id VARCHAR(255) PATH '$[0]',
                                              resource VARCHAR(300) PATH '$[1]', hard_limit INTEGER PATH '$[2]')) AS r
       ORDER BY r.n""",
)
_INSERT_USAGES = _each(
    "bench.quota.insert_usages",
    "Insert live usage rows from a JSON array of [project_id, resource, in_use].",
    """INSERT INTO quota_usages (project_id, resource, in_use, reserved, until_refresh, created_at, updated_at,
                                deleted, race_preventer)
       SELECT e ->> 0, e ->> 1, CAST(e ->> 2 AS integer), 0, NULL, :now, :now, false, true
       FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS r(e, n) ORDER BY r.n""",
    """INSERT INTO quota_usages (project_id, resource, in_use, reserved, until_refresh, created_at, updated_at,
                                deleted, race_preventer)
       SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), 0, NULL,
              :now, :now, false, true
       FROM json_each(:rows) ORDER BY key""",
    """INSERT INTO quota_usages (project_id, resource, in_use, reserved, until_refresh, created_at, updated_at,
                                deleted, race_preventer)
       SELECT r.project_id, r.resource, r.in_use, 0, NULL, :now, :now, false, true
       FROM JSON_TABLE(:rows, '$[*]' COLUMNS (n FOR ORDINALITY, project_id VARCHAR(255) PATH '$[0]',
                                              resource VARCHAR(300) PATH '$[1]', in_use INTEGER PATH '$[2]')) AS r
       ORDER BY r.n""",
)
_ANALYZE = {
    "postgresql": "ANALYZE quotas, quota_classes, quota_usages, reservations, volume_types",
    "sqlite": "ANALYZE quotas; ANALYZE quota_classes; ANALYZE quota_usages; ANALYZE reservations; ANALYZE volume_types",
    "mysql": "ANALYZE TABLE quotas, quota_classes, quota_usages, reservations, volume_types",
}
_RESET_RESERVATIONS = Statement.portable(
    "bench.quota.reset_reservations",
    "DELETE FROM reservations WHERE project_id = ANY(:projects)",
    "Drop every reservation of the test projects.",
)
_RESET_USAGES = Statement.portable(
    "bench.quota.reset_usages",
    """UPDATE quota_usages SET in_use = 0, reserved = 0, until_refresh = NULL, updated_at = :now
       WHERE project_id = ANY(:projects) AND NOT deleted""",
    "Zero the usages of the test projects.",
)
_STATE = Statement.portable(
    "bench.quota.state",
    """SELECT u.project_id, u.resource, u.in_use, u.reserved, q.hard_limit
       FROM quota_usages u
       JOIN quotas q ON q.project_id = u.project_id AND q.resource = u.resource AND NOT q.deleted
       WHERE u.project_id = ANY(:projects) AND u.resource = ANY(:resources) AND NOT u.deleted""",
    "Usages and limits of some projects' resources.",
)
_LIVE_RESERVATIONS = Statement.portable(
    "bench.quota.live_reservations",
    "SELECT count(*) AS n FROM reservations WHERE project_id = ANY(:projects) AND NOT deleted",
    "How many reservations of some projects are still live.",
)
# The history of quota_history_*: :count finished reservations (delta 1, one pair of them a
# minute back from :now) spread over a project's usage rows of :resources (:width of them,
# taken in turn by id), with unique uuids (:prefix, then the row's number in 12 hex digits).
_INSERT_HISTORY = _each(
    "bench.quota.insert_history",
    "Insert finished reservations on a project's usage rows.",
    """INSERT INTO reservations (uuid, usage_id, project_id, resource, delta, expire, created_at, updated_at,
                                deleted_at, deleted)
       SELECT CAST(:prefix AS text) || '-' || lpad(to_hex(g.n), 12, '0'), u.id, u.project_id, u.resource, 1,
              g.created_at + interval '1 day', g.created_at, g.created_at + interval '1 second',
              g.created_at + interval '1 second', true
       FROM (SELECT n, CAST(:now AS timestamp)
                       - make_interval(mins => (CAST(:count AS integer) - n) / CAST(:width AS integer) + 1)
                       AS created_at
             FROM generate_series(1, CAST(:count AS integer)) AS n) AS g
       JOIN (SELECT id, project_id, resource, row_number() OVER (ORDER BY id) - 1 AS k
             FROM quota_usages WHERE project_id = :project_id AND resource = ANY(:resources) AND NOT deleted) AS u
         ON u.k = g.n % CAST(:width AS integer)""",
    # (INSERT first: the driver counts the rows of a statement that starts with INSERT)
    """INSERT INTO reservations (uuid, usage_id, project_id, resource, delta, expire, created_at, updated_at,
                                deleted_at, deleted)
       WITH RECURSIVE seq(n) AS (SELECT 1 WHERE :count >= 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count),
       g AS (SELECT n, strftime('%Y-%m-%d %H:%M:%S', :now, printf('-%d minutes', (:count - n) / :width + 1))
                       AS created_at
             FROM seq),
       u AS (SELECT id, project_id, resource, row_number() OVER (ORDER BY id) - 1 AS k
             FROM quota_usages WHERE project_id = :project_id AND resource = ANY(:resources) AND NOT deleted)
       SELECT :prefix || '-' || printf('%012x', g.n), u.id, u.project_id, u.resource, 1,
              strftime('%Y-%m-%d %H:%M:%S.000000', g.created_at, '+1 day'), g.created_at || '.000000',
              strftime('%Y-%m-%d %H:%M:%S.000000', g.created_at, '+1 second'),
              strftime('%Y-%m-%d %H:%M:%S.000000', g.created_at, '+1 second'), true
       FROM g JOIN u ON u.k = g.n % :width""",
    # MariaDB's Sequence engine: a range of the table seq_1_to_4294967295, bounded by :count.
    """INSERT INTO reservations (uuid, usage_id, project_id, resource, delta, expire, created_at, updated_at,
                                deleted_at, deleted)
       SELECT CONCAT(:prefix, '-', LPAD(LOWER(HEX(g.n)), 12, '0')), u.id, u.project_id, u.resource, 1,
              g.created_at + INTERVAL 1 DAY, g.created_at, g.created_at + INTERVAL 1 SECOND,
              g.created_at + INTERVAL 1 SECOND, true
       FROM (SELECT CAST(seq AS SIGNED) AS n,
                    CAST(:now AS DATETIME(6)) - INTERVAL ((:count - CAST(seq AS SIGNED)) DIV :width + 1) MINUTE
                        AS created_at
             FROM seq_1_to_4294967295 WHERE seq <= :count) AS g
       JOIN (SELECT id, project_id, resource, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k
             FROM quota_usages WHERE project_id = :project_id AND resource = ANY(:resources) AND NOT deleted) AS u
         ON u.k = g.n % :width""",
)
_ANALYZE_RESERVATIONS = {
    "postgresql": "ANALYZE reservations",
    "sqlite": "ANALYZE reservations",
    "mysql": "ANALYZE TABLE reservations",
}
# Keep the database from refreshing the reservations' statistics by itself, and let it again.
# SQLite never does: its sqlite_stat1 changes only with ANALYZE.
_FREEZE_STATISTICS = {
    "postgresql": "ALTER TABLE reservations SET (autovacuum_enabled = false)",
    "mysql": "ALTER TABLE reservations STATS_AUTO_RECALC=0",
}
_THAW_STATISTICS = {
    "postgresql": "ALTER TABLE reservations RESET (autovacuum_enabled)",
    "mysql": "ALTER TABLE reservations STATS_AUTO_RECALC=DEFAULT",
}


# --- the dataset --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuotaDataset:
    """The seeded quota dataset: its fingerprint, and whether it was found already loaded."""

    fingerprint: str
    projects: int
    reused: bool = False


def _limits(project: str) -> dict[str, int]:
    if project in TIGHT:
        return TIGHT_LIMITS
    if project in TEST_PROJECTS:
        return dict.fromkeys(RESOURCES, UNLIMITED)
    return OTHER_LIMITS


def _background_usage(k: int, resource: str) -> int:
    """Deterministic small usages of the other projects (never reset)."""
    volumes = k % 7
    return {"volumes": volumes, "gigabytes": volumes * 10, "snapshots": k % 3, "backups": k % 2}[resource]


async def seed_quota(db: Database) -> QuotaDataset:
    """Bootstrap rawdb's cinder schema and load the quota dataset, unless it is there already.

    3 volume types; 100 projects with limits and usage rows for volumes, gigabytes, snapshots
    and backups: 10 spread and 1 hot project (limits 1e9), 10 tight ones (volumes 30,
    gigabytes 250) and 79 others.  One transaction of a few statements; recognised by its
    fingerprint in ``rawdb_bench_datasets`` and its row counts.
    """
    await schema.bootstrap(db, "cinder")
    async with seeding(db, DATASET) as tx:
        await tx.begin()  # MySQL: no DDL here, one transaction as elsewhere
        recorded = await tx.fetchval(RECORDED, name=DATASET)
        counts = await tx.fetchrow(_COUNTS, projects=list(PROJECTS), types=list(VOLUME_TYPES))
        expected = {"quotas": len(PROJECTS) * len(RESOURCES), "usages": len(PROJECTS) * len(RESOURCES), "types": 3}
        if recorded == FINGERPRINT and counts is not None and {k: int(v) for k, v in counts.items()} == expected:
            return QuotaDataset(FINGERPRINT, len(PROJECTS), reused=True)
        for statement, names in zip(_CLEAR, (PROJECTS, PROJECTS, PROJECTS, VOLUME_TYPES), strict=True):
            await tx.execute(statement, names=list(names))
        now = utcnow()
        quotas = [[p, r, _limits(p)[r]] for p in PROJECTS for r in RESOURCES]
        usages = [
            [p, r, 0 if p in TEST_PROJECTS else _background_usage(k, r)]
            for k, p in enumerate(PROJECTS)
            for r in RESOURCES
        ]
        await tx.execute(_INSERT_TYPES, names=json.dumps(list(VOLUME_TYPES)), now=now)
        await tx.execute(_INSERT_QUOTAS, rows=json.dumps(quotas), now=now)
        await tx.execute(_INSERT_USAGES, rows=json.dumps(usages), now=now)
        await tx.execute(FORGET, name=DATASET)
        await tx.execute(RECORD, name=DATASET, fingerprint=FINGERPRINT, loaded_at=now)
    async with db.writer() as tx:
        await tx.script(_ANALYZE[db.dialect], "analyze the quota tables")
    return QuotaDataset(FINGERPRINT, len(PROJECTS))


async def reset_quota(db: Database) -> None:
    """Zero the test projects' usages and drop their reservations (PostgreSQL: then VACUUM)."""
    async with db.writer() as tx:
        await tx.execute(_RESET_RESERVATIONS, projects=list(TEST_PROJECTS))
        await tx.execute(_RESET_USAGES, projects=list(TEST_PROJECTS), now=utcnow())
    if db.dialect == "postgresql":
        # Dead rows of the previous target or round would otherwise slow the next one down.
        async with db.context(is_admin=True).writer(autocommit=True) as tx:
            await tx.script("VACUUM quota_usages, reservations", "vacuum the quota tables")


async def _state(db: Database, projects: Sequence[str]) -> list[dict[str, Any]]:
    async with db.reader() as tx:
        return await tx.fetch(_STATE, projects=list(projects), resources=list(DELTAS))


async def _live_reservations(db: Database, projects: Sequence[str]) -> int:
    async with db.reader() as tx:
        return int(await tx.fetchval(_LIVE_RESERVATIONS, projects=list(projects)) or 0)


def _balanced(rows: Sequence[Mapping[str, Any]], committed: Mapping[str, int]) -> bool:
    """Whether every project's in_use is its committed pairs times the deltas."""
    seen = {(row["project_id"], row["resource"]): row for row in rows}
    for project in {row["project_id"] for row in rows} | set(committed):
        for resource, delta in DELTAS.items():
            row = seen.get((project, resource))
            if row is None or row["in_use"] != committed.get(project, 0) * delta:
                return False
    return True


# --- callers ------------------------------------------------------------------------------


class AsyncCaller(Protocol):
    """One concurrent caller of an asyncio target."""

    async def reserve(self, project: str) -> list[str] | None:
        """Reserve DELTAS for ``project``; None when refused."""
        ...

    async def finish(self, project: str, uuids: list[str], commit: bool) -> None: ...


class SyncCaller(Protocol):
    """One concurrent caller of a threaded target."""

    def reserve(self, project: str) -> list[str] | None: ...

    def finish(self, project: str, uuids: list[str], commit: bool) -> None: ...


@dataclass(slots=True)
class _Count:
    statements: int = 0
    round_trips: int | None = None


class _Target:
    """What a measurement needs of a target: callers, and a way to count their statements."""

    name: str
    threaded = False
    single_only: str | None = None  # why only one caller at a time can be measured, if so

    async def open(self, n: int) -> list[Any]:
        """``n`` callers (AsyncCaller, or SyncCaller when ``threaded``), connected."""
        raise NotImplementedError

    async def release(self) -> None:
        """Close what ``open`` opened."""

    def start_count(self) -> None:
        raise NotImplementedError

    def stop_count(self) -> _Count:
        raise NotImplementedError

    async def close(self) -> None:
        """Close everything."""


# rawdb


class _RawdbCaller:
    def __init__(self, engine: QuotaEngine, db: Database) -> None:
        self.engine = engine
        self.db = db
        self.contexts: dict[str, rawdb.Context] = {}

    def _context(self, project: str) -> rawdb.Context:
        ctx = self.contexts.get(project)
        if ctx is None:
            ctx = self.contexts[project] = rawdb.Context(self.db, project_id=project, user_id=USER)
        return ctx

    async def reserve(self, project: str) -> list[str] | None:
        try:
            return await _reserve(self.engine, self._context(project), project)
        except errors.OverQuota:
            return None

    async def finish(self, project: str, uuids: list[str], commit: bool) -> None:
        ctx = self._context(project)
        if commit:
            await self.engine.commit(ctx, uuids, project_id=project)
        else:
            await self.engine.rollback(ctx, uuids, project_id=project)


async def _reserve(engine: QuotaEngine, ctx: rawdb.Context, project: str) -> list[str]:
    return await engine.reserve(ctx, project_id=project, volumes=DELTAS["volumes"], gigabytes=DELTAS["gigabytes"])


def quota_engine() -> QuotaEngine:
    """rawdb's cinder quota engine, as a cinder service would build it."""
    return QuotaEngine(CINDER, sync.resources(), sync.DEFAULTS)


class _RawdbTarget(_Target):
    name = "rawdb"

    def __init__(self, db: Database) -> None:
        self.db = db
        self.engine = quota_engine()
        self._own: Database | None = None
        self._counter = rawdb.StatementCounter()
        self._hooked: Database | None = None

    async def open(self, n: int) -> list[Any]:
        db = self.db
        if db.dialect != "sqlite":
            # A pool for up to 32 callers, opened per measurement and closed after it, so the
            # three targets never hold more connections together than the server allows.
            db = self._own = await rawdb.connect(db.url, pool_size=max(POOL_SIZE, n + 4))
        return [_RawdbCaller(self.engine, db) for _ in range(n)]

    def _db(self) -> Database:
        return self._own or self.db

    async def release(self) -> None:
        own, self._own = self._own, None
        if own is not None:
            await own.close()

    def start_count(self) -> None:
        self._counter.reset()
        self._hooked = self._db()
        self._hooked.add_hook(self._counter)

    def stop_count(self) -> _Count:
        if self._hooked is not None:
            self._hooked.remove_hook(self._counter)
            self._hooked = None
        return _Count(self._counter.total)

    async def close(self) -> None:
        await self.release()


# driver


@dataclass(frozen=True, slots=True)
class _Template:
    """Captured steps, with where their reservation uuids and timestamps sit."""

    names: tuple[str, ...]
    steps: tuple[Step, ...]
    uuids: tuple[str, ...]  # the reservation uuids of the capture
    captured_at: datetime
    sqlite: bool

    def bind(self, uuids: Sequence[str], shift: timedelta) -> list[Step]:
        """The steps with ``uuids`` for the captured ones and every timestamp moved by ``shift``."""
        return [Step(step.sql, tuple(self._arg(arg, uuids, shift) for arg in step.args)) for step in self.steps]

    def _arg(self, value: Any, uuids: Sequence[str], shift: timedelta) -> Any:
        if isinstance(value, datetime):
            moved = value + shift
            return moved.isoformat(" ", "microseconds") if self.sqlite else moved
        if isinstance(value, str):
            for old, new in zip(self.uuids, uuids, strict=True):
                value = value.replace(old, new)
            return value
        if isinstance(value, list):
            return [self._arg(item, uuids, shift) for item in value]
        return value


def _template(events: Sequence[StatementEvent], uuids: Sequence[str], captured_at: datetime) -> _Template:
    failed = [event.name for event in events if event.error is not None]
    if failed:
        raise RuntimeError(f"capturing rawdb's statements: {failed} failed")
    steps = tuple(Step(event.sql, tuple(event.args)) for event in events)
    sqlite = bool(events) and events[0].backend == "sqlite"
    return _Template(tuple(event.name for event in events), steps, tuple(uuids), captured_at, sqlite)


@dataclass(frozen=True, slots=True)
class _Captured:
    """One project's templates: a reserve and its commit, another reserve and its rollback."""

    reserve: _Template
    commit: _Template
    rollback_reserve: _Template
    rollback: _Template


_ROLLBACK = Step("ROLLBACK", ())
_COMMIT = Step("COMMIT", ())
_RETRYABLE_ERRNOS = frozenset({1213, 1205})  # deadlock, lock wait timeout: rawdb's DBDeadlock
_RETRIES = 5  # retry_on_deadlock's default
T = TypeVar("T")
# rawdb's steady-state reserve on MySQL; anything else is its slow path, which is not replayed.
_MYSQL_RESERVE = (
    "BEGIN",
    "cinder.quota.usages_lock_limits",
    "cinder.quota.reserve_apply",
    "cinder.quota.reservations_insert",
    "COMMIT",
)


class _DriverCaller:
    def __init__(
        self, driver: Driver, captured: Mapping[str, _Captured], counter: list[int], picked_at: int = -1
    ) -> None:
        self.driver = driver
        self.captured = captured
        self.counter = counter  # [statements], shared by the target's callers
        self.picked_at = picked_at  # MySQL: the position of finish_apply's :picked among its arguments

    async def _replay(self, plan: Sequence[Step]) -> list[list[dict[str, Any]]]:
        self.counter[0] += len(plan)
        return await self.driver.replay(plan)

    async def _retried(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """MySQL: what ``retry_on_deadlock`` does for rawdb's reserve and finish.

        A deadlock (1213) or lock wait timeout (1205) ends the attempt: ROLLBACK (after 1205
        the transaction is still open), wait a random time up to 20 ms * 2**attempt (at most
        1 s), run the whole transaction again, at most 5 times more.  Any other error, or
        the last one, is raised after a ROLLBACK, so the connection's next BEGIN starts clean.
        """
        if self.driver.dialect != "mysql":
            return await attempt()
        tries = 0
        while True:
            try:
                return await attempt()
            except Exception as exc:
                await self._replay([_ROLLBACK])
                if tries >= _RETRIES or not (exc.args and exc.args[0] in _RETRYABLE_ERRNOS):
                    raise
            await asyncio.sleep(random.uniform(0, min(1.0, 0.02 * 2**tries)))
            tries += 1

    async def reserve(self, project: str) -> list[str] | None:
        return await self._retried(functools.partial(self._reserve_once, project))

    async def finish(self, project: str, uuids: list[str], commit: bool) -> None:
        await self._retried(functools.partial(self._finish_once, project, uuids, commit))

    async def _reserve_once(self, project: str) -> list[str] | None:
        template = self.captured[project].reserve
        uuids = [str(uuid.uuid4()) for _ in template.uuids]
        plan = template.bind(uuids, utcnow() - template.captured_at)
        if self.driver.dialect == "postgresql":
            (rows,) = await self._replay(plan)
            if rows and all(row["go"] for row in rows):
                return uuids
            if any(row["slow"] for row in rows):
                raise RuntimeError(f"{project}: rawdb's one-statement reserve wants the slow path; not replayable")
            return None
        # SQLite and MySQL: rawdb's transaction, with its limit check on the rows it has read
        # (on MySQL the usage rows and the limit rows come in one result, told apart by kind).
        if self.driver.dialect == "mysql":
            split = template.names.index("cinder.quota.usages_lock_limits") + 1
            results = await self._replay(plan[:split])
            rows = results[split - 1]
            usages = [row for row in rows if row["kind"] == "usage"]
            limits = [
                {"source": row["kind"], "resource": row["resource"], "hard_limit": row["hard_limit"]}
                for row in rows
                if row["kind"] != "usage"
            ]
        else:
            split = template.names.index("cinder.quota.limits") + 1
            results = await self._replay(plan[:split])
            usages, limits = results[template.names.index("cinder.quota.usages_lock")], results[split - 1]
        if _over(usages, limits):
            await self._replay([_ROLLBACK])
            return None
        await self._replay(plan[split:])
        return uuids

    async def _finish_once(self, project: str, uuids: list[str], commit: bool) -> None:
        captured = self.captured[project]
        template = captured.commit if commit else captured.rollback  # each knows its own reserve's uuids
        plan = template.bind(uuids, utcnow() - template.captured_at)
        if self.driver.dialect != "mysql":
            await self._replay(plan)
            return
        # MySQL: finish_apply names the reservations finish_lock found, by their ids.
        split = template.names.index("cinder.quota.finish_lock") + 1
        results = await self._replay(plan[:split])
        # In usage id order, as rawdb sends them (finish_apply locks the usage rows in this order).
        picked = [row["id"] for row in sorted(results[split - 1], key=lambda r: (r["usage_id"] or 0, r["id"]))]
        if not picked:  # another caller finished them first: rawdb applies nothing
            await self._replay([_COMMIT])
            return
        apply = plan[split]
        args = list(apply.args)
        args[self.picked_at] = json.dumps(picked)
        await self._replay([Step(apply.sql, tuple(args)), *plan[split + 1 :]])


def _over(usages: Sequence[Mapping[str, Any]], limits: Sequence[Mapping[str, Any]]) -> bool:
    """rawdb's check on SQLite: a delta past the first limit found (project, class, default, configured)."""
    found: dict[tuple[str, str], int] = {}
    for limit in limits:
        if limit["hard_limit"] is not None:
            found.setdefault((limit["source"], limit["resource"]), limit["hard_limit"])
    by_resource = {usage["resource"]: usage for usage in usages}
    for resource, delta in DELTAS.items():
        row = by_resource.get(resource)
        if row is None:
            raise RuntimeError(f"no usage row for {resource}: the slow path is not replayable")
        sources = [found[(s, resource)] for s in ("project", "class", "default") if (s, resource) in found]
        hard_limit = sources[0] if sources else sync.DEFAULTS.get(resource, -1)
        if 0 <= hard_limit < row["in_use"] + row["reserved"] + delta:
            return True
    return False


async def capture(db: Database, projects: Sequence[str]) -> dict[str, _Captured]:
    """Run one reserve+commit and one reserve+rollback per project through rawdb; keep the statements."""
    engine = quota_engine()
    counter = rawdb.StatementCounter(keep=True)
    captured: dict[str, _Captured] = {}

    async def run(call: Callable[[], Any]) -> tuple[list[StatementEvent], Any]:
        counter.reset()
        with db.hooked(counter):
            result = await call()
        return list(counter.events), result

    for project in projects:
        ctx = rawdb.Context(db, project_id=project, user_id=USER)
        templates: list[_Template] = []
        for commit in (True, False):
            events, uuids = await run(functools.partial(_reserve, engine, ctx, project))
            now = utcnow()
            reserve = _template(events, uuids, now)
            finish = engine.commit if commit else engine.rollback
            events, _ = await run(functools.partial(finish, ctx, uuids, project_id=project))
            templates += [reserve, _template(events, uuids, now)]
        fast = {"postgresql": ("cinder.quota.reserve",), "mysql": _MYSQL_RESERVE}.get(db.dialect)
        if fast is not None and templates[0].names != fast:
            raise RuntimeError(f"{project}: rawdb's reserve took the slow path {templates[0].names}; reset first")
        captured[project] = _Captured(*templates)
    return captured


class _DriverTarget(_Target):
    name = "driver"

    def __init__(self, db: Database, captured: Mapping[str, _Captured]) -> None:
        self.db = db
        self.captured = captured
        self.drivers: list[Driver] = []
        self.counter = [0]
        self._mark = 0

    async def open(self, n: int) -> list[Any]:
        for _ in range(n):
            self.drivers.append(await Driver.open(self.db, read_only=False))
        picked_at = -1
        if self.db.dialect == "mysql":
            picked_at = self.db.statement("cinder.quota.finish_apply").compiled("mysql").names.index("picked")
        return [_DriverCaller(driver, self.captured, self.counter, picked_at) for driver in self.drivers]

    async def release(self) -> None:
        drivers, self.drivers = self.drivers, []
        for driver in drivers:
            await driver.close()

    def start_count(self) -> None:
        self._mark = self.counter[0]

    def stop_count(self) -> _Count:
        return _Count(self.counter[0] - self._mark)

    async def close(self) -> None:
        await self.release()


async def _check_replay(db: Database, target: _DriverTarget) -> None:
    """The replay really works: usages move with each committed pair and come back on rollback."""
    await reset_quota(db)
    (caller,) = await target.open(1)
    held: dict[str, int] = {}
    try:
        for commit in (True, True, True, False):
            uuids = await caller.reserve(HOT)
            if uuids is None:
                raise RuntimeError(f"the replayed reserve of {HOT} was refused")
            if not commit:
                held = {row["resource"]: row["reserved"] for row in await _state(db, [HOT])}
            await caller.finish(HOT, uuids, commit)
    finally:
        await target.release()
    rows = await _state(db, [HOT])
    if held != DELTAS or not _balanced(rows, {HOT: 3}) or any(row["reserved"] for row in rows):
        raise RuntimeError(f"the driver replay does not move the usages as rawdb does: {held}, {rows}")


# openstack


class _CinderCaller:
    def __init__(self, peer: Any) -> None:
        self.peer = peer

    def reserve(self, project: str) -> list[str] | None:
        try:
            uuids: list[str] = self.peer.reserve(project, DELTAS)
        except errors.OverQuota:
            return None
        return uuids

    def finish(self, project: str, uuids: list[str], commit: bool) -> None:
        if commit:
            self.peer.commit(project, uuids)
        else:
            self.peer.rollback(project, uuids)


_CINDER_SQLITE = (
    "cinder's quota_reserve cannot take concurrent callers on SQLite: its BEGIN is deferred and "
    "SELECT ... FOR UPDATE locks nothing there, so two callers' writes collide with 'database is "
    "locked', which oslo.db does not turn into a retried DBDeadlock"
)


class _CinderTarget(_Target):
    name = "openstack"
    threaded = True

    def __init__(self, peer: Any, dialect: str) -> None:
        self.peer = peer
        self._mark = (0, 0)
        if dialect == "sqlite":
            self.single_only = _CINDER_SQLITE

    async def open(self, n: int) -> list[Any]:
        return [_CinderCaller(self.peer) for _ in range(n)]

    async def release(self) -> None:
        await asyncio.to_thread(self.peer.release)

    def start_count(self) -> None:
        self._mark = (self.peer.statements, self.peer.round_trips)

    def stop_count(self) -> _Count:
        return _Count(self.peer.statements - self._mark[0], self.peer.round_trips - self._mark[1])

    async def close(self) -> None:
        await asyncio.to_thread(self.peer.close)


# --- one caller's loops -------------------------------------------------------------------


@dataclass(slots=True)
class _Tally:
    """What one caller did."""

    pairs: int = 0
    committed: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    refusals: int = 0
    rollbacks: int = 0
    errors: int = 0
    first_error: str | None = None

    def finished(self, project: str, committed: bool) -> None:
        if committed:
            self.committed[project] += 1
            self.pairs += 1
        else:
            self.rollbacks += 1

    def error(self, exc: BaseException) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = f"{type(exc).__name__}: {exc}"


def _merge(tallies: Sequence[_Tally]) -> _Tally:
    total = _Tally()
    for tally in tallies:
        total.pairs += tally.pairs
        total.committed.update(tally.committed)
        total.latencies += tally.latencies
        total.refusals += tally.refusals
        total.rollbacks += tally.rollbacks
        total.errors += tally.errors
        total.first_error = total.first_error or tally.first_error
    return total


async def _pair_async(caller: AsyncCaller, project: str, tally: _Tally) -> None:
    """One reserve + commit."""
    started = time.perf_counter()
    try:
        uuids = await caller.reserve(project)
        if uuids is None:
            tally.refusals += 1
            return
        await caller.finish(project, uuids, True)
    except Exception as exc:
        tally.error(exc)
        return
    tally.finished(project, True)
    tally.latencies.append((time.perf_counter() - started) * 1000)


def _pair_sync(caller: SyncCaller, project: str, tally: _Tally) -> None:
    """One reserve + commit."""
    started = time.perf_counter()
    try:
        uuids = caller.reserve(project)
        if uuids is None:
            tally.refusals += 1
            return
        caller.finish(project, uuids, True)
    except Exception as exc:
        tally.error(exc)
        return
    tally.finished(project, True)
    tally.latencies.append((time.perf_counter() - started) * 1000)


async def _pairs_async(caller: AsyncCaller, project: str, deadline: float, tally: _Tally) -> None:
    clock = time.perf_counter
    while clock() < deadline and tally.errors < MAX_ERRORS:
        await _pair_async(caller, project, tally)


def _pairs_sync(caller: SyncCaller, project: str, deadline: float, tally: _Tally) -> None:
    clock = time.perf_counter
    while clock() < deadline and tally.errors < MAX_ERRORS:
        _pair_sync(caller, project, tally)


async def _push_async(caller: AsyncCaller, project: str, rng: random.Random, tally: _Tally) -> None:
    while tally.refusals < PUSH_REFUSALS and tally.errors < MAX_ERRORS:
        try:
            uuids = await caller.reserve(project)
            if uuids is None:
                tally.refusals += 1
                continue
            await asyncio.sleep(PUSH_PAUSE)
            commit = rng.random() >= PUSH_ROLLBACK
            await caller.finish(project, uuids, commit)
        except Exception as exc:
            tally.error(exc)
            continue
        tally.finished(project, commit)


def _push_sync(caller: SyncCaller, project: str, rng: random.Random, tally: _Tally) -> None:
    while tally.refusals < PUSH_REFUSALS and tally.errors < MAX_ERRORS:
        try:
            uuids = caller.reserve(project)
            if uuids is None:
                tally.refusals += 1
                continue
            time.sleep(PUSH_PAUSE)
            commit = rng.random() >= PUSH_ROLLBACK
            caller.finish(project, uuids, commit)
        except Exception as exc:
            tally.error(exc)
            continue
        tally.finished(project, commit)


async def _run_callers(
    target: _Target,
    callers: Sequence[Any],
    run_async: Callable[[int, Any, _Tally], Any],
    run_sync: Callable[[int, Any, _Tally], None],
) -> list[_Tally]:
    """Run every caller at once (tasks, or threads for a threaded target); their tallies."""
    tallies = [_Tally() for _ in callers]
    if not target.threaded:
        await asyncio.gather(*(run_async(i, caller, tallies[i]) for i, caller in enumerate(callers)))
        return tallies
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=len(callers), thread_name_prefix="quota-caller") as pool:
        await asyncio.gather(
            *(loop.run_in_executor(pool, run_sync, i, caller, tallies[i]) for i, caller in enumerate(callers))
        )
    return tallies


# --- the monitor --------------------------------------------------------------------------


class _Monitor:
    """Polls the usages of some projects on its own connection; counts over-limit states."""

    def __init__(self, db: Database, projects: Sequence[str]) -> None:
        compiled = _STATE.compiled(db.dialect)
        self.step = Step(
            compiled.sql, tuple(compiled.bind(_STATE.name, {"projects": list(projects), "resources": list(DELTAS)}))
        )
        self.db = db
        self.samples = 0
        self.violations = 0
        self.stopping = asyncio.Event()
        self.ready = asyncio.Event()

    async def run(self) -> None:
        try:
            driver = await Driver.open(self.db, read_only=True)
        except BaseException:
            self.ready.set()  # whoever waits for the monitor learns of its failure from the task
            raise
        try:
            self.ready.set()
            while not self.stopping.is_set():
                (rows,) = await driver.replay([self.step])
                self.samples += 1
                self.violations += sum(1 for row in rows if 0 <= row["hard_limit"] < row["in_use"] + row["reserved"])
                await asyncio.sleep(MONITOR_PAUSE)
        finally:
            self.ready.set()
            await driver.close()


# --- scenarios ----------------------------------------------------------------------------


async def _single(target: _Target, ops: int) -> tuple[list[float], _Count, list[float], int]:
    """ms per pair on the hot project; statements of WARMUP pairs; reserve ms; pairs committed."""
    (caller,) = await target.open(1)
    reserve_ms: list[float] = []
    clock = time.perf_counter
    try:
        if target.threaded:

            def pair_sync() -> None:
                started = clock()
                uuids = caller.reserve(HOT)
                reserve_ms.append((clock() - started) * 1000)
                if uuids is None:
                    raise RuntimeError(f"{target.name} refused a reservation of {HOT}")
                caller.finish(HOT, uuids, True)

            def timed() -> tuple[list[float], _Count]:
                for _ in range(WARMUP):
                    pair_sync()
                target.start_count()
                for _ in range(WARMUP):
                    pair_sync()
                count = target.stop_count()
                reserve_ms.clear()
                return time_sync(pair_sync, ops, warmup=0), count

            samples, count = await asyncio.to_thread(timed)
        else:

            async def pair() -> None:
                started = clock()
                uuids = await caller.reserve(HOT)
                reserve_ms.append((clock() - started) * 1000)
                if uuids is None:
                    raise RuntimeError(f"{target.name} refused a reservation of {HOT}")
                await caller.finish(HOT, uuids, True)

            for _ in range(WARMUP):
                await pair()
            target.start_count()
            for _ in range(WARMUP):
                await pair()
            count = target.stop_count()
            reserve_ms.clear()
            samples = await time_async(pair, ops, warmup=0)
    finally:
        await target.release()
    return samples, count, reserve_ms, ops + 2 * WARMUP


async def _throughput(target: _Target, n: int, projects: Sequence[str], seconds: float) -> tuple[float, _Count, _Tally]:
    """Pairs per second of ``n`` callers (caller i on ``projects[i % len(projects)]``) for ``seconds``.

    Each caller first makes two pairs, all callers at once: the first opens its connection,
    the second has its statements counted.  The clock starts after that.  The tally's
    ``committed`` includes those pairs.
    """
    callers = await target.open(n)
    mine = [projects[i % len(projects)] for i in range(n)]
    try:
        warm: list[_Tally] = []
        for counted in (False, True):
            if counted:
                target.start_count()
            warm += await _run_callers(
                target,
                callers,
                lambda i, caller, tally: _pair_async(caller, mine[i], tally),
                lambda i, caller, tally: _pair_sync(caller, mine[i], tally),
            )
        count = target.stop_count()
        started = time.perf_counter()
        deadline = started + seconds
        tallies = await _run_callers(
            target,
            callers,
            lambda i, caller, tally: _pairs_async(caller, mine[i], deadline, tally),
            lambda i, caller, tally: _pairs_sync(caller, mine[i], deadline, tally),
        )
        elapsed = time.perf_counter() - started
    finally:
        await target.release()
    timed = _merge(tallies)
    timed.committed = _merge([*warm, timed]).committed
    timed.errors += sum(tally.errors for tally in warm)
    timed.first_error = timed.first_error or next((t.first_error for t in warm if t.first_error), None)
    return timed.pairs / elapsed, count, timed


@dataclass(slots=True)
class _Push:
    rate: float
    committed: int
    capacity: int
    refusals: int
    rollbacks: int
    errors: int
    samples: int
    violations: int
    final_ok: bool
    conserved: bool
    seconds: float
    first_error: str | None


def capacity(projects: Sequence[str]) -> int:
    """How many pairs the projects' limits admit, all together."""
    return sum(min(_limits(p)[r] // d for r, d in DELTAS.items()) for p in projects)


async def _push(db: Database, target: _Target, layout: Layout, round_: int) -> _Push:
    """32 callers push past the tight limits while a monitor watches; then the books are checked."""
    projects = list(TIGHT) if layout == "tight10" else [TIGHT[0]]
    mine = [projects[i % len(projects)] for i in range(PUSH_CALLERS)]
    rngs = [random.Random(f"quota-push/{layout}/{round_}/{i}") for i in range(PUSH_CALLERS)]
    callers = await target.open(PUSH_CALLERS)
    monitor = _Monitor(db, projects)
    watching = asyncio.create_task(monitor.run())
    try:
        await monitor.ready.wait()
        if watching.done():
            await watching  # the monitor could not start: its error, not a run nobody watches
        started = time.perf_counter()
        tallies = await _run_callers(
            target,
            callers,
            lambda i, caller, tally: _push_async(caller, mine[i], rngs[i], tally),
            lambda i, caller, tally: _push_sync(caller, mine[i], rngs[i], tally),
        )
        elapsed = time.perf_counter() - started
    finally:
        monitor.stopping.set()
        try:
            await watching
        finally:
            await target.release()
    total = _merge(tallies)
    rows = await _state(db, projects)
    live = await _live_reservations(db, projects)
    final_ok = (
        live == 0
        and len(rows) == len(projects) * len(DELTAS)
        and all(row["reserved"] == 0 and row["in_use"] <= row["hard_limit"] for row in rows)
    )
    return _Push(
        rate=total.pairs / elapsed,
        committed=total.pairs,
        capacity=capacity(projects),
        refusals=total.refusals,
        rollbacks=total.rollbacks,
        errors=total.errors,
        samples=monitor.samples,
        violations=monitor.violations,
        final_ok=final_ok,
        conserved=_balanced(rows, total.committed),
        seconds=elapsed,
        first_error=total.first_error,
    )


# --- past reservations --------------------------------------------------------------------


async def _analyze_reservations(db: Database) -> None:
    async with db.writer() as tx:
        await tx.script(_ANALYZE_RESERVATIONS[db.dialect], "analyze reservations")


async def _table_options(db: Database, scripts: Mapping[str, str]) -> None:
    """Run the dialect's ALTER TABLE of ``scripts``, if it has one (outside a transaction: DDL commits on MySQL)."""
    sql = scripts.get(db.dialect)
    if sql is not None:
        async with db.context(is_admin=True).writer(autocommit=True) as tx:
            await tx.script(sql, "reservations' statistics options")


async def insert_history(db: Database, count: int, project: str = HOT) -> int:
    """Insert ``count`` finished reservations on ``project``'s usage rows of the DELTAS resources.

    One INSERT ... SELECT: soft-deleted (``deleted`` true, ``deleted_at`` set), delta 1, one
    pair a minute back from now, the usage rows taken in turn, uuids unique (a random prefix
    of this call, then the row's number).  Returns how many rows it inserted.
    """
    async with db.writer() as tx:
        return await tx.execute(
            _INSERT_HISTORY,
            prefix=str(uuid.uuid4())[:23],
            now=utcnow(),
            count=count,
            width=len(DELTAS),
            project_id=project,
            resources=sorted(DELTAS),
        )


@dataclass(slots=True)
class _Batches:
    """One target's pairs in one state of quota_history."""

    samples: list[float] = field(default_factory=list)  # ms per timed pair
    reserve_ms: list[float] = field(default_factory=list)  # of each timed pair
    medians: list[float] = field(default_factory=list)  # of each batch
    count: _Count = field(default_factory=_Count)  # of the first measurement's counted pairs
    pairs: int = 0  # committed, the untimed ones included

    def extend(self, more: _Batches) -> None:
        """Add another measurement of the same state."""
        self.samples += more.samples
        self.reserve_ms += more.reserve_ms
        self.medians += more.medians
        self.pairs += more.pairs


async def _hot_pair(target: _Target, caller: AsyncCaller, run: _Batches) -> tuple[float, float]:
    """One reserve + commit on the hot project: its ms, and its reserve's."""
    clock = time.perf_counter
    started = clock()
    uuids = await caller.reserve(HOT)
    reserved = clock()
    if uuids is None:
        raise RuntimeError(f"{target.name} refused a reservation of {HOT}")
    await caller.finish(HOT, uuids, True)
    run.pairs += 1
    return (clock() - started) * 1000, (reserved - started) * 1000


async def _history_state(targets: Sequence[_Target], batches: int, pairs: int) -> dict[str, _Batches]:
    """Each target's pairs on the hot project, one caller each, in the database's present state.

    Per target WARMUP untimed pairs, then WARMUP whose statements are counted; then
    ``batches`` batches of ``pairs`` timed pairs, the targets taking turns batch by batch,
    so that a slow moment of the machine falls on a batch of each rather than on one target.
    Every target's callers are opened here (fresh connections: PostgreSQL plans anew).
    """
    runs = {target.name: _Batches() for target in targets}
    callers: dict[str, AsyncCaller] = {}
    try:
        for target in targets:
            (callers[target.name],) = await target.open(1)
            run = runs[target.name]
            for _ in range(WARMUP):
                await _hot_pair(target, callers[target.name], run)
            target.start_count()
            try:
                for _ in range(WARMUP):
                    await _hot_pair(target, callers[target.name], run)
            finally:
                run.count = target.stop_count()
        for _ in range(batches):
            for target in targets:
                run = runs[target.name]
                batch = []
                for _ in range(pairs):
                    pair_ms, reserve_ms = await _hot_pair(target, callers[target.name], run)
                    batch.append(pair_ms)
                    run.reserve_ms.append(reserve_ms)
                run.samples += batch
                run.medians.append(_median(batch))
    finally:
        for target in targets:
            await target.release()
    return runs


def _best(figure: Figure) -> float:
    """A quota_history figure's ms per pair as compared: its fastest batch's median.

    The machine's noise only ever slows a batch down, so the fastest batch is the closest
    to what the state itself costs.
    """
    medians = figure.info.get("batch_ms")
    return min(medians) if medians else figure.median


def _ratio(ms: float, base_ms: float) -> float:
    """``ms`` over quota_history_0's ``base_ms``; NaN when there is nothing to compare."""
    return ms / base_ms if base_ms > 0 else float("nan")


def _too_slow(ratio: float) -> bool:
    return not ratio <= HISTORY_RATIO  # NaN (no samples) is too slow as well


async def _history(
    db: Database, targets: Sequence[_Target], history: int, batches: int, pairs: int, say: Progress
) -> list[Figure]:
    """quota_history_0, then _stale and _fresh with ``history`` past reservations (module docstring).

    A state with history in which a target's fastest batch is over HISTORY_RATIO times its
    quota_history_0 is measured again (``batches`` more for every target), up to
    HISTORY_RETRIES times, before the figure is made: a slow moment of the machine, or the
    server still writing out the history, passes; a plan that walks the history does not.
    The test projects are reset first; afterwards the history is deleted with every other
    reservation of the test projects, the table's options restored and its statistics
    gathered again, whatever happened.
    """
    figures: list[Figure] = []
    base: dict[str, float] = {}  # quota_history_0's ms per target
    committed = 0  # pairs since the reset: in_use must be that times the deltas
    inserted = 0
    seconds = 0.0

    async def measure(scenario: str, statistics: str) -> None:
        nonlocal committed
        runs = await _history_state(targets, batches, pairs)
        rounds = 1
        while (
            scenario != HISTORY_STATES[0]
            and rounds <= HISTORY_RETRIES
            and any(_too_slow(_ratio(min(runs[t.name].medians), base[t.name])) for t in targets)
        ):
            say(f"{scenario}: over {HISTORY_RATIO:g}x {HISTORY_STATES[0]}; measuring again")
            for name, more in (await _history_state(targets, batches, pairs)).items():
                runs[name].extend(more)
            rounds += 1
        committed += sum(run.pairs for run in runs.values())
        rows = await _state(db, [HOT])
        live = await _live_reservations(db, [HOT])
        conserved = _balanced(rows, {HOT: committed}) and live == 0 and not any(row["reserved"] for row in rows)
        for target in targets:
            run = runs[target.name]
            acc = _Acc(Figure(scenario, target.name, "ms", list(run.samples)))
            acc.count(run.count, WARMUP)
            acc.add("reserve_ms", run.reserve_ms)
            acc.add("commit_ms", [pair - reserve for pair, reserve in zip(run.samples, run.reserve_ms, strict=True)])
            acc.conserved = conserved
            figure = acc.done()
            best = min(run.medians, default=float("nan"))
            figure.info.update(
                history=inserted,
                statistics=statistics,
                rounds=rounds,
                batches=len(run.medians),
                pairs=pairs,
                batch_ms=run.medians,
                best_batch_ms=best,
            )
            if scenario == HISTORY_STATES[0]:
                base[target.name] = best
            else:
                figure.info["insert_seconds"] = round(seconds, 3)
                figure.info["vs_history_0"] = _ratio(best, base[target.name])
            figures.append(figure)
            say(f"{scenario} {target.name}: {best:.3f} ms per pair (fastest of {len(run.medians)} batch medians)")

    await reset_quota(db)
    try:
        await _table_options(db, _FREEZE_STATISTICS)
        await _analyze_reservations(db)  # statistics of a table with no history
        await measure(HISTORY_STATES[0], "fresh")
        started = time.perf_counter()
        inserted = await insert_history(db, history)
        seconds = time.perf_counter() - started
        say(f"quota_history: {inserted:,} past reservations of {HOT} inserted in {seconds:.1f} s")
        await measure(HISTORY_STATES[1], "stale")  # statistics still of the table with no history
        await _analyze_reservations(db)
        await measure(HISTORY_STATES[2], "fresh")
    finally:
        await reset_quota(db)
        await _table_options(db, _THAW_STATISTICS)
        await _analyze_reservations(db)
    return figures


# --- the runner ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Acc:
    """A figure and what its rounds add up to."""

    figure: Figure
    statements: list[float] = field(default_factory=list)
    round_trips: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0
    first_error: str | None = None
    conserved: bool = True

    def add(self, key: str, values: Sequence[float]) -> None:
        self.extra.setdefault(key, []).extend(values)

    def count(self, count: _Count, pairs: int) -> None:
        if pairs:
            self.statements.append(count.statements / pairs)
            if count.round_trips is not None:
                self.round_trips.append(count.round_trips / pairs)

    def error(self, errors: int, first: str | None) -> None:
        self.errors += errors
        self.first_error = self.first_error or first

    def done(self) -> Figure:
        figure = self.figure
        if self.statements:
            figure.statements = _median(self.statements)
        if self.round_trips:
            figure.info["round_trips"] = _median(self.round_trips)
        for key, values in self.extra.items():
            figure.info[key] = _median(values)
        figure.info["errors"] = self.errors
        if self.first_error:
            figure.info["first_error"] = self.first_error
        figure.info["conserved"] = self.conserved
        return figure


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


def _preload(peer: Any) -> None:
    """Read every test project's limits once, as DbQuotaDriver would before reserving."""
    for project in TEST_PROJECTS:
        peer.limits(project, list(DELTAS))


async def _open_targets(db: Database, names: Sequence[str], say: Progress) -> list[_Target]:
    opened: list[_Target] = []
    try:
        for name in names:
            if name == "rawdb":
                opened.append(_RawdbTarget(db))
            elif name == "driver":
                await reset_quota(db)
                driver = _DriverTarget(db, await capture(db, TEST_PROJECTS))
                await _check_replay(db, driver)
                say("driver: rawdb's statements captured for every test project; the replay moves the usages")
                opened.append(driver)
            elif name == "openstack":
                from rawdb.bench.peers import cinder

                reason = cinder.available(db.url)
                if reason is not None:
                    raise RuntimeError(f"the openstack target needs cinder: {reason}")
                peer = await asyncio.to_thread(cinder.CinderPeer, db.url)
                opened.append(_CinderTarget(peer, db.dialect))

                await asyncio.to_thread(_preload, peer)
            else:
                raise ValueError(f"unknown quota target {name!r}; expected rawdb, driver or openstack")
    except BaseException:
        for target in opened:
            await target.close()
        raise
    return opened


# --- the same outcome ---------------------------------------------------------------------

AGREE_PROJECT = TIGHT[0]
AGREE_ATTEMPTS = 40  # every fourth one rolled back: 25 commits fill the 250 gigabytes, the rest are refused


async def _outcome(db: Database, target: _Target) -> dict[str, Any]:
    """What one caller's fixed sequence on a tight project comes to: each reservation's fate
    (committed, rolled back or refused) and the project's usages afterwards."""
    await reset_quota(db)
    (caller,) = await target.open(1)

    async def call(method: Any, *args: Any) -> Any:
        return await asyncio.to_thread(method, *args) if target.threaded else await method(*args)

    fates: list[str] = []
    try:
        for attempt in range(AGREE_ATTEMPTS):
            uuids = await call(caller.reserve, AGREE_PROJECT)
            if uuids is None:
                fates.append("refused")
                continue
            commit = attempt % 4 != 3
            await call(caller.finish, AGREE_PROJECT, uuids, commit)
            fates.append("committed" if commit else "rolled back")
    finally:
        await target.release()
    rows = await _state(db, [AGREE_PROJECT])
    usages = sorted((row["resource"], row["in_use"], row["reserved"]) for row in rows)
    return {"fates": fates, "usages": [list(usage) for usage in usages]}


async def agree(db: Database, targets: Sequence[_Target], say: Progress) -> tuple[str, dict[str, str]]:
    """Run the fixed sequence on every target.

    Returns rawdb's outcome in words and, per target, how its outcome differs from rawdb's.
    """
    outcomes = {target.name: await _outcome(db, target) for target in targets}
    reference = outcomes.get("rawdb")
    if reference is None:
        return "", {}
    differs = {}
    for name, outcome in outcomes.items():
        if outcome == reference:
            continue
        steps = [i for i, (a, b) in enumerate(zip(outcome["fates"], reference["fates"], strict=True)) if a != b]
        differs[name] = (
            f"reservation {steps[0] + 1} was {outcome['fates'][steps[0]]}, rawdb's {reference['fates'][steps[0]]}"
            if steps
            else f"usages {outcome['usages']}, rawdb's {reference['usages']}"
        )
    fates = reference["fates"]
    summary = (
        f"{AGREE_PROJECT}: {fates.count('committed')} committed, {fates.count('rolled back')} rolled back, "
        f"{fates.count('refused')} refused"
    )
    say(f"quota outcome on {summary}; " + (f"differs: {differs}" if differs else f"{', '.join(outcomes)} agree"))
    return summary, differs


async def run_quota(
    db: Database,
    *,
    targets: Sequence[str],
    rounds: int = 3,
    seconds: float = 5.0,
    callers: Sequence[int] = (1, 8, 32),
    single_ops: int = 200,
    history: int = HISTORY,
    history_batches: int = HISTORY_BATCHES,
    history_pairs: int = HISTORY_PAIRS,
    progress: Progress | None = None,
) -> list[Figure]:
    """Seed the quota dataset into ``db`` and measure every quota scenario for ``targets``.

    :param db: the database (PostgreSQL, MariaDB or a SQLite file) to seed and measure on
    :param targets: some of ``rawdb``, ``driver``, ``openstack``
    :param rounds: rounds per scenario; the targets take turns in each
    :param seconds: length of each throughput measurement
    :param callers: concurrent callers of the throughput scenarios
    :param single_ops: timed pairs per round of ``quota_single``
    :param history: past reservations of ``quota_history_stale`` / ``_fresh``; 0: no quota_history
    :param history_batches: timed batches per target and state of ``quota_history``
    :param history_pairs: timed pairs per batch of ``quota_history``
    :param progress: called with a line of text as work proceeds
    :returns: one Figure per scenario and target (see the module docstring)
    """
    say: Progress = progress or (lambda line: None)
    dataset = await seed_quota(db)
    say(f"quota dataset {dataset.fingerprint} {'reused' if dataset.reused else 'loaded'}")
    opened = await _open_targets(db, targets, say)
    accs: dict[tuple[str, str], _Acc] = {}
    history_figures: list[Figure] = []

    def acc(scenario: str, target: _Target, unit: Literal["ms", "pairs/s"]) -> _Acc:
        key = (scenario, target.name)
        if key not in accs:
            accs[key] = _Acc(Figure(scenario, target.name, unit))
        return accs[key]

    for target in opened:
        if target.single_only:
            say(f"{target.name}: only the scenarios with one caller: {target.single_only}")
    outcome, differs = await agree(db, opened, say)

    def concurrent() -> list[_Target]:
        return [target for target in opened if not target.single_only]

    try:
        for round_ in range(rounds):
            for target in opened:
                await reset_quota(db)
                samples, count, reserve_ms, pairs = await _single(target, single_ops)
                rows = await _state(db, [HOT])
                single = acc("quota_single", target, "ms")
                single.figure.samples += samples
                single.count(count, WARMUP)
                single.add("reserve_ms", reserve_ms)
                single.add("commit_ms", [pair - reserve for pair, reserve in zip(samples, reserve_ms, strict=True)])
                single.conserved &= _balanced(rows, {HOT: pairs}) and not any(row["reserved"] for row in rows)
                single.figure.info["outcome"] = outcome
                if target.name in differs:
                    single.figure.info["outcome_differs"] = differs[target.name]
                say(f"quota_single {target.name} round {round_ + 1}/{rounds}: {_median(samples):.2f} ms per pair")
        for n in callers:
            for layout, projects in (("spread", SPREAD), ("hot", (HOT,))):
                scenario = f"quota_{n}_{layout}"
                for round_ in range(rounds):
                    for target in opened if n == 1 else concurrent():
                        await reset_quota(db)
                        rate, count, tally = await _throughput(target, n, projects, seconds)
                        rows = await _state(db, projects)
                        figure = acc(scenario, target, "pairs/s")
                        figure.figure.samples.append(rate)
                        figure.count(count, n)
                        figure.add("latencies_ms", tally.latencies)
                        figure.error(tally.errors, tally.first_error)
                        figure.conserved &= _balanced(rows, tally.committed) and not any(r["reserved"] for r in rows)
                        figure.figure.info.update(callers=n, projects=len(projects), seconds=seconds)
                        say(f"{scenario} {target.name} round {round_ + 1}/{rounds}: {rate:.0f} pairs/s")
        for layout in _PUSH_LAYOUTS:
            scenario = f"quota_overlimit_{layout}"
            for round_ in range(rounds):
                for target in concurrent():
                    await reset_quota(db)
                    push = await _push(db, target, layout, round_)
                    figure = acc(scenario, target, "pairs/s")
                    figure.figure.samples.append(push.rate)
                    figure.error(push.errors, push.first_error)
                    figure.conserved &= push.conserved
                    info = figure.figure.info
                    for key in ("committed", "capacity", "refusals", "rollbacks", "samples", "violations"):
                        info[key] = info.get(key, 0) + getattr(push, key)
                    info["final_ok"] = info.get("final_ok", True) and push.final_ok
                    info["seconds"] = info.get("seconds", 0.0) + push.seconds
                    info["rounds"] = round_ + 1
                    say(
                        f"{scenario} {target.name} round {round_ + 1}/{rounds}: {push.committed}/{push.capacity} "
                        f"committed, {push.refusals} refused, {push.violations} violations, "
                        f"{push.errors} errors, final {'ok' if push.final_ok else 'WRONG'}, "
                        f"{'conserved' if push.conserved else 'NOT conserved'}"
                    )
        history_targets = [target for target in opened if target.name in HISTORY_TARGETS]
        if history > 0 and history_targets:
            history_figures = await _history(db, history_targets, history, history_batches, history_pairs, say)
    finally:
        for target in opened:
            await target.close()
        await reset_quota(db)
    figures: list[Figure] = []
    for item in accs.values():
        done = item.done()
        if done.info.pop("latencies_ms", None) is not None:
            pooled = item.extra["latencies_ms"]
            done.info["p50_ms"] = _percentile(pooled, 0.5)
            done.info["p90_ms"] = _percentile(pooled, 0.9)
        figures.append(done)
    return figures + history_figures


def quota_check(figures: list[Figure]) -> list[str]:
    """Problems in quota figures: over-limit states, unbalanced usages, a bad final state, errors, slow history.

    Slow history: a pair that costs more than HISTORY_RATIO times as much with past
    reservations as without.  A ``quota_history_stale`` or ``_fresh`` figure is compared
    with the ``quota_history_0`` one of the same target, fastest batch median against
    fastest batch median (``batch_ms``; the median of all samples when a figure has no
    batches).
    """
    problems = []
    baselines = {f.target: f for f in figures if f.scenario == HISTORY_STATES[0]}
    for figure in figures:
        if not figure.scenario.startswith("quota_"):
            continue
        info, name = figure.info, f"{figure.scenario} [{figure.target}]"
        if info.get("violations"):
            problems.append(f"{name}: the monitor saw {info['violations']} usages over their limit")
        if info.get("conserved") is False:
            problems.append(f"{name}: in_use is not the committed pairs times the deltas")
        if info.get("final_ok") is False:
            problems.append(f"{name}: reservations or reserved amounts are left over, or a usage is over its limit")
        if info.get("errors"):
            problems.append(f"{name}: {info['errors']} errors (first: {info.get('first_error')})")
        if info.get("outcome_differs"):
            problems.append(f"{name}: the same reservations end differently than in rawdb: {info['outcome_differs']}")
        base = baselines.get(figure.target)
        if figure.scenario in HISTORY_STATES[1:] and base is not None:
            ms, base_ms = _best(figure), _best(base)
            ratio = _ratio(ms, base_ms)
            if _too_slow(ratio):
                problems.append(
                    f"{name}: {ms:.3f} ms per pair with {info.get('history', 0):,} past reservations "
                    f"({info.get('statistics', '?')} statistics), {ratio:.2f}x the {base_ms:.3f} ms of "
                    f"{HISTORY_STATES[0]} (at most {HISTORY_RATIO:g}x)"
                )
    return problems
