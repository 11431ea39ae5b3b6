"""Nova's security group rules and default rules (``nova/db/sqlalchemy/api.py`` at 14.0.0, with 2013.1's
``security_group_rule_get_by_security_group_grantee``), async.

A *rule* and its ``grantee_group`` are shaped as ``rawdb.nova.security_groups`` describes; a
*default rule* is ``id, protocol, from_port, to_port, cidr, created_at, updated_at, deleted_at,
deleted``.  ``grantee_group`` comes with the rules of ``security_group_rule_get_by_security_group``
(as its ``columns_to_join`` says: by default with the grantee's instances and their system
metadata and info cache), ``security_group_rule_get_by_instance`` and ``security_group_rule_create``;
``security_group_rule_get`` and ``..._get_by_security_group_grantee`` return the rule's columns only.

``cidr`` is stored as PostgreSQL's INET prints it (``10.0.0.1`` for ``10.0.0.1/32``, IPv6
compressed) on every backend, so each returns the same text; anything that is not an address or
network is ``Invalid``.  Like Newton, creating and deleting default rules checks no role.

*Provider firewall rules* (``provider_fw_rule_*``, applied by every host to every instance) are ``id,
protocol, from_port, to_port, cidr, created_at, updated_at, deleted_at, deleted``, their ``cidr`` stored
as a rule's.  Like Newton, their calls check no role (Grizzly's ``@require_admin_context`` is gone);
destroying one that is already deleted (or missing) does nothing (upstream moved ``deleted_at`` again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import insert_values, read_deleted, require_context
from rawdb.decorators import reader, writer
from rawdb.nova._security_group_joins import (
    NO_JOINS,
    attach_grantees,
    cidr_text,
    clean_values,
    grantee_joins,
    lookup_text,
    row_id,
)
from rawdb.timeutils import utcnow

Row = dict[str, Any]

BY_GROUP_JOINS = ("grantee_group.instances.system_metadata", "grantee_group.instances.info_cache")
# The ORM's relationships a rule's values may name instead of the id columns.
_RELATIONS = {"parent_group": "parent_group_id", "grantee_group": "group_id"}


def _rule_values(values: Any, relations: Mapping[str, str]) -> dict[str, Any]:
    """``values`` with related groups given as dicts turned into their ids and ``cidr`` as INET prints it."""
    given = clean_values(values)
    for relation, column in relations.items():
        if relation not in given:
            continue
        related = given.pop(relation)
        if related is None:
            continue
        if not isinstance(related, Mapping) or "id" not in related:
            raise errors.Invalid(f"{relation} must be a security group (a dict with an id) or None")
        if given.get(column) is not None and given[column] != related["id"]:
            raise errors.Invalid(f"{relation} and {column} name different groups")
        given[column] = related["id"]
    if given.get("cidr") is not None:
        given["cidr"] = cidr_text(given["cidr"])
    return given


@require_context
@writer
async def security_group_rule_create(context: Context, values: dict[str, Any]) -> Row:
    """Create a rule: ``{parent_group_id, protocol, from_port, to_port, cidr, group_id}``.

    ``parent_group`` / ``grantee_group`` may be given as group dicts instead of the ids.

    :returns: the rule, with its ``grantee_group``
    :raises DBReferenceError: a group id names no group
    :raises Invalid: a value its column cannot hold (a cidr that is no address or network),
        another key; nothing is written
    """
    rows = await insert_values(context, "nova.security_group_rules.rule_create", _rule_values(values, _RELATIONS))
    rule = dict(rows[0])
    await attach_grantees(context, [rule], NO_JOINS)
    return rule


@require_context
@reader
async def security_group_rule_get(context: Context, security_group_rule_id: int) -> Row:
    """A rule by id (deleted ones as ``context.read_deleted`` says).

    :raises SecurityGroupNotFoundForRule: none
    :raises Invalid: the id is not an integer
    """
    rule_id = row_id(security_group_rule_id, "security_group_rule_id")
    row = None
    if rule_id is not None:
        row = await context.fetchrow(
            "nova.security_group_rules.rule_get", rule_id=rule_id, read_deleted=read_deleted(context)
        )
    if row is None:
        raise errors.SecurityGroupNotFoundForRule(rule_id=security_group_rule_id)
    return row


@require_context
@reader
async def security_group_rule_get_by_security_group(
    context: Context, security_group_id: int, columns_to_join: Sequence[str] | None = None
) -> list[Row]:
    """A group's rules (deleted ones as ``context.read_deleted`` says), with what ``columns_to_join`` names.

    ``columns_to_join`` names ``grantee_group`` and below it ``instances``,
    ``instances.system_metadata``, ``instances.info_cache``; by default the grantee group with
    its instances and their system metadata and info cache; ``[]`` gives the rules' columns only.

    :raises Invalid: the id is not an integer, or bad ``columns_to_join``
    """
    grantee = grantee_joins(BY_GROUP_JOINS if columns_to_join is None else columns_to_join)
    group_id = row_id(security_group_id, "security_group_id")
    if group_id is None:
        return []
    rows = await context.fetch(
        "nova.security_group_rules.rules_by_group", security_group_id=group_id, read_deleted=read_deleted(context)
    )
    if grantee is not None:
        await attach_grantees(context, rows, grantee)
    return rows


@require_context
@reader
async def security_group_rule_get_by_security_group_grantee(context: Context, security_group_id: int) -> list[Row]:
    """The rules that grant a group access (deleted ones as ``context.read_deleted`` says).

    :raises Invalid: the id is not an integer
    """
    group_id = row_id(security_group_id, "security_group_id")
    if group_id is None:
        return []
    return await context.fetch(
        "nova.security_group_rules.rules_by_grantee", security_group_id=group_id, read_deleted=read_deleted(context)
    )


@require_context
@reader
async def security_group_rule_get_by_instance(context: Context, instance_uuid: str) -> list[Row]:
    """The live rules of the live groups a live instance belongs to, each with its ``grantee_group``.

    :raises Invalid: the uuid is not a string
    """
    if not lookup_text(instance_uuid, "instance_uuid", 36):
        return []
    rows = await context.fetch("nova.security_group_rules.rules_by_instance", instance_uuid=instance_uuid)
    await attach_grantees(context, rows, NO_JOINS)
    return rows


@require_context
@writer
async def security_group_rule_destroy(context: Context, security_group_rule_id: int) -> None:
    """Soft-delete a live rule.

    :raises SecurityGroupNotFoundForRule: no live rule with this id
    :raises Invalid: the id is not an integer
    """
    rule_id = row_id(security_group_rule_id, "security_group_rule_id")
    count = 0
    if rule_id is not None:
        count = await context.execute("nova.security_group_rules.rule_destroy", rule_id=rule_id, now=utcnow())
    if count == 0:
        raise errors.SecurityGroupNotFoundForRule(rule_id=security_group_rule_id)


@require_context
@reader
async def security_group_rule_count_by_group(context: Context, security_group_id: int) -> int:
    """The number of a group's live rules.

    :raises Invalid: the id is not an integer
    """
    group_id = row_id(security_group_id, "security_group_id")
    if group_id is None:
        return 0
    return int(await context.fetchval("nova.security_group_rules.rule_count_by_group", security_group_id=group_id))


@require_context
@reader
async def security_group_default_rule_get(context: Context, security_group_rule_default_id: int) -> Row:
    """A default rule by id (deleted ones as ``context.read_deleted`` says).

    :raises SecurityGroupDefaultRuleNotFound: (an Invalid, and a NotFound) none
    :raises Invalid: the id is not an integer
    """
    rule_id = row_id(security_group_rule_default_id, "security_group_rule_default_id")
    row = None
    if rule_id is not None:
        row = await context.fetchrow(
            "nova.security_group_rules.default_rule_get", rule_id=rule_id, read_deleted=read_deleted(context)
        )
    if row is None:
        raise errors.SecurityGroupDefaultRuleNotFound(rule_id=security_group_rule_default_id)
    return row


@writer
async def security_group_default_rule_destroy(context: Context, security_group_rule_default_id: int) -> None:
    """Soft-delete a live default rule (groups created before keep their copies).

    :raises SecurityGroupDefaultRuleNotFound: no live default rule with this id
    :raises Invalid: the id is not an integer
    """
    rule_id = row_id(security_group_rule_default_id, "security_group_rule_default_id")
    count = 0
    if rule_id is not None:
        count = await context.execute("nova.security_group_rules.default_rule_destroy", rule_id=rule_id, now=utcnow())
    if count == 0:
        raise errors.SecurityGroupDefaultRuleNotFound(rule_id=security_group_rule_default_id)


@writer
async def security_group_default_rule_create(context: Context, values: dict[str, Any]) -> Row:
    """Create a default rule: ``{protocol, from_port, to_port, cidr}`` (protocol at most 5 characters).

    :raises Invalid: a value its column cannot hold, another key; nothing is written
    """
    rows = await insert_values(context, "nova.security_group_rules.default_rule_create", _rule_values(values, {}))
    return rows[0]


@require_context
@reader
async def security_group_default_rule_list(context: Context) -> list[Row]:
    """Every default rule (deleted ones as ``context.read_deleted`` says)."""
    return await context.fetch("nova.security_group_rules.default_rule_list", read_deleted=read_deleted(context))


@writer
async def provider_fw_rule_create(context: Context, rule: dict[str, Any]) -> Row:
    """Create a provider firewall rule: ``{protocol, from_port, to_port, cidr}`` (protocol at most 5 characters).

    :returns: the rule
    :raises Invalid: a value its column cannot hold (a cidr that is no address or network), another key;
        nothing is written
    """
    rows = await insert_values(context, "nova.security_group_rules.provider_fw_rule_create", _rule_values(rule, {}))
    if context.dialect == "mysql":
        rows = await context.fetch("nova.security_group_rules.provider_fw_rule_read_back", id=None)
    return dict(rows[0])


@reader
async def provider_fw_rule_get_all(context: Context) -> list[Row]:
    """Every provider firewall rule (deleted ones as ``context.read_deleted`` says), in insertion order."""
    rows = await context.fetch("nova.security_group_rules.provider_fw_rule_get_all", read_deleted=read_deleted(context))
    return [dict(row) for row in rows]


@writer
async def provider_fw_rule_destroy(context: Context, rule_id: int) -> None:
    """Soft-delete a live provider firewall rule; no rule (or a deleted one) with this id is no error.

    :raises Invalid: the id is not an integer
    """
    key = row_id(rule_id, "rule_id")
    if key is not None:
        await context.execute("nova.security_group_rules.provider_fw_rule_destroy", rule_id=key, now=utcnow())
