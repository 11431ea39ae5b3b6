"""Cinder's quota DB API (cinder/db/api.py at HEAD), async, on rawdb.

Per project only (cinder has no per-user quotas); usage rows carry HEAD's
``race_preventer`` key, so concurrent first reservations create one row per resource.
Authorization follows cinder's decorators: ``require_context`` (an admin, or a user in a
project) and ``require_admin_context``.

Most functions are the shared engine's (``rawdb.quota``, statements in
``sql/cinder/quota*.sql``).  The one-row destroys of cinder 2012.2 (``quota_destroy``,
``quota_class_destroy``, ``quota_usage_destroy``, ``reservation_destroy``) and
``quota_usage_create`` run this module's own ``sql/cinder/quotas*.sql``.  A destroy is
a model delete (spec A.5: ``deleted`` true, ``deleted_at`` and ``updated_at`` now) of the
live row(s) and raises cinder's NotFound when there is none.  A usage row, as cinder's
``QuotaUsage`` model, carries ``total`` (``in_use + reserved``); the
``quota_usage_get_all_by_project`` dict does not, as cinder's does not.

Where rawdb departs from upstream:

- ``quota_class_destroy`` soft-deletes every live row of the class and resource (upstream
  deleted the first it found, leaving duplicates, which cinder's table allows, in force);
- ``quota_usage_create`` sets ``updated_at`` (spec F.3: ``max_age`` judges a row by it) and
  refuses a second live row for the project and resource with ``DBDuplicateEntry`` (HEAD's
  race_preventer key), in a savepoint, so an enclosing transaction goes on;
- ``quota_reserve`` takes ``max_age`` as seconds or as a timedelta.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rawdb import errors
from rawdb.checks import check_integer
from rawdb.cinder import sync
from rawdb.context import Context
from rawdb.conventions import (
    authorize_project_context,
    coerce,
    require_admin_context,
    require_context,
    table_columns,
)
from rawdb.decorators import writer
from rawdb.quota import api, audit
from rawdb.quota.core import CINDER
from rawdb.quota.resources import BaseResource
from rawdb.timeutils import utcnow

Row = dict[str, Any]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _key(value: Any, what: str) -> str:
    """A string to look live rows up by (one longer than its column just finds nothing).

    :raises Invalid: not a string, or NUL or a lone surrogate in it (no backend can compare it)
    """
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    if _UNSTORABLE.search(value):
        raise errors.Invalid(f"{what} can't contain NUL characters or lone surrogates (not UTF-8)")
    return value


def _with_total(row: Mapping[str, Any]) -> Row:
    """A usage row as cinder's QuotaUsage model reads: with ``total`` = ``in_use + reserved``."""
    return {**row, "total": row["in_use"] + row["reserved"]}


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
@writer
async def quota_destroy(context: Context, project_id: str, resource: str) -> None:
    """Soft-delete a project's live limit for a resource (admins only).

    :raises ProjectQuotaNotFound: the project has no live limit for the resource
    :raises Invalid: an argument is not a string (or holds NUL)
    """
    count = await context.execute(
        "cinder.quotas.quota_destroy",
        project_id=_key(project_id, "project_id"),
        resource=_key(resource, "resource"),
        now=utcnow(),
    )
    if count == 0:
        raise errors.ProjectQuotaNotFound(project_id=project_id)


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
@writer
async def quota_class_destroy(context: Context, class_name: str, resource: str) -> None:
    """Soft-delete a quota class's live limit for a resource (admins only).

    :raises QuotaClassNotFound: the class has no live limit for the resource
    :raises Invalid: an argument is not a string (or holds NUL)
    """
    count = await context.execute(
        "cinder.quotas.quota_class_destroy",
        class_name=_key(class_name, "class_name"),
        resource=_key(resource, "resource"),
        now=utcnow(),
    )
    if count == 0:
        raise errors.QuotaClassNotFound(class_name=class_name)


@require_admin_context
async def quota_class_destroy_all_by_name(context: Context, class_name: str) -> None:
    """Soft-delete a quota class (admins only)."""
    await api.quota_class_destroy_all_by_name(context, CINDER, class_name)


@require_context
async def quota_usage_get(context: Context, project_id: str, resource: str) -> Row:
    """A project's usage row, with ``total`` (``in_use + reserved``) as cinder's model has it.

    :raises QuotaUsageNotFound: none
    """
    authorize_project_context(context, project_id)
    return _with_total(await api.quota_usage_get(context, CINDER, project_id, resource))


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


@require_admin_context
@writer(retry=True)
async def quota_usage_create(
    context: Context, project_id: str, resource: str, in_use: int, reserved: int, until_refresh: int | None
) -> Row:
    """Create a project's usage row for a resource (admins only; cinder's effective ``save=True``).

    :returns: the usage row, with ``total``; its ``updated_at`` is its ``created_at``
    :raises DBDuplicateEntry: the project has a live usage row for the resource; nothing is
        written, an enclosing transaction goes on
    :raises Invalid: a string its column cannot hold, a count that is not an integer of the
        column's range; nothing is written
    """
    columns = table_columns("cinder")["quota_usages"]
    params = {
        "project_id": coerce(columns["project_id"], "project_id", _key(project_id, "project_id")),
        "resource": coerce(columns["resource"], "resource", _key(resource, "resource")),
        "in_use": check_integer(in_use, "in_use"),
        "reserved": check_integer(reserved, "reserved"),
        "until_refresh": None if until_refresh is None else check_integer(until_refresh, "until_refresh"),
        "now": utcnow(),
    }
    async with context.savepoint() as sp:
        row = await sp.fetchrow("cinder.quotas.quota_usage_create", **params)
        if sp.dialect == "mysql":
            row = await sp.fetchrow("cinder.quotas.quota_usage_read_back", id=None)
    assert row is not None
    return _with_total(row)


@require_admin_context
@writer
async def quota_usage_destroy(context: Context, project_id: str, resource: str) -> None:
    """Soft-delete a project's live usage row for a resource (admins only).

    Its reservations are left as they are, as upstream.

    :raises QuotaUsageNotFound: the project has no live usage row for the resource
    :raises Invalid: an argument is not a string (or holds NUL)
    """
    count = await context.execute(
        "cinder.quotas.quota_usage_destroy",
        project_id=_key(project_id, "project_id"),
        resource=_key(resource, "resource"),
        now=utcnow(),
    )
    if count == 0:
        raise errors.QuotaUsageNotFound(project_id=project_id)


async def quota_reserve(
    context: Context,
    resources: Mapping[str, BaseResource],
    quotas: Mapping[str, int],
    deltas: Mapping[str, int],
    expire: datetime,
    until_refresh: int | None,
    max_age: int | timedelta | None,
    project_id: str | None = None,
) -> list[str]:
    """Check ``deltas`` against ``quotas`` and reserve them all, or none (spec C.4).

    :param max_age: refresh a usage row this old (seconds, or a timedelta; 0 or None: never)

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


@require_admin_context
@writer
async def reservation_destroy(context: Context, uuid: str) -> None:
    """Soft-delete a live reservation (admins only); its usage row's ``reserved`` is left as it is.

    :raises ReservationNotFound: no live reservation has this uuid
    :raises Invalid: the uuid is not a string (or holds NUL)
    """
    count = await context.execute("cinder.quotas.reservation_destroy", uuid=_key(uuid, "uuid"), now=utcnow())
    if count == 0:
        raise errors.ReservationNotFound(uuid=uuid)


@require_context
async def reservation_get_all_by_project(context: Context, project_id: str) -> dict[str, Any]:
    """``{'project_id': p, resource: {uuid: delta, ...}, ...}``."""
    authorize_project_context(context, project_id)
    return await api.reservation_get_all_by_project(context, CINDER, project_id)


@require_admin_context
async def quota_usage_check(context: Context, project_id: str | None = None) -> list[Row]:
    """Every usage row of a project (or of all projects), recorded ``in_use`` against the actual count
    (cinder-manage quota check).

    The resources are cinder's, with the per-type ones of the live volume types.  Each dict:
    ``project_id, user_id`` (None), ``resource, in_use, reserved, actual, in_sync``, sorted by
    project and resource; see ``rawdb.quota.audit``.

    :raises AdminRequired: not an admin context
    """
    resources = sync.resources(await sync.volume_types(context))
    return await audit.check(context, CINDER, resources, project_id)


@require_admin_context
async def quota_usage_sync(context: Context, project_id: str | None = None) -> list[Row]:
    """Set ``in_use`` to the actual count where it differs, under the usage-row locks reservations take
    (cinder-manage quota sync).

    Returns the rows repaired (``in_use`` as recorded before, ``actual`` as written).

    :raises AdminRequired: not an admin context
    """
    resources = sync.resources(await sync.volume_types(context))
    return await audit.sync(context, CINDER, resources, project_id)
