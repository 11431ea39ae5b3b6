"""What ``rawdb.nova.networks`` checks before it reads or writes: ids, names, and address text.

nova stores addresses in ``IPAddress`` / ``CIDR`` columns: INET on PostgreSQL, VARCHAR(39) /
VARCHAR(43) elsewhere, normalised when bound (spec A.2: IPv6 addresses shortened on the other
engines, IPv6 CIDRs shortened, host bits dropped, on every engine).  rawdb binds every address as
the text PostgreSQL's INET prints for it (``_security_group_joins.cidr_text``), so each backend
stores, compares and returns the same text; anything else is ``Invalid`` before anything is written.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from rawdb import errors
from rawdb.checks import BIGINT_MAX, INT_MAX, check_integer
from rawdb.nova._security_group_joins import cidr_text

# Newton's types.IPAddress columns of networks, and its types.CIDR columns.
ADDRESS_COLUMNS = frozenset(
    (
        "netmask",
        "gateway",
        "broadcast",
        "dns1",
        "dns2",
        "vpn_public_address",
        "vpn_private_address",
        "dhcp_start",
        "gateway_v6",
        "netmask_v6",
        "dhcp_server",
    )
)
CIDR_COLUMNS = frozenset(("cidr", "cidr_v6"))
# The columns a caller may set (id and the soft-delete columns belong to rawdb; updated_at is separate).
SETTABLE = (
    "label",
    "injected",
    "cidr",
    "cidr_v6",
    "multi_host",
    "gateway_v6",
    "netmask_v6",
    "netmask",
    "bridge",
    "bridge_interface",
    "gateway",
    "broadcast",
    "dns1",
    "dns2",
    "vlan",
    "vpn_public_address",
    "vpn_public_port",
    "vpn_private_address",
    "dhcp_start",
    "rxtx_base",
    "priority",
    "project_id",
    "host",
    "uuid",
    "mtu",
    "dhcp_server",
    "enable_dhcp",
    "share_address",
    "created_at",
)
TEXT_LENGTH, UUID_LENGTH = 255, 36

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def row_id(value: Any, what: str) -> int | None:
    """An integer id argument (a string of digits too, as nova's API passes them), or None when no row has it.

    :raises Invalid: not an integer
    """
    number = check_integer(value, what, -BIGINT_MAX - 1, BIGINT_MAX)
    return number if -INT_MAX - 1 <= number <= INT_MAX else None


def lookup(value: Any, what: str, length: int = TEXT_LENGTH) -> str | None:
    """A string argument to look rows up by, or None when no row can hold it (too long).

    :raises Invalid: not a string, or a string no database can hold (NUL, a lone surrogate)
    """
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    if _UNSTORABLE.search(value):
        raise errors.Invalid(f"{what} can't contain NUL characters or lone surrogates (not UTF-8)")
    return value if len(value) <= length else None


def storable(value: Any, what: str) -> str:
    """A string argument that is written to a VARCHAR(255) column (a project id, a host).

    :raises Invalid: not a string, or one the column cannot hold
    """
    text = lookup(value, what)
    if text is None:
        raise errors.Invalid(f"{what} is longer than {TEXT_LENGTH} characters")
    return text


def address_text(value: Any, what: str) -> str:
    """An IPv4 or IPv6 address as PostgreSQL's INET prints it (IPv6 compressed).

    :raises Invalid: not an address (a network with a shorter prefix is not one either)
    """
    text = _inet(value, what)
    if "/" in text:
        raise errors.Invalid(f"{what} {value!s:.80} is a network, not an address")
    return text


def network_text(value: Any, what: str) -> str:
    """A CIDR as nova binds it, printed as PostgreSQL's INET does: an IPv6 one without its host bits.

    IPv4 keeps its text (``10.0.0.1/24`` stays, as INET keeps it); a full-length prefix is
    dropped (``10.0.0.1/32`` is ``10.0.0.1``), as INET prints it.

    :raises Invalid: not an IPv4 or IPv6 address or network
    """
    text = _inet(value, what)
    iface = ipaddress.ip_interface(text)
    if iface.version == 6:  # nova: str(netaddr.IPNetwork(value).cidr) on every engine
        text = _inet(str(iface.network), what)
    return text


def _inet(value: Any, what: str) -> str:
    try:
        text = None if value is None else cidr_text(value)
    except errors.Invalid:
        text = None
    if text is None:
        raise errors.Invalid(f"{what} {value!r:.80} is not an IPv4 or IPv6 address or network")
    return text


def network_values(values: Any) -> dict[str, Any]:
    """A create or update call's ``values`` with its addresses as networks.py binds them.

    A ``deleted`` that says "live" (0, False, None), which nova's callers pass along, is dropped.

    :raises Invalid: not a dict; an address or CIDR that is none
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    given: dict[str, Any] = {}
    for key, value in values.items():
        if key == "deleted" and (value is None or value is False or (type(value) is int and value == 0)):
            continue
        if value is not None and key in ADDRESS_COLUMNS:
            value = address_text(value, key)
        elif value is not None and key in CIDR_COLUMNS:
            value = network_text(value, key)
        given[key] = value
    return given
