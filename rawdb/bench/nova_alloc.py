"""Address allocation under concurrent callers: ``fixed_ip_associate_pool`` and ``floating_ip_allocate_address``.

    figures, problems, notes = await run_alloc(db, cases, uuids, targets=..., callers=(1, 8, 32), seconds=5, rounds=3)

Pools of ``POOL`` addresses (a /16 each): fixed IPs ``10.128.0.0/16`` of network ``NETWORK_ID``
and floating IPs ``172.16.0.0/16`` of pool ``FLOATING_POOL``, loaded into rawdb's nova benchmark
database and handed out again (every address free, updated_at as loaded) before each run.  Each
run has N callers allocating in a loop for ``seconds``; its figure is allocations per second.
Fixed IPs go to instances of the nova dataset (``fixed_ips.instance_uuid`` references
``instances``), floating IPs to the probe project.

Targets:

- ``rawdb``: the public functions (``rawdb.nova.api``);
- ``driver``: the statements one rawdb allocation sent, replayed on a bare driver connection
  per caller (the instance uuid replaced each time);
- ``limit``: nova 34 has no nova-network any more, so its side is Newton's algorithm
  (14.0.0, after the Galera work) on a bare driver connection per caller: in one transaction
  the oldest free row by a plain SELECT, then a compare-and-swap UPDATE re-checking it; a lost
  race (no row updated) or a deadlock runs the whole again after oslo.db's ``wrap_db_retry``
  back-off (``max_retries=5``: 1, 2, 4, 8, 10 s), then gives up (``FixedIpAssociateFailed``).

After every run the pool is checked: the addresses handed out are distinct, and exactly the
rows handed out are taken (no double allocation, no lost address).
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

import rawdb
from rawdb import errors
from rawdb.backends._sqlite_thread import Worker
from rawdb.backends.mysql import MysqlBackend
from rawdb.backends.postgresql import PostgresBackend
from rawdb.backends.sqlite import SqliteBackend
from rawdb.bench.driver import Driver, Step, steps
from rawdb.bench.measure import Figure
from rawdb.database import Database
from rawdb.nova import api
from rawdb.statement import Compiled, Statement, convert

__all__ = ["FLOATING_POOL", "NETWORK_ID", "POOL", "load_pools", "reset_pools", "run_alloc"]

POOL = 65_536
NETWORK_ID = 9001
FLOATING_POOL = "rawdb-bench"
PROJECT = "rawdb-bench-alloc"
_RETRIES = 5  # oslo.db wrap_db_retry(max_retries=5): 1, 2, 4, 8, 10 s between attempts


def _each(name: str, postgresql: str, sqlite: str, mysql: str, doc: str) -> Statement:
    variants: dict[str, Compiled] = {
        dialect: convert(sql, dialect)  # type: ignore[arg-type]
        for dialect, sql in (("postgresql", postgresql), ("sqlite", sqlite), ("mysql", mysql))
    }
    return Statement(f"bench.nova.{name}", doc, "<python>", variants)


_SERIES = {  # 0 .. POOL-1 as g
    "postgresql": f"SELECT g FROM generate_series(0, {POOL - 1}) AS g",
    "sqlite": f"WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM s WHERE g < {POOL - 1}) SELECT g FROM s",
    "mysql": f"SELECT seq AS g FROM seq_0_to_{POOL - 1}",
}
_WHEN = {  # 2024-01-01 plus g seconds: the load order is the age order
    "postgresql": "TIMESTAMP '2024-01-01 00:00:00' + g * INTERVAL '1 second'",
    "sqlite": "strftime('%Y-%m-%d %H:%M:%S', '2024-01-01', '+' || g || ' seconds') || '.000000'",
    "mysql": "TIMESTAMP '2024-01-01 00:00:00' + INTERVAL g SECOND",
}
_FIXED_ADDRESS = {
    "postgresql": "inet '10.128.0.0' + g",
    "sqlite": "'10.128.' || (g / 256) || '.' || (g % 256)",
    "mysql": "INET_NTOA(INET_ATON('10.128.0.0') + g)",
}
_FLOATING_ADDRESS = {
    "postgresql": "inet '172.16.0.0' + g",
    "sqlite": "'172.16.' || (g / 256) || '.' || (g % 256)",
    "mysql": "INET_NTOA(INET_ATON('172.16.0.0') + g)",
}


def _by_dialect(name: str, template: str, doc: str, **parts: dict[str, str]) -> Statement:
    texts = {d: template.format(**{k: v[d] for k, v in parts.items()}) for d in ("postgresql", "sqlite", "mysql")}
    return _each(name, texts["postgresql"], texts["sqlite"], texts["mysql"], doc)


_CLEAR = [
    Statement.portable("bench.nova.alloc_clear_fixed", f"DELETE FROM fixed_ips WHERE network_id = {NETWORK_ID}"),
    Statement.portable("bench.nova.alloc_clear_floating", f"DELETE FROM floating_ips WHERE pool = '{FLOATING_POOL}'"),
    Statement.portable("bench.nova.alloc_clear_network", f"DELETE FROM networks WHERE id = {NETWORK_ID}"),
]
_NETWORK = Statement.portable(
    "bench.nova.alloc_network",
    "INSERT INTO networks (id, label, cidr, netmask, vlan, bridge, uuid, created_at, deleted)"
    f" VALUES ({NETWORK_ID}, 'rawdb-bench', '10.128.0.0/16', '255.255.0.0', 4094, 'br4094',"
    " '00000000-0000-4000-8000-00000000b0b0', '2024-01-01 00:00:00', 0)",
    "The allocation benchmark's network.",
)
_LOAD_FIXED = _by_dialect(
    "alloc_load_fixed",
    "INSERT INTO fixed_ips (address, network_id, allocated, leased, reserved, created_at, updated_at, deleted)"
    f" SELECT {{address}}, {NETWORK_ID}, FALSE, FALSE, FALSE, {{when}}, {{when}}, 0 FROM ({{series}}) AS s",
    "The fixed IP pool, one row per address, the oldest first.",
    address=_FIXED_ADDRESS,
    when=_WHEN,
    series=_SERIES,
)
_LOAD_FLOATING = _by_dialect(
    "alloc_load_floating",
    "INSERT INTO floating_ips (address, pool, interface, auto_assigned, created_at, updated_at, deleted)"
    f" SELECT {{address}}, '{FLOATING_POOL}', 'eth0', FALSE, {{when}}, {{when}}, 0 FROM ({{series}}) AS s",
    "The floating IP pool, one row per address.",
    address=_FLOATING_ADDRESS,
    when=_WHEN,
    series=_SERIES,
)
_RESET_FIXED = _by_dialect(
    "alloc_reset_fixed",
    "UPDATE fixed_ips SET instance_uuid = NULL, host = NULL, allocated = FALSE, virtual_interface_id = NULL,"
    " updated_at = created_at WHERE network_id = {net} AND (instance_uuid IS NOT NULL OR host IS NOT NULL)",
    "Every address of the fixed pool free again, in its load-time age.",
    net={d: str(NETWORK_ID) for d in ("postgresql", "sqlite", "mysql")},
)
_RESET_FLOATING = Statement.portable(
    "bench.nova.alloc_reset_floating",
    "UPDATE floating_ips SET project_id = NULL, auto_assigned = FALSE, updated_at = created_at"
    f" WHERE pool = '{FLOATING_POOL}' AND project_id IS NOT NULL",
    "Every address of the floating pool free again.",
)
_TAKEN = {
    "n_alloc_fixed": Statement.portable(
        "bench.nova.alloc_taken_fixed",
        f"SELECT address FROM fixed_ips WHERE network_id = {NETWORK_ID} AND instance_uuid IS NOT NULL AND deleted = 0",
        "The fixed addresses handed out.",
    ),
    "n_alloc_floating": Statement.portable(
        "bench.nova.alloc_taken_floating",
        f"SELECT address FROM floating_ips WHERE pool = '{FLOATING_POOL}' AND project_id IS NOT NULL AND deleted = 0",
        "The floating addresses handed out.",
    ),
}
_COUNT = Statement.portable(
    "bench.nova.alloc_count",
    f"SELECT (SELECT COUNT(*) FROM fixed_ips WHERE network_id = {NETWORK_ID}) AS fixed,"
    f" (SELECT COUNT(*) FROM floating_ips WHERE pool = '{FLOATING_POOL}') AS floating",
    "The pools' sizes.",
)


async def load_pools(db: Database) -> None:
    """Load both pools (POOL addresses each) unless they are there; then every address is free."""
    async with db.reader() as rx:
        row = await rx.fetchrow(_COUNT)
    if row is None or (row["fixed"], row["floating"]) != (POOL, POOL):
        async with db.writer() as tx:
            for statement in _CLEAR:
                await tx.execute(statement)
            await tx.execute(_NETWORK)
            await tx.execute(_LOAD_FIXED)
            await tx.execute(_LOAD_FLOATING)
    await reset_pools(db)


async def reset_pools(db: Database) -> None:
    async with db.writer() as tx:
        await tx.execute(_RESET_FIXED)
        await tx.execute(_RESET_FLOATING)


# --- the callers ------------------------------------------------------------------------------------

Allocate = Callable[[str], Awaitable[str | None]]  # instance uuid -> the address, None: pool empty or gave up


def _address(result: Any) -> str:
    return str(result["address"] if isinstance(result, dict) else result)


def _rawdb_caller(db: Database, case: str) -> Allocate:
    admin = rawdb.Context(db, is_admin=True, project_id="admin-proj", user_id="admin-user")
    user = rawdb.Context(db, project_id=PROJECT, user_id="rawdb-bench")

    async def allocate(instance_uuid: str) -> str | None:
        try:
            if case == "n_alloc_fixed":
                return _address(await api.fixed_ip_associate_pool(admin, NETWORK_ID, instance_uuid=instance_uuid))
            return _address(await api.floating_ip_allocate_address(user, PROJECT, FLOATING_POOL))
        except (errors.NoMoreFixedIps, errors.NoMoreFloatingIps):
            return None

    return allocate


class _Replayer:
    """rawdb's captured statements of one allocation, replayed with another instance uuid."""

    def __init__(self, driver: Driver, plan: Sequence[Step], captured_uuid: str) -> None:
        self.driver, self.plan, self.captured = driver, list(plan), captured_uuid

    async def __call__(self, instance_uuid: str) -> str | None:
        plan = [
            Step(s.sql, tuple(instance_uuid if a == self.captured else a for a in s.args), s.session) for s in self.plan
        ]
        for rows in reversed(await self.driver.replay(plan)):
            for row in rows:
                if "address" in row:
                    return str(row["address"])
        return None


# Newton's statements (nova/db/sqlalchemy/api.py at 14.0.0), as its ORM sent them, per dialect placeholder.
_NEWTON = {
    "n_alloc_fixed": (
        "SELECT id, address, network_id FROM fixed_ips WHERE deleted = 0"
        " AND (network_id = {p1} OR network_id IS NULL) AND reserved = FALSE AND instance_uuid IS NULL"
        " AND host IS NULL AND leased = FALSE ORDER BY updated_at ASC LIMIT 1",
        "UPDATE fixed_ips SET allocated = FALSE, instance_uuid = {p1}, updated_at = {p2} WHERE deleted = 0"
        " AND id = {p3} AND network_id = {p4} AND reserved = FALSE AND instance_uuid IS NULL AND host IS NULL"
        " AND leased = FALSE AND address = {p5}",
    ),
    "n_alloc_floating": (
        "SELECT id, address FROM floating_ips WHERE deleted = 0 AND fixed_ip_id IS NULL AND project_id IS NULL"
        " AND pool = {p1} LIMIT 1",
        "UPDATE floating_ips SET project_id = {p1}, auto_assigned = FALSE, updated_at = {p2} WHERE deleted = 0"
        " AND id = {p3} AND fixed_ip_id IS NULL AND project_id IS NULL AND pool = {p4}",
    ),
}
_MARKS = {
    "postgresql": {f"p{i}": f"${i}" for i in range(1, 6)},
    "sqlite": {f"p{i}": "?" for i in range(1, 6)},
    "mysql": {f"p{i}": "%s" for i in range(1, 6)},
}


Attempt = Callable[[str], Awaitable[str | bool | None]]  # the address, False: lost the race, None: empty


class _Newton:
    """Newton's allocation: one attempt after another, with oslo.db's back-off between them."""

    def __init__(self, attempt: Attempt) -> None:
        self.attempt = attempt
        self.deadline = float("inf")

    async def __call__(self, instance_uuid: str) -> str | None:
        interval = 1.0
        for tried in range(_RETRIES + 1):
            try:
                got = await self.attempt(instance_uuid)
            except _Retry:
                got = False
            if got is None or isinstance(got, str):
                return got
            if tried == _RETRIES or time.monotonic() + interval > self.deadline:
                return None  # FixedIpAssociateFailed / FloatingIpAllocateFailed (or the run is over)
            await asyncio.sleep(interval)
            interval = min(interval * 2, 10.0)
        return None


class _Statements:
    """Newton's two statements of a case, in a dialect's placeholders, and their arguments."""

    def __init__(self, case: str, dialect: str) -> None:
        select, update = _NEWTON[case]
        self.case = case
        self.select, self.update = select.format(**_MARKS[dialect]), update.format(**_MARKS[dialect])

    def select_args(self) -> tuple[Any, ...]:
        return (NETWORK_ID,) if self.case == "n_alloc_fixed" else (FLOATING_POOL,)

    def update_args(self, row: dict[str, Any], instance_uuid: str, now: Any) -> tuple[Any, ...]:
        if self.case == "n_alloc_fixed":
            return (instance_uuid, now, row["id"], row["network_id"], row["address"])
        return (PROJECT, now, row["id"], FLOATING_POOL)


class _Retry(Exception):
    """A deadlock (or SQLite's busy writer): oslo.db retried those as it retried a lost race."""


async def _newton_caller(db: Database, case: str) -> tuple[_Newton, Callable[[], Awaitable[None]]]:
    """Newton's allocation on a bare connection of its own; and how to close it."""
    backend = db.backend
    if isinstance(backend, PostgresBackend):
        conn = await asyncpg.connect(backend.dsn, server_settings={"jit": "off"})
        sql = _Statements(case, "postgresql")

        async def attempt_pg(instance_uuid: str) -> str | bool | None:
            try:
                async with conn.transaction():
                    row = await conn.fetchrow(sql.select, *sql.select_args())
                    if row is None:
                        return None
                    status = await conn.execute(sql.update, *sql.update_args(dict(row), instance_uuid, _now()))
            except asyncpg.DeadlockDetectedError:
                raise _Retry from None
            return str(row["address"]) if status.endswith(" 1") else False

        return _Newton(attempt_pg), conn.close
    if isinstance(backend, MysqlBackend):
        raw = await backend.bare_connection(read_only=False)
        sql = _Statements(case, "mysql")

        async def attempt_mysql(instance_uuid: str) -> str | bool | None:
            cursor = raw.cursor()
            try:
                await cursor.execute("BEGIN", ())
                await cursor.execute(sql.select, sql.select_args())
                names = [d[0] for d in cursor.description or ()]
                found = await cursor.fetchall()
                if not found:
                    await cursor.execute("COMMIT", ())
                    return None
                row = dict(zip(names, found[0], strict=True))
                await cursor.execute(sql.update, sql.update_args(row, instance_uuid, _now()))
                updated = cursor.rowcount
                await cursor.execute("COMMIT", ())
            except Exception as exc:
                await cursor.execute("ROLLBACK", ())
                if exc.args and exc.args[0] in (1213, 1205):  # deadlock, lock wait timeout
                    raise _Retry from None
                raise
            finally:
                await cursor.close()
            return str(row["address"]) if updated == 1 else False

        async def close_mysql() -> None:
            await raw.ensure_closed()

        return _Newton(attempt_mysql), close_mysql
    assert isinstance(backend, SqliteBackend)
    worker = Worker(f"newton allocation on sqlite:///{backend.path}")
    await worker.open(functools.partial(sqlite3.connect, backend.path, isolation_level=None, check_same_thread=False))
    await worker.call(_sqlite_setup)
    sql = _Statements(case, "sqlite")

    def sqlite_once(conn: sqlite3.Connection, instance_uuid: str) -> str | bool | None:
        try:
            conn.execute("BEGIN")  # deferred, as pysqlite under oslo.db
            cursor = conn.execute(sql.select, sql.select_args())
            names = [d[0] for d in cursor.description or ()]
            found = cursor.fetchone()
            if found is None:
                conn.execute("COMMIT")
                return None
            row = dict(zip(names, found, strict=True))
            updated = conn.execute(sql.update, sql.update_args(row, instance_uuid, _now_text())).rowcount
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if "locked" in str(exc) or "busy" in str(exc):
                raise _Retry from None
            raise
        return str(row["address"]) if updated == 1 else False

    async def attempt_sqlite(instance_uuid: str) -> str | bool | None:
        result: str | bool | None = await worker.call(sqlite_once, instance_uuid)
        return result

    return _Newton(attempt_sqlite), worker.close


def _sqlite_setup(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")


def _now() -> Any:
    from rawdb.timeutils import utcnow

    return utcnow()


def _now_text() -> str:
    return str(_now().isoformat(" ", "microseconds"))


# --- the runs ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    handed: list[str] = field(default_factory=list)
    gave_up: int = 0


async def _loop(allocate: Allocate, uuids: Sequence[str], start: int, deadline: float, run: _Run) -> None:
    k = start
    while time.monotonic() < deadline:
        address = await allocate(uuids[k % len(uuids)])
        k += 7919
        if address is None:
            if time.monotonic() < deadline:
                run.gave_up += 1
            continue
        run.handed.append(address)


async def _verify(db: Database, case: str, run: _Run) -> str | None:
    async with db.reader() as rx:
        taken = sorted(str(r["address"]).split("/")[0] for r in await rx.fetch(_TAKEN[case]))
    handed = sorted(address.split("/")[0] for address in run.handed)
    if len(set(handed)) != len(handed):
        return f"{len(handed) - len(set(handed))} addresses handed out twice"
    if taken != handed:
        return f"{len(taken)} addresses taken, {len(handed)} handed out"
    return None


async def run_alloc(
    db: Database,
    cases: Sequence[str],
    uuids: Sequence[str],
    *,
    targets: Sequence[str],
    callers: Sequence[int],
    seconds: float,
    rounds: int,
    say: Callable[[str], None] = lambda text: None,
) -> tuple[list[Figure], list[str], list[str]]:
    """Allocations per second of every case, target and number of callers; the problems found
    (an address handed out twice or lost); notes (targets left out, and why)."""
    await load_pools(db)
    figures: dict[tuple[str, str, int], Figure] = {}
    problems: list[str] = []
    notes: list[str] = []
    plans: dict[str, tuple[list[Step], str, float]] = {}
    for case in cases:  # one rawdb allocation captured: its statements (the driver target's plan)
        counter = rawdb.StatementCounter(keep=True)
        with db.hooked(counter):
            await _rawdb_caller(db, case)(uuids[0])
        plans[case] = (steps(counter.events), uuids[0], float(counter.total))
    await reset_pools(db)
    replayable = {case for case, (plan, _, _) in plans.items() if _data_statements(plan) == 1}
    for case in sorted(set(cases) - replayable):
        notes.append(
            f"{case}: no driver replay on {db.dialect} (rawdb's claim reads a row, then updates the row it read:"
            " a replay of the captured statements would update the captured row again)"
        )
    for round_ in range(rounds):
        for case in cases:
            for n in callers:
                for target in targets:
                    if target == "driver" and case not in replayable:
                        continue
                    say(f"nova round {round_ + 1}/{rounds}: {case} {target} x{n}")
                    calls: list[Allocate] = []
                    closers: list[Callable[[], Awaitable[None]]] = []
                    for _ in range(n):
                        if target == "rawdb":
                            calls.append(_rawdb_caller(db, case))
                        elif target == "driver":
                            driver = await Driver.open(db, read_only=False)
                            calls.append(_Replayer(driver, plans[case][0], plans[case][1]))
                            closers.append(driver.close)
                        else:
                            newton, close = await _newton_caller(db, case)
                            calls.append(newton)
                            closers.append(close)
                    run = _Run()
                    started = time.monotonic()
                    deadline = started + seconds
                    for call in calls:
                        if isinstance(call, _Newton):
                            call.deadline = deadline
                    try:
                        await asyncio.gather(*(_loop(c, uuids, i, deadline, run) for i, c in enumerate(calls)))
                    finally:
                        for close in closers:
                            await close()
                    elapsed = time.monotonic() - started
                    name = f"{case}_x{n}"
                    figure = figures.setdefault(
                        (case, target, n), Figure(name, target, "allocs/s", statements=plans[case][2])
                    )
                    figure.samples.append(len(run.handed) / elapsed)
                    figure.info["gave_up"] = figure.info.get("gave_up", 0) + run.gave_up
                    problem = await _verify(db, case, run)
                    if problem is not None:
                        problems.append(f"{name} ({target}): {problem}")
                    await reset_pools(db)
    return list(figures.values()), problems, notes


def _data_statements(plan: Sequence[Step]) -> int:
    """Statements of a plan other than the ones that begin and end its transaction."""
    scope = ("BEGIN", "COMMIT", "ROLLBACK", "START TRANSACTION", "SET ")
    return sum(1 for step in plan if not step.sql.lstrip().upper().startswith(scope))
