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
from rawdb.decorators import reader, retry_on_deadlock, writer
from rawdb.quota import core
from rawdb.quota.core import Request, Service, bind
from rawdb.quota.resources import BaseResource, Sync
from rawdb.timeutils import normalize, utcnow

Row = dict[str, Any]


def require_context(context: Context) -> None:
    """Admins, and users acting in a project, may call (nova/cinder ``require_context``)."""
    if not context.is_admin and not (context.user_id and context.project_id):
        raise errors.NotAuthorized()


def require_admin(context: Context) -> None:
    """Only admins may call (``require_admin_context``)."""
    if not context.is_admin:
        raise errors.AdminRequired()


def authorize_project(context: Context, project_id: str | None) -> None:
    """A user context may only look at its own project."""
    if not context.is_admin and context.user_id and context.project_id and project_id != context.project_id:
        raise errors.NotAuthorized()


def check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise errors.Invalid(f"a quota limit must be an integer, not {limit!r}")
    if limit < -1 or limit > core.MAX_INT:
        raise errors.Invalid(f"a quota limit must be -1 (unlimited) or between 0 and {core.MAX_INT}, not {limit}")
    return limit


def check_deltas(deltas: Any) -> dict[str, int]:
    if not isinstance(deltas, Mapping) or not deltas:
        raise errors.Invalid("deltas must be a non-empty dict of resource -> integer")
    for resource, delta in deltas.items():
        if not isinstance(resource, str) or isinstance(delta, bool) or not isinstance(delta, int):
            raise errors.Invalid(f"delta {resource!r}: {delta!r} is not resource -> integer")
        if abs(delta) > core.MAX_INT:
            raise errors.Invalid(f"delta {resource!r}: {delta} is out of range")
    return dict(deltas)


def expiry(expire: Any, default_seconds: int = 86400) -> datetime:
    """nova's DbQuotaDriver: None (default), seconds, a timedelta or a datetime.

    :raises InvalidReservationExpiration: anything else
    """
    if expire is None:
        expire = default_seconds
    if isinstance(expire, bool):
        raise errors.InvalidReservationExpiration(expire=expire)
    if isinstance(expire, int):
        expire = timedelta(seconds=expire)
    if isinstance(expire, timedelta):
        return utcnow() + expire
    if isinstance(expire, datetime):
        return normalize(expire)
    raise errors.InvalidReservationExpiration(expire=expire)


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
    params = {"project_id": project_id, "user_id": user_id, "resource": resource, "hard_limit": check_limit(limit)}
    statement = "user_quota_create" if service.row_user(resource, user_id) else "quota_create"
    try:
        async with context.savepoint() as sp:
            row = await sp.fetchrow(
                service.sql(statement), **bind(sp, service.sql(statement), {**params, "now": utcnow()})
            )
    except errors.DBDuplicateEntry as exc:
        raise errors.QuotaExists(project_id=project_id, resource=resource) from exc
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
    rows = await context.fetch(service.sql("quota_get_all_by_project"), project_id=project_id)
    return _as_dict(rows, "project_id", project_id)


@writer
async def quota_update(
    context: Context, service: Service, project_id: str, resource: str, limit: int, user_id: str | None = None
) -> int:
    """Change a live limit; return how many rows changed.

    :raises ProjectUserQuotaNotFound, ProjectQuotaNotFound: there is no such limit
    """
    params = {
        "project_id": project_id,
        "user_id": user_id,
        "resource": resource,
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
    row = await context.fetchrow(
        service.sql("quota_class_create"),
        class_name=class_name,
        resource=resource,
        hard_limit=check_limit(limit),
        now=utcnow(),
    )
    assert row is not None
    return dict(row)


@reader
async def quota_class_get(context: Context, service: Service, class_name: str, resource: str) -> Row:
    """A quota class's live row for a resource.

    :raises QuotaClassNotFound: none
    """
    row = await context.fetchrow(service.sql("quota_class_get"), class_name=class_name, resource=resource)
    if row is None:
        raise errors.QuotaClassNotFound(class_name=class_name)
    return dict(row)


@reader
async def quota_class_get_all_by_name(context: Context, service: Service, class_name: str) -> dict[str, Any]:
    """``{'class_name': c, resource: limit, ...}``."""
    rows = await context.fetch(service.sql("quota_class_get_all_by_name"), class_name=class_name)
    return _as_dict(rows, "class_name", class_name)


@writer
async def quota_class_update(context: Context, service: Service, class_name: str, resource: str, limit: int) -> int:
    """Change a quota class's live limit.

    :raises QuotaClassNotFound: none to change
    """
    count = await context.execute(
        service.sql("quota_class_update"),
        class_name=class_name,
        resource=resource,
        hard_limit=check_limit(limit),
        now=utcnow(),
    )
    if count == 0:
        raise errors.QuotaClassNotFound(class_name=class_name)
    return count


@writer
async def quota_class_destroy_all_by_name(context: Context, service: Service, class_name: str) -> None:
    """Soft-delete every limit of a quota class."""
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
        "project_id": project_id,
        "resource": resource,
        "user_id": user_id,
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
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise errors.Invalid(f"{key} must be an integer")
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
    max_age: int | None,
    project_id: str | None = None,
    user_id: str | None = None,
) -> list[str]:
    """Check ``deltas`` against the given limits and reserve them all, or none.

    :returns: one reservation uuid per delta, in order
    :raises OverQuota: a limit would be exceeded (with overs, quotas and usages)
    :raises QuotaUsageOverflow: a usage would no longer fit its column
    """
    require_context(context)
    checked = check_deltas(deltas)
    missing = sorted(r for r in checked if r not in project_quotas)
    if missing:
        raise errors.Invalid(f"no quota given for {missing}")
    request = Request(
        service=service,
        project_id=project_id or context.project_id or "",
        user_id=(user_id or context.user_id) if service.per_user else None,
        deltas=checked,
        project_limits={r: check_limit(project_quotas[r]) for r in checked},
        user_limits={r: check_limit((user_quotas or project_quotas)[r]) for r in checked},
        fallbacks={},
        quota_class=context.quota_class,
        expire=normalize(expire) if isinstance(expire, datetime) else expiry(expire),
        until_refresh=until_refresh or None,
        max_age=int(max_age or 0),
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
    require_context(context)
    if isinstance(reservations, str) or not all(isinstance(r, str) for r in reservations):
        raise errors.Invalid("reservations must be a list of reservation uuids")
    await core.finish(context, service, list(reservations), project_id, commit)


@retry_on_deadlock
async def reservation_expire(context: Context, service: Service) -> int:
    """Roll back every live reservation past its expiry (admins only); return how many."""
    require_admin(context)
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
    usage_id = usage if isinstance(usage, int) else usage["id"]
    statement = service.sql("reservation_create")
    params = {
        "uuid": uuid,
        "usage_id": usage_id,
        "project_id": project_id,
        "user_id": user_id,
        "resource": resource,
        "delta": delta,
        "expire": expire,
        "now": utcnow(),
    }
    row = await context.fetchrow(statement, **bind(context, statement, params))
    assert row is not None
    return dict(row)


@reader
async def reservation_get(context: Context, service: Service, uuid: str) -> Row:
    """A live reservation by uuid.

    :raises ReservationNotFound: none
    """
    row = await context.fetchrow(service.sql("reservation_get"), uuid=uuid)
    if row is None:
        raise errors.ReservationNotFound(uuid=uuid)
    return dict(row)


@reader
async def reservation_get_all_by_project(context: Context, service: Service, project_id: str) -> dict[str, Any]:
    """``{'project_id': p, resource: {uuid: delta, ...}, ...}`` of live reservations."""
    result: dict[str, Any] = {"project_id": project_id}
    for row in await context.fetch(service.sql("reservations_of_project"), project_id=project_id):
        result.setdefault(row["resource"], {})[row["uuid"]] = row["delta"]
    return result


@writer
async def quota_destroy_all_by_project(
    context: Context, service: Service, project_id: str, only_quotas: bool = False
) -> None:
    """Soft-delete a project's limits (and, unless ``only_quotas``, its usages and reservations)."""
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
    now = utcnow()
    for statement in ("user_quotas_destroy_by_user", "reservations_destroy_by_user", "usages_destroy_by_user"):
        await context.execute(service.sql(statement), project_id=project_id, user_id=user_id, now=now)
