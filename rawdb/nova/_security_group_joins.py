"""What security group results carry besides their own columns, and the checks their calls share.

Nova loaded a group's ``rules`` (each with its ``grantee_group``) and ``instances`` with
SQLAlchemy's joined eager loading; rawdb reads each level with one statement for all the
rows of the level above (no statement per row, no row explosion).  See
``rawdb.nova.security_groups`` for the shapes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rawdb import errors
from rawdb.checks import INT_MAX
from rawdb.context import Context
from rawdb.nova.settings import instance_name

Row = dict[str, Any]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_INTEGER = re.compile(r"\s*[+-]?\d{1,20}\s*")  # more digits: Invalid (int() fails past 4300)


@dataclass(frozen=True, slots=True)
class Joins:
    """The children a group result carries."""

    rules: bool = False
    instances: bool = False
    system_metadata: bool = False
    info_cache: bool = False


# What ``columns_to_join`` may name for a group, and what each adds.
_GROUP_JOINS = {
    "rules": Joins(rules=True),
    "rules.grantee_group": Joins(rules=True),
    "instances": Joins(instances=True),
    "instances.system_metadata": Joins(instances=True, system_metadata=True),
    "instances.info_cache": Joins(instances=True, info_cache=True),
}
# What may follow ``grantee_group.`` in a rule call's ``columns_to_join`` ('' for nothing).
_GRANTEE_JOINS = ("", "instances", "instances.system_metadata", "instances.info_cache")
NO_JOINS = Joins()
RULES = Joins(rules=True)


def _merge(joins: Iterable[Joins]) -> Joins:
    merged = NO_JOINS
    for j in joins:
        merged = Joins(
            merged.rules or j.rules,
            merged.instances or j.instances,
            merged.system_metadata or j.system_metadata,
            merged.info_cache or j.info_cache,
        )
    return merged


def _names(columns_to_join: Any) -> list[str]:
    if isinstance(columns_to_join, (str, bytes)) or not isinstance(columns_to_join, Iterable):
        raise errors.Invalid(f"columns_to_join must be a list of names, not {type(columns_to_join).__name__}")
    names = list(columns_to_join)
    for name in names:
        if not isinstance(name, str):
            raise errors.Invalid(f"columns_to_join holds names, not {type(name).__name__}")
    return names


def group_joins(columns_to_join: Any) -> Joins:
    """The children named by a group call's ``columns_to_join``.

    :raises Invalid: not a list of names, or a name other than rules[.grantee_group],
        instances[.system_metadata|.info_cache]
    """
    found = []
    for name in _names(columns_to_join):
        if name not in _GROUP_JOINS:
            raise errors.Invalid(f"cannot join {name!r:.80} to a security group; one of {sorted(_GROUP_JOINS)}")
        found.append(_GROUP_JOINS[name])
    return _merge(found)


def grantee_joins(columns_to_join: Any) -> Joins | None:
    """The grantee group a rule call's ``columns_to_join`` asks for (None: no ``grantee_group`` key).

    :raises Invalid: not a list of names, or a name other than grantee_group[.<a group join>]
    """
    found: list[Joins] = []
    for name in _names(columns_to_join):
        head, _, rest = name.partition(".")
        if head != "grantee_group" or rest not in _GRANTEE_JOINS:
            allowed = sorted("grantee_group" + (f".{r}" if r else "") for r in _GRANTEE_JOINS)
            raise errors.Invalid(f"cannot join {name!r:.80} to a security group rule; one of {allowed}")
        found.append(_GROUP_JOINS[rest] if rest else NO_JOINS)
    return _merge(found) if found else None


def clean_values(values: Any, relations: Sequence[str] = ()) -> dict[str, Any]:
    """A create or update call's ``values`` without what nova's callers pass and means nothing.

    The ORM took relationship keys (``rules``, ``instances``) and ``deleted``; callers pass them
    empty (``'instances': []``, ``'deleted': 0``), and those are dropped.

    :raises Invalid: not a dict, or a relationship key holding something
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    clean = {}
    for key, value in values.items():
        if key in relations:
            if value is None or (isinstance(value, (list, tuple)) and not value):
                continue
            raise errors.Invalid(f"{key} cannot be set here; use the calls that add {key}")
        if key == "deleted" and (value is None or value is False or (type(value) is int and value == 0)):
            continue
        clean[key] = value
    return clean


def row_id(value: Any, what: str) -> int | None:
    """An id argument as an int (nova's API passes ids as strings: ``'5'``), or None when no row can have it.

    :raises Invalid: not an integer nor a string of one
    """
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.Invalid(f"{what} must be an integer, not {value!r:.80}")
    return value if -INT_MAX - 1 <= value <= INT_MAX else None


def lookup_text(value: Any, what: str, length: int = 255) -> bool:
    """Whether a string argument can match a column of ``length`` characters.

    :raises Invalid: not a string, or a string no database can hold (NUL, a lone surrogate)
    """
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    if _UNSTORABLE.search(value):
        raise errors.Invalid(f"{what} can't contain NUL characters or lone surrogates (not UTF-8)")
    return len(value) <= length


def cidr_text(value: Any) -> str | None:
    """An address or network as PostgreSQL's INET prints it, so that every backend stores the same text.

    Accepts a string or an address object (``ipaddress``, ``netaddr``); host bits are kept
    (``10.0.0.1/24``), a full-length prefix is dropped (``10.0.0.1``), IPv6 is compressed.

    :raises Invalid: not an IPv4 or IPv6 address or network
    """
    if value is None:
        return None
    if not isinstance(value, str):
        if not type(value).__module__.startswith(("ipaddress", "netaddr")):
            raise errors.Invalid(f"cidr must be an address or network, not {type(value).__name__}")
        value = str(value)
    try:
        iface = ipaddress.ip_interface(value.strip())
    except ValueError:
        raise errors.Invalid(f"cidr {value!r:.80} is not an IPv4 or IPv6 address or network") from None
    ip, prefix = iface.ip, iface.network.prefixlen
    text = str(ip) if isinstance(ip, ipaddress.IPv4Address) else _ipv6_text(ip)
    return text if prefix == ip.max_prefixlen else f"{text}/{prefix}"


def _ipv6_text(ip: ipaddress.IPv6Address) -> str:
    # PostgreSQL (BIND's inet_ntop) writes the last 32 bits as IPv4 after ::ffff: (mapped)
    # and after :: when the first 96 bits are zero and the next 16 are not (compatible).
    words = [int(ip) >> (112 - 16 * i) & 0xFFFF for i in range(8)]
    if words[:5] == [0] * 5 and (words[5] == 0xFFFF or (words[5] == 0 and words[6] != 0)):
        v4 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        return f"::ffff:{v4}" if words[5] else f"::{v4}"
    return ip.compressed


async def attach(context: Context, groups: Sequence[Row], joins: Joins) -> list[Row]:
    """``groups`` as dicts with the children ``joins`` names (rules with their grantee groups).

    :returns: new dicts, in the order of ``groups``
    """
    result = [dict(group) for group in groups]
    if not result or joins == NO_JOINS:
        return result
    ids = [group["id"] for group in result]
    if joins.rules:
        by_parent: dict[int, list[Row]] = {i: [] for i in ids}
        rules = [dict(r) for r in await context.fetch("nova._security_group_joins.rules_of_groups", group_ids=ids)]
        await attach_grantees(context, rules, NO_JOINS)
        for rule in rules:
            by_parent[rule["parent_group_id"]].append(rule)
        for group in result:
            group["rules"] = by_parent[group["id"]]
    if joins.instances:
        await _attach_instances(context, result, joins)
    return result


async def attach_grantees(context: Context, rules: Sequence[Row], joins: Joins) -> None:
    """Set each rule's ``grantee_group`` (None without one), with the children ``joins`` names."""
    wanted = sorted({rule["group_id"] for rule in rules if rule["group_id"] is not None})
    grantees: dict[int, Row] = {}
    if wanted:
        rows = await context.fetch("nova._security_group_joins.groups_by_ids", group_ids=wanted)
        grantees = {g["id"]: g for g in await attach(context, rows, Joins(False, *_instance_part(joins)))}
    for rule in rules:
        grantee = grantees.get(rule["group_id"]) if rule["group_id"] is not None else None
        rule["grantee_group"] = _copy(grantee) if grantee is not None else None


def _instance_part(joins: Joins) -> tuple[bool, bool, bool]:
    return joins.instances, joins.system_metadata, joins.info_cache


def _copy(group: Row) -> Row:
    # Two rules with one grantee get equal but separate dicts: a caller changing one sees no other.
    copied = dict(group)
    if "instances" in copied:
        copied["instances"] = [dict(i) for i in copied["instances"]]
    return copied


async def _attach_instances(context: Context, groups: list[Row], joins: Joins) -> None:
    ids = [group["id"] for group in groups]
    rows = await context.fetch("nova._security_group_joins.instances_of_groups", group_ids=ids)
    by_group: dict[int, list[Row]] = {i: [] for i in ids}
    seen: set[tuple[int, int]] = set()
    instances: dict[str, Row] = {}
    for row in rows:
        instance = dict(row)
        group_id = instance.pop("group_id_")
        instance["name"] = instance_name(instance)
        if (group_id, instance["id"]) in seen:
            continue  # two live associations of one instance with one group
        seen.add((group_id, instance["id"]))
        by_group[group_id].append(instance)
        instances.setdefault(instance["uuid"], instance)
    uuids = sorted(instances)
    if uuids and joins.system_metadata:
        metadata: dict[str, list[Row]] = {u: [] for u in uuids}
        for item in await context.fetch("nova._security_group_joins.system_metadata_of_instances", uuids=uuids):
            metadata[item["instance_uuid"]].append({"key": item["key"], "value": item["value"]})
        for group_instances in by_group.values():
            for instance in group_instances:
                instance["system_metadata"] = [dict(m) for m in metadata[instance["uuid"]]]
    if uuids and joins.info_cache:
        caches: dict[str, Row] = {}
        for item in await context.fetch("nova._security_group_joins.info_caches_of_instances", uuids=uuids):
            caches.setdefault(item["instance_uuid"], dict(item))
        for group_instances in by_group.values():
            for instance in group_instances:
                cache = caches.get(instance["uuid"])
                instance["info_cache"] = dict(cache) if cache is not None else None
    for group in groups:
        group["instances"] = by_group[group["id"]]
