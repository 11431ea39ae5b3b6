"""Quota check and sync (cinder-manage quota check / sync; nova-manage's usage refresh): one
implementation for both schemas.

For every live usage row of a project (or of every project that has usage rows) the actual
usage is counted again with the resource's sync function, as the engine counts it when it
creates or refreshes a row: per user for nova's per-user resources (the row's ``user_id``),
per project for nova's per-project resources and for every cinder resource.  ``check``
reports recorded against actual and changes nothing; ``sync`` writes ``in_use = actual`` to
the rows out of sync.

What sync does, and what it leaves alone:

- **Locks as the engine does.**  Each project is one writer transaction that takes the
  locks a reservation takes, in the same order: nova's per-project slow-path lock on
  PostgreSQL, then the project's usage rows of the audited resources with ``usages_lock``
  (``FOR UPDATE`` in id order; SQLite's ``BEGIN IMMEDIATE`` holds the database).  The counts
  are read after the locks are held, so a reservation committed meanwhile is either wholly
  before (counted and applied) or wholly after (its commit adds its delta to the row sync
  wrote).  A deadlock or busy database re-runs that project's transaction.
- **Only in_use is audited.**  ``reserved`` is reported as recorded and never rewritten
  (cinder's sync also recounts it from the live reservations; here expired reservations are
  given back by ``reservation_expire``).
- **Existing rows only.**  A missing usage row is not created: the engine creates it,
  counted, on the project's first reservation of the resource (as cinder's sync, which
  "only wants to sync existing quota usage rows").
- **Resources without a sync are not examined**: absolute resources, and rows of resources
  the service no longer defines (a deleted volume type's ``volumes_<type>``).
- **Duplicate live rows** of one project, user and resource (possible on a database nova's
  own tools created: nova's tables have no unique key for them) are not merged, as cinder
  does, but balanced: the last row in id order, the one the engine reads as the caller's,
  gets the count, the others 0, so the project's total is the actual usage.
- A row the engine marked for refresh (``in_use`` -1) is out of sync and gets the count.
- ``check`` reads each project in a reader scope, without locks: while reservations run it
  may report a row whose reservation is being committed as out of sync.  ``sync`` is exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rawdb.context import Context
from rawdb.conventions import check_require_admin_context
from rawdb.decorators import retry_on_deadlock
from rawdb.quota import core
from rawdb.quota._checks import check_context, expiry, optional_text
from rawdb.quota.core import Request, Service
from rawdb.quota.resources import BaseResource, ReservableResource, Sync
from rawdb.timeutils import utcnow

Row = dict[str, Any]


def _order(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """project_id, user_id (the project's rows first), resource: one order on every backend."""
    return row["project_id"], row["user_id"] is not None, row["user_id"] or "", row["resource"]


def _syncs(resources: Iterable[BaseResource]) -> dict[str, Sync]:
    return {r.name: r.sync for r in resources if isinstance(r, ReservableResource)}


def _request(service: Service, project_id: str, syncs: Mapping[str, Sync]) -> Request:
    """A request naming every audited resource (what the engine's lock statements take)."""
    return Request(
        service=service,
        project_id=project_id,
        user_id=None,
        deltas=dict.fromkeys(sorted(syncs), 0),
        project_limits={},
        user_limits={},
        fallbacks={},
        quota_class=None,
        expire=expiry(None),
        until_refresh=None,
        max_age=0,
        syncs=syncs,
    )


async def _actual(
    tx: Context, project_id: str, rows: Sequence[Mapping[str, Any]], syncs: Mapping[str, Sync]
) -> list[Row]:
    """The rows (in id order) with ``actual`` counted now: each sync runs once per user."""
    counted: dict[str | None, dict[str, int]] = {}
    last: dict[tuple[str | None, str], int] = {}  # (user, resource) -> index of the row that carries the count
    result: list[Row] = []
    for index, row in enumerate(rows):
        user, resource = row.get("user_id"), row["resource"]
        done = counted.setdefault(user, {})
        if resource not in done:
            done.update(await syncs[resource](tx.elevated(), project_id, user))
        last[(user, resource)] = index
        result.append(
            {
                "id": row.get("id"),
                "project_id": project_id,
                "user_id": user,
                "resource": resource,
                "in_use": int(row["in_use"]),
                "reserved": int(row["reserved"]),
                "until_refresh": row.get("until_refresh"),
                "actual": 0,
            }
        )
    for (user, resource), index in last.items():
        result[index]["actual"] = int(counted[user].get(resource, 0))
    for item in result:
        item["in_sync"] = item["in_use"] == item["actual"]
    return result


def _public(row: Mapping[str, Any]) -> Row:
    keys = ("project_id", "user_id", "resource", "in_use", "reserved", "actual", "in_sync")
    return {key: row[key] for key in keys}


async def _projects(context: Context, service: Service, project_id: str | None) -> list[str]:
    if project_id is not None:
        return [project_id]
    async with context.reader() as tx:
        return sorted({row["project_id"] for row in await tx.fetch(service.sql("usage_projects"))})


def _arguments(context: Any, call: str, project_id: Any) -> str | None:
    check_require_admin_context(check_context(context, call))
    return optional_text(project_id, "project_id")


async def check(
    context: Context, service: Service, resources: Iterable[BaseResource], project_id: str | None = None
) -> list[Row]:
    """Every audited usage row of a project (or of all projects), recorded against actual.

    :returns: ``{project_id, user_id, resource, in_use, reserved, actual, in_sync}`` per row,
        sorted by project_id, user_id (the project's own rows first) and resource
    :raises AdminRequired: not an admin context
    :raises Invalid: project_id is not a string
    """
    project_id = _arguments(context, "quota_usage_check", project_id)
    syncs = _syncs(resources)
    report: list[Row] = []
    for project in await _projects(context, service, project_id):
        async with context.reader() as tx:
            rows = [
                r
                for r in await tx.fetch(service.sql("usages_of_project"), project_id=project)
                if r["resource"] in syncs
            ]
            report += [_public(row) for row in await _actual(tx, project, rows, syncs)]
    return sorted(report, key=_order)


@retry_on_deadlock
async def _sync_project(context: Context, service: Service, project_id: str, syncs: Mapping[str, Sync]) -> list[Row]:
    """Recount one project's rows under the engine's locks; write and return those out of sync."""
    request = _request(service, project_id, syncs)
    async with context.writer() as tx:
        if tx.dialect == "postgresql":
            await core._project_lock(tx, request)
        rows = await core._lock(tx, request)  # FOR UPDATE, in id order: the engine's lock order
        repaired = [row for row in await _actual(tx, project_id, rows, syncs) if not row["in_sync"]]
        # Galera: a sync that repairs conflicts with the reservations that counted the old
        # figures on other nodes; one that repairs nothing stays out of their way.
        await core.fence(tx, request, {row["resource"] for row in repaired})
        now = utcnow()
        for row in repaired:  # id order, as locked
            await tx.execute(
                service.sql("usage_set"),
                id=row["id"],
                in_use=row["actual"],
                until_refresh=row["until_refresh"],
                now=now,
            )
    return [_public(row) for row in repaired]


async def sync(
    context: Context, service: Service, resources: Iterable[BaseResource], project_id: str | None = None
) -> list[Row]:
    """Write ``in_use = actual`` to the usage rows out of sync, each project under its usage-row locks.

    Each project is its own transaction (a failure rolls back only that project's repairs);
    called with a context bound to a caller's writer scope, everything runs in it.

    :returns: the rows repaired, as ``check`` reports them (``in_use`` the value recorded
        before, ``actual`` the value written, ``in_sync`` False), in check's order
    :raises AdminRequired: not an admin context
    :raises Invalid: project_id is not a string
    """
    project_id = _arguments(context, "quota_usage_sync", project_id)
    syncs = _syncs(resources)
    repaired: list[Row] = []
    if not syncs:
        return repaired
    for project in await _projects(context, service, project_id):
        repaired += await _sync_project(context, service, project, syncs)
    return sorted(repaired, key=_order)
