"""The quota DB API functions both services share, parametrised by the Service.

``rawdb.nova.quotas`` and ``rawdb.cinder.quotas`` expose them under each service's
signatures; this module holds the one implementation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import check_require_admin_context, check_require_context
from rawdb.decorators import reader, retry_on_deadlock, writer
from rawdb.quota import core
from rawdb.quota._checks import (
    NAME_LENGTH,
    UUID_LENGTH,
    check_context,
    check_deltas,
    check_limit,
    check_limits,
    check_resources,
    expiry,
    flag,
    integer,
    max_age_seconds,
    names,
    optional_integer,
    optional_text,
    optional_time,
    text,
)
from rawdb.quota.core import Request, Service, bind
from rawdb.quota.resources import BaseResource, Sync
from rawdb.timeutils import utcnow

Row = dict[str, Any]


def _as_dict(rows: Sequence[Mapping[str, Any]], key_name: str, key: Any) -> dict[str, Any]:
    result: dict[str, Any] = {key_name: key}
    for row in rows:
        result[row["resource"]] = row["hard_limit"]
    return result


# --- limits -------------------------------------------------------------------------------


@writer
async def quota_create(
    context: Context, service: Service, project_id: str, resource: str, limit: int, user_id: str | None = None
) -> Row:
    """Set a limit; a user's when ``user_id`` is given and the resource is counted per user.

    :raises QuotaExists: a live limit exists already
    """
    params = {
        "project_id": text(project_id, "project_id", NAME_LENGTH),
        "user_id": optional_text(user_id, "user_id", NAME_LENGTH),
        "resource": text(resource, "resource", service.resource_length),
        "hard_limit": check_limit(limit),
    }
    statement = "user_quota_create" if service.row_user(resource, user_id) else "quota_create"
    try:
        async with context.savepoint() as sp:
            row = await _insert(sp, service, statement, {**params, "now": utcnow()})
    except errors.DBDuplicateEntry as exc:
        raise errors.QuotaExists(project_id=project_id, resource=resource) from exc
    return row


# Each create statement's read-back, where the dialect's INSERT cannot return the row.
_READ_BACK = {
    "quota_create": "quota_read_back",
    "user_quota_create": "user_quota_read_back",
    "quota_class_create": "quota_class_read_back",
    "reservation_create": "reservation_read_back",
}


async def _insert(tx: Context, service: Service, statement: str, params: Mapping[str, Any]) -> Row:
    """Run a create statement and return the row it made.

    MySQL has no INSERT ... RETURNING (MariaDB has; MySQL 8 has not): the row is read
    back by LAST_INSERT_ID(), which is this connection's own and survives until its next
    INSERT, so a concurrent insert elsewhere never answers for ours.
    """
    name = service.sql(statement)
    if tx.dialect != "mysql":
        row = await tx.fetchrow(name, **bind(tx, name, params))
    else:
        await tx.execute(name, **bind(tx, name, params))
        row = await tx.fetchrow(service.sql(_READ_BACK[statement]))
    assert row is not None
    return dict(row)


@reader
async def quota_get(
    context: Context, service: Service, project_id: str, resource: str, user_id: str | None = None
) -> Row:
    """A live limit row.

    :raises ProjectUserQuotaNotFound: (a user's limit was asked for) there is none
    :raises ProjectQuotaNotFound: the project has no limit for the resource
    """
    text(project_id, "project_id")
    text(resource, "resource")
    optional_text(user_id, "user_id")
    if service.row_user(resource, user_id):
        row = await context.fetchrow(
            service.sql("user_quota_get"), project_id=project_id, user_id=user_id, resource=resource
        )
        if row is None:
            raise errors.ProjectUserQuotaNotFound(project_id=project_id, user_id=user_id)
        return dict(row)
    row = await context.fetchrow(service.sql("quota_get"), project_id=project_id, resource=resource)
    if row is None:
        raise errors.ProjectQuotaNotFound(project_id=project_id)
    return dict(row)


@reader
async def quota_get_all_by_project(context: Context, service: Service, project_id: str) -> dict[str, Any]:
    """``{'project_id': p, resource: limit, ...}`` of the project's own limits."""
    text(project_id, "project_id")
    rows = await context.fetch(service.sql("quota_get_all_by_project"), project_id=project_id)
    return _as_dict(rows, "project_id", project_id)


@reader
async def quota_get_all_by_user(context: Context, service: Service, project_id: str, user_id: str) -> dict[str, Any]:
    """``{'project_id': p, 'user_id': u, resource: limit, ...}`` of a user's own limits (per-user services)."""
    text(project_id, "project_id")
    text(user_id, "user_id")
    result: dict[str, Any] = {"project_id": project_id, "user_id": user_id}
    for row in await context.fetch(service.sql("user_quotas_of_user"), project_id=project_id, user_id=user_id):
        result[row["resource"]] = row["hard_limit"]
    return result


@reader
async def quota_get_all_user_rows(context: Context, service: Service, project_id: str) -> list[Row]:
    """Every user's limit rows in the project (per-user services)."""
    text(project_id, "project_id")
    return [dict(row) for row in await context.fetch(service.sql("user_quotas_of_project"), project_id=project_id)]


@writer
async def quota_update(
    context: Context, service: Service, project_id: str, resource: str, limit: int, user_id: str | None = None
) -> int:
    """Change a live limit; return how many rows changed.

    :raises ProjectUserQuotaNotFound, ProjectQuotaNotFound: there is no such limit
    """
    params = {
        "project_id": text(project_id, "project_id", NAME_LENGTH),
        "user_id": optional_text(user_id, "user_id", NAME_LENGTH),
        "resource": text(resource, "resource", service.resource_length),
        "hard_limit": check_limit(limit),
        "now": utcnow(),
    }
    per_user = service.row_user(resource, user_id) is not None
    statement = service.sql("user_quota_update" if per_user else "quota_update")
    count = await context.execute(statement, **bind(context, statement, params))
    if count == 0:
        if per_user:
            raise errors.ProjectUserQuotaNotFound(project_id=project_id, user_id=user_id)
        raise errors.ProjectQuotaNotFound(project_id=project_id)
    return count


# --- quota classes ------------------------------------------------------------------------


@writer
async def quota_class_create(context: Context, service: Service, class_name: str, resource: str, limit: int) -> Row:
    """Set a quota class's limit for a resource."""
    params = {
        "class_name": text(class_name, "class_name", NAME_LENGTH),
        "resource": text(resource, "resource", service.resource_length),
        "hard_limit": check_limit(limit),
        "now": utcnow(),
    }
    return await _insert(context, service, "quota_class_create", params)


@reader
async def quota_class_get(context: Context, service: Service, class_name: str, resource: str) -> Row:
    """A quota class's live row for a resource.

    :raises QuotaClassNotFound: none
    """
    text(class_name, "class_name")
    text(resource, "resource")
    row = await context.fetchrow(service.sql("quota_class_get"), class_name=class_name, resource=resource)
    if row is None:
        raise errors.QuotaClassNotFound(class_name=class_name)
    return dict(row)


@reader
async def quota_class_get_all_by_name(context: Context, service: Service, class_name: str) -> dict[str, Any]:
    """``{'class_name': c, resource: limit, ...}``."""
    text(class_name, "class_name")
    rows = await context.fetch(service.sql("quota_class_get_all_by_name"), class_name=class_name)
    return _as_dict(rows, "class_name", class_name)


@writer
async def quota_class_update(context: Context, service: Service, class_name: str, resource: str, limit: int) -> int:
    """Change a quota class's live limit.

    :raises QuotaClassNotFound: none to change
    """
    count = await context.execute(
        service.sql("quota_class_update"),
        class_name=text(class_name, "class_name", NAME_LENGTH),
        resource=text(resource, "resource", service.resource_length),
        hard_limit=check_limit(limit),
        now=utcnow(),
    )
    if count == 0:
        raise errors.QuotaClassNotFound(class_name=class_name)
    return count


@writer
async def quota_class_destroy_all_by_name(context: Context, service: Service, class_name: str) -> None:
    """Soft-delete every limit of a quota class."""
    text(class_name, "class_name")
    await context.execute(service.sql("quota_class_destroy_all_by_name"), class_name=class_name, now=utcnow())


# --- usages -------------------------------------------------------------------------------


@reader
async def quota_usage_get(
    context: Context, service: Service, project_id: str, resource: str, user_id: str | None = None
) -> Row:
    """A live usage row (the user's, or the project's for per-project resources).

    :raises QuotaUsageNotFound: none
    """
    params = {
        "project_id": text(project_id, "project_id"),
        "resource": text(resource, "resource"),
        "user_id": optional_text(user_id, "user_id"),
        "per_project": service.row_user(resource, user_id) is None,
    }
    statement = service.sql("usage_get")
    row = await context.fetchrow(statement, **bind(context, statement, params))
    if row is None:
        raise errors.QuotaUsageNotFound(project_id=project_id)
    return dict(row)


@reader
async def quota_usage_get_all(
    context: Context, service: Service, project_id: str, user_id: str | None = None
) -> dict[str, Any]:
    """``{'project_id': p[, 'user_id': u], resource: {'in_use': n, 'reserved': n}, ...}``.

    With a user: that user's rows and the project's per-project rows; without one, the
    sums over every user's rows.
    """
    text(project_id, "project_id")
    optional_text(user_id, "user_id")
    result: dict[str, Any] = {"project_id": project_id}
    if user_id is not None:
        result["user_id"] = user_id
    for row in await context.fetch(service.sql("usages_of_project"), project_id=project_id):
        if user_id is not None and row.get("user_id") not in (None, user_id):
            continue
        usage = result.setdefault(row["resource"], {"in_use": 0, "reserved": 0})
        usage["in_use"] += row["in_use"]
        usage["reserved"] += row["reserved"]
    return result


UPDATABLE_USAGE = ("in_use", "reserved", "until_refresh")


@writer
async def quota_usage_update(
    context: Context, /, service: Service, project_id: str, user_id: str | None, resource: str, **values: Any
) -> int:
    """Set ``in_use``, ``reserved`` and/or ``until_refresh`` of a live usage row.

    :raises QuotaUsageNotFound: none to change
    :raises Invalid: another key, or a value that is not an integer
    """
    unknown = sorted(set(values) - set(UPDATABLE_USAGE))
    if unknown:
        raise errors.Invalid(f"cannot update {unknown} of a quota usage; only {UPDATABLE_USAGE}")
    for key, value in values.items():
        optional_integer(value, key)
    text(project_id, "project_id")
    optional_text(user_id, "user_id")
    text(resource, "resource")
    params = {
        "project_id": project_id,
        "user_id": user_id,
        "resource": resource,
        "in_use": values.get("in_use"),
        "reserved": values.get("reserved"),
        "set_until_refresh": "until_refresh" in values,
        "until_refresh": values.get("until_refresh"),
        "now": utcnow(),
    }
    statement = service.sql("usage_update")
    count = await context.execute(statement, **bind(context, statement, params))
    if count == 0:
        raise errors.QuotaUsageNotFound(project_id=project_id)
    return count


# --- reserve, commit, rollback, expire ----------------------------------------------------


def syncs(resources: Mapping[str, BaseResource], deltas: Mapping[str, int]) -> dict[str, Sync]:
    check_resources(resources)
    syncs = {}
    for name in deltas:
        resource = resources.get(name)
        if resource is None or not resource.reservable:
            raise errors.QuotaResourceUnknown(unknown=sorted(n for n in deltas if n not in resources))
        syncs[name] = resource.sync  # type: ignore[attr-defined]
    return syncs


@retry_on_deadlock
async def quota_reserve(
    context: Context,
    service: Service,
    resources: Mapping[str, BaseResource],
    project_quotas: Mapping[str, int],
    user_quotas: Mapping[str, int] | None,
    deltas: Mapping[str, int],
    expire: datetime,
    until_refresh: int | None,
    max_age: int | timedelta | None,
    project_id: str | None = None,
    user_id: str | None = None,
) -> list[str]:
    """Check ``deltas`` against the given limits and reserve them all, or none.

    :returns: one reservation uuid per delta, in order
    :raises OverQuota: a limit would be exceeded (with overs, quotas and usages)
    :raises QuotaUsageOverflow: a usage would no longer fit its column
    """
    check_require_context(check_context(context, "quota"))
    checked = check_deltas(deltas)
    project_limits = check_limits(project_quotas, "project_quotas", list(checked))
    # nova's DbQuotaDriver passes user_quotas; an empty or missing one means the project's
    user_limits = (
        check_limits(user_quotas, "user_quotas", list(checked))
        if user_quotas is not None and not (isinstance(user_quotas, Mapping) and not user_quotas)
        else project_limits
    )
    request = Request(
        service=service,
        project_id=optional_text(project_id, "project_id", NAME_LENGTH) or context.project_id or "",
        user_id=(optional_text(user_id, "user_id", NAME_LENGTH) or context.user_id) if service.per_user else None,
        deltas=checked,
        project_limits=dict(project_limits),
        user_limits=dict(user_limits),
        fallbacks={},
        quota_class=context.quota_class,
        expire=expiry(expire),
        until_refresh=optional_integer(until_refresh, "until_refresh", 0) or None,
        max_age=max_age_seconds(max_age),
        syncs=syncs(resources, checked),
    )
    if not request.project_id:
        raise errors.Invalid("quota_reserve needs a project_id (or a context with one)")
    return await core.reserve(context, request)


@retry_on_deadlock
async def reservation_finish(
    context: Context, service: Service, reservations: Sequence[str], project_id: str | None, commit: bool
) -> None:
    """Commit or roll back reservations (see core.finish)."""
    check_require_context(check_context(context, "quota"))
    uuids = names(reservations, "reservations")
    await core.finish(context, service, uuids, optional_text(project_id, "project_id"), commit)


@retry_on_deadlock
async def reservation_expire(context: Context, service: Service) -> int:
    """Roll back every live reservation past its expiry (admins only); return how many."""
    check_require_admin_context(check_context(context, "quota"))
    return await core.expire(context, service)


@writer
async def reservation_create(
    context: Context,
    service: Service,
    uuid: str,
    usage: Mapping[str, Any] | int,
    project_id: str,
    resource: str,
    delta: int,
    expire: datetime | None,
    user_id: str | None = None,
) -> Row:
    """Insert one reservation for a usage row (given as its row or its id)."""
    if isinstance(usage, Mapping):
        if "id" not in usage:
            raise errors.Invalid("usage must be a usage row (with its id) or a usage id")
        usage = usage["id"]
    params = {
        "uuid": text(uuid, "uuid", UUID_LENGTH),
        "usage_id": integer(usage, "usage"),
        "project_id": text(project_id, "project_id", NAME_LENGTH),
        "user_id": optional_text(user_id, "user_id", NAME_LENGTH),
        "resource": text(resource, "resource", service.resource_length),
        "delta": integer(delta, "delta"),
        "expire": optional_time(expire, "expire"),
        "now": utcnow(),
    }
    return await _insert(context, service, "reservation_create", params)


@reader
async def reservation_get(context: Context, service: Service, uuid: str) -> Row:
    """A live reservation by uuid.

    :raises ReservationNotFound: none
    """
    text(uuid, "uuid")
    row = await context.fetchrow(service.sql("reservation_get"), uuid=uuid)
    if row is None:
        raise errors.ReservationNotFound(uuid=uuid)
    return dict(row)


@reader
async def reservation_get_all_by_project(context: Context, service: Service, project_id: str) -> dict[str, Any]:
    """``{'project_id': p, resource: {uuid: delta, ...}, ...}`` of live reservations."""
    text(project_id, "project_id")
    result: dict[str, Any] = {"project_id": project_id}
    for row in await context.fetch(service.sql("reservations_of_project"), project_id=project_id):
        result.setdefault(row["resource"], {})[row["uuid"]] = row["delta"]
    return result


@writer
async def quota_destroy_all_by_project(
    context: Context, service: Service, project_id: str, only_quotas: bool = False
) -> None:
    """Soft-delete a project's limits (and, unless ``only_quotas``, its usages and reservations)."""
    text(project_id, "project_id")
    only_quotas = flag(only_quotas, "only_quotas")
    now = utcnow()
    statements = ["quotas_destroy_by_project"]
    if service.per_user:
        statements.append("user_quotas_destroy_by_project")
    if not only_quotas:
        statements += ["reservations_destroy_by_project", "usages_destroy_by_project"]
    for statement in statements:
        await context.execute(service.sql(statement), project_id=project_id, now=now)


@writer
async def quota_destroy_all_by_project_and_user(
    context: Context, service: Service, project_id: str, user_id: str
) -> None:
    """Soft-delete one user's limits, usages and reservations within a project."""
    text(project_id, "project_id")
    text(user_id, "user_id")
    now = utcnow()
    for statement in ("user_quotas_destroy_by_user", "reservations_destroy_by_user", "usages_destroy_by_user"):
        await context.execute(service.sql(statement), project_id=project_id, user_id=user_id, now=now)
