"""Cinder's quota DB API (cinder/db/api.py at HEAD), async, on rawdb.

Per project only (cinder has no per-user quotas); usage rows carry HEAD's
``race_preventer`` key, so concurrent first reservations create one row per resource.
Authorization follows cinder's decorators: ``require_context`` (an admin, or a user in a
project) and ``require_admin_context``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rawdb.context import Context
from rawdb.conventions import authorize_project_context, require_admin_context, require_context
from rawdb.quota import api
from rawdb.quota.core import CINDER
from rawdb.quota.resources import BaseResource

Row = dict[str, Any]


@require_admin_context
async def quota_create(context: Context, project_id: str, resource: str, limit: int) -> Row:
    """Set a project's limit (admins only).

    :raises QuotaExists: the project has a live limit for the resource
    """
    return await api.quota_create(context, CINDER, project_id, resource, limit)


@require_context
async def quota_get(context: Context, project_id: str, resource: str) -> Row:
    """A project's limit row.

    :raises ProjectQuotaNotFound: none
    """
    authorize_project_context(context, project_id)
    return await api.quota_get(context, CINDER, project_id, resource)


@require_context
async def quota_get_all_by_project(context: Context, project_id: str) -> dict[str, Any]:
    """``{'project_id': p, resource: limit, ...}``."""
    authorize_project_context(context, project_id)
    return await api.quota_get_all_by_project(context, CINDER, project_id)


@require_admin_context
async def quota_update(context: Context, project_id: str, resource: str, limit: int) -> None:
    """Change a project's limit (admins only).

    :raises ProjectQuotaNotFound: none to change
    """
    await api.quota_update(context, CINDER, project_id, resource, limit)


@require_admin_context
async def quota_destroy_all_by_project(context: Context, project_id: str, only_quotas: bool = False) -> None:
    """Soft-delete a project's limits, and unless ``only_quotas`` its usages and reservations (admins only)."""
    await api.quota_destroy_all_by_project(context, CINDER, project_id, only_quotas)


async def quota_destroy_by_project(context: Context, project_id: str) -> None:
    """Soft-delete a project's limits only (cinder's quota_destroy_by_project)."""
    await quota_destroy_all_by_project(context, project_id, only_quotas=True)


@require_admin_context
async def quota_class_create(context: Context, class_name: str, resource: str, limit: int) -> Row:
    """Set a quota class's limit (admins only)."""
    return await api.quota_class_create(context, CINDER, class_name, resource, limit)


@require_context
async def quota_class_get(context: Context, class_name: str, resource: str) -> Row:
    """A quota class's limit row.

    :raises QuotaClassNotFound: none
    """
    return await api.quota_class_get(context, CINDER, class_name, resource)


@require_context
async def quota_class_get_defaults(context: Context) -> dict[str, Any]:
    """``{'class_name': 'default', resource: limit, ...}``."""
    return await api.quota_class_get_all_by_name(context, CINDER, "default")


@require_context
async def quota_class_get_all_by_name(context: Context, class_name: str) -> dict[str, Any]:
    """``{'class_name': c, resource: limit, ...}``."""
    return await api.quota_class_get_all_by_name(context, CINDER, class_name)


@require_admin_context
async def quota_class_update(context: Context, class_name: str, resource: str, limit: int) -> None:
    """Change a quota class's limit (admins only).

    :raises QuotaClassNotFound: none to change
    """
    await api.quota_class_update(context, CINDER, class_name, resource, limit)


@require_admin_context
async def quota_class_destroy_all_by_name(context: Context, class_name: str) -> None:
    """Soft-delete a quota class (admins only)."""
    await api.quota_class_destroy_all_by_name(context, CINDER, class_name)


@require_context
async def quota_usage_get(context: Context, project_id: str, resource: str) -> Row:
    """A project's usage row.

    :raises QuotaUsageNotFound: none
    """
    authorize_project_context(context, project_id)
    return await api.quota_usage_get(context, CINDER, project_id, resource)


@require_context
async def quota_usage_get_all_by_project(context: Context, project_id: str) -> dict[str, Any]:
    """``{'project_id': p, resource: {'in_use': n, 'reserved': n}, ...}``."""
    authorize_project_context(context, project_id)
    return await api.quota_usage_get_all(context, CINDER, project_id)


@require_admin_context
async def quota_usage_update(context: Context, project_id: str, resource: str, **values: Any) -> None:
    """Set a usage row's ``in_use``, ``reserved`` or ``until_refresh`` (admins only).

    :raises QuotaUsageNotFound: none to change
    """
    await api.quota_usage_update(context, CINDER, project_id, None, resource, **values)


async def quota_reserve(
    context: Context,
    resources: Mapping[str, BaseResource],
    quotas: Mapping[str, int],
    deltas: Mapping[str, int],
    expire: datetime,
    until_refresh: int | None,
    max_age: int | None,
    project_id: str | None = None,
) -> list[str]:
    """Check ``deltas`` against ``quotas`` and reserve them all, or none (spec C.4).

    :returns: one reservation uuid per delta
    :raises OverQuota: a limit would be exceeded; nothing the call did is kept
    :raises QuotaUsageOverflow: a usage would no longer fit its column
    """
    return await api.quota_reserve(
        context, CINDER, resources, quotas, None, deltas, expire, until_refresh, max_age, project_id
    )


async def reservation_commit(context: Context, reservations: Sequence[str], project_id: str | None = None) -> None:
    """Apply reservations to their usages, each exactly once (in_use never below 0)."""
    await api.reservation_finish(context, CINDER, reservations, project_id, commit=True)


async def reservation_rollback(context: Context, reservations: Sequence[str], project_id: str | None = None) -> None:
    """Drop reservations, giving back what they reserved (reserved never below 0)."""
    await api.reservation_finish(context, CINDER, reservations, project_id, commit=False)


async def reservation_expire(context: Context) -> None:
    """Roll back every reservation past its expiry (admins only)."""
    await api.reservation_expire(context, CINDER)


@require_admin_context
async def reservation_create(
    context: Context,
    uuid: str,
    usage: Mapping[str, Any] | int,
    project_id: str,
    resource: str,
    delta: int,
    expire: datetime | None,
) -> Row:
    """Insert one reservation for a usage row (admins only)."""
    return await api.reservation_create(context, CINDER, uuid, usage, project_id, resource, delta, expire)


@require_context
async def reservation_get(context: Context, uuid: str) -> Row:
    """A live reservation.

    :raises ReservationNotFound: none
    """
    return await api.reservation_get(context, CINDER, uuid)


@require_context
async def reservation_get_all_by_project(context: Context, project_id: str) -> dict[str, Any]:
    """``{'project_id': p, resource: {uuid: delta, ...}, ...}``."""
    authorize_project_context(context, project_id)
    return await api.reservation_get_all_by_project(context, CINDER, project_id)
