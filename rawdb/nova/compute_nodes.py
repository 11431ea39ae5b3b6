"""Nova's compute nodes (``nova/db/sqlalchemy/api.py`` at 14.0.0, with 2013.1's ``prune_stats``), async.

A *compute node* is a dict of the compute_nodes table's columns (Newton's
``_compute_node_select``: nothing joined), except that ``stats`` is the decoded JSON object,
a dict (``{}`` for a NULL, empty or unreadable column).  Lists come in id order.  As in
Newton, the DB layer checks no caller.

Which nodes a lookup sees: ``compute_node_get``, ``..._get_all*``, ``..._get_by_host_and_nodename``
and ``compute_nodes_get_by_service_id`` hide deleted nodes only when ``context.read_deleted``
is ``'no'`` (Newton's ``_compute_node_select``: ``'only'`` shows live ones too);
``compute_node_get_model``, the search, the update and the delete follow ``read_deleted``
fully (Newton's ``model_query``).

Stats (``values['stats']``): a dict, or JSON text of an object (as Newton's objects send
it).  On create it is the node's stats (``{}`` if not given).  On update a dict is merged
into the stored stats (Grizzly's upsert: the keys given get their new values, the others
stay) unless ``prune_stats``, when it replaces them all (Grizzly: ``prune_stats`` with no
stats given leaves none); JSON text always replaces them (Newton).  The merge reads the
stats under a row lock (SQLite: the writer's ``BEGIN IMMEDIATE``), so concurrent updates of
different keys all survive.  Stats must fit MariaDB's TEXT (65535 bytes as JSON).

Where rawdb departs from upstream:

- ``compute_node_statistics`` counts each live node whose host (or service_id) names a
  live, enabled nova-compute service once (Newton's join also matched deleted services and
  counted a node once per matching service).
- ``compute_node_search_by_hypervisor`` matches the text literally, case-sensitively on
  every backend: its ``%`` and ``_`` are not wildcards.
- ``compute_node_update`` ignores a given ``updated_at`` (Newton overwrote it with now).
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from rawdb import errors
from rawdb.checks import BIGINT_MAX, INT_MAX, check_bool, check_integer, lookup_id, lookup_text
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values, read_deleted
from rawdb.decorators import reader, writer
from rawdb.nova._hosts import Row, mapping, returning, set_flags
from rawdb.timeutils import utcnow

# The columns compute_node_update sets when given (updated_at: always now).
UPDATABLE = (
    "service_id",
    "host",
    "uuid",
    "vcpus",
    "memory_mb",
    "local_gb",
    "vcpus_used",
    "memory_mb_used",
    "local_gb_used",
    "hypervisor_type",
    "hypervisor_version",
    "hypervisor_hostname",
    "free_ram_mb",
    "free_disk_gb",
    "current_workload",
    "running_vms",
    "cpu_info",
    "disk_available_least",
    "host_ip",
    "supported_instances",
    "metrics",
    "pci_stats",
    "extra_resources",
    "stats",
    "numa_topology",
    "ram_allocation_ratio",
    "cpu_allocation_ratio",
    "disk_allocation_ratio",
    "created_at",
    "deleted_at",
)
# NOT NULL columns without a default: a new node needs them.
REQUIRED = (
    "vcpus",
    "memory_mb",
    "local_gb",
    "vcpus_used",
    "memory_mb_used",
    "local_gb_used",
    "hypervisor_type",
    "hypervisor_version",
    "cpu_info",
)
# Text columns MariaDB bounds in bytes (TEXT, MEDIUMTEXT); the other backends would take more.
TEXT_BYTES = {
    "hypervisor_type": 16777215,
    "cpu_info": 16777215,
    "supported_instances": 65535,
    "metrics": 65535,
    "pci_stats": 65535,
    "extra_resources": 65535,
    "stats": 65535,
    "numa_topology": 65535,
}
STATISTICS = (
    "count",
    "vcpus",
    "memory_mb",
    "local_gb",
    "vcpus_used",
    "memory_mb_used",
    "local_gb_used",
    "free_ram_mb",
    "free_disk_gb",
    "current_workload",
    "running_vms",
    "disk_available_least",
)
# The search's pattern per dialect: LIKE with '!' escaping its own wildcards, SQLite's GLOB
# (case-sensitive, as LIKE is elsewhere) with them in brackets.
_LIKE = str.maketrans({"!": "!!", "%": "!%", "_": "!_"})
_GLOB = str.maketrans({"[": "[[]", "*": "[*]", "?": "[?]"})


def _search_pattern(dialect: str, text: str) -> str:
    if dialect == "sqlite":
        return f"*{text.translate(_GLOB)}*"
    return f"%{text.translate(_LIKE)}%"


# --- values --------------------------------------------------------------------------------


# The C scanner behind json.loads, called directly (as glance's rows do): a listing decodes a
# thousand stats objects, and json.loads's Python layers cost more than the scan itself.
_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _decode_stats(text: Any) -> dict[str, Any]:
    """The stats column as a dict: ``{}`` for NULL, '' or anything but a JSON object."""
    if not text:
        return {}
    try:
        stats, end = _scan_json(text, 0)
    except (StopIteration, ValueError):  # scan_once signals malformed input with StopIteration
        stats, end = _loose_stats(text), len(text)
    if end != len(text) and text[end:].strip():
        return {}
    return stats if isinstance(stats, dict) else {}


def _loose_stats(text: str) -> Any:
    """JSON text the scanner refused (leading whitespace, say), through json.loads; {} if not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return {}


def _node(row: Row) -> Row:
    """A fetched row (a fresh dict, changed in place) with its stats decoded."""
    row["stats"] = _decode_stats(row["stats"])
    return row


def _stats_argument(value: Any) -> tuple[dict[str, Any], bool] | None:
    """``values['stats']`` as ``(stats, replace)``: a dict merges, JSON text replaces; None if not given.

    :raises Invalid: not a dict of string keys and JSON values, nor JSON text of an object
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            raise errors.Invalid("stats is not JSON text") from None
        if not isinstance(parsed, dict):
            raise errors.Invalid(f"stats must be a JSON object, not {type(parsed).__name__}")
        return parsed, True
    if not isinstance(value, Mapping):
        raise errors.Invalid(f"stats must be a dict or JSON text, not {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise errors.Invalid(f"stats keys must be strings, not {type(key).__name__}")
    try:  # the values as JSON gives them back (tuples become lists)
        return json.loads(json.dumps(dict(value), allow_nan=False)), False
    except (TypeError, ValueError, RecursionError) as exc:
        raise errors.Invalid(f"stats must hold JSON values: {exc}") from None


def _encode_stats(stats: dict[str, Any]) -> str:
    """:raises Invalid: the JSON text is longer than MariaDB's TEXT holds."""
    text = json.dumps(stats)  # ASCII: a character is a byte
    if len(text) > TEXT_BYTES["stats"]:
        raise errors.Invalid(f"stats is longer than {TEXT_BYTES['stats']} bytes as JSON")
    return text


def _columns(values: Mapping[str, Any], settable: frozenset[str]) -> dict[str, Any]:
    """The node's columns in ``values`` (not stats), checked; host_ip as its shortest text.

    :raises Invalid: an unknown key, or a value its column cannot hold
    """
    given = coerce_values("nova", "compute_nodes", values, settable, parse_times=True)
    address = given.get("host_ip")
    if address is not None:
        try:
            given["host_ip"] = str(ipaddress.ip_address(address))
        except ValueError:
            raise errors.Invalid(f"host_ip is not an IP address: {address!r:.80}") from None
    for key, limit in TEXT_BYTES.items():
        value = given.get(key)
        if isinstance(value, str) and len(value) * 4 > limit and len(value.encode()) > limit:
            raise errors.Invalid(f"{key} is longer than {limit} bytes")
    return given


# --- lookups -------------------------------------------------------------------------------


def _live_only(context: Context) -> bool:
    """Newton's _compute_node_select: deleted nodes are hidden only for read_deleted 'no'."""
    return read_deleted(context) == "no"


@reader
async def compute_node_get(context: Context, compute_id: int) -> Row:
    """A compute node by id (a deleted one too unless ``context.read_deleted`` is 'no').

    :raises ComputeHostNotFound: none (``host`` is the id, as upstream)
    :raises Invalid: ``compute_id`` is not an integer
    """
    key = lookup_id(compute_id, "compute_id")
    row = None
    if key is not None:
        row = await context.fetchrow(
            "nova.compute_nodes.compute_node_get", compute_id=key, live_only=_live_only(context)
        )
    if row is None:
        raise errors.ComputeHostNotFound(host=compute_id)
    return _node(row)


@reader
async def compute_node_get_model(context: Context, compute_id: int) -> Row:
    """A compute node by id, live or deleted as ``context.read_deleted`` says (Newton's model lookup).

    :raises ComputeHostNotFound: none
    :raises Invalid: ``compute_id`` is not an integer
    """
    key = lookup_id(compute_id, "compute_id")
    row = None
    if key is not None:
        row = await context.fetchrow(
            "nova.compute_nodes.compute_node_get_model", compute_id=key, read_deleted=read_deleted(context)
        )
    if row is None:
        raise errors.ComputeHostNotFound(host=compute_id)
    return _node(row)


@reader
async def compute_nodes_get_by_service_id(context: Context, service_id: int) -> list[Row]:
    """The compute nodes naming a service (deleted ones too unless ``context.read_deleted`` is 'no').

    :raises ServiceNotFound: there are none
    :raises Invalid: ``service_id`` is not an integer
    """
    key = lookup_id(service_id, "service_id")
    rows = []
    if key is not None:
        rows = await context.fetch(
            "nova.compute_nodes.compute_nodes_get_by_service_id", service_id=key, live_only=_live_only(context)
        )
    if not rows:
        raise errors.ServiceNotFound(service_id=service_id)
    return [_node(row) for row in rows]


@reader
async def compute_node_get_by_host_and_nodename(context: Context, host: str, nodename: str) -> Row:
    """The compute node of ``host`` whose hypervisor hostname is ``nodename``.

    :raises ComputeHostNotFound: none (``host`` is the host)
    :raises Invalid: ``host`` or ``nodename`` is not a string
    """
    host_key, node_key = lookup_text(host, "host"), lookup_text(nodename, "nodename")
    row = None
    if host_key is not None and node_key is not None:
        row = await context.fetchrow(
            "nova.compute_nodes.compute_node_get_by_host_and_nodename",
            host=host_key,
            nodename=node_key,
            live_only=_live_only(context),
        )
    if row is None:
        raise errors.ComputeHostNotFound(host=host)
    return _node(row)


@reader
async def compute_node_get_all_by_host(context: Context, host: str) -> list[Row]:
    """The compute nodes of ``host``.

    :raises ComputeHostNotFound: there are none
    :raises Invalid: ``host`` is not a string
    """
    key = lookup_text(host, "host")
    rows = []
    if key is not None:
        rows = await context.fetch(
            "nova.compute_nodes.compute_node_get_all_by_host", host=key, live_only=_live_only(context)
        )
    if not rows:
        raise errors.ComputeHostNotFound(host=host)
    return [_node(row) for row in rows]


@reader
async def compute_node_get_all(context: Context) -> list[Row]:
    """Every compute node (deleted ones too unless ``context.read_deleted`` is 'no')."""
    rows = await context.fetch("nova.compute_nodes.compute_node_get_all", live_only=_live_only(context))
    return [_node(row) for row in rows]


@reader
async def compute_node_get_all_by_pagination(
    context: Context, limit: int | None = None, marker: int | None = None
) -> list[Row]:
    """A page of compute nodes in id order: at most ``limit`` (None: all) after the node ``marker`` (an id).

    :raises MarkerNotFound: no node one can see has the id ``marker``
    :raises Invalid: ``limit`` is not a non-negative integer, or ``marker`` not an integer
    """
    count = BIGINT_MAX if limit is None else check_integer(limit, "limit", 0, BIGINT_MAX)
    key = None
    if marker is not None:
        key = lookup_id(marker, "marker")
        if key is None:
            raise errors.MarkerNotFound(marker=marker)
    rows = await context.fetch(
        "nova.compute_nodes.compute_node_get_all_by_pagination",
        marker=key,
        limit=count,
        live_only=_live_only(context),
    )
    if key is not None and not rows[0]["marker_found"]:
        raise errors.MarkerNotFound(marker=marker)
    return [_node({k: v for k, v in row.items() if k != "marker_found"}) for row in rows if row["id"] is not None]


@reader
async def compute_node_search_by_hypervisor(context: Context, hypervisor_match: str) -> list[Row]:
    """The compute nodes, visible as ``context.read_deleted`` says, whose hypervisor hostname contains the text.

    The text matches literally and case-sensitively: its ``%`` and ``_`` are no wildcards.

    :raises Invalid: ``hypervisor_match`` is not a string
    """
    text = lookup_text(hypervisor_match, "hypervisor_match")
    if text is None:
        return []
    rows = await context.fetch(
        "nova.compute_nodes.compute_node_search_by_hypervisor",
        pattern=_search_pattern(context.dialect, text),
        read_deleted=read_deleted(context),
    )
    return [_node(row) for row in rows]


@reader
async def compute_node_statistics(context: Context) -> dict[str, int]:
    """Totals over the live compute nodes whose live, enabled nova-compute service (by host or id) exists.

    :returns: ``{count, vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used,
        local_gb_used, free_ram_mb, free_disk_gb, current_workload, running_vms,
        disk_available_least}``, ints (0 for no nodes or only NULLs)
    """
    row = await context.fetchrow("nova.compute_nodes.compute_node_statistics")
    assert row is not None  # an aggregate without GROUP BY has one row
    return {field: int(row[field] or 0) for field in STATISTICS}


# --- changes -------------------------------------------------------------------------------


@writer(retry=True)
async def compute_node_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a compute node.

    :param values: the node's columns (``vcpus``, ``memory_mb``, ``local_gb``, ``vcpus_used``,
        ``memory_mb_used``, ``local_gb_used``, ``hypervisor_type``, ``hypervisor_version`` and
        ``cpu_info`` required), ``stats`` (a dict or JSON text of one), times as datetimes or
        ISO-8601 strings
    :returns: the node
    :raises DBDuplicateEntry: the host has a live node with this hypervisor hostname (an
        enclosing transaction goes on)
    :raises Invalid: a required column missing, another key, or a value its column cannot
        hold; nothing is written
    """
    values = mapping(values)
    for name in REQUIRED:
        if values.get(name) is None:
            raise errors.Invalid(f"a compute node needs {name!r}")
    settable = frozenset(UPDATABLE) | {"updated_at"}
    given = _columns({k: v for k, v in values.items() if k != "stats"}, settable - {"stats"})
    stats = _stats_argument(values.get("stats"))
    given["stats"] = _encode_stats(stats[0]) if stats is not None else None
    async with context.savepoint() as sp:
        rows = await insert_values(sp, "nova.compute_nodes.compute_node_create", given)
    return _node(rows[0])


@writer(retry=True)
async def compute_node_update(
    context: Context, compute_id: int, values: Mapping[str, Any], prune_stats: bool = False
) -> Row:
    """Change the given columns of a compute node visible as ``context.read_deleted`` says; updated_at becomes now.

    ``updated_at`` moves even when ``values`` is empty (the scheduler's cache sees it); a given
    one is ignored.  Stats: see the module's docstring.

    :param values: any of the node's columns, ``stats`` (a dict merges into the stored ones,
        JSON text replaces them), times as datetimes or ISO-8601 strings
    :param prune_stats: a stats dict replaces the stored stats instead of merging
    :returns: the node, changed
    :raises ComputeHostNotFound: no such node (``host`` is the id)
    :raises DBDuplicateEntry: the new host/hypervisor hostname is another live node's
    :raises Invalid: a bad id, another key, or a value its column cannot hold; nothing is written
    """
    values = mapping(values)
    prune = check_bool(prune_stats, "prune_stats")
    settable = frozenset(UPDATABLE) - {"stats"}
    given = _columns({k: v for k, v in values.items() if k not in ("stats", "updated_at")}, settable)
    stats = _stats_argument(values.get("stats"))
    key = lookup_id(compute_id, "compute_id")
    locked = None
    if key is not None:
        locked = await context.fetchrow(
            "nova.compute_nodes.compute_node_lock", compute_id=key, read_deleted=read_deleted(context)
        )
    if key is None or locked is None:
        raise errors.ComputeHostNotFound(host=compute_id)
    if stats is not None:
        new, replace = stats
        given["stats"] = _encode_stats(new if replace or prune else {**_decode_stats(locked["stats"]), **new})
    elif prune:
        given["stats"] = "{}"  # Grizzly: prune_stats without stats prunes every stat
    params = {**set_flags(given, UPDATABLE), "updated_at": utcnow(), "compute_id": key}
    async with context.savepoint() as sp:
        row = await returning(
            sp,
            "nova.compute_nodes.compute_node_update",
            "nova.compute_nodes.compute_node_read_back",
            params,
            {"compute_id": key},
        )
    assert row is not None  # locked above
    return _node(row)


@writer
async def compute_node_delete(context: Context, compute_id: int) -> None:
    """Soft-delete (bulk: updated_at kept) a compute node visible as ``context.read_deleted`` says.

    :raises ComputeHostNotFound: no such node (``host`` is the id)
    :raises Invalid: ``compute_id`` is not an integer
    """
    key = lookup_id(compute_id, "compute_id")
    count = 0
    if key is not None:
        count = await context.execute(
            "nova.compute_nodes.compute_node_delete",
            compute_id=key,
            read_deleted=read_deleted(context),
            now=utcnow(),
        )
    if count == 0:
        raise errors.ComputeHostNotFound(host=compute_id)


@writer
async def computenode_uuids_online_data_migration(context: Context, max_count: int) -> tuple[int, int]:
    """Give up to ``max_count`` compute nodes without a uuid (visible as ``context.read_deleted`` says) one.

    :returns: ``(found, done)``: the nodes found without a uuid, and the ones this call gave
        one (fewer when a concurrent migration gave some first)
    :raises Invalid: ``max_count`` is not a non-negative integer
    """
    count = check_integer(max_count, "max_count", 0, INT_MAX)
    rows = await context.fetch(
        "nova.compute_nodes.compute_node_uuid_missing", max_count=count, read_deleted=read_deleted(context)
    )
    now = utcnow()
    done = 0
    for row in rows:
        done += await context.execute(
            "nova.compute_nodes.compute_node_uuid_set", compute_id=row["id"], uuid=str(uuid.uuid4()), now=now
        )
    return len(rows), done
