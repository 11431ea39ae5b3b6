"""Nova's quota DB API (nova/db/sqlalchemy/api.py at 14.0.0: per-user quotas), async, on rawdb.

Limits, usages and reservations are per user within a project, except for the
per-project resources (fixed_ips, floating_ips, networks), whose usage rows have no user.
Like Newton, the DB layer does not authorize: services check policy before calling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rawdb.context import Context
from rawdb.nova import sync
from rawdb.quota import api, audit, core
from rawdb.quota._checks import NAME_LENGTH, check_context, expiry, names, optional_integer, optional_text
from rawdb.quota.core import NOVA, Request
from rawdb.quota.resources import BaseResource

Row = dict[str, Any]
PER_PROJECT_QUOTAS = sorted(NOVA.per_project_resources)


async def quota_create(context: Context, project_id: str, resource: str, limit: int, user_id: str | None = None) -> Row:
    """Set a limit: the user's if ``user_id`` is given (and the resource is per user), else the project's.

    :raises QuotaExists: a live limit exists already
    """
    return await api.quota_create(context, NOVA, project_id, resource, limit, user_id)


async def quota_get(context: Context, project_id: str, resource: str, user_id: str | None = None) -> Row:
    """A live limit row.

    :raises ProjectUserQuotaNotFound: the user has no limit of its own for the resource
    :raises ProjectQuotaNotFound: the project has no limit for the resource
    """
    return await api.quota_get(context, NOVA, project_id, resource, user_id)


async def quota_get_all_by_project(context: Context, project_id: str) -> dict[str, Any]:
    """``{'project_id': p, resource: limit, ...}`` of the project's own limits."""
    return await api.quota_get_all_by_project(context, NOVA, project_id)


async def quota_get_all_by_project_and_user(context: Context, project_id: str, user_id: str) -> dict[str, Any]:
    """``{'project_id': p, 'user_id': u, resource: limit, ...}`` of the user's own limits."""
    return await api.quota_get_all_by_user(context, NOVA, project_id, user_id)


async def quota_get_all(context: Context, project_id: str) -> list[Row]:
    """Every user's limit rows in the project."""
    return await api.quota_get_all_user_rows(context, NOVA, project_id)


async def quota_update(
    context: Context, project_id: str, resource: str, limit: int, user_id: str | None = None
) -> None:
    """Change a limit (the user's if ``user_id`` is given and the resource is per user).

    :raises ProjectUserQuotaNotFound, ProjectQuotaNotFound: none to change
    """
    await api.quota_update(context, NOVA, project_id, resource, limit, user_id)


async def quota_class_create(context: Context, class_name: str, resource: str, limit: int) -> Row:
    """Set a quota class's limit for a resource."""
    return await api.quota_class_create(context, NOVA, class_name, resource, limit)


async def quota_class_get(context: Context, class_name: str, resource: str) -> Row:
    """A quota class's limit row.

    :raises QuotaClassNotFound: none
    """
    return await api.quota_class_get(context, NOVA, class_name, resource)


async def quota_class_get_default(context: Context) -> dict[str, Any]:
    """``{'class_name': 'default', resource: limit, ...}``."""
    return await api.quota_class_get_all_by_name(context, NOVA, "default")


async def quota_class_get_all_by_name(context: Context, class_name: str) -> dict[str, Any]:
    """``{'class_name': c, resource: limit, ...}``."""
    return await api.quota_class_get_all_by_name(context, NOVA, class_name)


async def quota_class_update(context: Context, class_name: str, resource: str, limit: int) -> None:
    """Change a quota class's limit.

    :raises QuotaClassNotFound: none to change
    """
    await api.quota_class_update(context, NOVA, class_name, resource, limit)


async def quota_class_destroy_all_by_name(context: Context, class_name: str) -> None:
    """Soft-delete a quota class."""
    await api.quota_class_destroy_all_by_name(context, NOVA, class_name)


async def quota_usage_get(context: Context, project_id: str, resource: str, user_id: str | None = None) -> Row:
    """A live usage row: the user's, or the project's for per-project resources.

    Without ``user_id``, the project's first row of the resource, whoever's (as Newton).

    :raises QuotaUsageNotFound: none
    """
    return await api.quota_usage_get(context, NOVA, project_id, resource, user_id)


async def quota_usage_get_all_by_project(context: Context, project_id: str) -> dict[str, Any]:
    """``{'project_id': p, resource: {'in_use', 'reserved'}, ...}`` summed over the project's users."""
    return await api.quota_usage_get_all(context, NOVA, project_id)


async def quota_usage_get_all_by_project_and_user(context: Context, project_id: str, user_id: str) -> dict[str, Any]:
    """``{'project_id', 'user_id', resource: {'in_use', 'reserved'}, ...}``: the user's and per-project rows."""
    return await api.quota_usage_get_all(context, NOVA, project_id, user_id)


async def quota_usage_update(
    context: Context, project_id: str, user_id: str | None, resource: str, **values: Any
) -> None:
    """Set a usage row's ``in_use``, ``reserved`` or ``until_refresh``.

    :raises QuotaUsageNotFound: none to change
    """
    await api.quota_usage_update(context, NOVA, project_id, user_id, resource, **values)


async def quota_usage_refresh(
    context: Context,
    resources: Mapping[str, BaseResource],
    keys: Sequence[str],
    until_refresh: int | None,
    max_age: int | None,
    project_id: str | None = None,
    user_id: str | None = None,
) -> None:
    """Recount the usages of ``keys`` now (nova-manage project quota_usage_refresh)."""
    check_context(context, "quota_usage_refresh")
    deltas = dict.fromkeys(names(keys, "keys"), 0)
    request = Request(
        service=NOVA,
        project_id=optional_text(project_id, "project_id", NAME_LENGTH) or context.project_id or "",
        user_id=optional_text(user_id, "user_id", NAME_LENGTH) or context.user_id,
        deltas=deltas,
        project_limits={},
        user_limits={},
        fallbacks={},
        quota_class=None,
        expire=expiry(None),
        until_refresh=optional_integer(until_refresh, "until_refresh", 0) or None,
        max_age=optional_integer(max_age, "max_age", 0) or 0,
        syncs=api.syncs(resources, deltas),
    )
    await core.refresh_usages(context, request)


async def quota_reserve(
    context: Context,
    resources: Mapping[str, BaseResource],
    project_quotas: Mapping[str, int],
    user_quotas: Mapping[str, int],
    deltas: Mapping[str, int],
    expire: datetime,
    until_refresh: int | None,
    max_age: int | None,
    project_id: str | None = None,
    user_id: str | None = None,
) -> list[str]:
    """Check ``deltas`` against the project's and the user's limits; reserve all or none (spec C.3).

    :raises OverQuota: a limit would be exceeded; nothing the call did is kept
    :raises QuotaUsageOverflow: a usage would no longer fit its column
    """
    return await api.quota_reserve(
        context,
        NOVA,
        resources,
        project_quotas,
        user_quotas,
        deltas,
        expire,
        until_refresh,
        max_age,
        project_id,
        user_id,
    )


async def reservation_commit(
    context: Context, reservations: Sequence[str], project_id: str | None = None, user_id: str | None = None
) -> None:
    """Apply reservations to their usages, each exactly once (in_use never below 0)."""
    await api.reservation_finish(context, NOVA, reservations, project_id, commit=True)


async def reservation_rollback(
    context: Context, reservations: Sequence[str], project_id: str | None = None, user_id: str | None = None
) -> None:
    """Drop reservations, giving back what they reserved (reserved never below 0)."""
    await api.reservation_finish(context, NOVA, reservations, project_id, commit=False)


async def reservation_expire(context: Context) -> None:
    """Roll back every reservation past its expiry (admins only)."""
    await api.reservation_expire(context, NOVA)


async def reservation_create(
    context: Context,
    uuid: str,
    usage: Mapping[str, Any] | int,
    project_id: str,
    user_id: str | None,
    resource: str,
    delta: int,
    expire: datetime | None,
) -> Row:
    """Insert one reservation for a usage row."""
    return await api.reservation_create(context, NOVA, uuid, usage, project_id, resource, delta, expire, user_id)


async def reservation_get(context: Context, uuid: str) -> Row:
    """A live reservation.

    :raises ReservationNotFound: none
    """
    return await api.reservation_get(context, NOVA, uuid)


async def reservation_get_all_by_project(context: Context, project_id: str) -> dict[str, Any]:
    """``{'project_id': p, resource: {uuid: delta, ...}, ...}``."""
    return await api.reservation_get_all_by_project(context, NOVA, project_id)


async def quota_destroy_all_by_project(context: Context, project_id: str) -> None:
    """Soft-delete a project's limits (users' too), usages and reservations."""
    await api.quota_destroy_all_by_project(context, NOVA, project_id)


async def quota_destroy_all_by_project_and_user(context: Context, project_id: str, user_id: str) -> None:
    """Soft-delete a user's limits, usages and reservations within a project."""
    await api.quota_destroy_all_by_project_and_user(context, NOVA, project_id, user_id)


async def quota_usage_check(context: Context, project_id: str | None = None) -> list[Row]:
    """Every usage row of a project (or of all projects), recorded ``in_use`` against the actual count.

    Admins only.  Each dict: ``project_id, user_id, resource, in_use, reserved, actual, in_sync``,
    sorted by project, user (the per-project rows first) and resource; see ``rawdb.quota.audit``.

    :raises AdminRequired: not an admin context
    """
    return await audit.check(context, NOVA, sync.resources(), project_id)


async def quota_usage_sync(context: Context, project_id: str | None = None) -> list[Row]:
    """Set ``in_use`` to the actual count where it differs, under the usage-row locks reservations take.

    Admins only.  Returns the rows repaired (``in_use`` as recorded before, ``actual`` as written).

    :raises AdminRequired: not an admin context
    """
    return await audit.sync(context, NOVA, sync.resources(), project_id)
