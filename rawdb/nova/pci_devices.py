"""PCI devices (nova/db/sqlalchemy/api.py at 14.0.0, spec A.4 "PCI"): the PCI host devices of compute nodes.

A device is a pci_devices row: ``{created_at, updated_at, deleted_at, deleted, id,
compute_node_id, address, product_id, vendor_id, dev_type, dev_id, label, status, extra_info,
instance_uuid, request_id, numa_node, parent_addr}``, keyed by its node (``compute_node_id``, a
compute_nodes id) and PCI ``address``.  Lookups see devices as ``context.read_deleted`` says (a
live one first); lists come oldest first.  As in Newton, only
``pci_device_get_all_by_instance_uuid`` checks the caller (``@require_context``).  A key of the
wrong type is ``Invalid``; one no device can have (an address over 12 characters, an id out of
range) finds nothing.

Where rawdb departs from upstream:

- ``pci_device_update`` is one race-free upsert of the node's live device at the address:
  callers racing to create a device make one row, and neither gets a duplicate-key error.
  The node and address come from the arguments: ``value`` may repeat them, not change them
  (Newton moved the device, then failed to read it back).  Creating a device needs
  ``vendor_id``, ``product_id``, ``dev_type``, ``label`` and ``status`` (Invalid without them;
  Newton failed with a NOT NULL error).
- ``pci_device_destroy`` soft-deletes only a live device.
- ``pcidevice_online_data_migration`` does in SQL and Python what Newton's PciDevice object did
  (see its docstring).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rawdb import errors
from rawdb.checks import BIGINT_MAX, check_integer, lookup_id, lookup_text
from rawdb.context import Context
from rawdb.conventions import coerce_values, read_deleted, require_context
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

# The columns pci_device_update may set (the node and address are the device's key).
COLUMNS = (
    "product_id",
    "vendor_id",
    "dev_type",
    "dev_id",
    "label",
    "status",
    "extra_info",
    "instance_uuid",
    "request_id",
    "numa_node",
    "parent_addr",
    "created_at",
)
REQUIRED = ("vendor_id", "product_id", "dev_type", "label", "status")  # NOT NULL without a default
ADDRESS_LENGTH, UUID_LENGTH = 12, 36
EXTRA_INFO_BYTES = 65535  # MariaDB's TEXT
REMOVED = "removed"  # nova's PciDeviceStatus.REMOVED: hot-removed, deleted on the next save


# --- checks --------------------------------------------------------------------------------


def _changes(node_id: int, address: str, value: Any) -> dict[str, Any]:
    """The columns ``value`` sets, checked.

    :raises Invalid: not a dict, another key, a value its column cannot hold, a node or address
        other than the arguments'
    """
    given = coerce_values(
        "nova", "pci_devices", value, frozenset((*COLUMNS, "updated_at", "compute_node_id", "address"))
    )
    for key, expected in (("compute_node_id", node_id), ("address", address)):
        if key in given and given.pop(key) != expected:
            raise errors.Invalid(f"pci_device_update cannot change a device's {key}")
    extra_info = given.get("extra_info")
    if isinstance(extra_info, str) and len(extra_info) * 4 > EXTRA_INFO_BYTES:
        if len(extra_info.encode()) > EXTRA_INFO_BYTES:
            raise errors.Invalid(f"extra_info is longer than {EXTRA_INFO_BYTES} bytes")
    return given


# --- reads ---------------------------------------------------------------------------------


@reader
async def pci_device_get_by_addr(context: Context, node_id: int, dev_addr: str) -> Row:
    """A node's device at a PCI address.

    :raises PciDeviceNotFound: none visible
    :raises Invalid: a node id that is not an integer, an address that is not a string
    """
    node, address = lookup_id(node_id, "node_id"), lookup_text(dev_addr, "dev_addr", ADDRESS_LENGTH)
    row = None
    if node is not None and address is not None:
        row = await context.fetchrow(
            "nova.pci_devices.device_get_by_addr", node_id=node, address=address, read_deleted=read_deleted(context)
        )
    if row is None:
        raise errors.PciDeviceNotFound(node_id=node_id, address=dev_addr)
    return dict(row)


@reader
async def pci_device_get_by_id(context: Context, id: int) -> Row:
    """A device by id.

    :raises PciDeviceNotFoundById: none visible
    :raises Invalid: the id is not an integer
    """
    key = lookup_id(id, "id")
    row = None
    if key is not None:
        row = await context.fetchrow("nova.pci_devices.device_get_by_id", id=key, read_deleted=read_deleted(context))
    if row is None:
        raise errors.PciDeviceNotFoundById(id=id)
    return dict(row)


@reader
async def pci_device_get_all_by_node(context: Context, node_id: int) -> list[Row]:
    """A node's devices, oldest first.

    :raises Invalid: the node id is not an integer
    """
    node = lookup_id(node_id, "node_id")
    if node is None:
        return []
    rows = await context.fetch("nova.pci_devices.devices_get_by_node", node_id=node, read_deleted=read_deleted(context))
    return [dict(row) for row in rows]


@reader
async def pci_device_get_all_by_parent_addr(context: Context, node_id: int, parent_addr: str | None) -> list[Row]:
    """A node's devices whose parent (physical function) is at ``parent_addr`` (None: that have none).

    :raises Invalid: a node id that is not an integer, an address that is not a string or None
    """
    node = lookup_id(node_id, "node_id")
    parent = None if parent_addr is None else lookup_text(parent_addr, "parent_addr", ADDRESS_LENGTH)
    if node is None or (parent_addr is not None and parent is None):
        return []
    rows = await context.fetch(
        "nova.pci_devices.devices_get_by_parent_addr",
        node_id=node,
        parent_addr=parent,
        no_parent=parent is None,
        read_deleted=read_deleted(context),
    )
    return [dict(row) for row in rows]


@require_context
@reader
async def pci_device_get_all_by_instance_uuid(context: Context, instance_uuid: str) -> list[Row]:
    """The devices allocated to an instance (status 'allocated'), oldest first.

    :raises NotAuthorized: neither an admin nor a user context
    :raises Invalid: the uuid is not a string
    """
    key = lookup_text(instance_uuid, "instance_uuid", UUID_LENGTH)
    if key is None:
        return []
    rows = await context.fetch(
        "nova.pci_devices.devices_get_by_instance", instance_uuid=key, read_deleted=read_deleted(context)
    )
    return [dict(row) for row in rows]


# --- writes --------------------------------------------------------------------------------


@writer
async def pci_device_destroy(context: Context, node_id: int, address: str) -> None:
    """Soft-delete a node's live device at a PCI address (``updated_at`` kept, as upstream's bulk soft delete).

    :raises PciDeviceNotFound: no live device there (or ``context.read_deleted`` is 'only')
    :raises Invalid: a node id that is not an integer, an address that is not a string
    """
    node, key = lookup_id(node_id, "node_id"), lookup_text(address, "address", ADDRESS_LENGTH)
    count = 0
    if node is not None and key is not None:
        count = await context.execute(
            "nova.pci_devices.device_destroy",
            node_id=node,
            address=key,
            read_deleted=read_deleted(context),
            now=utcnow(),
        )
    if count == 0:
        raise errors.PciDeviceNotFound(node_id=node_id, address=address)


@writer(retry=True)
async def pci_device_update(context: Context, node_id: int, address: str, value: Mapping[str, Any]) -> Row:
    """Create the node's live device at a PCI address, or change the given columns of it.

    Race-free: concurrent callers make one live device (the unique key decides), and none gets
    a duplicate-key error.  ``updated_at`` becomes now on a change (unless given); a new device
    has ``created_at`` now (unless given) and no ``updated_at`` (unless given).

    :param value: any of ``vendor_id``, ``product_id``, ``dev_type``, ``label``, ``status``
        (all five to create a device), ``dev_id``, ``extra_info`` (JSON text), ``instance_uuid``,
        ``request_id``, ``numa_node``, ``parent_addr``, ``created_at``, ``updated_at``;
        ``compute_node_id``/``address`` only equal to the arguments
    :returns: the device
    :raises DBReferenceError: no compute node has this id
    :raises Invalid: a bad node id or address, another key, a value its column cannot hold, or
        no live device and not all five columns a new one needs; nothing is written
    """
    node = check_integer(node_id, "node_id")
    key = coerce_values("nova", "pci_devices", {"address": address})["address"]
    given = _changes(node, key, value)
    now = utcnow()
    params: dict[str, Any] = {
        "node_id": node,
        "address": key,
        "updated_at": given.get("updated_at"),  # a new device's
        "changed_at": given.get("updated_at") or now,  # a changed device's
    }
    for column in COLUMNS:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    creatable = all(given.get(column) is not None for column in REQUIRED)
    if creatable:
        if params["created_at"] is None:
            params["created_at"] = now
        statement = "nova.pci_devices.device_upsert"
    else:
        statement = "nova.pci_devices.device_update"
        del params["updated_at"]
    if context.dialect == "mysql":
        await context.execute(statement, **params)
        row = await context.fetchrow("nova.pci_devices.device_read_back", node_id=node, address=key)
    else:
        row = await context.fetchrow(statement, **params)
    if row is None:
        missing = [column for column in REQUIRED if given.get(column) is None]
        raise errors.Invalid(f"node {node} has no live PCI device at {key!r}, and creating one needs {missing}")
    return dict(row)


def _parent_move(status: Any, extra_info: Any) -> tuple[str, Any, str | None] | None:
    """What the data migration does to a device: None (nothing), or ``(action, parent_addr, extra_info)``.

    ``action`` is ``destroy`` for a hot-removed device, else ``move``.
    """
    try:
        extra = json.loads(extra_info) if isinstance(extra_info, str) else None
    except ValueError:
        return None  # Newton's object failed to load the device; it stays for someone to repair
    if not isinstance(extra, dict) or "phys_function" not in extra:
        return None
    if status == REMOVED:
        return ("destroy", None, None)
    parent = extra.pop("phys_function")
    if parent is not None and (not isinstance(parent, str) or len(parent) > ADDRESS_LENGTH or "\x00" in parent):
        return None  # no parent address a column can hold: left as it is
    return ("move", parent, json.dumps(extra))


@writer
async def pcidevice_online_data_migration(context: Context, max_count: int) -> tuple[int, int]:
    """Newton's online data migration of PCI devices: the parent address from ``extra_info`` to ``parent_addr``.

    Looks at up to ``max_count`` live devices without ``parent_addr`` (oldest first).  A device
    whose ``extra_info`` (JSON) has ``phys_function`` is migrated, as Newton's PciDevice object
    did when it loaded and saved it: ``phys_function`` moves to ``parent_addr`` and leaves
    ``extra_info`` (``updated_at`` becomes now); a device with status 'removed' is soft-deleted
    instead (its save destroyed it).  Newton's object logic, done here: rawdb has no objects.

    Departures: only live devices are looked at, whatever ``context.read_deleted`` says; a
    device whose ``extra_info`` is not a JSON object, or whose ``phys_function`` no column can
    hold, is found but left alone (Newton failed); a device whose status is 'deleted' is
    migrated (Newton counted it as done and wrote nothing, so it was found again forever).

    :returns: ``(found, done)``: devices looked at, devices migrated
    :raises Invalid: ``max_count`` is not a non-negative integer
    """
    limit = check_integer(max_count, "max_count", 0, BIGINT_MAX)
    found = await context.fetch("nova.pci_devices.migration_candidates", max_count=limit)
    done, now = 0, utcnow()
    for device in found:
        move = _parent_move(device["status"], device["extra_info"])
        if move is None:
            continue
        action, parent, extra_info = move
        if action == "destroy":
            done += await context.execute("nova.pci_devices.migration_destroy", id=device["id"], now=now)
        else:
            done += await context.execute(
                "nova.pci_devices.migration_move_parent",
                id=device["id"],
                parent_addr=parent,
                extra_info=extra_info,
                now=now,
            )
    return len(found), done
