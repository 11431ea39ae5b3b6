"""Server groups (nova/db/sqlalchemy/api.py at 14.0.0, spec A.4 "Server groups"): instance groups,
their policies and their members.

A *group* is ``{created_at, updated_at, deleted_at, deleted, id, user_id, project_id, uuid, name,
policies, members}``: ``policies`` (policy names) and ``members`` (instance uuids) are its live
policy and member rows while the group itself is live (Newton's ``_policies``/``_members``
relationships; a deleted group has none), in the order they were added (``ORDER BY id``, on
every backend).  A getter reads a group with both lists in one statement.

Every lookup of a group by uuid sees groups as ``context.read_deleted`` says (the live one
first) and, for a user context, only its project's (``project_only``): a user of another
project gets ``InstanceGroupNotFound``.  Writers lock the group row first, so concurrent
writers of one group take turns: two callers adding the same member never make two live
member rows (the member table has no unique key).

Where rawdb departs from upstream:

- ``project_only`` applies to every lookup by uuid; Newton applied it to the getters and
  ``instance_group_delete`` only (``update``, ``members_add``, ``member_delete`` and
  ``members_get`` found any project's group).
- ``instance_group_create`` refuses, before writing, a user context creating a group for
  another project (``InstanceGroupNotFound``, what Newton's read-back raised, after which its
  transaction rolled back); it returns the group it built (Newton read it back).
- A name listed twice in ``policies``/``members`` is added once (Newton added it twice to a
  new group); a policy or member must be a string (of at most 255 characters).
- ``instance_group_update`` cannot change ``uuid`` (Invalid); it returns None, as Newton's.
- ``instance_group_delete`` deletes only a live group (Newton's soft delete with
  ``read_deleted='yes'`` re-deleted deleted ones and succeeded).
"""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from rawdb import errors
from rawdb.checks import check_bool
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values, is_user_context, project_only, read_deleted
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

# The group's columns a caller may set (its uuid only when creating it).
COLUMNS = ("user_id", "project_id", "name", "created_at")
UUID_LENGTH, NAME_LENGTH = 36, 255
GROUP_KEYS = ("created_at", "updated_at", "deleted_at", "deleted", "id", "user_id", "project_id", "uuid", "name")

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


# --- checks and shapes ---------------------------------------------------------------------


def _lookup(value: Any, what: str, max_length: int) -> str | None:
    """A string key to look rows up by, or None when no row can hold it (too long, NUL).

    :raises Invalid: not a string
    """
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > max_length or _UNSTORABLE.search(value):
        return None
    return value


def _names(values: Any, what: str) -> list[str]:
    """A list of policies or instance uuids, each once, in the order given.

    :raises Invalid: not a list (tuple, set) of strings of at most 255 characters
    """
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, (list, tuple, AbstractSet)):
        raise errors.Invalid(f"{what} must be a list of strings, not {type(values).__name__}")
    names: dict[str, None] = {}
    for value in values:
        if not isinstance(value, str):
            raise errors.Invalid(f"{what} must hold strings, not {type(value).__name__}")
        if len(value) > NAME_LENGTH or _UNSTORABLE.search(value):
            raise errors.Invalid(f"{what} holds {value!r:.80}: over {NAME_LENGTH} characters, NUL or not UTF-8")
        names[value] = None
    return list(names)


def _children(value: Any) -> list[Any]:
    """An aggregated child list in id order: a PostgreSQL array is, JSON [id, value] pairs are sorted."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    pairs = json.loads(value)
    return [item for _, item in sorted(pairs, key=lambda pair: int(pair[0]))]


def _group(row: Mapping[str, Any]) -> Row:
    group = {key: row[key] for key in GROUP_KEYS}
    group["policies"] = _children(row["policies"])
    group["members"] = _children(row["members"])
    return group


async def _group_id(context: Context, group_uuid: Any) -> int:
    """Lock the group a writer changes and return its id: the group with this uuid visible as
    ``context.read_deleted`` and ``project_only`` say (the live one first).

    :raises InstanceGroupNotFound: none visible
    :raises Invalid: the uuid is not a string
    """
    key = _lookup(group_uuid, "group_uuid", UUID_LENGTH)
    row = None
    if key is not None:
        row = await context.fetchrow(
            "nova.instance_groups.group_lock",
            group_uuid=key,
            read_deleted=read_deleted(context),
            **project_only(context),
        )
    if row is None:
        raise errors.InstanceGroupNotFound(group_uuid=group_uuid)
    return int(row["id"])


async def _replace(context: Context, group_id: int, kind: str, names: list[str], set_delete: bool) -> None:
    """Add the ``names`` a group has no live ``kind`` (policies, members) row for; with ``set_delete``,
    soft-delete its live rows not named first."""
    now = utcnow()
    if kind == "policies":
        delete, add = "nova.instance_groups.policies_delete_others", "nova.instance_groups.policies_add"
    else:
        delete, add = "nova.instance_groups.members_delete_others", "nova.instance_groups.members_add"
    if set_delete:
        await context.execute(delete, group_id=group_id, keep=names, now=now)
    if names:
        await context.execute(add, group_id=group_id, items=json.dumps(names), now=now)


# --- groups --------------------------------------------------------------------------------


@writer(retry=True)
async def instance_group_create(
    context: Context,
    values: Mapping[str, Any],
    policies: Iterable[str] | None = None,
    members: Iterable[str] | None = None,
) -> Row:
    """Create a server group with its policies and members.

    :param values: ``uuid`` (generated when absent), ``name``, ``user_id``, ``project_id``,
        ``created_at``, ``updated_at``
    :param policies: policy names, in order
    :param members: instance uuids, in order
    :returns: the group, with ``policies`` and ``members``
    :raises InstanceGroupIdExists: a live group has this uuid; nothing is written, an enclosing
        transaction goes on
    :raises InstanceGroupNotFound: a user context creating a group of another project (the
        group it could not see); nothing is written
    :raises Invalid: another key, a value its column cannot hold, policies or members that
        are not lists of strings; nothing is written
    """
    given = coerce_values("nova", "instance_groups", values, frozenset((*COLUMNS, "uuid", "updated_at")))
    policy_names = [] if policies is None else _names(policies, "policies")
    member_names = [] if members is None else _names(members, "members")
    if given.get("uuid") is None:
        given["uuid"] = str(uuidlib.uuid4())
    if is_user_context(context) and given.get("project_id") != context.project_id:
        raise errors.InstanceGroupNotFound(group_uuid=given["uuid"])
    try:
        async with context.savepoint() as sp:
            rows = await insert_values(sp, "nova.instance_groups.group_create", given)
            if sp.dialect == "mysql":
                rows = await sp.fetch("nova.instance_groups.group_read_back", id=None)
    except errors.DBDuplicateEntry as exc:
        raise errors.InstanceGroupIdExists(group_uuid=given["uuid"]) from exc
    group = {key: rows[0][key] for key in GROUP_KEYS}
    await _replace(context, group["id"], "policies", policy_names, False)
    await _replace(context, group["id"], "members", member_names, False)
    return {**group, "policies": policy_names, "members": member_names}


@reader
async def instance_group_get(context: Context, group_uuid: str) -> Row:
    """A server group by uuid, with its policies and members (one statement).

    :raises InstanceGroupNotFound: none visible (``read_deleted``, ``project_only``)
    :raises Invalid: the uuid is not a string
    """
    key = _lookup(group_uuid, "group_uuid", UUID_LENGTH)
    row = None
    if key is not None:
        row = await context.fetchrow(
            "nova.instance_groups.group_get",
            group_uuid=key,
            read_deleted=read_deleted(context),
            **project_only(context),
        )
    if row is None:
        raise errors.InstanceGroupNotFound(group_uuid=group_uuid)
    return _group(row)


@reader
async def instance_group_get_by_instance(context: Context, instance_uuid: str) -> Row:
    """The server group an instance is a member of (its first membership), with its policies and members.

    Memberships are seen as ``context.read_deleted`` says (a live one first).

    :raises InstanceGroupNotFound: the instance is no member (``group_uuid=''``), or its group is
        not visible (``group_uuid`` = the group's id, as upstream)
    :raises Invalid: the uuid is not a string
    """
    key = _lookup(instance_uuid, "instance_uuid", NAME_LENGTH)
    row = None
    if key is not None:
        row = await context.fetchrow(
            "nova.instance_groups.group_get_by_instance",
            instance_uuid=key,
            read_deleted=read_deleted(context),
            **project_only(context),
        )
    if row is None:
        raise errors.InstanceGroupNotFound(group_uuid="")
    if row["id"] is None:
        raise errors.InstanceGroupNotFound(group_uuid=row["member_group_id"])
    return _group(row)


@writer
async def instance_group_update(context: Context, group_uuid: str, values: Mapping[str, Any]) -> None:
    """Change a server group's columns, and replace its policies or members when ``values`` has them.

    One transaction, the group locked first.  ``policies``/``members`` (lists) replace the live
    sets: rows not listed are soft-deleted, names without a live row are added in order
    (``[]`` empties a set).  ``updated_at`` becomes now (unless given) when a column changes.

    :param values: any of ``name``, ``user_id``, ``project_id``, ``created_at``, ``updated_at``,
        ``policies``, ``members``
    :raises InstanceGroupNotFound: none visible (``read_deleted``, ``project_only``)
    :raises Invalid: another key (``uuid`` included), a value its column cannot hold, policies
        or members that are not lists of strings; nothing is written
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    columns = {k: v for k, v in values.items() if k not in ("policies", "members")}
    given = coerce_values("nova", "instance_groups", columns, frozenset((*COLUMNS, "updated_at")))
    lists = {kind: _names(values[kind], kind) for kind in ("policies", "members") if values.get(kind) is not None}
    group_id = await _group_id(context, group_uuid)
    if given:
        params: dict[str, Any] = {"group_id": group_id, "updated_at": given.get("updated_at") or utcnow()}
        for column in COLUMNS:
            params[f"set_{column}"] = column in given
            params[column] = given.get(column)
        await context.execute("nova.instance_groups.group_update", **params)
    for kind, names in lists.items():
        await _replace(context, group_id, kind, names, True)


@writer
async def instance_group_delete(context: Context, group_uuid: str) -> None:
    """Soft-delete a live server group, its policies and its members (one transaction).

    :raises InstanceGroupNotFound: no live group visible (``read_deleted``, ``project_only``)
    :raises Invalid: the uuid is not a string
    """
    group_id = await _group_id(context, group_uuid)
    now = utcnow()
    if await context.execute("nova.instance_groups.group_delete", group_id=group_id, now=now) == 0:
        raise errors.InstanceGroupNotFound(group_uuid=group_uuid)
    await context.execute("nova.instance_groups.policies_delete_all", group_id=group_id, now=now)
    await context.execute("nova.instance_groups.members_delete_all", group_id=group_id, now=now)


@reader
async def instance_group_get_all(context: Context) -> list[Row]:
    """Every server group visible (``read_deleted``; a user context: its project's), oldest first."""
    rows = await context.fetch(
        "nova.instance_groups.groups_get_all",
        all_projects=True,
        project_id=None,
        read_deleted=read_deleted(context),
        **project_only(context),
    )
    return [_group(row) for row in rows]


@reader
async def instance_group_get_all_by_project_id(context: Context, project_id: str) -> list[Row]:
    """A project's server groups (``read_deleted``; a user context sees only its own project's).

    :raises Invalid: the project id is not a string
    """
    key = _lookup(project_id, "project_id", NAME_LENGTH)
    if key is None:
        return []
    rows = await context.fetch(
        "nova.instance_groups.groups_get_all",
        all_projects=False,
        project_id=key,
        read_deleted=read_deleted(context),
        **project_only(context),
    )
    return [_group(row) for row in rows]


# --- members -------------------------------------------------------------------------------


@writer
async def instance_group_members_add(
    context: Context, group_uuid: str, members: Iterable[str], set_delete: bool = False
) -> list[str]:
    """Add instances to a server group (those already live members are left alone).

    The group is locked first: concurrent callers adding the same instance make one member row.

    :param set_delete: also soft-delete the live members not in ``members``
    :returns: ``members``, as given
    :raises InstanceGroupNotFound: none visible (``read_deleted``, ``project_only``)
    :raises Invalid: the uuid is not a string, ``members`` not a list of strings,
        ``set_delete`` not a boolean; nothing is written
    """
    names = _names(members, "members")
    delete_others = check_bool(set_delete, "set_delete")
    group_id = await _group_id(context, group_uuid)
    await _replace(context, group_id, "members", names, delete_others)
    return list(members)


@writer
async def instance_group_member_delete(context: Context, group_uuid: str, instance_id: str) -> None:
    """Soft-delete an instance's live membership of a server group.

    :raises InstanceGroupNotFound: no group visible (``read_deleted``, ``project_only``)
    :raises InstanceGroupMemberNotFound: the instance is no live member of it
    :raises Invalid: the uuid or instance id is not a string
    """
    key = _lookup(instance_id, "instance_id", NAME_LENGTH)
    group_id = await _group_id(context, group_uuid)
    count = 0
    if key is not None:
        count = await context.execute(
            "nova.instance_groups.member_delete", group_id=group_id, instance_id=key, now=utcnow()
        )
    if count == 0:
        raise errors.InstanceGroupMemberNotFound(group_uuid=group_uuid, instance_id=instance_id)


@reader
async def instance_group_members_get(context: Context, group_uuid: str) -> list[str]:
    """The instance uuids of a server group's members (as ``context.read_deleted`` says), oldest first.

    :raises InstanceGroupNotFound: none visible (``read_deleted``, ``project_only``)
    :raises Invalid: the uuid is not a string
    """
    key = _lookup(group_uuid, "group_uuid", UUID_LENGTH)
    rows = []
    if key is not None:
        rows = await context.fetch(
            "nova.instance_groups.members_get",
            group_uuid=key,
            read_deleted=read_deleted(context),
            **project_only(context),
        )
    if not rows:
        raise errors.InstanceGroupNotFound(group_uuid=group_uuid)
    return [row["instance_id"] for row in rows if row["member_id"] is not None]
