"""What ``rawdb.nova.floating_ips`` checks and shapes in Python: addresses, arguments, rows.

Addresses are stored as the text PostgreSQL's INET prints for a host address, on every backend:
IPv4 dotted quads, IPv6 compressed and lower-case (``2001:db8::1``), with PostgreSQL's IPv4 tail
for mapped and compatible addresses (``::ffff:1.2.3.4``, ``::0.2.0.3``).  A value that is no
single IPv4 or IPv6 address is ``InvalidIpAddressError`` (an ``Invalid``), so nothing is written
and lookups never reach a database that would reject it (PostgreSQL) or merely find nothing.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.checks import INT_MAX
from rawdb.conventions import coerce_values
from rawdb.nova.settings import instance_name
from rawdb.timeutils import utcnow

Row = dict[str, Any]

# The columns a caller's values may set (create, bulk_create, update).
SETTABLE = ("address", "fixed_ip_id", "project_id", "host", "auto_assigned", "pool", "interface")
TIMESTAMPS = ("created_at", "updated_at")
FIXED_PREFIX, NETWORK_PREFIX = "f__", "n__"
NAME_LENGTH = 255

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_INTEGER = re.compile(r"\s*[+-]?\d{1,20}\s*")
_ADDRESS_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address)
_ABSENT = object()


# --- addresses -----------------------------------------------------------------------------


def address_text(value: Any) -> str:
    """``value`` (a string or an address object) as PostgreSQL's INET prints the host address.

    A full-length prefix (``/32``, ``/128``) is dropped.

    :raises InvalidIpAddressError: not one IPv4 or IPv6 address (a network, a zone index, junk)
    """
    if isinstance(value, _ADDRESS_TYPES) or type(value).__module__.startswith("netaddr"):
        value = str(value)
    if not isinstance(value, str) or "%" in value or len(value) > 64:
        raise errors.InvalidIpAddressError(address=value)
    text, slash, prefix = value.partition("/")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise errors.InvalidIpAddressError(address=value) from None
    if slash and prefix != str(ip.max_prefixlen):
        raise errors.InvalidIpAddressError(address=value)
    return str(ip) if isinstance(ip, ipaddress.IPv4Address) else _ipv6_text(ip)


def _ipv6_text(ip: ipaddress.IPv6Address) -> str:
    # PostgreSQL (BIND's inet_ntop) writes the last 32 bits as IPv4 after ::ffff: (mapped) and
    # after :: when the first 96 bits are zero and the next 16 are not (compatible).
    words = [int(ip) >> (112 - 16 * i) & 0xFFFF for i in range(8)]
    if words[:5] == [0] * 5 and (words[5] == 0xFFFF or (words[5] == 0 and words[6] != 0)):
        v4 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        return f"::ffff:{v4}" if words[5] else f"::{v4}"
    return ip.compressed


def lookup_address(value: Any) -> str | None:
    """An address to look a row up by; None for None or ``''`` (upstream: ``address IS NULL``, no row).

    :raises InvalidIpAddressError: anything else that is not one address
    """
    if value is None or value == "":
        return None
    return address_text(value)


# --- other arguments -----------------------------------------------------------------------


def text_arg(value: Any, what: str, *, nullable: bool = False) -> str | None:
    """A string argument a VARCHAR(255) column holds (None only when ``nullable``).

    :raises Invalid: not a string, too long, or holding NUL or a lone surrogate
    """
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > NAME_LENGTH or _UNSTORABLE.search(value):
        raise errors.Invalid(f"{what} must be at most {NAME_LENGTH} characters, without NUL or lone surrogates")
    return value


def row_id(value: Any, what: str) -> int | None:
    """An id argument as an int (nova's API passes strings: ``'5'``), or None when no row can have it.

    :raises InvalidID: not an integer nor a string of one
    """
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.InvalidID(id=value)
    return value if -INT_MAX - 1 <= value <= INT_MAX else None


def values_of(values: Any, *, timestamps: Sequence[str] = TIMESTAMPS) -> dict[str, Any]:
    """A floating IP's ``values``, checked, with ``address`` normalised.

    Relationship keys nova's callers may pass empty (``fixed_ip``) and ``deleted`` 0 are dropped.

    :raises Invalid: not a dict; another key; a value its column cannot hold
    :raises InvalidIpAddressError: an address that is not one
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    given = {
        k: v
        for k, v in values.items()
        if not (k == "fixed_ip" and v is None) and not (k == "deleted" and (v is None or v is False or v == 0))
    }
    address = given.pop("address", None) if "address" in given else _ABSENT
    checked = coerce_values("nova", "floating_ips", given, frozenset((*SETTABLE, *timestamps)))
    if address is not _ABSENT:
        checked["address"] = None if address is None else address_text(address)
    return checked


def addresses_of(ips: Any) -> list[str]:
    """The addresses of ``floating_ip_bulk_destroy``'s ``ips``, each once (None and ``''``: none).

    :raises Invalid: not a list of dicts with an ``address``
    :raises InvalidIpAddressError: an address that is not one
    """
    if isinstance(ips, (str, bytes, Mapping)) or not isinstance(ips, Sequence):
        raise errors.Invalid(f"ips must be a list of dicts, not {type(ips).__name__}")
    addresses: dict[str, None] = {}
    for ip in ips:
        if not isinstance(ip, Mapping) or "address" not in ip:
            raise errors.Invalid("ips must be dicts with an 'address'")
        key = lookup_address(ip["address"])
        if key is not None:
            addresses[key] = None
    return list(addresses)


def bulk_rows(ips: Any) -> tuple[str, list[str]]:
    """``floating_ip_bulk_create``'s ``ips`` as the JSON array its statement reads, and their addresses.

    Each row has every column (None where not given), ``auto_assigned`` false and
    ``created_at`` now unless given; times are written as SQLite stores them, which the
    other dialects parse alike.

    :raises Invalid: not a list of dicts; a dict without an address; an address twice
    :raises InvalidIpAddressError: an address that is not one
    """
    if isinstance(ips, (str, bytes, Mapping)) or not isinstance(ips, Sequence):
        raise errors.Invalid(f"ips must be a list of dicts, not {type(ips).__name__}")
    now, rows, addresses = utcnow(), [], []
    for ip in ips:
        given = values_of(ip)
        if given.get("address") is None:
            raise errors.Invalid("every floating IP of ips needs an 'address'")
        row: dict[str, Any] = dict.fromkeys((*SETTABLE, *TIMESTAMPS))
        row.update(given, auto_assigned=int(bool(given.get("auto_assigned"))))
        for column in TIMESTAMPS:
            moment = row[column] if column in given else (now if column == "created_at" else None)
            row[column] = moment.isoformat(" ", "microseconds") if isinstance(moment, datetime) else None
        rows.append(row)
        addresses.append(row["address"])
    if len(set(addresses)) != len(addresses):
        twice = next(a for a in addresses if addresses.count(a) > 1)
        raise errors.FloatingIpExists(address=twice)
    return json.dumps(rows), addresses


def update_params(given: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of the ``update`` statement for the columns ``given`` (``:set_<c>`` flags)."""
    params: dict[str, Any] = {}
    for column in (*SETTABLE, "created_at"):
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    params["updated_at"] = given.get("updated_at") or utcnow()
    return params


# --- rows ----------------------------------------------------------------------------------


def split(row: Mapping[str, Any], prefix: str) -> tuple[Row, Row | None]:
    """A row's own columns, and the joined row its ``prefix`` columns hold (None when it has none)."""
    own = {k: v for k, v in row.items() if not k.startswith(prefix)}
    joined = {k[len(prefix) :]: v for k, v in row.items() if k.startswith(prefix)}
    return own, (joined if joined.get("id") is not None else None)


def with_fixed_ip(rows: Sequence[Mapping[str, Any]]) -> list[Row]:
    """Floating IP rows with their ``fixed_ip`` (the f__ columns: a dict, or None)."""
    result = []
    for row in rows:
        floating, fixed = split(row, FIXED_PREFIX)
        floating["fixed_ip"] = fixed
        result.append(floating)
    return result


def instance_uuids(floating_ips: Sequence[Row]) -> list[str]:
    """The uuids of the instances the floating IPs' fixed IPs belong to, each once, sorted."""
    return sorted({f["fixed_ip"]["instance_uuid"] for f in floating_ips if _instance_uuid(f) is not None})


def _instance_uuid(floating: Row) -> str | None:
    fixed = floating["fixed_ip"]
    return None if fixed is None else fixed["instance_uuid"]


def attach_instances(floating_ips: Sequence[Row], instances: Sequence[Mapping[str, Any]]) -> None:
    """Set each fixed IP's ``instance``: its live instance (with ``name``), or None."""
    by_uuid = {}
    for row in instances:
        instance = dict(row)
        instance["name"] = instance_name(instance)
        by_uuid[instance["uuid"]] = instance
    for floating in floating_ips:
        fixed = floating["fixed_ip"]
        if fixed is not None:
            found = by_uuid.get(fixed["instance_uuid"]) if fixed["instance_uuid"] is not None else None
            fixed["instance"] = dict(found) if found is not None else None


def fixed_ip_with_network(row: Mapping[str, Any] | None) -> Row | None:
    """A fixed IP row with its ``network`` (the n__ columns: a dict, or None); None for no row."""
    if row is None:
        return None
    fixed, network = split(row, NETWORK_PREFIX)
    fixed["network"] = network
    return fixed
