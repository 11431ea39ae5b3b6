"""Virtual interfaces (nova/db/sqlalchemy/api.py at 14.0.0, spec A.3 "Virtual interfaces").

A virtual interface is an instance's NIC on a network: ``created_at, updated_at, deleted_at,
id, address`` (its MAC address, stored as given), ``network_id, uuid, instance_uuid, deleted,
tag``.  The unique key ``(address, deleted)`` admits one live interface per address.  Every
caller needs a context (admin or user); nothing else is checked, as upstream.

Where rawdb follows Newton over Grizzly: reads see live interfaces only (Grizzly read deleted
ones too) and deletes are soft deletes (bulk: ``updated_at`` kept; Grizzly removed the rows);
``virtual_interface_update`` and ``virtual_interface_delete`` are Newton's.

Where rawdb departs from upstream:

- ``virtual_interface_create`` raises ``VirtualInterfaceCreateException`` for what the database
  refuses (an address a live interface has, an instance that does not exist), inside a
  savepoint so an enclosing transaction goes on; a value its column cannot hold is ``Invalid``
  first (upstream: the same exception, or whatever the driver raised).
- ``virtual_interface_update`` of an address no live interface has returns None (upstream
  failed on None); an address another live interface has is ``DBDuplicateEntry`` and nothing
  changes.
- A lookup key no row can hold (an over-long uuid, NUL) finds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rawdb import errors
from rawdb.checks import BIGINT_MAX, INT_MAX, check_integer
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values, project_only, read_deleted, require_context
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

COLUMNS = ("address", "network_id", "uuid", "instance_uuid", "tag")
UPDATABLE = (*COLUMNS, "created_at")
TIMESTAMPS = frozenset(("created_at", "updated_at"))
NAME_LENGTH, UUID_LENGTH = 255, 36


# --- checks --------------------------------------------------------------------------------


def _text(value: Any, what: str, max_length: int) -> str | None:
    """A string key to look rows up by, or None when no row can hold it (too long, NUL).

    :raises Invalid: not a string
    """
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > max_length or "\x00" in value or (not value.isascii() and not _encodable(value)):
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
    number = check_integer(value, what, -BIGINT_MAX - 1, BIGINT_MAX)
    return number if -INT_MAX - 1 <= number <= INT_MAX else None


async def _one(context: Context, statement: str, **params: Any) -> Row | None:
    row = await context.fetchrow(statement, **params)
    return None if row is None else dict(row)


# --- writers -------------------------------------------------------------------------------


@require_context
@writer(retry=True)
async def virtual_interface_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a virtual interface.

    :param values: ``address``, ``network_id``, ``uuid``, ``instance_uuid``, ``tag``,
        ``created_at``, ``updated_at``
    :returns: the interface
    :raises VirtualInterfaceCreateException: a live interface has the address, or no instance
        has ``instance_uuid``; nothing is written, an enclosing transaction goes on
    :raises Invalid: another key, or a value its column cannot hold; nothing is written
    """
    given = coerce_values("nova", "virtual_interfaces", values, frozenset(COLUMNS) | TIMESTAMPS, parse_times=True)
    try:
        async with context.savepoint() as sp:
            rows = await insert_values(sp, "nova.virtual_interfaces.vif_create", given)
            if sp.dialect == "mysql":
                rows = await sp.fetch("nova.virtual_interfaces.vif_read_back", id=None)
    except errors.DBError as exc:
        raise errors.VirtualInterfaceCreateException() from exc
    return dict(rows[0])


@require_context
@writer
async def virtual_interface_update(context: Context, address: str, values: Mapping[str, Any]) -> Row | None:
    """(Newton) Change the columns ``values`` gives of the live interface with ``address``.

    :param values: any of ``address``, ``network_id``, ``uuid``, ``instance_uuid``, ``tag``,
        ``created_at``; ``updated_at`` (default now)
    :returns: the interface as changed, or None when no live interface has the address
    :raises DBDuplicateEntry: the new address is another live interface's; nothing changes, an
        enclosing transaction goes on
    :raises DBReferenceError: no instance has the new ``instance_uuid``
    :raises Invalid: another key, or a value its column cannot hold
    """
    given = coerce_values("nova", "virtual_interfaces", values, frozenset(UPDATABLE) | TIMESTAMPS, parse_times=True)
    key = _text(address, "address", NAME_LENGTH)
    current = None if key is None else await _one(context, "nova.virtual_interfaces.vif_get_by_address", address=key)
    if current is None:
        return None
    params: dict[str, Any] = {"id": current["id"], "updated_at": given.get("updated_at") or utcnow()}
    for column in UPDATABLE:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    async with context.savepoint() as sp:
        if sp.dialect == "mysql":
            await sp.execute("nova.virtual_interfaces.vif_update", **params)
            return await _one(sp, "nova.virtual_interfaces.vif_read_back", id=current["id"])
        return await _one(sp, "nova.virtual_interfaces.vif_update", **params)


@require_context
@writer
async def virtual_interface_delete_by_instance(context: Context, instance_id: str) -> None:
    """Soft-delete an instance's live virtual interfaces (bulk: updated_at kept); none is no error.

    :param instance_id: the instance's uuid
    :raises Invalid: ``instance_id`` is not a string
    """
    uuid = _text(instance_id, "instance_id", UUID_LENGTH)
    if uuid is not None:
        await context.execute("nova.virtual_interfaces.vif_delete_by_instance", instance_uuid=uuid, now=utcnow())


@require_context
@writer
async def virtual_interface_delete(context: Context, id: int) -> None:
    """(Newton) Soft-delete the live virtual interface with an id (bulk: updated_at kept); none is no error.

    :raises Invalid: ``id`` is not an integer
    """
    key = _id(id, "id")
    if key is not None:
        await context.execute("nova.virtual_interfaces.vif_delete", id=key, now=utcnow())


# --- readers -------------------------------------------------------------------------------


@require_context
@reader
async def virtual_interface_get(context: Context, vif_id: int) -> Row | None:
    """The live virtual interface with an id, or None.

    :raises Invalid: ``vif_id`` is not an integer
    """
    key = _id(vif_id, "vif_id")
    return None if key is None else await _one(context, "nova.virtual_interfaces.vif_get", vif_id=key)


@require_context
@reader
async def virtual_interface_get_by_address(context: Context, address: str) -> Row | None:
    """The live virtual interface with a (MAC) address, or None.

    :raises Invalid: ``address`` is not a string
    """
    key = _text(address, "address", NAME_LENGTH)
    return None if key is None else await _one(context, "nova.virtual_interfaces.vif_get_by_address", address=key)


@require_context
@reader
async def virtual_interface_get_by_uuid(context: Context, vif_uuid: str) -> Row | None:
    """The live virtual interface with a uuid, or None.

    :raises Invalid: ``vif_uuid`` is not a string
    """
    key = _text(vif_uuid, "vif_uuid", UUID_LENGTH)
    return None if key is None else await _one(context, "nova.virtual_interfaces.vif_get_by_uuid", uuid=key)


@require_context
@reader
async def virtual_interface_get_by_instance(context: Context, instance_id: str) -> list[Row]:
    """An instance's live virtual interfaces, oldest first (created_at, then id).

    :param instance_id: the instance's uuid
    :raises InstanceNotFound: no such instance visible to the caller (``context.read_deleted``;
        a user context sees its project's only)
    :raises Invalid: ``instance_id`` is not a string
    """
    uuid = _text(instance_id, "instance_id", UUID_LENGTH)
    rows = []
    if uuid is not None:
        rows = await context.fetch(
            "nova.virtual_interfaces.vif_get_by_instance",
            instance_uuid=uuid,
            read_deleted=read_deleted(context),
            **project_only(context),
        )
    if not rows:
        raise errors.InstanceNotFound(instance_id=instance_id)
    return [dict(row) for row in rows if row["id"] is not None]


@require_context
@reader
async def virtual_interface_get_by_instance_and_network(
    context: Context, instance_id: str, network_id: int
) -> Row | None:
    """The live virtual interface of an instance on a network, or None.

    :param instance_id: the instance's uuid
    :raises Invalid: ``instance_id`` is not a string, ``network_id`` not an integer
    """
    uuid, net = _text(instance_id, "instance_id", UUID_LENGTH), _id(network_id, "network_id")
    if uuid is None or net is None:
        return None
    return await _one(
        context, "nova.virtual_interfaces.vif_get_by_instance_and_network", instance_uuid=uuid, network_id=net
    )


@require_context
@reader
async def virtual_interface_get_all(context: Context) -> list[Row]:
    """Every live virtual interface, in id order."""
    return [dict(row) for row in await context.fetch("nova.virtual_interfaces.vif_get_all")]
