"""Console pools and consoles (nova/db/sqlalchemy/api.py at 14.0.0, spec A.3 "Consoles").

A *console pool* is a console proxy's pool for one type of console (``xvp``, ...) of one
compute host; its columns are ``created_at, updated_at, deleted_at, deleted, id, address,
username, password, console_type, public_hostname, host, compute_host``.  A *console* is one
instance's console session in a pool: ``created_at, updated_at, deleted_at, deleted, id,
instance_name, instance_uuid, password, port, pool_id``.  As upstream joins them, the pool
lookups by host and type carry ``consoles`` (every console of the pool, in id order), and the
console lookups carry ``pool`` (the pool's columns, or None for a console without one).
Like Newton, the DB layer checks no caller; console lookups see deleted rows, pool lookups
only live ones; deleting a console removes its row (consoles are transient).

Where rawdb departs from upstream:

- ``console_get_all_by_instance(..., columns_to_join=['pool'])`` returns each console's pool
  (Grizzly never joined it: nova bug 1223205); without it the consoles carry no ``pool``.
  A relationship consoles do not have is ``Invalid`` (upstream: an ORM error).
- ``console_pool_create`` raises ``ConsolePoolExists`` from the unique key, so concurrent
  creators of one pool get one row and one error, and an enclosing transaction goes on.
- ``address`` is stored as PostgreSQL's INET prints it on every backend (``10.0.0.1``); one
  that is no address is ``Invalid``, as is any value its column cannot hold; nothing is
  written.  A lookup key no row can hold (an over-long uuid) finds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rawdb import errors
from rawdb.checks import INT_MAX, check_integer
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values
from rawdb.decorators import reader, writer
from rawdb.nova._security_group_joins import cidr_text

Row = dict[str, Any]

POOL_COLUMNS = frozenset(("address", "username", "password", "console_type", "public_hostname", "host", "compute_host"))
CONSOLE_COLUMNS = frozenset(("instance_name", "instance_uuid", "password", "port", "pool_id"))
TIMESTAMPS = frozenset(("created_at", "updated_at"))
JOINABLE = frozenset(("pool",))  # Console's relationships (nova 14.0.0 models)
POOL_PREFIX = "pool__"
UUID_LENGTH, NAME_LENGTH = 36, 255


# --- checks --------------------------------------------------------------------------------


def _text(value: Any, what: str, max_length: int) -> str | None:
    """A string key to look rows up by, or None when no row can hold it (too long, NUL).

    :raises Invalid: not a string
    """
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > max_length or "\x00" in value or not _encodable(value):
        return None
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _id(value: Any, what: str) -> int | None:
    """An integer id to look rows up by, or None when no row can have it (out of range).

    :raises Invalid: not an integer
    """
    number = check_integer(value, what, -(2**63), 2**63 - 1)
    return number if -INT_MAX - 1 <= number <= INT_MAX else None


def _joins(columns_to_join: Any) -> frozenset[str]:
    """The relationships a console lookup is asked to join.

    :raises Invalid: not a list of names, or a name consoles have no relationship by
    """
    if columns_to_join is None:
        return frozenset()
    if isinstance(columns_to_join, (str, bytes)) or not isinstance(columns_to_join, (Sequence, set, frozenset)):
        raise errors.Invalid(f"columns_to_join must be a list of names, not {type(columns_to_join).__name__}")
    unknown = [repr(n) for n in columns_to_join if not isinstance(n, str) or n not in JOINABLE]
    if unknown:
        raise errors.Invalid(f"consoles have no relationship {', '.join(unknown):.200} to join (only 'pool')")
    return frozenset(columns_to_join)


# --- rows ----------------------------------------------------------------------------------


def _console(row: Mapping[str, Any], with_pool: bool = True) -> Row:
    """A console row of a pool-joining statement: its own columns, and ``pool`` when asked."""
    console = {k: v for k, v in row.items() if not k.startswith(POOL_PREFIX)}
    if with_pool:
        pool = {k[len(POOL_PREFIX) :]: v for k, v in row.items() if k.startswith(POOL_PREFIX)}
        console["pool"] = pool if pool["id"] is not None else None
    return console


async def _with_consoles(context: Context, pools: list[Row]) -> list[Row]:
    """The pools, each with ``consoles``: every console of it, in id order (one query for all)."""
    by_id: dict[int, Row] = {}
    for pool in pools:
        pool["consoles"] = []
        by_id[pool["id"]] = pool
    if by_id:
        for row in await context.fetch("nova.consoles.pools_consoles", pool_ids=list(by_id)):
            by_id[row["pool_id"]]["consoles"].append(dict(row))
    return pools


async def _inserted(context: Context, rows: list[Row], read_back: str) -> Row:
    """The row an INSERT ... RETURNING gave; on MySQL the row LAST_INSERT_ID() names."""
    if context.dialect == "mysql":
        rows = await context.fetch(read_back, id=None)
    return dict(rows[0])


# --- console pools -------------------------------------------------------------------------


@writer(retry=True)
async def console_pool_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a console pool.

    :param values: ``host`` (the proxy host), ``console_type``, ``compute_host``, ``address``,
        ``username``, ``password``, ``public_hostname``, ``created_at``, ``updated_at``
    :returns: the pool
    :raises ConsolePoolExists: a live pool has this host, console_type and compute_host;
        nothing is written, an enclosing transaction goes on
    :raises Invalid: another key, or a value its column cannot hold; nothing is written
    """
    if isinstance(values, Mapping) and values.get("address") is not None:
        try:
            values = {**values, "address": cidr_text(values["address"])}
        except errors.Invalid:
            raise errors.Invalid(f"address {values['address']!r:.80} is not an IPv4 or IPv6 address") from None
    given = coerce_values("nova", "console_pools", values, POOL_COLUMNS | TIMESTAMPS, parse_times=True)
    try:
        async with context.savepoint() as sp:
            rows = await insert_values(sp, "nova.consoles.pool_create", given)
            pool = await _inserted(sp, rows, "nova.consoles.pool_read_back")
    except errors.DBDuplicateEntry as exc:
        raise errors.ConsolePoolExists(
            host=given.get("host"), console_type=given.get("console_type"), compute_host=given.get("compute_host")
        ) from exc
    return pool


@reader
async def console_pool_get_by_host_type(context: Context, compute_host: str, proxy_host: str, console_type: str) -> Row:
    """The live pool of ``console_type`` serving ``compute_host`` on ``proxy_host``, with its ``consoles``.

    :raises ConsolePoolNotFoundForHostType: none (kwargs ``host``: the proxy host,
        ``console_type``, ``compute_host``)
    :raises Invalid: an argument is not a string
    """
    keys = [_text(v, w, NAME_LENGTH) for v, w in ((compute_host, "compute_host"), (proxy_host, "proxy_host"))]
    kind = _text(console_type, "console_type", NAME_LENGTH)
    row = None
    if None not in keys and kind is not None:
        row = await context.fetchrow(
            "nova.consoles.pool_get_by_host_type", compute_host=keys[0], host=keys[1], console_type=kind
        )
    if row is None:
        raise errors.ConsolePoolNotFoundForHostType(
            host=proxy_host, console_type=console_type, compute_host=compute_host
        )
    return (await _with_consoles(context, [dict(row)]))[0]


@reader
async def console_pool_get_all_by_host_type(context: Context, host: str, console_type: str) -> list[Row]:
    """The live pools of ``console_type`` on the proxy ``host``, oldest first, each with its ``consoles``.

    :raises Invalid: an argument is not a string
    """
    proxy, kind = _text(host, "host", NAME_LENGTH), _text(console_type, "console_type", NAME_LENGTH)
    if proxy is None or kind is None:
        return []
    rows = await context.fetch("nova.consoles.pools_get_all_by_host_type", host=proxy, console_type=kind)
    return await _with_consoles(context, [dict(row) for row in rows])


# --- consoles ------------------------------------------------------------------------------


@writer
async def console_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a console of an instance in a pool.

    :param values: ``instance_uuid``, ``pool_id``, ``instance_name``, ``password``, ``port``,
        ``created_at``, ``updated_at``
    :returns: the console (its own columns)
    :raises DBReferenceError: no instance has this uuid, or no pool this id
    :raises Invalid: another key, or a value its column cannot hold; nothing is written
    """
    rows = await insert_values(
        context,
        "nova.consoles.console_create",
        coerce_values("nova", "consoles", values, CONSOLE_COLUMNS | TIMESTAMPS, parse_times=True),
    )
    return await _inserted(context, rows, "nova.consoles.console_read_back")


@writer
async def console_delete(context: Context, console_id: int) -> None:
    """Remove a console (a hard delete, as upstream); no error when there is none.

    :raises Invalid: ``console_id`` is not an integer
    """
    key = _id(console_id, "console_id")
    if key is not None:
        await context.execute("nova.consoles.console_delete", console_id=key)


@reader
async def console_get_by_pool_instance(context: Context, pool_id: int, instance_uuid: str) -> Row:
    """The instance's console in the pool (the first, if several), deleted or not, with its ``pool``.

    :raises ConsoleNotFoundInPoolForInstance: none
    :raises Invalid: ``pool_id`` is not an integer, ``instance_uuid`` not a string
    """
    pool, uuid = _id(pool_id, "pool_id"), _text(instance_uuid, "instance_uuid", UUID_LENGTH)
    row = None
    if pool is not None and uuid is not None:
        row = await context.fetchrow("nova.consoles.console_get_by_pool_instance", pool_id=pool, instance_uuid=uuid)
    if row is None:
        raise errors.ConsoleNotFoundInPoolForInstance(pool_id=pool_id, instance_uuid=instance_uuid)
    return _console(row)


@reader
async def console_get_all_by_instance(
    context: Context, instance_uuid: str, columns_to_join: Sequence[str] | None = None
) -> list[Row]:
    """The instance's consoles, deleted or not, oldest first.

    :param columns_to_join: ``['pool']`` to have each console's ``pool`` (nova bug 1223205:
        Grizzly never joined it)
    :raises Invalid: ``instance_uuid`` is not a string; ``columns_to_join`` names another relationship
    """
    joins = _joins(columns_to_join)
    uuid = _text(instance_uuid, "instance_uuid", UUID_LENGTH)
    if uuid is None:
        return []
    rows = await context.fetch("nova.consoles.consoles_get_all_by_instance", instance_uuid=uuid)
    return [_console(row, with_pool="pool" in joins) for row in rows]


@reader
async def console_get(context: Context, console_id: int, instance_uuid: str | None = None) -> Row:
    """A console by id, deleted or not, with its ``pool``; when ``instance_uuid`` is given, only that instance's.

    :raises ConsoleNotFoundForInstance: ``instance_uuid`` given, and the instance has no such console
    :raises ConsoleNotFound: no such console
    :raises Invalid: ``console_id`` is not an integer, ``instance_uuid`` neither a string nor None
    """
    key = _id(console_id, "console_id")
    uuid = None if instance_uuid is None else _text(instance_uuid, "instance_uuid", UUID_LENGTH)
    row = None
    if key is not None and (instance_uuid is None or uuid is not None):
        row = await context.fetchrow("nova.consoles.console_get", console_id=key, instance_uuid=uuid)
    if row is None:
        if instance_uuid:
            raise errors.ConsoleNotFoundForInstance(console_id=console_id, instance_uuid=instance_uuid)
        raise errors.ConsoleNotFound(console_id=console_id)
    return _console(row)
