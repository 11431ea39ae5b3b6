"""Fixed IP rows as nova's DB API returns them: address text, checked values, the relationships upstream joins.

A fixed IP dict has the ``fixed_ips`` columns in schema order (``created_at, updated_at,
deleted_at, id, address, network_id, allocated, leased, reserved, virtual_interface_id, host,
instance_uuid, deleted``).  Asked for, it also carries the relationships of nova's FixedIp
model (14.0.0), which see live rows of a live fixed IP only:

    network            the networks row (every column), or None
    instance           the instance dict (its columns and ``name``, children empty), or None
    virtual_interface  the virtual_interfaces row, or None
    floating_ips       [floating_ips rows] in id order

Each relationship is one query for all the rows asked about.  Addresses are stored as the
text PostgreSQL's INET prints (``address_text``), so every backend stores and returns the same.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.checks import check_integer
from rawdb.context import Context
from rawdb.conventions import coerce_values
from rawdb.nova._instance_rows import Joins, instance_dict
from rawdb.statement import Statement, convert
from rawdb.timeutils import utcnow

Row = dict[str, Any]

JOINABLE = ("network", "instance", "virtual_interface", "floating_ips")
NO_CHILDREN = Joins(metadata=False, system_metadata=False, info_cache=False, security_groups=False)


def address_text(value: Any) -> str:
    """An IP address as PostgreSQL's INET prints it: IPv4 dotted, IPv6 compressed (nova's shortening).

    Accepts a string or an address object (``ipaddress``, ``netaddr``); a full-length prefix
    (``/32``, ``/128``) is dropped.

    :raises ValueError: not one IPv4 or IPv6 host address (a network, a zone id, garbage)
    """
    if not isinstance(value, str):
        if not type(value).__module__.startswith(("ipaddress", "netaddr")):
            raise ValueError(f"not an address: {type(value).__name__}")
        value = str(value)
    if "%" in value:
        raise ValueError("an IPv6 zone id cannot be stored")
    iface = ipaddress.ip_interface(value)  # ValueError for anything else
    ip = iface.ip
    if iface.network.prefixlen != ip.max_prefixlen:
        raise ValueError("a network, not an address")
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    # PostgreSQL (BIND's inet_ntop) writes the last 32 bits as IPv4 after ::ffff: (mapped) and
    # after :: when the first 96 bits are zero and the next 16 are not (compatible).
    words = [int(ip) >> (112 - 16 * i) & 0xFFFF for i in range(8)]
    if words[:5] == [0] * 5 and (words[5] == 0xFFFF or (words[5] == 0 and words[6] != 0)):
        v4 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        return f"::ffff:{v4}" if words[5] else f"::{v4}"
    return ip.compressed


def fixed_address(value: Any) -> str:
    """A fixed IP address as stored (``address_text``).

    :raises FixedIpInvalid: not an IPv4 or IPv6 address
    """
    try:
        return address_text(value)
    except ValueError:
        raise errors.FixedIpInvalid(address=value) from None


def joins(columns_to_join: Any) -> frozenset[str]:
    """The relationships ``columns_to_join`` names.

    :raises Invalid: not a list of names, or a name fixed IPs have no relationship by
    """
    if columns_to_join is None:
        return frozenset()
    if isinstance(columns_to_join, (str, bytes)) or not isinstance(columns_to_join, Iterable):
        raise errors.Invalid(f"columns_to_join must be a list of names, not {type(columns_to_join).__name__}")
    names = frozenset(columns_to_join)
    unknown = sorted(repr(n) for n in names if n not in JOINABLE)
    if unknown:
        raise errors.Invalid(f"fixed IPs have no relationship {', '.join(unknown)} (only {', '.join(JOINABLE)})")
    return names


async def attach(context: Context, rows: Sequence[Mapping[str, Any]], names: Iterable[str]) -> list[Row]:
    """The fixed IPs as dicts, each with the relationships ``names`` (live rows of a live fixed IP).

    :returns: new dicts, in the order of ``rows``
    """
    result = [dict(row) for row in rows]
    wanted = frozenset(names)
    live = [row for row in result if row["deleted"] == 0]
    if "network" in wanted:
        networks = await networks_by_id(context, {r["network_id"] for r in live if r["network_id"] is not None})
        for row in result:
            row["network"] = networks.get(row["network_id"]) if row["deleted"] == 0 else None
    if "instance" in wanted:
        instances = await instances_by_uuid(context, {r["instance_uuid"] for r in live if r["instance_uuid"]})
        for row in result:
            row["instance"] = instances.get(row["instance_uuid"]) if row["deleted"] == 0 else None
    if "virtual_interface" in wanted:
        vif_ids = sorted({r["virtual_interface_id"] for r in live if r["virtual_interface_id"] is not None})
        vifs: dict[int, Row] = {}
        if vif_ids:
            for vif in await context.fetch("nova._fixed_ip_rows.vifs_by_id", ids=vif_ids):
                vifs[vif["id"]] = dict(vif)
        for row in result:
            row["virtual_interface"] = vifs.get(row["virtual_interface_id"]) if row["deleted"] == 0 else None
    if "floating_ips" in wanted:
        floating: dict[int, list[Row]] = {row["id"]: [] for row in live}
        if floating:
            for fip in await context.fetch("nova._fixed_ip_rows.floating_ips_of", fixed_ip_ids=sorted(floating)):
                floating[fip["fixed_ip_id"]].append(dict(fip))
        for row in result:
            row["floating_ips"] = floating.get(row["id"], []) if row["deleted"] == 0 else []
    return result


async def networks_by_id(context: Context, ids: Iterable[int], live: bool = True) -> dict[int, Row]:
    """The networks with these ids (live ones only, unless ``live`` is false), by id."""
    wanted = sorted(ids)
    if not wanted:
        return {}
    rows = await context.fetch("nova._fixed_ip_rows.networks_by_id", ids=wanted, live=live)
    return {row["id"]: dict(row) for row in rows}


async def instances_by_uuid(context: Context, uuids: Iterable[str], live: bool = True) -> dict[str, Row]:
    """The instance dicts (columns and ``name``; children empty) with these uuids, by uuid."""
    wanted = sorted(uuids)
    if not wanted:
        return {}
    rows = await context.fetch("nova._fixed_ip_rows.instances_by_uuid", uuids=wanted, live=live)
    return {row["uuid"]: instance_dict(row, NO_CHILDREN) for row in rows}


# --- values ------------------------------------------------------------------------------


def column_id(value: Any, what: str) -> int | None:
    """An id a claim may write (None stays None).

    :raises Invalid: not an integer a column holds
    """
    return None if value is None else check_integer(value, what)


def host_value(value: Any) -> str | None:
    """:raises Invalid: a host a column cannot hold."""
    given = coerce_values("nova", "fixed_ips", {"host": value}, frozenset(("host",)))
    return given.get("host")


def fixed_values(values: Any, settable: frozenset[str]) -> dict[str, Any]:
    """The columns of ``values``, checked, with the address normalised.

    :raises FixedIpInvalid: the address is no IP address
    :raises Invalid: not a dict, another key, or a value its column cannot hold
    """
    if isinstance(values, Mapping) and values.get("address") is not None:
        values = {**values, "address": fixed_address(values["address"])}
    return coerce_values("nova", "fixed_ips", values, settable, parse_times=True)


def claim_params(
    network_id: int | None, instance_uuid: Any, host: str | None, virtual_interface_id: Any
) -> dict[str, Any]:
    """What a claim sets (Newton): allocated when an interface is given (even 0), the network
    when the row has none, the instance, host and interface when truthy."""
    vif = column_id(virtual_interface_id, "virtual_interface_id")
    return {
        "network_id": network_id,
        "allocated": virtual_interface_id is not None,
        "set_instance_uuid": bool(instance_uuid),
        "instance_uuid": instance_uuid or None,
        "set_host": bool(host),
        "host": host or None,
        "set_virtual_interface_id": bool(vif),
        "virtual_interface_id": vif or None,
        "now": utcnow(),
    }


def claimed(row: Mapping[str, Any], params: Mapping[str, Any]) -> Row:
    """The row a MySQL claim locked, as its UPDATE left it."""
    result = dict(row)
    result["allocated"] = params["allocated"]
    if result["network_id"] is None:
        result["network_id"] = params["network_id"]
    for column in ("instance_uuid", "host", "virtual_interface_id"):
        if params[f"set_{column}"]:
            result[column] = params[column]
    result["updated_at"] = params["now"]
    return result


def age(row: Mapping[str, Any]) -> tuple[bool, datetime, int]:
    """A free row's place in the pool's order, oldest first: never updated, then updated_at, then id."""
    updated = row["updated_at"]
    return (updated is not None, updated or datetime.min, row["id"])


# The columns a claim sets when its ``set_<column>`` says so (claim_params).
SETTABLE = ("instance_uuid", "host", "virtual_interface_id")


def claim_many(rows: Sequence[Mapping[str, Any]], claims: Sequence[Mapping[str, Any]]) -> tuple[Statement, Row]:
    """MySQL's claim of several rows: the UPDATE that sets on each row what its claim says
    (the k-th row the k-th claim), and its parameters.

    :param rows: the locked free rows, at most as many as ``claims`` (the claims past them get
        none); all claims share ``now`` and ``network_id``
    """
    pairs = list(zip(rows, claims, strict=False))
    params: Row = {f"id{i}": row["id"] for i, (row, _) in enumerate(pairs)}
    allocated = [row["id"] for row, claim in pairs if claim["allocated"]]
    params |= {f"allocated_id{j}": key for j, key in enumerate(allocated)}
    counts = []
    for column in SETTABLE:
        sets = [(row["id"], claim[column]) for row, claim in pairs if claim[f"set_{column}"]]
        for j, (key, value) in enumerate(sets):
            params[f"{column}_id{j}"], params[f"{column}{j}"] = key, value
        counts.append(len(sets))
    params |= {"network_id": claims[0]["network_id"], "now": claims[0]["now"]}
    return _claim_many_statement(len(pairs), len(allocated), *counts), params


@functools.lru_cache(maxsize=256)
def _claim_many_statement(size: int, allocated: int, *counts: int) -> Statement:
    """claim_many's text for ``size`` rows, ``allocated`` of them allocated and ``counts[i]``
    setting ``SETTABLE[i]``: built once per shape from fixed text only (the counts shape it,
    never a value).  ``size`` is the number of callers sharing a transaction (at most
    ``rawdb.batches.BATCH``), not the length of a list a caller passed.

    A ``CASE id WHEN ... END`` per column lists the rows that take a value; against an UPDATE
    joined to the claims as a JSON_TABLE it is cheaper to parse and run (MariaDB 10.11, 8 rows:
    0.19 against 0.34 ms; 32 rows: 0.68 against 1.02 ms).
    """

    def case(column: str, values: list[str], other: str) -> str:
        whens = " ".join(f"WHEN :{column}_id{j} THEN {value}" for j, value in enumerate(values))
        return f"{column} = CASE id {whens} ELSE {other} END"

    sets = [case("allocated", ["TRUE"] * allocated, "FALSE") if allocated else "allocated = FALSE"]
    sets.append("network_id = COALESCE(network_id, :network_id)")
    for column, count in zip(SETTABLE, counts, strict=True):
        if count:
            sets.append(case(column, [f":{column}{j}" for j in range(count)], column))
    sets.append("updated_at = :now")
    ids = ", ".join(f":id{i}" for i in range(size))
    text = "UPDATE fixed_ips\nSET " + ",\n    ".join(sets) + f"\nWHERE id IN ({ids})"
    doc = "Set what each claim sets on the fixed IP pool_pick or pool_take locked for it."
    return Statement("nova.fixed_ips.claim_many", doc, "dynamic SQL", {"mysql": convert(text, "mysql")})


def json_row(values: Mapping[str, Any]) -> dict[str, Any]:
    """A bulk-created row as JSON: no None keys (missing: NULL), times as the backends store text."""
    row: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, datetime):
            row[key] = value.isoformat(" ", "microseconds")
        elif value is not None:
            row[key] = value
    return row


def bulk_rows(ips: Any, settable: frozenset[str]) -> list[dict[str, Any]]:
    """The rows of a bulk create, checked, ``created_at`` now unless given.

    :raises FixedIpExists: an address is given twice
    :raises FixedIpInvalid: an address is no IP address
    :raises Invalid: not a list of dicts, another key, or a value its column cannot hold
    """
    if isinstance(ips, (str, bytes, Mapping)) or not isinstance(ips, Sequence):
        raise errors.Invalid(f"ips must be a list of dicts, not {type(ips).__name__}")
    now = utcnow()
    rows = [{"created_at": now, **fixed_values(ip, settable)} for ip in ips]
    seen: set[Any] = set()
    for row in rows:
        address = row.get("address")
        if address is not None and address in seen:
            raise errors.FixedIpExists(address=address)
        seen.add(address)
    return rows
