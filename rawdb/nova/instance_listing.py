"""Nova's instance listings (nova 14.0.0, spec D.1), async, on rawdb.

``instance_get_all_by_filters_sort`` is what nova's API (``GET /servers/detail``) and its
periodic tasks run all day: one keyset page per statement, in the default order served by
an index, the children (metadata, system metadata, info cache, security groups with their
rules, tags) aggregated after the LIMIT.  A page after a marker reads the marker inside the
same statement on PostgreSQL and SQLite.  Every instance dict has the keys
``rawdb.nova.instances`` returns; the filters and their quirks are
``rawdb.nova._instance_filters``'s.

Departures from nova: ``deleted=False`` keeps instances whose vm_state is NULL (F.3, as
nova 14.0.0 does); ``instance_data_get_for_project`` takes no ``session`` (spec B.8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rawdb import errors
from rawdb.checks import BIGINT_MAX
from rawdb.context import Context
from rawdb.conventions import coerce, read_deleted, require_context, table_columns
from rawdb.decorators import reader
from rawdb.nova import _instance_list as listing
from rawdb.nova._instance_filters import UNSTORABLE, PlanBuilder, filter_plan
from rawdb.nova._instance_rows import INSTANCE_COLUMN_SET, Joins, joins_for
from rawdb.nova._instance_write import process_sort_params
from rawdb.queries import SortKey
from rawdb.timeutils import utcnow

Row = dict[str, Any]

_COLUMNS = table_columns("nova")["instances"]
_LIST_NO_META = Joins(metadata=False, system_metadata=False)


def _list_joins(columns_to_join: Sequence[str] | None) -> Joins:
    """Listings: info cache and groups only as asked when columns_to_join is given (nova's manual joins)."""
    return joins_for(columns_to_join, by_read_deleted=True)


@require_context
@reader
async def instance_get_all(context: Context, columns_to_join: Sequence[str] | None = None) -> list[Row]:
    """Every instance the caller's read_deleted allows (a user's own project's, or its own without one)."""
    builder = PlanBuilder()
    builder.read_deleted(read_deleted(context))
    if not context.is_admin:
        if context.project_id:
            builder.exact("project_id", context.project_id)
        else:
            builder.exact("user_id", context.user_id)
    sort = (SortKey("id", nullable=False),)
    joins = _list_joins(columns_to_join)
    return await listing.read(context, "instance_get_all", builder.plan(), builder.params, joins, sort)


@require_context
@reader
async def instance_get_all_by_filters(
    context: Context,
    filters: Mapping[str, Any],
    sort_key: str = "created_at",
    sort_dir: str = "desc",
    limit: int | None = None,
    marker: str | None = None,
    columns_to_join: Sequence[str] | None = None,
) -> list[Row]:
    """``instance_get_all_by_filters_sort`` with one sort key and direction (Grizzly's signature)."""
    return await instance_get_all_by_filters_sort(
        context,
        filters,
        limit=limit,
        marker=marker,
        columns_to_join=columns_to_join,
        sort_keys=[sort_key],
        sort_dirs=[sort_dir],
    )


def _sort_keys(keys: Sequence[str], dirs: Sequence[str]) -> tuple[SortKey, ...]:
    result = []
    for key, direction in zip(keys, dirs, strict=True):
        if not isinstance(key, str) or key not in INSTANCE_COLUMN_SET:
            raise errors.InvalidSortKey(key=key)
        result.append(SortKey(key, desc=direction == "desc", nullable=_COLUMNS[key].nullable))
    if not any(key.column in ("id", "uuid") for key in result):
        raise errors.InvalidSortKey(key=keys[-1])
    return tuple(result)


def _limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= BIGINT_MAX:
        raise errors.Invalid(f"limit must be a non-negative 64-bit integer or None, not {limit!r:.80}")
    return limit


@require_context
@reader
async def instance_get_all_by_filters_sort(
    context: Context,
    filters: Mapping[str, Any],
    limit: int | None = None,
    marker: str | None = None,
    columns_to_join: Sequence[str] | None = None,
    sort_keys: Sequence[str] | None = None,
    sort_dirs: Sequence[str] | None = None,
) -> list[Row]:
    """Instances matching ``filters``, sorted, one keyset page (spec D.1).

    Deleted instances are returned unless the ``deleted`` filter says otherwise (nova
    reads them whatever the context's read_deleted).  A user context sees its own
    project's only.

    :raises MarkerNotFound: no instance has the marker uuid
    :raises InvalidSortKey: a sort key that is not an instances column
    :raises InvalidInput: an unknown sort direction, more directions than keys
    :raises Invalid: a filter or limit of the wrong type
    """
    limit = _limit(limit)
    if limit == 0:
        return []
    keys, dirs = process_sort_params(sort_keys, sort_dirs, default_dir="desc")
    sort = _sort_keys(keys, dirs)
    joins = _list_joins(columns_to_join)
    planned = filter_plan(context, filters)
    if planned is None:
        return []
    plan, params = planned
    if marker is None:
        return await listing.read(context, "instance_get_all_by_filters", plan, params, joins, sort, None, limit)
    looked_up = listing.lookup(marker)
    if looked_up is None:
        raise errors.MarkerNotFound(marker=marker)
    if context.dialect != "mysql" and listing.embeddable(sort):
        # one statement reads the marker's values and the page; only an empty page asks
        # whether the marker exists at all
        page = await listing.read(context, "instance_get_all_by_filters", plan, params, joins, sort, looked_up, limit)
        if page or await context.fetchrow(listing.marker_statement(("id",)), marker=looked_up) is not None:
            return page
        raise errors.MarkerNotFound(marker=marker)
    statement = listing.marker_statement(tuple(key.column for key in sort))
    marker_row = await context.fetchrow(statement, marker=looked_up)
    if marker_row is None:
        raise errors.MarkerNotFound(marker=marker)
    return await listing.read(context, "instance_get_all_by_filters", plan, params, joins, sort, marker_row, limit)


_BY_ID = (SortKey("id", nullable=False),)


async def _list(context: Context, name: str, builder: PlanBuilder, joins: Joins) -> list[Row]:
    return await listing.read(context, name, builder.plan(), builder.params, joins, _BY_ID)


@require_context
@reader
async def instance_get_active_by_window_joined(
    context: Context,
    begin: datetime,
    end: datetime | None = None,
    project_id: str | None = None,
    host: str | None = None,
    columns_to_join: Sequence[str] | None = None,
) -> list[Row]:
    """Instances active in the window: not terminated before ``begin``, launched before ``end``.

    Deleted instances included (nova reads them whatever the context says).
    """
    builder = PlanBuilder()
    builder.add("active_since", builder.bind(coerce(_COLUMNS["terminated_at"], "begin", begin)))
    if end:
        builder.add("launched_before", builder.bind(coerce(_COLUMNS["launched_at"], "end", end)))
    if project_id:
        builder.exact("project_id", project_id)
    if host:
        builder.exact("host", host)
    return await _list(context, "instance_get_active_by_window_joined", builder, _list_joins(columns_to_join))


@reader
async def instance_get_all_by_host(
    context: Context, host: str, columns_to_join: Sequence[str] | None = None
) -> list[Row]:
    """The instances on a host, as the context's read_deleted allows."""
    builder = PlanBuilder()
    builder.read_deleted(read_deleted(context))
    builder.exact("host", host)
    joins = joins_for(columns_to_join, always=("info_cache", "security_groups"), by_read_deleted=True)
    return await _list(context, "instance_get_all_by_host", builder, joins)


@reader
async def instance_get_all_by_host_and_node(
    context: Context, host: str, node: str, columns_to_join: Sequence[str] | None = None
) -> list[Row]:
    """The instances on a host's node; metadata only when ``columns_to_join`` names it."""
    builder = PlanBuilder()
    builder.read_deleted(read_deleted(context))
    builder.exact("host", host)
    builder.exact("node", node)
    joins = _LIST_NO_META if columns_to_join is None else joins_for(columns_to_join, by_read_deleted=True)
    return await _list(context, "instance_get_all_by_host_and_node", builder, joins)


@reader
async def instance_get_all_by_host_and_not_type(context: Context, host: str, type_id: int | None = None) -> list[Row]:
    """The instances on a host whose flavor is not ``type_id`` (SQL: NULL flavors never match)."""
    builder = PlanBuilder()
    builder.read_deleted(read_deleted(context))
    builder.exact("host", host)
    if type_id is None:
        builder.add("never")
    else:
        builder.add("ne", "instance_type_id", builder.bind(coerce(_COLUMNS["instance_type_id"], "type_id", type_id)))
    return await _list(context, "instance_get_all_by_host_and_not_type", builder, Joins(by_read_deleted=True))


@reader
async def instance_get_all_hung_in_rebooting(context: Context, reboot_window: int) -> list[Row]:
    """Instances rebooting since before ``reboot_window`` seconds ago (no metadata joined).

    :raises Invalid: ``reboot_window`` is not an integer (None included)
    """
    seconds = coerce(_COLUMNS["progress"], "reboot_window", reboot_window)
    if seconds is None:
        raise errors.Invalid("reboot_window must be an integer, not None")
    builder = PlanBuilder()
    builder.read_deleted(read_deleted(context))
    builder.add("updated_before", builder.bind(utcnow() - timedelta(seconds=seconds)))
    builder.exact("task_state", "rebooting")
    return await _list(context, "instance_get_all_hung_in_rebooting", builder, _LIST_NO_META)


@reader
async def instance_get_all_by_grantee_security_groups(context: Context, group_ids: Sequence[int]) -> list[Row]:
    """Instances in a group that has a live rule granting one of ``group_ids``."""
    if not group_ids:
        return []
    if isinstance(group_ids, (str, bytes)) or not isinstance(group_ids, Sequence | set | frozenset):
        raise errors.Invalid(f"group_ids must be a list of integers, not {type(group_ids).__name__}")
    ids = [coerce(_COLUMNS["id"], "group_ids", group_id) for group_id in group_ids]
    builder = PlanBuilder()
    builder.read_deleted(read_deleted(context))
    builder.add("grantee", builder.bind(ids))
    return await _list(context, "instance_get_all_by_grantee_security_groups", builder, Joins(by_read_deleted=True))


@require_context
@reader
async def instance_data_get_for_project(context: Context, project_id: str) -> tuple[int, int, int]:
    """``(count, vcpus, memory_mb)`` of a project's instances, as the context's read_deleted allows.

    :raises Invalid: ``project_id`` is not a string, or holds NUL or a lone surrogate
    """
    if project_id is not None and not isinstance(project_id, str):
        raise errors.Invalid(f"project_id must be a string, not {type(project_id).__name__}")
    if project_id is not None and UNSTORABLE.search(project_id):
        raise errors.Invalid("project_id can't contain NUL characters or lone surrogates (not UTF-8)")
    row = await context.fetchrow(
        "nova.instance_listing.data_for_project", project_id=project_id, read_deleted=read_deleted(context)
    )
    assert row is not None
    return int(row["instances"]), int(row["vcpus"]), int(row["memory_mb"])
