"""Reserve, commit, roll back and expire quota reservations: the algorithms both services share.

Nova's and cinder's quota tables differ (nova counts per user and marks deleted rows with
their id; cinder counts per project with a boolean ``deleted`` and a ``race_preventer``
key), so each service has its own SQL under ``sql/<service>/quota*.sql`` with the same
statement names, and a ``Service`` says which one to use.

**Never over-committed.**  Every reservation of a project takes the row locks of that
project's usage rows of the resources it reserves, always in id order (PostgreSQL:
``FOR UPDATE``; SQLite: ``BEGIN IMMEDIATE`` holds the database), checks every delta
against the rows it holds, and only then writes.  Commit, rollback and expiry lock the
same rows in the same order (MySQL: the reservations first, see below).  Missing usage rows are created with
``ON CONFLICT DO NOTHING`` in resource order and then locked, so concurrent first
reservations of a project create exactly one row per resource.

**One statement in the steady state** (PostgreSQL): when every usage row exists and none
needs a refresh, ``reserve`` is one data-modifying statement that locks, resolves the
limits, checks and writes; ``finish`` commits or rolls back in one statement too.  Either
runs without BEGIN when the caller has no transaction.  The slow path (missing rows,
``until_refresh``, ``max_age``, negative usage) is a transaction of several statements.

**MySQL/MariaDB** (InnoDB, sessions at READ COMMITTED) has no data-modifying CTE and no
RETURNING on UPDATE, so a reservation is always the locked path, kept to three statements
in the steady state: ``usages_lock_limits`` (the usage rows ``FOR UPDATE``, then the limit
rows unlocked, one round trip), ``reserve_apply`` and ``reservations_insert``, between
BEGIN and COMMIT; a commit or rollback is BEGIN, ``finish_lock``, ``finish_apply``, COMMIT.
Sending BEGIN in the packet of the first statement (asyncmy always allows multi-statements)
was measured and gained nothing measurable on a local server (2.92 vs 2.90 ms per pair with
one caller), so each statement stays its own round trip.  Why READ COMMITTED is enough:

- InnoDB's locking reads (``FOR UPDATE``, and the row reads of UPDATE) read the newest
  committed version of a row, never the statement's snapshot, and wait for a row another
  transaction changed or inserted and has not committed.  Every figure a check uses comes
  from rows it holds locked; arithmetic is in place (``reserved = reserved + x``).
- Every path takes the usage-row locks in one global order, id order, so concurrent
  callers queue instead of deadlocking.  A reservation locks them through
  ``ix_quota_usages_project_id`` (project_id, id): the scan needs no sort.  Commit and
  rollback first lock their own reservations (``finish_lock``: one uuid-index lookup each,
  forced with STRAIGHT_JOIN and an index hint; left to the optimizer it scanned every live
  reservation and locked them all, which deadlocked concurrent finishes), then lock and
  change the usage rows in ``finish_apply``, whose join runs in the order of the ids it is
  given, sorted by usage id.  A reserve never waits for a reservation row, so a finish
  holding reservations while it waits for a usage row closes no cycle.  A deadlock that
  still happens (1213, DBDeadlock) is retried whole, as on a busy SQLite.
- Missing usage rows are created with ``INSERT ... ON DUPLICATE KEY UPDATE id = id`` in
  resource order, on the live-unique keys of the MySQL DDL (cinder's race_preventer key,
  nova's ``uq_quota_usages_live``): a concurrent creator's row is a duplicate that waits
  for that creator and then changes nothing, so one row per resource exists, and the
  relock reads it.  READ COMMITTED takes no gap locks, so two creators never deadlock on
  the gap the way REPEATABLE READ makes them (spec mariadb.md 3.2).
- Nova's project totals need every user's row: a row another user creates is inserted
  after its creator locked the project's existing rows (which this caller holds, or
  waited for until that creator committed), with an id above theirs, so the id-ordered
  scan reaches it after the rows it waited for and reads it committed.  The PostgreSQL
  phantom check (rawdb_live_usage_rows) has nothing to catch here.
- Commit and rollback lock the live reservations first (``finish_lock``); a second caller
  finishing the same reservation waits, then reads it deleted and applies nothing: each
  reservation applies exactly once.

**Galera** row locks stay on their node.  What two nodes' transactions both write conflicts
in certification (1213 at the later one's commit, or the applier aborts the local one), so
every guarantee above that rests on a written row holds across nodes, with a retry where one
server would have waited: cinder's project rows, nova's per-user rows and project-level
rows, the reservation rows a commit finishes.  Nova's project total is the exception: it is
summed over other users' rows, which a reservation reads but does not write, so on Galera
each reservation first writes a fence row per (project, resource) (``fence``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.quota.resources import Sync
from rawdb.timeutils import utcnow

MAX_INT = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Service:
    """Which schema a quota call works on."""

    name: str
    per_user: bool  # nova counts usage per user (and per project for per_project resources)
    per_project_resources: frozenset[str] = frozenset()
    resource_length: int = 255  # characters of the resource columns

    def sql(self, statement: str) -> str:
        return f"{self.name}.quota.{statement}"

    def row_user(self, resource: str, user_id: str | None) -> str | None:
        """The user_id of the usage row a resource counts in (None: the project's row)."""
        if not self.per_user or resource in self.per_project_resources:
            return None
        return user_id


NOVA = Service("nova", per_user=True, per_project_resources=frozenset({"fixed_ips", "floating_ips", "networks"}))
CINDER = Service("cinder", per_user=False, resource_length=300)


def bind(context: Context, statement: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a named statement takes, out of a superset."""
    names = context.db.statement(statement).compiled(context.dialect).names
    return {name: params[name] for name in names}


@dataclass(slots=True)
class Request:
    """One reservation: who, what, and the limits to check it against."""

    service: Service
    project_id: str
    user_id: str | None
    deltas: dict[str, int]
    project_limits: dict[str, int | None]  # given limits (None: resolve from the tables)
    user_limits: dict[str, int | None]
    fallbacks: dict[str, int]  # configured defaults, when no row sets a limit
    quota_class: str | None
    expire: datetime
    until_refresh: int | None
    max_age: float  # seconds (a timedelta's may be fractional); 0: never
    syncs: Mapping[str, Sync]  # resource -> its sync function


def _params(request: Request, uuids: list[str], now: datetime) -> dict[str, Any]:
    resources = list(request.deltas)
    stale_before = now - timedelta(seconds=request.max_age) if request.max_age else None
    return {
        "project_id": request.project_id,
        "user_id": request.user_id,
        "resources": resources,
        "deltas": [request.deltas[r] for r in resources],
        "given": [request.project_limits.get(r) for r in resources],
        "project_given": [request.project_limits.get(r) for r in resources],
        "user_given": [request.user_limits.get(r) for r in resources],
        "fallbacks": [request.fallbacks.get(r, -1) for r in resources],
        "uuids": uuids,
        "row_users": [request.service.row_user(r, request.user_id) for r in resources],
        "quota_class": request.quota_class,
        "refresh_always": bool(request.until_refresh),
        "stale_before": stale_before,
        "expire": request.expire,
        "now": now,
    }


async def reserve(context: Context, request: Request) -> list[str]:
    """Reserve ``request.deltas``; return one reservation uuid per resource, in order.

    :raises OverQuota: a limit would be exceeded; nothing the call did is kept
    :raises QuotaUsageOverflow: a usage would no longer fit its column
    """
    uuids = [str(uuid.uuid4()) for _ in request.deltas]
    now = utcnow()
    if context.transaction is not None:
        # Inside the caller's transaction: a refusal must not leave our refreshes behind.
        async with context.savepoint() as sp:
            return await _reserve(sp, request, uuids, now)
    async with context.writer(autocommit=context.dialect == "postgresql") as tx:
        return await _reserve(tx, request, uuids, now)


async def _reserve(tx: Context, request: Request, uuids: list[str], now: datetime) -> list[str]:
    if tx.dialect == "postgresql":
        statement = request.service.sql("reserve")
        rows = await tx.fetch(statement, **bind(tx, statement, _params(request, uuids, now)))
        if rows and rows[0]["go"]:
            return uuids
        if not any(row["slow"] for row in rows):
            _raise_refusal(request, {row["resource"]: _state(request, row) for row in rows})
        await tx.begin()  # the slow path is one transaction; the statement above wrote nothing
    return await _reserve_locked(tx, request, uuids, now)


def _state(request: Request, row: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of one resource the refusal is decided on, from the one-statement result."""
    limit = row["hard_limit"] if "hard_limit" in row else row["project_limit"]
    state = {
        "in_use": row["in_use"],
        "reserved": row["reserved"],
        "project_limit": limit,
        "user_limit": row.get("user_limit", limit),
        "project_in_use": row.get("project_in_use", row["in_use"]),
        "project_reserved": row.get("project_reserved", row["reserved"]),
    }
    return state


# --- the slow path: several statements in one transaction ------------------------------


async def _project_lock(tx: Context, request: Request) -> None:
    """Nova: what makes a project's total, summed over its users' rows, safe to check.

    PostgreSQL: one slow path per project at a time (project_lock in sql/nova).  Galera:
    ``fence`` before anything is read.  Elsewhere the usage-row locks alone serialise the check.
    """
    if not request.service.per_user:
        return
    if tx.dialect == "postgresql":
        key = int.from_bytes(hashlib.blake2b(f"rawdb.quota:{request.project_id}".encode(), digest_size=8).digest())
        await tx.fetch(request.service.sql("project_lock"), key=key - 2**63)
    else:
        await fence(tx, request, request.deltas)


async def fence(tx: Context, request: Request, resources: Iterable[str]) -> None:
    """Galera, nova: write the project's fence row of each resource (fence in sql/nova/quota.mysql.sql).

    Written before the usage rows are read, it makes a reservation committed on another node
    either reach this node before the reads (they see it), or after the fence was written (its
    applier aborts this transaction, which holds the fence row), or not at all before this one
    committed (both wrote the fence row: certification refuses the later one, 1213).
    """
    names = sorted(resources)
    if names and request.service.per_user and tx.db.backend.galera:
        await tx.execute(request.service.sql("fence"), project_id=request.project_id, resources=json.dumps(names))


async def _lock(tx: Context, request: Request) -> list[dict[str, Any]]:
    rows = await tx.fetch(
        request.service.sql("usages_lock"), project_id=request.project_id, resources=sorted(request.deltas)
    )
    return [dict(row) for row in rows]


async def _lock_with_limits(tx: Context, request: Request) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """MySQL: lock the usage rows and read the limit rows in one round trip."""
    statement = request.service.sql("usages_lock_limits")
    params = {
        "project_id": request.project_id,
        "user_id": request.user_id,
        "resources": sorted(request.deltas),
        "quota_class": request.quota_class,
    }
    usages: list[dict[str, Any]] = []
    limits: list[dict[str, Any]] = []
    for row in await tx.fetch(statement, **bind(tx, statement, params)):
        row = dict(row)
        kind, limit = row.pop("kind"), row.pop("hard_limit")
        if kind == "usage":
            usages.append(row)
        else:
            limits.append({"source": kind, "resource": row["resource"], "hard_limit": limit})
    return usages, limits


def _mine(request: Request, rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The caller's usage row of each resource: the user's, or the project's."""
    mine: dict[str, dict[str, Any]] = {}
    for row in rows:
        if request.service.row_user(row["resource"], request.user_id) == row.get("user_id"):
            mine[row["resource"]] = dict(row)
    return mine


async def _sync(tx: Context, request: Request, resource: str, done: dict[str, int]) -> dict[str, int]:
    """The counted usage of ``resource`` (and whatever its sync counts alongside it), once."""
    if resource not in done:
        sync = request.syncs.get(resource)
        counted = dict(await sync(tx.elevated(), request.project_id, request.user_id)) if sync else {resource: 0}
        done.update(counted)
    return done


async def _create_missing(tx: Context, request: Request, missing: list[str], now: datetime) -> None:
    counted: dict[str, int] = {}
    for resource in sorted(missing):  # one order, so two creators never wait on each other in turn
        await _sync(tx, request, resource, counted)
        params = {
            "project_id": request.project_id,
            "user_id": request.service.row_user(resource, request.user_id),
            "resource": resource,
            "in_use": counted.get(resource, 0),
            "until_refresh": request.until_refresh or None,
            "now": now,
        }
        statement = request.service.sql("usage_create")
        await tx.execute(statement, **bind(tx, statement, params))


async def _refresh(tx: Context, request: Request, mine: dict[str, dict[str, Any]], now: datetime) -> None:
    """until_refresh / max_age / negative usage, as cinder HEAD (with total_seconds, not .seconds)."""
    counted: dict[str, int] = {}
    until = request.until_refresh or None
    changed: set[str] = set()
    refreshed: set[str] = set()  # recounted by an earlier resource's sync: never counted down again
    for resource in request.deltas:
        if resource in refreshed:
            continue
        row = mine[resource]
        current = row["until_refresh"]
        refresh = False
        if row["in_use"] < 0:
            refresh = True
        elif current is not None:
            row["until_refresh"] = current - 1
            refresh = row["until_refresh"] <= 0
            changed.add(resource)
        elif request.max_age and row["updated_at"] is not None:
            refresh = (now - row["updated_at"]).total_seconds() >= request.max_age
        if refresh:
            await _sync(tx, request, resource, counted)
            for name in request.deltas:
                if name in counted:
                    mine[name]["in_use"] = counted[name]
                    mine[name]["until_refresh"] = until
                    changed.add(name)
                    refreshed.add(name)
        elif (current is None and until) or (current or 0) > (until or 0):
            row["until_refresh"] = until  # keep a changed until_refresh setting effective
            changed.add(resource)
    for resource in sorted(changed, key=lambda r: mine[r]["id"]):
        row = mine[resource]
        await tx.execute(
            request.service.sql("usage_set"),
            id=row["id"],
            in_use=row["in_use"],
            until_refresh=row["until_refresh"],
            now=now,
        )


def _needs_limits(request: Request) -> list[str]:
    """The resources whose limits are not all given, so the tables decide them."""
    return [r for r in request.deltas if request.project_limits.get(r) is None or request.user_limits.get(r) is None]


async def resolve_limits(
    tx: Context, request: Request, fetched: Sequence[Mapping[str, Any]] | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """The project (and user) limits of the request's resources, given or from the tables.

    :param fetched: the limit rows (source, resource, hard_limit), already read
    """
    resources = list(request.deltas)
    need = _needs_limits(request)
    rows: dict[tuple[str, str], int | None] = {}
    if need:
        if fetched is None:
            statement = request.service.sql("limits")
            params = {
                "project_id": request.project_id,
                "user_id": request.user_id,
                "resources": need,
                "quota_class": request.quota_class,
            }
            fetched = await tx.fetch(statement, **bind(tx, statement, params))
        for row in fetched:
            rows.setdefault((row["source"], row["resource"]), row["hard_limit"])
    project: dict[str, int] = {}
    user: dict[str, int] = {}
    for resource in resources:
        given = request.project_limits.get(resource)
        project[resource] = _first(
            given,
            *(rows.get((source, resource)) for source in ("project", "class", "default")),
            request.fallbacks.get(resource, -1),
        )
        own = rows.get(("user", resource)) if request.service.row_user(resource, request.user_id) else None
        user[resource] = _first(request.user_limits.get(resource), own, project[resource])
    return project, user


def _first(*values: int | None) -> int:
    for value in values:
        if value is not None:
            return value
    return -1


async def _lock_all(
    tx: Context, request: Request, now: datetime, with_limits: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Lock the project and its usage rows of ``request.deltas``, creating the missing ones first.

    :param with_limits: (MySQL) read the limit rows in the same round trip as the first lock
    :returns: the locked usage rows, and the limit rows when they were read (else None)
    """
    await _project_lock(tx, request)
    limits = None
    if with_limits and tx.dialect == "mysql" and _needs_limits(request):
        rows, limits = await _lock_with_limits(tx, request)
    else:
        rows = await _lock(tx, request)
    missing = [r for r in request.deltas if r not in _mine(request, rows)]
    if missing:
        await _create_missing(tx, request, missing, now)
        rows = await _lock(tx, request)
    return rows, limits


async def _reserve_locked(tx: Context, request: Request, uuids: list[str], now: datetime) -> list[str]:
    rows, limit_rows = await _lock_all(tx, request, now, with_limits=True)
    mine = _mine(request, rows)
    await _refresh(tx, request, mine, now)
    for row in rows:  # the project totals see the refreshed counters too
        fresh = mine.get(row["resource"])
        if fresh is not None and fresh["id"] == row["id"]:
            row.update(fresh)
    project_limits, user_limits = await resolve_limits(tx, request, limit_rows)
    states = {}
    for resource in request.deltas:
        own = mine[resource]
        all_rows = [row for row in rows if row["resource"] == resource]
        states[resource] = {
            "in_use": own["in_use"],
            "reserved": own["reserved"],
            "project_limit": project_limits[resource],
            "user_limit": user_limits[resource],
            "project_in_use": sum(row["in_use"] for row in all_rows),
            "project_reserved": sum(row["reserved"] for row in all_rows),
        }
    _raise_refusal(request, states, only_if_refused=True)
    bumps = [[mine[r]["id"], d] for r, d in request.deltas.items() if d > 0]
    if bumps:
        await tx.execute(request.service.sql("reserve_apply"), bumps=json.dumps(bumps), now=now)
    reservation_rows = [[uuids[i], mine[r]["id"], r, d] for i, (r, d) in enumerate(request.deltas.items())]
    statement = request.service.sql("reservations_insert")
    params = {
        "rows": json.dumps(reservation_rows),
        "project_id": request.project_id,
        "user_id": request.user_id,
        "expire": request.expire,
        "now": now,
    }
    await tx.execute(statement, **bind(tx, statement, params))
    return uuids


def _raise_refusal(request: Request, states: Mapping[str, Mapping[str, Any]], only_if_refused: bool = False) -> None:
    """Raise QuotaUsageOverflow or OverQuota for the states of the request's resources."""
    overflow = sorted(
        r
        for r, d in request.deltas.items()
        if d > 0 and (states[r]["in_use"] + states[r]["reserved"] + d > MAX_INT or states[r]["reserved"] + d > MAX_INT)
    )
    overs = sorted(
        r
        for r, d in request.deltas.items()
        if d >= 0
        and (
            0 <= states[r]["project_limit"] < d + states[r]["project_in_use"] + states[r]["project_reserved"]
            or 0 <= states[r]["user_limit"] < d + states[r]["in_use"] + states[r]["reserved"]
        )
    )
    project_view = all(states[r]["project_limit"] == states[r]["user_limit"] for r in request.deltas)
    quotas = {r: states[r]["user_limit"] for r in request.deltas}
    usages = {
        r: (
            {"in_use": states[r]["project_in_use"], "reserved": states[r]["project_reserved"]}
            if project_view
            else {"in_use": states[r]["in_use"], "reserved": states[r]["reserved"]}
        )
        for r in request.deltas
    }
    if overflow:
        raise errors.QuotaUsageOverflow(overs=overflow, quotas=quotas, usages=usages, max_int=MAX_INT)
    if overs:
        raise errors.OverQuota(overs=overs, quotas=quotas, usages=usages)
    if not only_if_refused:
        raise errors.DBError("the reservation was refused without a reason; this is a rawdb bug")


# --- commit, rollback, expire ---------------------------------------------------------------


async def finish(
    context: Context, service: Service, uuids: Sequence[str], project_id: str | None, commit: bool
) -> None:
    """Commit (or roll back) live reservations; unknown or finished ones are ignored.

    Commit moves positive deltas from ``reserved`` to ``in_use`` and applies negative
    ones; neither counter goes below zero.  Each reservation applies exactly once, even
    when two callers finish it at the same time.
    """
    if not uuids:
        return
    params = {"uuids": list(uuids), "project_id": project_id, "commit": commit, "now": utcnow()}
    if context.dialect == "postgresql":
        if context.transaction is None:
            async with context.writer(autocommit=True) as tx:
                await tx.execute(service.sql("finish"), **params)
        else:
            await context.execute(service.sql("finish"), **params)
        return
    finish_locked = _finish_mysql if context.dialect == "mysql" else _finish_locked
    if context.transaction is None:
        async with context.writer() as tx:
            await finish_locked(tx, service, params)
    else:
        await finish_locked(context, service, params)


async def _finish_locked(tx: Context, service: Service, params: dict[str, Any]) -> None:
    await tx.execute(service.sql("finish_usages"), **params)
    await tx.execute(service.sql("finish_reservations"), **{k: params[k] for k in ("uuids", "project_id", "now")})


async def _finish_mysql(tx: Context, service: Service, params: dict[str, Any]) -> None:
    """Lock the live reservations, then finish them and adjust their usage rows in one UPDATE."""
    rows = await tx.fetch(
        service.sql("finish_lock"), uuids=json.dumps(sorted(set(params["uuids"]))), project_id=params["project_id"]
    )
    if not rows:
        return
    sums: dict[int, list[int]] = {}
    for row in rows:
        if row["usage_id"] is not None:
            total = sums.setdefault(row["usage_id"], [0, 0])
            total[0] += max(row["delta"], 0)
            total[1] += row["delta"]
    await tx.execute(
        service.sql("finish_apply"),
        # In usage id order: finish_apply then locks the usage rows in the order reserve does.
        picked=json.dumps([row["id"] for row in sorted(rows, key=lambda r: (r["usage_id"] or 0, r["id"]))]),
        sums=json.dumps([[usage_id, *sums[usage_id]] for usage_id in sorted(sums)]),
        commit=params["commit"],
        now=params["now"],
    )


async def expire(context: Context, service: Service) -> int:
    """Roll back every live reservation past its expiry; return how many there were."""
    async with context.writer() as tx:
        rows = await tx.fetch(service.sql("expired"), now=utcnow())
        uuids = [row["uuid"] for row in rows]
        await finish(tx, service, uuids, None, commit=False)
    return len(uuids)


async def refresh_usages(context: Context, request: Request) -> None:
    """Recount the usages of ``request.deltas``' resources now (nova-manage's quota refresh)."""
    async with context.writer() as tx:
        now = utcnow()
        mine = _mine(request, (await _lock_all(tx, request, now))[0])
        counted: dict[str, int] = {}
        for resource in request.deltas:
            await _sync(tx, request, resource, counted)
        for resource in sorted(request.deltas, key=lambda r: mine[r]["id"]):
            await tx.execute(
                request.service.sql("usage_set"),
                id=mine[resource]["id"],
                in_use=counted.get(resource, mine[resource]["in_use"]),
                until_refresh=request.until_refresh or None,
                now=now,
            )
