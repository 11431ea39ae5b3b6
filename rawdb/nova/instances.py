"""Nova's instance DB API (nova 14.0.0, spec nova_cinder.md B, D.2-D.4), async, on rawdb: one instance.

Every function returns instance dicts of one shape (``rawdb.nova._instance_rows``): the
``instances`` columns, ``name``, and the children, empty where a call does not join them;
listings are ``rawdb.nova.instance_listing``'s.  A read is one statement (the children
aggregated in it).  ``instance_update`` is one compare-and-swap UPDATE (B.6); on PostgreSQL
it returns the instance in the same statement.

Departures from nova, each a fix the spec asks for: ``equal_any`` is an OR (nova bug
1292285); the security group rules of a new project's default group are copied in the
group's own transaction (D.7).  So that every backend stores and returns the same, values
are refused (``Invalid``, nothing written) where nova left it to the database: an access
address that is none (stored as the text PostgreSQL's INET prints, ``2001:db8::1``), a
``locked_by`` outside its enum, a ``uuid`` given to instance_create that is none
(``InvalidUUID``: update and destroy could never name it), group names no group can have.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import coerce, insert_values, require_context, table_columns
from rawdb.decorators import reader, retry_on_deadlock, writer
from rawdb.nova import _instance_list as listing
from rawdb.nova import _instance_write as write
from rawdb.nova._instance_rows import Joins, joins_for
from rawdb.nova.ec2_mappings import ec2_instance_create
from rawdb.nova.security_groups import security_group_ensure_default
from rawdb.nova.settings import SETTINGS
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


@require_context
@reader
async def instance_get_by_uuid(context: Context, uuid: str, columns_to_join: Sequence[str] | None = None) -> Row:
    """The instance with this uuid, as the caller's read_deleted and project allow.

    :raises InstanceNotFound: none
    """
    joins = joins_for(columns_to_join, always=("info_cache", "security_groups"))
    looked_up = listing.lookup(uuid)
    row = None if looked_up is None else await listing.get_one(context, "uuid", looked_up, joins)
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
    row = await listing.get_one(context, "id", number, joins)
    if row is None:
        raise errors.InstanceNotFound(instance_id=instance_id)
    return row


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
    row = await listing.get_one(context.elevated(read_deleted="no"), "uuid", uuid, _GETTER_JOINS)
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
    listing.check_uuid(instance_uuid)
    instance = await listing.get_one(context, "uuid", instance_uuid, _GETTER_JOINS)
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
    if context.transaction is None and context.dialect in write.RETURNING:
        listing.check_uuid(instance_uuid)
        update = write.prepare_update(values, expected)
        if update.metadata is None and update.system_metadata is None and "hostname" not in update.values:
            return await write.retry_update(_update_alone, context, instance_uuid, update)
    return await write.retry_update(_update, context, instance_uuid, values, expected, None)


@retry_on_deadlock
async def _update_alone(context: Context, instance_uuid: str, update: write.Update) -> Row:
    """No metadata or hostname to check: the UPDATE ... RETURNING alone, no BEGIN/COMMIT.

    One statement is atomic by itself; a conflict's explanation is read after it.
    """
    async with context.writer(autocommit=True) as tx:
        _, user = listing.scope(tx)
        _, row = await write.compare_and_swap(tx, instance_uuid, update, user)
        if row is not None:  # with RETURNING a match always returns its row
            return row
        original = await listing.get_one(tx, "uuid", instance_uuid, _GETTER_JOINS)
        if original is None:
            raise errors.InstanceNotFound(instance_id=instance_uuid)
        raise write.conflict(instance_uuid, update.expected, original)


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
    listing.check_uuid(instance_uuid)
    original = await listing.get_one(context, "uuid", instance_uuid, joins or _GETTER_JOINS)
    if original is None:
        raise errors.InstanceNotFound(instance_id=instance_uuid)
    return original, await _update(context, instance_uuid, values, expected, original)


@writer
async def _update(
    context: Context, instance_uuid: str, values: Mapping[str, Any], expected: Any, original: Row | None
) -> Row:
    listing.check_uuid(instance_uuid)
    update = write.prepare_update(values, expected)
    if "hostname" in update.values:
        await _check_unique_name(context, update.values["hostname"], instance_uuid)
    _, user = listing.scope(context)
    matched, row = await write.compare_and_swap(context, instance_uuid, update, user)
    if row is not None:
        return row
    if not matched:
        if original is None:
            original = await listing.get_one(context, "uuid", instance_uuid, _GETTER_JOINS)
            if original is None:
                raise errors.InstanceNotFound(instance_id=instance_uuid)
        raise write.conflict(instance_uuid, update.expected, original)
    await _replace_metadata(context, instance_uuid, update)
    result = await listing.get_one(context.elevated(read_deleted="yes"), "uuid", instance_uuid, _GETTER_JOINS)
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
    listing.check_uuid(instance_uuid)
    _, user = listing.scope(context)
    if await write.test_and_set(context, instance_uuid, attr, ok_states, new_state, user):
        return
    instance = await listing.get_one(context, "uuid", instance_uuid, Joins(False, False, False, False))
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
    uuid = listing.lookup(instance_id)
    if uuid is None or isinstance(security_group_id, bool) or not isinstance(security_group_id, int):
        return
    await context.execute(
        "nova.instances.group_disassociate", instance_uuid=uuid, security_group_id=security_group_id, now=utcnow()
    )
