"""Nova's security groups (``nova/db/sqlalchemy/api.py`` at 14.0.0, with 2013.1's ``security_group_exists``
and ``security_group_count_by_project``), async.  Rules and default rules: ``rawdb.nova.security_group_rules``.

Result shapes (plain dicts; lists in insertion order, ``ORDER BY id``):

- a *group*: ``id, name, description, user_id, project_id, created_at, updated_at, deleted_at,
  deleted``, plus ``rules`` (its live rules, each a *rule* with its ``grantee_group``) and
  ``instances`` (its live instances through live associations, each an *instance*) when joined;
- a *rule*: ``id, parent_group_id, protocol, from_port, to_port, cidr, group_id, created_at,
  updated_at, deleted_at, deleted``, plus ``grantee_group`` (the group ``group_id`` names, live
  or not, with its ``instances`` when joined; None without one) where upstream joins it;
- an *instance*: the instances table's columns and ``name`` (``rawdb.nova.settings``), plus
  ``system_metadata`` (its live items, ``[{'key': k, 'value': v}]``) and ``info_cache`` (its
  instance_info_caches row, or None) when joined.

What each call joins follows Newton's ``columns_to_join`` defaults:

=================================  =========================================================
``security_group_get_all``,        ``rules`` (always, as Newton's ``_security_group_get_query``)
``_get_by_project``,
``_get_by_instance``
``security_group_get``             only ``columns_to_join``: ``rules``, ``instances`` (default none)
``security_group_get_by_name``     ``columns_to_join``, default ``['instances', 'rules.grantee_group']``
``security_group_update``          only ``columns_to_join`` (default none)
``security_group_create``          ``rules`` and ``instances``, both empty for a new group
``security_group_ensure_default``  ``rules``
=================================  =========================================================

``columns_to_join`` names ``rules`` (or ``rules.grantee_group``: rules always come with their
grantee group), ``instances``, ``instances.system_metadata``, ``instances.info_cache``; any
other name is ``Invalid`` (Newton's ``security_group_get`` ignored unknown names).  Ids may be
integers or strings of one (nova's API passes them so); an id no row can have finds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.context import Context, Scope
from rawdb.conventions import (
    authorize_project_context,
    coerce_values,
    insert_values,
    project_only,
    read_deleted,
    require_context,
)
from rawdb.decorators import reader, retry_on_deadlock, writer
from rawdb.nova._security_group_joins import (
    RULES,
    attach,
    clean_values,
    group_joins,
    lookup_text,
    row_id,
)
from rawdb.timeutils import utcnow

Row = dict[str, Any]

# What security_group_update may change (the ORM let callers set any column; these are the ones
# that mean something: the id and the soft-delete columns belong to rawdb).
UPDATABLE = ("name", "description", "user_id", "project_id", "created_at", "updated_at")
BY_NAME_JOINS = ("instances", "rules.grantee_group")
_RELATIONS = ("rules", "instances")


async def _get_by_name(context: Context, project_id: Any, group_name: Any) -> Row | None:
    if not (lookup_text(project_id, "project_id") and lookup_text(group_name, "group_name")):
        return None
    return await context.fetchrow("nova.security_groups.group_get_by_name", project_id=project_id, name=group_name)


@require_context
@reader
async def security_group_get_all(context: Context) -> list[Row]:
    """Every security group (live or deleted as ``context.read_deleted`` says), with its rules."""
    rows = await context.fetch("nova.security_groups.group_get_all", read_deleted=read_deleted(context))
    return await attach(context, rows, RULES)


@require_context
@reader
async def security_group_get(
    context: Context, security_group_id: int, columns_to_join: Sequence[str] | None = None
) -> Row:
    """A security group by id, with the children ``columns_to_join`` names.

    A user context sees only its project's groups; deleted ones as ``context.read_deleted`` says.

    :raises SecurityGroupNotFound: none visible
    :raises Invalid: a bad id or ``columns_to_join``
    """
    joins = group_joins(columns_to_join or ())
    group_id = row_id(security_group_id, "security_group_id")
    row = None
    if group_id is not None:
        row = await context.fetchrow(
            "nova.security_groups.group_get",
            security_group_id=group_id,
            read_deleted=read_deleted(context),
            **project_only(context),
        )
    if row is None:
        raise errors.SecurityGroupNotFound(security_group_id=security_group_id)
    return (await attach(context, [row], joins))[0]


@require_context
@reader
async def security_group_get_by_name(
    context: Context, project_id: str, group_name: str, columns_to_join: Sequence[str] | None = None
) -> Row:
    """A project's live security group by name, by default with its instances and rules.

    :raises SecurityGroupNotFoundForProject: the project has no live group by this name
    :raises Invalid: a name or project id that is not a string, or bad ``columns_to_join``
    """
    joins = group_joins(BY_NAME_JOINS if columns_to_join is None else columns_to_join)
    row = await _get_by_name(context, project_id, group_name)
    if row is None:
        raise errors.SecurityGroupNotFoundForProject(project_id=project_id, security_group_id=group_name)
    return (await attach(context, [row], joins))[0]


@require_context
@reader
async def security_group_get_by_project(context: Context, project_id: str) -> list[Row]:
    """A project's live security groups, with their rules.

    :raises Invalid: the project id is not a string
    """
    if not lookup_text(project_id, "project_id"):
        return []
    rows = await context.fetch("nova.security_groups.groups_get_by_project", project_id=project_id)
    return await attach(context, rows, RULES)


@require_context
@reader
async def security_group_get_by_instance(context: Context, instance_uuid: str) -> list[Row]:
    """The live security groups a live instance belongs to, with their rules ([] for an unknown instance).

    :raises Invalid: the uuid is not a string
    """
    if not lookup_text(instance_uuid, "instance_uuid", 36):
        return []
    rows = await context.fetch("nova.security_groups.groups_get_by_instance", instance_uuid=instance_uuid)
    return await attach(context, rows, RULES)


@require_context
@reader
async def security_group_exists(context: Context, project_id: str, group_name: str) -> bool:
    """Whether the project has a live security group by this name.

    :raises Invalid: a name or project id that is not a string
    """
    return await _get_by_name(context, project_id, group_name) is not None


@require_context
@reader
async def security_group_in_use(context: Context, group_id: int) -> bool:
    """Whether a live instance belongs to the group (through a live association).

    :raises Invalid: the id is not an integer
    """
    security_group_id = row_id(group_id, "group_id")
    if security_group_id is None:
        return False
    return await context.fetchrow("nova.security_groups.group_in_use", group_id=security_group_id) is not None


@require_context
@reader
async def security_group_count_by_project(context: Context, project_id: str) -> int:
    """The number of the project's live security groups.

    :raises NotAuthorized: a user context asking about another project
    :raises Invalid: the project id is not a string
    """
    authorize_project_context(context, project_id)
    if not lookup_text(project_id, "project_id"):
        return 0
    return int(await context.fetchval("nova.security_groups.group_count_by_project", project_id=project_id))


@require_context
@writer(retry=True)
async def security_group_create(context: Context, values: dict[str, Any]) -> Row:
    """Create a security group: ``{name, description, user_id, project_id}``.

    Runs inside a savepoint: when the name is taken, an enclosing transaction goes on.

    :returns: the group, with empty ``rules`` and ``instances``
    :raises SecurityGroupExists: the project has a live group by this name
    :raises Invalid: a value its column cannot hold, another key, or non-empty
        ``rules``/``instances`` (add those with their own calls); nothing is written
    """
    given = clean_values(values, _RELATIONS)
    coerce_values("nova", "security_groups", given, frozenset(UPDATABLE))  # Invalid before the savepoint
    try:
        async with context.savepoint() as sp:
            rows = await insert_values(sp, "nova.security_groups.group_create", given)
    except errors.DBDuplicateEntry as exc:
        raise errors.SecurityGroupExists(
            project_id=given.get("project_id"), security_group_name=given.get("name")
        ) from exc
    return {**rows[0], "rules": [], "instances": []}


@require_context
@writer
async def security_group_update(
    context: Context, security_group_id: int, values: dict[str, Any], columns_to_join: Sequence[str] | None = None
) -> Row:
    """Change a security group's columns (``name``, ``description``, ``user_id``, ``project_id``, ...).

    Deleted groups are found as ``context.read_deleted`` says.  ``updated_at`` becomes now
    unless given; with nothing to change the group is returned as it is.

    :returns: the group, with the children ``columns_to_join`` names
    :raises SecurityGroupNotFound: no such group
    :raises SecurityGroupExists: the new name is taken in the (new) project; nothing changed,
        and an enclosing transaction goes on
    :raises Invalid: a bad id, value, key or ``columns_to_join``; nothing is written
    """
    joins = group_joins(columns_to_join or ())
    given = coerce_values("nova", "security_groups", clean_values(values, _RELATIONS), frozenset(UPDATABLE))
    group_id = row_id(security_group_id, "security_group_id")
    if group_id is None:
        raise errors.SecurityGroupNotFound(security_group_id=security_group_id)
    rd = read_deleted(context)
    if not given:
        row = await context.fetchrow(
            "nova.security_groups.group_get",
            security_group_id=group_id,
            read_deleted=rd,
            **project_only(context, False),
        )
        if row is None:
            raise errors.SecurityGroupNotFound(security_group_id=security_group_id)
        return (await attach(context, [row], joins))[0]
    params: dict[str, Any] = {}
    for column in UPDATABLE[:-1]:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    params["updated_at"] = given.get("updated_at") or utcnow()
    try:
        async with context.savepoint() as sp:
            count = await sp.execute(
                "nova.security_groups.group_update", security_group_id=group_id, read_deleted=rd, **params
            )
    except errors.DBDuplicateEntry as exc:
        current = await context.fetchrow("nova.security_groups.group_read_back", security_group_id=group_id)
        assert current is not None
        raise errors.SecurityGroupExists(
            project_id=given.get("project_id", current["project_id"]),
            security_group_name=given.get("name", current["name"]),
        ) from exc
    if count == 0:
        raise errors.SecurityGroupNotFound(security_group_id=security_group_id)
    row = await context.fetchrow("nova.security_groups.group_read_back", security_group_id=group_id)
    assert row is not None
    return (await attach(context, [row], joins))[0]


@require_context
@writer
async def security_group_destroy(context: Context, security_group_id: int) -> None:
    """Soft-delete a security group, its instance associations, its rules and the rules granting it access.

    One transaction; a group that does not exist (or is deleted already) is no error.

    :raises Invalid: the id is not an integer
    """
    group_id = row_id(security_group_id, "security_group_id")
    if group_id is None:
        return
    now = utcnow()
    for statement in ("group_destroy", "group_destroy_associations", "group_destroy_rules"):
        await context.execute(f"nova.security_groups.{statement}", security_group_id=group_id, now=now)


def _ensure_scope(context: Context) -> Scope:
    """The independent transaction ``security_group_ensure_default`` runs in.

    SQLite has one writer at a time: inside a caller's writer it joins that transaction,
    which holds the only write lock, so no concurrent creator can exist.
    """
    tx = context.transaction
    if tx is not None and tx.mode == "writer" and context.db.single_writer:
        return context.writer()
    return context.writer(independent=True)


async def _create_default(tx: Context, project_id: str, now: datetime) -> Row | None:
    """Insert the project's 'default' group; None when a concurrent creator's live group exists."""
    params = {"user_id": tx.user_id, "project_id": project_id, "now": now}
    if tx.dialect != "mysql":
        return await tx.fetchrow("nova.security_groups.default_group_create", **params)  # ON CONFLICT DO NOTHING
    try:
        async with tx.savepoint() as sp:
            return await sp.fetchrow("nova.security_groups.default_group_create", **params)
    except errors.DBDuplicateEntry:
        return None


@retry_on_deadlock
async def security_group_ensure_default(context: Context) -> Row:
    """The caller's project's live 'default' security group, created if it has none.

    Race-free: however many callers race, the project gets one live 'default' group (the
    unique key (project_id, name, deleted) decides; losers return the winner's group).  Runs
    in a transaction of its own, committed whatever happens to the caller's (Newton's
    ``writer.independent``).  The creator, in that transaction, also copies the live default
    rules into the group and counts the group in the (project, user) ``security_groups`` quota
    usage (created with ``in_use`` 1 and no ``until_refresh``, or bumped by one).  On SQLite,
    inside a caller's writer, it runs in that writer (the only one: no creator can race it).
    Deadlocks re-run it when it is not inside a caller's scope.

    :returns: the group, with its rules
    :raises Invalid: the context has no project
    """
    if context.project_id is None:
        raise errors.Invalid("security_group_ensure_default needs a context with a project_id")
    async with _ensure_scope(context) as tx:
        project_id, now = context.project_id, utcnow()
        for _ in range(3):  # a winner's group deleted before this reads it: try again
            row = await tx.fetchrow("nova.security_groups.group_get_by_name", project_id=project_id, name="default")
            if row is not None:
                return (await attach(tx, [row], RULES))[0]
            created = await _create_default(tx, project_id, now)
            if created is not None:
                usage = {"project_id": project_id, "user_id": tx.user_id, "now": now}
                await tx.execute("nova.security_groups.default_usage_bump", **usage)
                await tx.execute("nova.security_groups.default_rules_copy", group_id=created["id"], now=now)
                return (await attach(tx, [created], RULES))[0]
    raise errors.SecurityGroupNotFoundForProject(project_id=project_id, security_group_id="default")
