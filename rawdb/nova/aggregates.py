"""Host aggregates, their hosts and their metadata (``nova/db/sqlalchemy/api.py`` at 14.0.0, with
2013.1's ``aggregate_host_get_by_metadata_key``; spec A.2, A.3 "Aggregates", F.3).

An *aggregate* is a dict with the aggregates table's columns and nova's three computed keys::

    created_at, updated_at, deleted_at, deleted, id, uuid, name,
    hosts (its live hosts, in the order they were added),
    metadetails ({key: value} of its live metadata, in the order the keys were added),
    availability_zone (metadetails['availability_zone'], or None)

As nova's relationships say, a deleted aggregate has no ``hosts`` and no ``metadetails``.  Reading
aggregates is one statement, whatever their number (hosts and metadata come aggregated as JSON in
each aggregate's row); the calls on one aggregate's hosts or metadata first check, as Newton's
``require_aggregate_exists``, that the aggregate is visible as ``context.read_deleted`` says.
As in Newton, the DB layer checks no caller: nova's API does.  Ids may be integers or strings of
one (``'5'``); an id or a string no row can hold (out of range, too long, NUL) finds nothing.

Names: nova has no unique key on ``aggregates.name`` and checks in code that no other live
aggregate has it, which races.  rawdb makes create and rename race-free without a schema change:
on PostgreSQL the writers of one name take turns on a transaction-scoped advisory lock and check
under it; SQLite has one writer at a time; on MySQL a writer checks *after* writing its row, with
a locking read that waits for a rival's uncommitted row (two such writers deadlock, and the
victim's transaction is retried whole: ``@writer(retry=True)``), and undoes its write when it
finds one.  Metadata is upserted on the unique key ``(aggregate_id, key, deleted)`` and hosts
inserted against ``(host, aggregate_id, deleted)``, so concurrent writers of one key or host
never make two live rows nor see a duplicate-key error.

Grizzly bugs not reproduced (Newton has the fixes): ``aggregate_get_by_host`` joins the hosts
(1187708, 1201277); ``aggregate_metadata_get_by_host``'s ``key`` restricts the metadata collected
(1201283); ``aggregate_update`` of only the availability zone keeps the other metadata (1200369);
``aggregate_host_get_by_metadata_key`` maps hosts to the key's values (Grizzly took each
aggregate's first metadata value, whatever its key).

Where rawdb departs from Newton:

- ``aggregate_create`` folds ``values['availability_zone']`` into the metadata, as
  ``aggregate_update`` does (Newton's model refused the key); a ``uuid`` is generated unless
  given (Newton's objects layer did it).
- A name is a string, metadata keys and values and hosts are strings their columns hold: anything
  else is ``Invalid`` and nothing is written (Newton stored ``None`` names, or failed in the driver).
- An id of 0 finds nothing (Newton's ``if id`` dropped the filter and returned any aggregate).
"""

from __future__ import annotations

import json
import uuid as uuidlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.checks import BIGINT_MAX, check_bool, check_integer, lookup_text
from rawdb.context import Context
from rawdb.conventions import coerce, insert_values, read_deleted, table_columns
from rawdb.decorators import reader, writer
from rawdb.nova._aggregate_values import (
    AZ,
    COLUMNS,
    UUID_LENGTH,
    Row,
    aggregate,
    aggregate_columns,
    key_filter,
    mapping,
    metadata_items,
    restore,
    row_id,
)
from rawdb.timeutils import utcnow

NO_ID = 0  # no aggregate has it: name_taken's "other than" for a new one


# --- shared steps --------------------------------------------------------------------------


async def _visible(context: Context, aggregate_id: Any) -> int:
    """The id of the aggregate, visible as ``context.read_deleted`` says (Newton's require_aggregate_exists).

    :raises AggregateNotFound: none
    :raises Invalid: not an id
    """
    key = row_id(aggregate_id)
    if (
        key is None
        or await context.fetchrow(
            "nova.aggregates.aggregate_exists", aggregate_id=key, read_deleted=read_deleted(context)
        )
        is None
    ):
        raise errors.AggregateNotFound(aggregate_id=aggregate_id)
    return key


async def _name_taken(context: Context, name: str, own_id: int) -> bool:
    """Whether a live aggregate other than ``own_id`` has the name (MySQL: locking, after writing)."""
    return await context.fetchrow("nova.aggregates.name_taken", name=name, id=own_id) is not None


async def _set_metadata(
    context: Context, aggregate_id: int, items: Mapping[str, str], set_delete: bool, now: datetime
) -> None:
    """Upsert ``items``; with ``set_delete``, first soft-delete the live keys not in them."""
    if set_delete:
        await context.execute(
            "nova.aggregates.metadata_delete_others", aggregate_id=aggregate_id, keys=list(items), now=now
        )
    if items:
        pairs = json.dumps([{"key": k, "value": v} for k, v in items.items()])
        await context.execute("nova.aggregates.metadata_upsert", aggregate_id=aggregate_id, items=pairs, now=now)


async def _read(context: Context, aggregate_id: int, original: Any) -> Row:
    row = await context.fetchrow(
        "nova.aggregates.aggregate_by_id", aggregate_id=aggregate_id, read_deleted=read_deleted(context)
    )
    if row is None:
        raise errors.AggregateNotFound(aggregate_id=original)
    return aggregate(row)


# --- aggregates ----------------------------------------------------------------------------


@writer(retry=True)
async def aggregate_create(
    context: Context, values: Mapping[str, Any], metadata: Mapping[str, Any] | None = None
) -> Row:
    """Create an aggregate, with metadata.

    :param values: ``name`` (required), ``uuid`` (default: a new one), ``availability_zone``
        (stored as metadata, over ``metadata``'s), ``created_at``, ``updated_at``
    :param metadata: ``{key: value}`` strings
    :returns: the aggregate (no hosts)
    :raises AggregateNameExists: a live aggregate has the name (race-free; a deleted one's name is free)
    :raises Invalid: a key or value the tables cannot hold; nothing is written
    """
    values = mapping(values, "values")
    columns = aggregate_columns(values, creating=True)
    items = metadata_items(metadata if metadata is not None else {})
    if AZ in values:
        items.update(metadata_items({AZ: values[AZ]}))
    if columns.get("uuid") is None:
        columns["uuid"] = str(uuidlib.uuid4())
    name = columns["name"]
    if context.dialect == "postgresql":
        await context.execute("nova.aggregates.name_lock", name=name)
    if await _name_taken(context, name, NO_ID):
        raise errors.AggregateNameExists(aggregate_name=name)
    rows = await insert_values(context, "nova.aggregates.aggregate_create", columns)
    if context.dialect == "mysql":  # no RETURNING; the name is checked after writing
        rows = await context.fetch("nova.aggregates.aggregate_read_back", id=None)
        if await _name_taken(context, name, rows[0]["id"]):
            await context.execute("nova.aggregates.aggregate_discard", id=rows[0]["id"])
            raise errors.AggregateNameExists(aggregate_name=name)
    row = rows[0]
    if items:
        await _set_metadata(context, row["id"], items, False, utcnow())
    return {**row, "hosts": [], "metadetails": dict(items), AZ: items.get(AZ)}


@reader
async def aggregate_get(context: Context, aggregate_id: int) -> Row:
    """An aggregate by id, visible as ``context.read_deleted`` says.

    :raises AggregateNotFound: none
    :raises Invalid: not an id
    """
    key = row_id(aggregate_id)
    if key is None:
        raise errors.AggregateNotFound(aggregate_id=aggregate_id)
    return await _read(context, key, aggregate_id)


@reader
async def aggregate_get_by_uuid(context: Context, uuid: str) -> Row:
    """An aggregate by uuid, visible as ``context.read_deleted`` says.

    :raises AggregateNotFound: none (``aggregate_id`` is the uuid)
    :raises Invalid: the uuid is not a string
    """
    key = lookup_text(uuid, "uuid", UUID_LENGTH)
    row = None
    if key is not None:
        row = await context.fetchrow("nova.aggregates.aggregate_by_uuid", uuid=key, read_deleted=read_deleted(context))
    if row is None:
        raise errors.AggregateNotFound(aggregate_id=uuid)
    return aggregate(row)


@reader
async def aggregate_get_by_host(context: Context, host: str, key: str | None = None) -> list[Row]:
    """The live aggregates ``host`` belongs to (a live host row), and with metadata ``key`` when given.

    Each comes with all its hosts and metadata (nova bugs 1187708/1201277: Grizzly's query had
    no join on the hosts).  ``context.read_deleted`` 'only' finds none.

    :raises Invalid: ``host`` or ``key`` is not a string
    """
    wanted = lookup_text(host, "host")
    possible, metadata_key = key_filter(key)
    if wanted is None or not possible:
        return []
    rows = await context.fetch(
        "nova.aggregates.aggregates_by_host",
        host=wanted,
        by_key=metadata_key is not None,
        key=metadata_key,
        read_deleted=read_deleted(context),
    )
    return [aggregate(row) for row in rows]


@reader
async def aggregate_metadata_get_by_host(context: Context, host: str, key: str | None = None) -> dict[str, set[str]]:
    """The live metadata of the live aggregates ``host`` belongs to, as ``{key: {values}}``.

    With ``key``, only that key's values (nova bug 1201283: the key also restricts what is
    collected, not only which aggregates count).

    :raises Invalid: ``host`` or ``key`` is not a string
    """
    wanted = lookup_text(host, "host")
    possible, metadata_key = key_filter(key)
    result: dict[str, set[str]] = {}
    if wanted is None or not possible:
        return result
    rows = await context.fetch(
        "nova.aggregates.metadata_by_host",
        host=wanted,
        by_key=metadata_key is not None,
        key=metadata_key,
        read_deleted=read_deleted(context),
    )
    for row in rows:
        result.setdefault(row["key"], set()).add(row["value"])
    return result


@reader
async def aggregate_get_by_metadata_key(context: Context, key: str) -> list[Row]:
    """The live aggregates that have live metadata ``key``, with all their hosts.

    As Newton's ``contains_eager`` load, ``metadetails`` holds only that key (and
    ``availability_zone`` is None unless the key is ``availability_zone``).

    :raises Invalid: ``key`` is not a string
    """
    wanted = lookup_text(key, "key")
    if wanted is None:
        return []
    rows = await context.fetch(
        "nova.aggregates.aggregates_by_metadata_key", key=wanted, read_deleted=read_deleted(context)
    )
    return [aggregate(row) for row in rows]


@writer(retry=True)
async def aggregate_update(context: Context, aggregate_id: int, values: Mapping[str, Any]) -> Row:
    """Change an aggregate's columns, and its metadata when ``values`` has ``metadata``.

    ``availability_zone`` in ``values`` is metadata: alone, it is added to the other metadata
    (nova bug 1200369: Grizzly deleted the rest); with ``metadata``, it joins it.  ``metadata``
    replaces the live metadata (keys not in it are soft-deleted; ``{}`` deletes all).
    ``updated_at`` becomes now when a column changes, unless given.

    :param values: ``name``, ``uuid``, ``created_at``, ``updated_at``, ``metadata``, ``availability_zone``
    :returns: the aggregate, as ``aggregate_get`` reads it
    :raises AggregateNameExists: another live aggregate has the new name (checked first, as Newton)
    :raises AggregateNotFound: none visible as ``context.read_deleted`` says
    :raises Invalid: a bad id, key or value; nothing is written
    """
    values = mapping(values, "values")
    columns = aggregate_columns(values, creating=False)
    items = None if values.get("metadata") is None else metadata_items(values["metadata"])
    set_delete = True
    if AZ in values:
        zone = metadata_items({AZ: values[AZ]})
        set_delete = items is not None
        items = {**(items or {}), **zone}
    key = row_id(aggregate_id)
    name = columns.get("name")
    if name is not None:
        if context.dialect == "postgresql":
            await context.execute("nova.aggregates.name_lock", name=name)
        if await _name_taken(context, name, key or NO_ID):
            raise errors.AggregateNameExists(aggregate_name=name)
    key = await _visible(context, aggregate_id)
    now = utcnow()
    if columns:
        params: dict[str, Any] = {"aggregate_id": key, "updated_at": columns.get("updated_at") or now}
        for column in COLUMNS[:-1]:
            params[f"set_{column}"] = column in columns
            params[column] = columns.get(column)
        recheck = context.dialect == "mysql" and name is not None  # the name is checked after writing
        original = await context.fetchrow("nova.aggregates.aggregate_read_back", id=key) if recheck else None
        await context.execute("nova.aggregates.aggregate_update", **params)
        if original is not None and name is not None and await _name_taken(context, name, key):
            await context.execute("nova.aggregates.aggregate_update", **restore(original))
            raise errors.AggregateNameExists(aggregate_name=name)
    if items is not None:
        await _set_metadata(context, key, items, set_delete, now)
    return await _read(context, key, aggregate_id)


@writer(retry=True)
async def aggregate_delete(context: Context, aggregate_id: int) -> None:
    """Soft-delete an aggregate and its metadata (its host rows stay, as in Newton).

    :raises AggregateNotFound: none visible as ``context.read_deleted`` says
    :raises Invalid: not an id
    """
    key = row_id(aggregate_id)
    now, rd = utcnow(), read_deleted(context)
    if (
        key is None
        or await context.execute("nova.aggregates.aggregate_delete", aggregate_id=key, read_deleted=rd, now=now) == 0
    ):
        raise errors.AggregateNotFound(aggregate_id=aggregate_id)
    await context.execute("nova.aggregates.aggregate_delete_metadata", aggregate_id=key, read_deleted=rd, now=now)


@reader
async def aggregate_get_all(context: Context) -> list[Row]:
    """Every aggregate visible as ``context.read_deleted`` says, in id order."""
    rows = await context.fetch("nova.aggregates.aggregates_all", read_deleted=read_deleted(context))
    return [aggregate(row) for row in rows]


# --- metadata ------------------------------------------------------------------------------


@reader
async def aggregate_metadata_get(context: Context, aggregate_id: int) -> dict[str, str]:
    """An aggregate's metadata ``{key: value}``, rows visible as ``context.read_deleted`` says.

    :raises AggregateNotFound: no such aggregate visible
    :raises Invalid: not an id
    """
    key = await _visible(context, aggregate_id)
    rows = await context.fetch("nova.aggregates.metadata_get", aggregate_id=key, read_deleted=read_deleted(context))
    return {row["key"]: row["value"] for row in rows}


@writer(retry=True)
async def aggregate_metadata_delete(context: Context, aggregate_id: int, key: str) -> None:
    """Soft-delete an aggregate's metadata ``key`` (rows visible as ``context.read_deleted`` says).

    :raises AggregateNotFound: no such aggregate visible
    :raises AggregateMetadataNotFound: it has no such key
    :raises Invalid: a bad id, or a key that is not a string
    """
    found = await _visible(context, aggregate_id)
    wanted = lookup_text(key, "key")
    if (
        wanted is None
        or await context.execute(
            "nova.aggregates.metadata_delete",
            aggregate_id=found,
            key=wanted,
            read_deleted=read_deleted(context),
            now=utcnow(),
        )
        == 0
    ):
        raise errors.AggregateMetadataNotFound(aggregate_id=aggregate_id, metadata_key=key)


@writer(retry=True)
async def aggregate_metadata_add(
    context: Context, aggregate_id: int, metadata: Mapping[str, Any], set_delete: bool = False
) -> dict[str, str]:
    """Set metadata keys of an aggregate, in one transaction; with ``set_delete``, delete the others.

    Race-free: concurrent callers setting one key leave one live row with one of their values.
    A key whose value does not change keeps its ``updated_at``.

    :returns: the metadata set
    :raises AggregateNotFound: no such aggregate visible as ``context.read_deleted`` says
    :raises Invalid: a bad id, or a key or value the table cannot hold; nothing is written
    """
    items = metadata_items(metadata)
    delete_others = check_bool(set_delete, "set_delete")
    key = await _visible(context, aggregate_id)
    await _set_metadata(context, key, items, delete_others, utcnow())
    return items


# --- hosts ---------------------------------------------------------------------------------


@writer(retry=True)
async def aggregate_host_add(context: Context, aggregate_id: int, host: str) -> Row:
    """Add a host to an aggregate.

    :returns: the aggregate_hosts row
    :raises AggregateNotFound: no such aggregate visible as ``context.read_deleted`` says
    :raises AggregateHostExists: the aggregate has the host already (race-free: of concurrent
        adders one wins); an enclosing transaction goes on
    :raises Invalid: a bad id, or a host the column cannot hold; nothing is written
    """
    if not isinstance(host, str):
        raise errors.Invalid(f"host must be a string, not {type(host).__name__}")
    name = coerce(table_columns("nova")["aggregate_hosts"]["host"], "host", host)
    key = await _visible(context, aggregate_id)
    params = {"host": name, "aggregate_id": key, "now": utcnow()}
    row = None
    if context.dialect != "mysql":
        row = await context.fetchrow("nova.aggregates.host_add", **params)  # ON CONFLICT DO NOTHING
    else:
        try:
            async with context.savepoint() as sp:
                await sp.execute("nova.aggregates.host_add", **params)
                row = await sp.fetchrow("nova.aggregates.host_read_back", id=None)
        except errors.DBDuplicateEntry:
            row = None
    if row is None:
        raise errors.AggregateHostExists(host=host, aggregate_id=aggregate_id)
    return dict(row)


@reader
async def aggregate_host_get_all(context: Context, aggregate_id: int) -> list[str]:
    """An aggregate's hosts (rows visible as ``context.read_deleted`` says), in the order they were added.

    :raises AggregateNotFound: no such aggregate visible
    :raises Invalid: not an id
    """
    key = await _visible(context, aggregate_id)
    rows = await context.fetch("nova.aggregates.host_get_all", aggregate_id=key, read_deleted=read_deleted(context))
    return [row["host"] for row in rows]


@writer(retry=True)
async def aggregate_host_delete(context: Context, aggregate_id: int, host: str) -> None:
    """Remove a host from an aggregate (soft-delete its rows visible as ``context.read_deleted`` says).

    :raises AggregateNotFound: no such aggregate visible
    :raises AggregateHostNotFound: the aggregate has no such host
    :raises Invalid: a bad id, or a host that is not a string
    """
    key = await _visible(context, aggregate_id)
    wanted = lookup_text(host, "host")
    if (
        wanted is None
        or await context.execute(
            "nova.aggregates.host_delete",
            aggregate_id=key,
            host=wanted,
            read_deleted=read_deleted(context),
            now=utcnow(),
        )
        == 0
    ):
        raise errors.AggregateHostNotFound(aggregate_id=aggregate_id, host=host)


@reader
async def aggregate_host_get_by_metadata_key(context: Context, key: str) -> dict[str, set[str]]:
    """Grizzly's ``{host: {values of key}}`` over the live hosts of the live aggregates with live metadata ``key``.

    (Grizzly took each aggregate's first metadata value, whatever its key; rawdb takes the key's.)

    :raises Invalid: ``key`` is not a string
    """
    wanted = lookup_text(key, "key")
    result: dict[str, set[str]] = {}
    if wanted is None:
        return result
    rows = await context.fetch("nova.aggregates.hosts_by_metadata_key", key=wanted, read_deleted=read_deleted(context))
    for row in rows:
        result.setdefault(row["host"], set()).add(row["value"])
    return result


# --- online data migration -----------------------------------------------------------------


@writer(retry=True)
async def aggregate_uuids_online_data_migration(context: Context, max_count: int | None) -> tuple[int, int]:
    """Give up to ``max_count`` aggregates without a uuid (visible as ``context.read_deleted`` says) one.

    As Newton's ``nova-manage db online_data_migrations`` step: the aggregates are taken in id
    order and each gets a new uuid (``updated_at`` becomes now).  An aggregate a concurrent
    migration gave a uuid first keeps it, and is found but not done.

    :param max_count: how many at most (None: all)
    :returns: ``(found, done)``
    :raises Invalid: ``max_count`` is not a non-negative integer (or None)
    """
    limit = BIGINT_MAX if max_count is None else check_integer(max_count, "max_count", 0, BIGINT_MAX)
    rows = await context.fetch(
        "nova.aggregates.uuidless_aggregates", max_count=limit, read_deleted=read_deleted(context)
    )
    if not rows:
        return 0, 0
    items = json.dumps([{"id": row["id"], "uuid": str(uuidlib.uuid4())} for row in rows])
    done = await context.execute("nova.aggregates.uuids_set", items=items, now=utcnow())
    return len(rows), done
