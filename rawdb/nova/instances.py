"""Nova's instance DB API (nova 14.0.0, spec nova_cinder.md B, D.1-D.4), async, on rawdb.

Every function returns instance dicts of one shape (``rawdb.nova._instance_rows``): the
``instances`` columns, ``name``, and the children, empty where a call does not join them.
Reads are one statement (the children aggregated after the LIMIT); a listing with a
marker reads the marker's sort values first.  ``instance_update`` is one compare-and-swap
UPDATE (B.6); on PostgreSQL it returns the instance in the same statement.

Departures from nova, each a fix the spec asks for: ``equal_any`` is an OR (nova bug
1292285); ``deleted=False`` listings keep instances whose vm_state is NULL (F.3); the
security group rules of a new project's default group are copied in the group's own
transaction (D.7); ``instance_data_get_for_project`` takes no ``session``.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import coerce, insert_values, read_deleted, require_context, table_columns
from rawdb.decorators import reader, writer
from rawdb.nova import _instance_list as listing
from rawdb.nova import _instance_write as write
from rawdb.nova._instance_rows import INSTANCE_COLUMN_SET, Joins, instance_dict, joins_for
from rawdb.nova.ec2_mappings import ec2_instance_create
from rawdb.nova.security_groups import security_group_ensure_default
from rawdb.nova.settings import SETTINGS
from rawdb.queries import SortKey, marker_params, marker_shape
from rawdb.timeutils import utcnow

Row = dict[str, Any]

# Constraints and sort processing live with the write helpers; they are part of this API.
constraint = write.constraint
equal_any = write.equal_any
not_equal = write.not_equal
process_sort_params = write.process_sort_params

_COLUMNS = table_columns("nova")["instances"]
_GETTER_JOINS = write.JOINS  # nova's _build_instance_get default: metadata, system metadata, info cache, groups
_LIST_NO_META = Joins(metadata=False, system_metadata=False)


def check_uuid(value: Any) -> str:
    """An instance uuid as nova's ``is_uuid_like`` accepts it.

    :raises InvalidUUID: anything else
    """
    if isinstance(value, str):
        try:
            uuidlib.UUID(value)
        except ValueError:
            pass
        else:
            if len(value) <= 36 or "-" not in value:
                return value
    raise errors.InvalidUUID(uuid=value)


def _lookup(value: Any) -> str | None:
    """A uuid to look up, or None when no instance can have it (NotFound without a query)."""
    if not isinstance(value, str) or len(value) > 36 or "\x00" in value:
        return None
    return value


async def _read(
    context: Context,
    name: str,
    plan: listing.Plan,
    params: dict[str, Any],
    joins: Joins,
    sort: tuple[SortKey, ...] = (),
    marker: Mapping[str, Any] | str | None = None,
    limit: int | None = None,
) -> list[Row]:
    """Run a read; ``marker`` is the marker's sort values, or its uuid for a page that reads them itself."""
    bound = dict(params)
    if isinstance(marker, str):
        shape = listing.Shape(plan, joins, sort, None, limit, marker_embedded=True)
        bound["marker"] = marker
    elif marker is not None:
        keys = listing.dialect_keys(sort, context.dialect)
        values = listing.floored(marker, sort, context.dialect)
        shape = listing.Shape(plan, joins, sort, marker_shape(keys, values), limit)
        bound.update(marker_params(keys, values))
    else:
        shape = listing.Shape(plan, joins, sort, None, limit)
    if joins.by_read_deleted:
        bound["read_deleted"] = read_deleted(context)
    statement = listing.statement(name, shape)
    rows = await context.fetch(statement, **_used(statement, context.dialect, bound))
    return [instance_dict(row, joins) for row in rows]


def _used(statement: Any, dialect: str, params: dict[str, Any]) -> dict[str, Any]:
    names = statement.compiled(dialect).names
    return {name: params[name] for name in names}


def _scope(context: Context) -> tuple[listing.PlanBuilder, bool]:
    """A plan for model_query(project_only=True): the caller's read_deleted and project."""
    builder = listing.PlanBuilder()
    builder.read_deleted(read_deleted(context))
    user = not context.is_admin and bool(context.user_id) and bool(context.project_id)
    if user:
        builder.exact("project_id", context.project_id)
    return builder, user


async def _get_one(context: Context, column: str, value: Any, joins: Joins) -> Row | None:
    builder, _ = _scope(context)
    builder.exact(column, value)
    rows = await _read(context, f"instance_get_by_{column}", builder.plan(), builder.params, joins)
    return rows[0] if rows else None


@require_context
@reader
async def instance_get_by_uuid(context: Context, uuid: str, columns_to_join: Sequence[str] | None = None) -> Row:
    """The instance with this uuid, as the caller's read_deleted and project allow.

    :raises InstanceNotFound: none
    """
    joins = joins_for(columns_to_join, always=("info_cache", "security_groups"))
    looked_up = _lookup(uuid)
    row = None if looked_up is None else await _get_one(context, "uuid", looked_up, joins)
    if row is None:
        raise errors.InstanceNotFound(instance_id=uuid)
    return row


@require_context
@reader
async def instance_get(context: Context, instance_id: int, columns_to_join: Sequence[str] | None = None) -> Row:
    """The instance with this integer id.

    :raises InvalidID: the id cannot be an instance id (not an integer, or out of range)
    :raises InstanceNotFound: none
    """
    try:
        number = coerce(_COLUMNS["id"], "instance_id", instance_id)
    except errors.Invalid:
        raise errors.InvalidID(id=instance_id) from None
    joins = joins_for(columns_to_join, always=("info_cache", "security_groups"))
    row = await _get_one(context, "id", number, joins)
    if row is None:
        raise errors.InstanceNotFound(instance_id=instance_id)
    return row


def _list_joins(columns_to_join: Sequence[str] | None) -> Joins:
    """Listings: info cache and groups only as asked when columns_to_join is given (nova's manual joins)."""
    return joins_for(columns_to_join, by_read_deleted=True)


@require_context
@reader
async def instance_get_all(context: Context, columns_to_join: Sequence[str] | None = None) -> list[Row]:
    """Every instance the caller's read_deleted allows (a user's own project's, or its own without one)."""
    builder = listing.PlanBuilder()
    builder.read_deleted(read_deleted(context))
    if not context.is_admin:
        if context.project_id:
            builder.exact("project_id", context.project_id)
        else:
            builder.exact("user_id", context.user_id)
    sort = (SortKey("id", nullable=False),)
    return await _read(context, "instance_get_all", builder.plan(), builder.params, _list_joins(columns_to_join), sort)


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
            raise errors.InvalidSortKey()
        result.append(SortKey(key, desc=direction == "desc", nullable=_COLUMNS[key].nullable))
    if not any(key.column in ("id", "uuid") for key in result):
        raise errors.InvalidSortKey()
    return tuple(result)


def _limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise errors.Invalid(f"limit must be a non-negative integer or None, not {limit!r:.80}")
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
    planned = listing.filter_plan(context, filters)
    if planned is None:
        return []
    plan, params = planned
    if marker is None:
        return await _read(context, "instance_get_all_by_filters", plan, params, joins, sort, None, limit)
    looked_up = _lookup(marker)
    if looked_up is None:
        raise errors.MarkerNotFound(marker=marker)
    if context.dialect != "mysql" and listing.embeddable(sort):
        # one statement reads the marker's values and the page; only an empty page asks
        # whether the marker exists at all
        page = await _read(context, "instance_get_all_by_filters", plan, params, joins, sort, looked_up, limit)
        if page or await context.fetchrow(listing.marker_statement(("id",)), marker=looked_up) is not None:
            return page
        raise errors.MarkerNotFound(marker=marker)
    statement = listing.marker_statement(tuple(key.column for key in sort))
    marker_row = await context.fetchrow(statement, marker=looked_up)
    if marker_row is None:
        raise errors.MarkerNotFound(marker=marker)
    return await _read(context, "instance_get_all_by_filters", plan, params, joins, sort, marker_row, limit)


_BY_ID = (SortKey("id", nullable=False),)


async def _list(context: Context, name: str, builder: listing.PlanBuilder, joins: Joins) -> list[Row]:
    return await _read(context, name, builder.plan(), builder.params, joins, _BY_ID)


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
    builder = listing.PlanBuilder()
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
    builder = listing.PlanBuilder()
    builder.read_deleted(read_deleted(context))
    builder.exact("host", host)
    joins = joins_for(columns_to_join, always=("info_cache", "security_groups"), by_read_deleted=True)
    return await _list(context, "instance_get_all_by_host", builder, joins)


@reader
async def instance_get_all_by_host_and_node(
    context: Context, host: str, node: str, columns_to_join: Sequence[str] | None = None
) -> list[Row]:
    """The instances on a host's node; metadata only when ``columns_to_join`` names it."""
    builder = listing.PlanBuilder()
    builder.read_deleted(read_deleted(context))
    builder.exact("host", host)
    builder.exact("node", node)
    joins = _LIST_NO_META if columns_to_join is None else joins_for(columns_to_join, by_read_deleted=True)
    return await _list(context, "instance_get_all_by_host_and_node", builder, joins)


@reader
async def instance_get_all_by_host_and_not_type(context: Context, host: str, type_id: int | None = None) -> list[Row]:
    """The instances on a host whose flavor is not ``type_id`` (SQL: NULL flavors never match)."""
    builder = listing.PlanBuilder()
    builder.read_deleted(read_deleted(context))
    builder.exact("host", host)
    if type_id is None:
        builder.add("never")
    else:
        builder.add("ne", "instance_type_id", builder.bind(coerce(_COLUMNS["instance_type_id"], "type_id", type_id)))
    return await _list(context, "instance_get_all_by_host_and_not_type", builder, Joins(by_read_deleted=True))


@reader
async def instance_get_all_hung_in_rebooting(context: Context, reboot_window: int) -> list[Row]:
    """Instances rebooting since before ``reboot_window`` seconds ago (no metadata joined)."""
    seconds = coerce(_COLUMNS["progress"], "reboot_window", reboot_window)
    builder = listing.PlanBuilder()
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
    builder = listing.PlanBuilder()
    builder.read_deleted(read_deleted(context))
    builder.add("grantee", builder.bind(ids))
    return await _list(context, "instance_get_all_by_grantee_security_groups", builder, Joins(by_read_deleted=True))


@require_context
@reader
async def instance_data_get_for_project(context: Context, project_id: str) -> tuple[int, int, int]:
    """``(count, vcpus, memory_mb)`` of a project's instances, as the context's read_deleted allows."""
    row = await context.fetchrow(
        "nova.instances.data_for_project", project_id=project_id, read_deleted=read_deleted(context)
    )
    assert row is not None
    return int(row["instances"]), int(row["vcpus"]), int(row["memory_mb"])


# --- writes ------------------------------------------------------------------------------


async def _check_unique_name(context: Context, hostname: Any, uuid: str | None = None) -> None:
    """``osapi_compute_unique_server_name_scope``: no other live instance with this hostname (any case)."""
    scope = SETTINGS.osapi_compute_unique_server_name_scope
    if scope not in ("project", "global") or not isinstance(hostname, str):
        return
    lowered = hostname.lower()
    other = "" if uuid is None else "_other"
    params: dict[str, Any] = {"hostname": lowered}
    if uuid is not None:
        params["uuid"] = uuid
    if scope == "global":
        name = f"nova.instances.hostname_count_global{other}"
    elif context.project_id is None and uuid is None:
        name = "nova.instances.hostname_count_project_none"
    else:
        name = f"nova.instances.hostname_count_project{other}"
        params["project_id"] = context.project_id
    if await context.fetchval(name, **params):
        raise errors.InstanceExists(name=lowered)


async def _resolve_groups(context: Context, names: list[str], default_group: Mapping[str, Any]) -> list[int]:
    """The ids of the named groups of the caller's project, 'default' being the ensured one.

    :raises SecurityGroupNotFoundForProject: the first name the project has no live group of
    """
    ids = [int(default_group["id"])] if "default" in names else []
    others = [name for name in dict.fromkeys(names) if name != "default"]
    if not others:
        return ids
    if context.project_id is None:
        rows = await context.fetch("nova.instances.groups_by_names_no_project", names=others)
    else:
        rows = await context.fetch("nova.instances.groups_by_names", names=others, project_id=context.project_id)
    found = {row["name"]: row["id"] for row in rows}
    for name in others:
        if name not in found:
            raise errors.SecurityGroupNotFoundForProject(project_id=context.project_id, security_group_id=name)
        ids.append(int(found[name]))
    return ids


async def _replace_metadata(context: Context, uuid: str, update: write.Update) -> None:
    """Make the instance's metadata / system metadata exactly the given sets (D.2)."""
    now = utcnow()
    for name in ("metadata", "system_metadata"):
        items = getattr(update, name)
        if items is None:
            continue
        keys = [item["key"] for item in items]
        extra = {"now": now} if name == "metadata" else {}  # system metadata keys go for good
        await context.execute(f"nova.instances.{name}_delete_except", uuid=uuid, keys=keys, **extra)
        if items:
            text = json.dumps(items)
            await context.execute(f"nova.instances.{name}_update_values", uuid=uuid, items=text, now=now)
            await context.execute(f"nova.instances.{name}_insert_missing", uuid=uuid, items=text, now=now)


@require_context
async def instance_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create an instance with its children (spec D.3, nova 14.0.0).

    ``values`` may hold ``metadata`` and ``system_metadata`` dicts, ``info_cache`` (a
    dict), ``security_groups`` (group names of the caller's project; ``'default'`` is made
    if the project has none, in a transaction of its own), ``extra`` (instance_extra
    columns); ``uuid`` is generated when absent.  The EC2 id mapping is made in the same
    transaction.

    :raises InstanceExists: the hostname is taken in the configured scope
    :raises SecurityGroupNotFoundForProject: a named group does not exist in the project
    :raises Invalid: a value a column cannot hold, a key that is not a column; nothing is written
    """
    prepared = write.prepare_create(values)
    default_group = await security_group_ensure_default(context)
    return await _create(context, prepared, default_group)


@writer(retry=True)
async def _create(context: Context, prepared: write.Prepared, default_group: Mapping[str, Any]) -> Row:
    if "hostname" in prepared.values:
        await _check_unique_name(context, prepared.values["hostname"])
    groups = await _resolve_groups(context, prepared.security_groups, default_group)
    uuid = prepared.values["uuid"]
    await insert_values(context, "nova.instances.instance_insert", prepared.values, parse_times=True)
    now = utcnow()
    await insert_values(
        context,
        "nova.instances.info_cache_insert",
        prepared.info_cache,
        instance_uuid=uuid,
        created_at=now,
        updated_at=None,
    )
    await insert_values(
        context, "nova.instances.extra_insert", prepared.extra, instance_uuid=uuid, created_at=now, updated_at=None
    )
    for name in ("metadata", "system_metadata"):
        items = getattr(prepared, name)
        if items:
            await context.execute(f"nova.instances.{name}_insert_missing", uuid=uuid, now=now, items=json.dumps(items))
    for group_id in groups:
        await context.execute("nova.instances.group_associate", security_group_id=group_id, instance_uuid=uuid, now=now)
    await ec2_instance_create(context, uuid)
    row = await _get_one(context.elevated(read_deleted="no"), "uuid", uuid, _GETTER_JOINS)
    assert row is not None
    return row


@require_context
@writer(retry=True)
async def instance_destroy(context: Context, instance_uuid: str, constraint: write.Constraint | None = None) -> Row:
    """Soft-delete an instance and its children (nova 14.0.0's cascade, D.4); returns it as it was.

    :raises InvalidUUID: not a uuid
    :raises InstanceNotFound: the caller cannot see it (already deleted, another project)
    :raises ConstraintNotMet: ``constraint`` does not hold; nothing is deleted
    """
    check_uuid(instance_uuid)
    instance = await _get_one(context, "uuid", instance_uuid, _GETTER_JOINS)
    if instance is None:
        raise errors.InstanceNotFound(instance_id=instance_uuid)
    if not await write.soft_delete(context, instance_uuid, constraint):
        raise errors.ConstraintNotMet()
    now = utcnow()
    for statement in write.CASCADE_SOFT:
        await context.execute(f"nova.instances.{statement}", uuid=instance_uuid, now=now)
    for statement in write.CASCADE_HARD:
        await context.execute(f"nova.instances.{statement}", uuid=instance_uuid)
    return instance


@require_context
async def instance_update(
    context: Context, instance_uuid: str, values: Mapping[str, Any], expected: Mapping[str, Any] | None = None
) -> Row:
    """Update an instance in one compare-and-swap statement (spec B.6, D.2); returns it.

    ``expected`` (and ``expected_task_state`` / ``expected_vm_state`` in ``values``) lists
    the values a field must have for the update to happen; ``metadata`` and
    ``system_metadata`` in ``values`` replace the sets after the update.

    :raises InvalidUUID: not a uuid
    :raises InstanceNotFound: the caller cannot see the instance
    :raises UnexpectedDeletingTaskStateError, UnexpectedTaskStateError, InstanceUpdateConflict:
        a field is not as expected; nothing was written
    :raises InstanceExists: the new hostname is taken in the configured scope
    :raises Invalid: a value a column cannot hold; nothing was written
    """
    return await write.retry_update(_update, context, instance_uuid, values, expected, None)


@require_context
async def instance_update_and_get_original(
    context: Context,
    instance_uuid: str,
    values: Mapping[str, Any],
    columns_to_join: Sequence[str] | None = None,
    expected: Mapping[str, Any] | None = None,
) -> tuple[Row, Row]:
    """``instance_update`` that also returns the instance as it was before: ``(old, new)``.

    :raises InstanceNotFound: the caller cannot see the instance
    """
    joins = joins_for(columns_to_join, always=("info_cache", "security_groups"))
    return await write.retry_update(_update_and_get_original, context, instance_uuid, values, expected, joins)


@writer
async def _update_and_get_original(
    context: Context, instance_uuid: str, values: Mapping[str, Any], expected: Any, joins: Joins | None
) -> tuple[Row, Row]:
    check_uuid(instance_uuid)
    original = await _get_one(context, "uuid", instance_uuid, joins or _GETTER_JOINS)
    if original is None:
        raise errors.InstanceNotFound(instance_id=instance_uuid)
    return original, await _update(context, instance_uuid, values, expected, original)


@writer
async def _update(
    context: Context, instance_uuid: str, values: Mapping[str, Any], expected: Any, original: Row | None
) -> Row:
    check_uuid(instance_uuid)
    update = write.prepare_update(values, expected)
    if "hostname" in update.values:
        await _check_unique_name(context, update.values["hostname"], instance_uuid)
    _, user = _scope(context)
    matched, row = await write.compare_and_swap(context, instance_uuid, update, user)
    if row is not None:
        return row
    if not matched:
        if original is None:
            original = await _get_one(context, "uuid", instance_uuid, _GETTER_JOINS)
            if original is None:
                raise errors.InstanceNotFound(instance_id=instance_uuid)
        raise write.conflict(instance_uuid, update.expected, original)
    await _replace_metadata(context, instance_uuid, update)
    result = await _get_one(context.elevated(read_deleted="yes"), "uuid", instance_uuid, _GETTER_JOINS)
    assert result is not None
    return result


@require_context
@writer
async def instance_test_and_set(
    context: Context, instance_uuid: str, attr: str, ok_states: Sequence[Any], new_state: Any
) -> None:
    """Set ``attr`` to ``new_state`` only if it is one of ``ok_states``, atomically (one UPDATE).

    :raises InvalidUUID: not a uuid
    :raises InstanceNotFound: the caller cannot see the instance
    :raises InstanceInvalidState: ``attr`` is not in ``ok_states``; nothing changed
    :raises Invalid: ``attr`` is not an instances column, or ``new_state`` cannot be stored in it
    """
    check_uuid(instance_uuid)
    _, user = _scope(context)
    if await write.test_and_set(context, instance_uuid, attr, ok_states, new_state, user):
        return
    instance = await _get_one(context, "uuid", instance_uuid, Joins(False, False, False, False))
    if instance is None:
        raise errors.InstanceNotFound(instance_id=instance_uuid)
    raise errors.InstanceInvalidState(
        attr=attr, instance_uuid=instance_uuid, state=instance[attr], method="instance_test_and_set"
    )


@writer
async def instance_add_security_group(context: Context, instance_id: str, security_group_id: int) -> None:
    """Put an instance in a security group (nova's ``instance_uuid``, named ``instance_id`` in its API).

    :raises DBReferenceError: the instance or the group does not exist
    """
    group = coerce(table_columns("nova")["security_groups"]["id"], "security_group_id", security_group_id)
    uuid = coerce(_COLUMNS["uuid"], "instance_id", instance_id)
    await context.execute("nova.instances.group_associate", security_group_id=group, instance_uuid=uuid, now=utcnow())


@require_context
@writer
async def instance_remove_security_group(context: Context, instance_id: str, security_group_id: int) -> None:
    """Take an instance out of a security group (no error when it was not in it)."""
    uuid = _lookup(instance_id)
    if uuid is None or isinstance(security_group_id, bool) or not isinstance(security_group_id, int):
        return
    await context.execute(
        "nova.instances.group_disassociate", instance_uuid=uuid, security_group_id=security_group_id, now=utcnow()
    )
