"""Block device mappings (nova/db/sqlalchemy/api.py at 14.0.0, spec A.3 "Block device mappings", F.1 22).

A mapping is a block_device_mapping row: ``{created_at, updated_at, deleted_at, id, device_name,
delete_on_termination, snapshot_id, volume_id, volume_size, no_device, connection_info, instance_uuid,
deleted, source_type, destination_type, guest_format, device_type, disk_bus, boot_index, image_id,
tag}``; with ``columns_to_join=['instance']`` it also carries ``instance``: the instance dict (its
columns and ``name``, no children joined) of a live mapping, None for a deleted one (nova's
relationship joins ``BlockDeviceMapping.deleted == 0``).  Every call sees rows as
``context.read_deleted`` says and checks the caller (``@require_context``), except
``block_device_mapping_update_or_create``, which Newton left unchecked.  Lists come in insertion order.

Values come in Newton's format (``legacy=False``) or, by default, in the legacy one (``legacy=True``):
``virtual_name`` (``swap``, ``ephemeralN``), ``snapshot_id``, ``volume_id`` or ``no_device`` decide
``source_type``/``destination_type``/``guest_format`` as nova's ``BlockDeviceDict.from_legacy`` did
(see ``_from_legacy``).  Times may be ISO-8601 strings (spec B.4).  A value a column cannot hold, or
a key the table lacks given a value, is ``Invalid`` and nothing is written.

Where rawdb departs from upstream:

- ``update_or_create`` locks the instance's row first, so concurrent callers for one device make one
  live mapping (no unique key covers instance and device, so no backend can upsert in one statement);
  it needs an ``instance_uuid``.  An update that changes nothing leaves ``updated_at`` alone (the ORM
  emitted no UPDATE either).
- ``destroy*`` and the swap de-duplication soft-delete only live mappings (upstream re-stamped
  ``deleted_at`` of deleted ones when the context read deleted rows).
- ``id`` and ``deleted`` cannot be set (an ``id`` equal to ``bdm_id`` is accepted by ``update``).
- A legacy key the table lacks (other than ``virtual_name``) given a value is Invalid (from_legacy
  dropped it); booleans are read strictly (``check_bool``).
- A key neither format nor the table has, given as None, is ignored by every call, so it never
  turns an ``update`` or ``update_or_create`` into a legacy conversion (Newton's
  ``is_safe_for_update`` counted it and sent the values through ``from_legacy``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from rawdb import errors
from rawdb.checks import INT_MAX, check_bool, check_integer, lookup_id, lookup_text
from rawdb.context import Context
from rawdb.conventions import coerce_values, insert_values, read_deleted, require_context, table_columns
from rawdb.decorators import reader, writer
from rawdb.nova._instance_rows import Joins, instance_dict
from rawdb.timeutils import utcnow

Row = dict[str, Any]

TABLE = "block_device_mapping"
COLUMNS: tuple[str, ...] = tuple(table_columns("nova")[TABLE])
SETTABLE = frozenset(COLUMNS) - {"id", "deleted"}
UPDATE_COLUMNS = tuple(column for column in COLUMNS if column in SETTABLE and column != "updated_at")
CONNECTION_INFO_BYTES = 16777215  # MariaDB's MEDIUMTEXT
UUID_LENGTH, NAME_LENGTH = 36, 255

# nova.block_device at 14.0.0: the fields of the two formats
LEGACY_FIELDS = frozenset(
    {"device_name", "delete_on_termination", "virtual_name", "snapshot_id", "volume_id", "volume_size"}
    | {"no_device", "connection_info"}
)
NEW_FIELDS = frozenset(
    {"source_type", "destination_type", "guest_format", "device_type", "disk_bus", "boot_index", "device_name"}
    | {"delete_on_termination", "snapshot_id", "volume_id", "volume_size", "image_id", "no_device"}
    | {"connection_info", "tag"}
)
DB_FIELDS = frozenset({"id", "instance_uuid", "created_at", "updated_at", "deleted_at", "deleted"})
COPIED_FROM_LEGACY = (LEGACY_FIELDS & NEW_FIELDS) | DB_FIELDS
KNOWN_FIELDS = LEGACY_FIELDS | NEW_FIELDS | DB_FIELDS  # the table's columns are among them
NOT_COMPUTABLE = frozenset({"boot_index", "disk_bus", "guest_format", "device_type"})  # never defaulted
DEFAULT_EPHEMERAL_FORMAT = None  # nova's CONF.default_ephemeral_format (no default)
JOINABLE = frozenset({"instance"})
INSTANCE_JOINS = Joins(metadata=False, system_metadata=False, info_cache=False, security_groups=False)

_EPHEMERAL = re.compile(r"ephemeral(\d|[1-9]\d+)")
_DEV = re.compile("^/dev/")


# --- checks and conversions ----------------------------------------------------------------


def _joins_instance(columns_to_join: Any) -> bool:
    """Whether ``columns_to_join`` asks for the instance.

    :raises Invalid: not a list of names, or a name other than ``instance``
    """
    if columns_to_join is None:
        return False
    if isinstance(columns_to_join, str) or not isinstance(columns_to_join, Iterable):
        raise errors.Invalid(f"columns_to_join must be a list of names, not {type(columns_to_join).__name__}")
    names = list(columns_to_join)
    unknown = [name for name in names if name not in JOINABLE]
    if unknown:
        raise errors.Invalid(f"a block device mapping can join only 'instance', not {unknown!r:.80}")
    return bool(names)


def _is_swap_or_ephemeral(name: Any) -> bool:
    return isinstance(name, str) and (name == "swap" or _EPHEMERAL.fullmatch(name) is not None)


def _invalid(details: str) -> errors.InvalidBDMFormat:
    return errors.InvalidBDMFormat(details=details)


def _from_legacy(values: Mapping[str, Any]) -> dict[str, Any]:
    """nova's ``BlockDeviceDict.from_legacy``: a legacy mapping in Newton's format.

    The fields both formats share and the DB fields are copied; ``virtual_name`` ``swap`` or
    ``ephemeralN`` makes a blank local disk (guest_format ``swap``, or the default ephemeral
    format: none) deleted on termination, a ``snapshot_id`` a snapshot-backed volume, a
    ``volume_id`` a volume; ``no_device`` keeps the mapping as it is.  The other new fields
    become None except boot_index, disk_bus, guest_format and device_type (not computable:
    kept in the database), ``delete_on_termination`` becomes a bool and a device name gets
    its ``/dev/`` prefix.  Other keys of the table (new-format ones) are dropped, as upstream.

    :raises InvalidBDMFormat: no way to read it, or a bad device name or volume size
    :raises Invalid: a key neither format nor the table has, given a value
    """
    unknown = [key for key, value in values.items() if value is not None and key not in LEGACY_FIELDS | NEW_FIELDS]
    unknown = [key for key in unknown if key not in DB_FIELDS]
    if unknown:
        raise errors.Invalid(f"{TABLE} has no column {unknown[0]!r:.80} that can be set here")
    new = {key: value for key, value in values.items() if key in COPIED_FROM_LEGACY}
    if new.get("no_device") is not None:
        new["no_device"] = check_bool(new["no_device"], "no_device")
    virtual_name = values.get("virtual_name")
    if _is_swap_or_ephemeral(virtual_name):
        new.update(source_type="blank", delete_on_termination=True, destination_type="local")
        new["guest_format"] = "swap" if virtual_name == "swap" else DEFAULT_EPHEMERAL_FORMAT
    elif values.get("snapshot_id"):
        new.update(source_type="snapshot", destination_type="volume")
    elif values.get("volume_id"):
        new.update(source_type="volume", destination_type="volume")
    elif not new.get("no_device"):
        raise _invalid("Unrecognized legacy format.")
    if not new.get("no_device"):
        _validate(new)
    name = new.get("device_name")
    if name and isinstance(name, str):
        new["device_name"] = "/dev/" + _DEV.sub("", name)  # nova's prepend_dev
    dot = new.get("delete_on_termination")
    new["delete_on_termination"] = False if dot is None else check_bool(dot, "delete_on_termination")
    converted: dict[str, Any] = dict.fromkeys(NEW_FIELDS - NOT_COMPUTABLE)
    converted.update(new)
    return converted


def _validate(bdm: dict[str, Any]) -> None:
    """``BlockDeviceDict._validate`` for a converted legacy mapping (it has its source_type)."""
    name = bdm.get("device_name")
    if name is not None:
        if not isinstance(name, str) or not 1 <= len(name) <= NAME_LENGTH:
            raise _invalid("Device name empty or too long.")
        if " " in name:
            raise _invalid("Device name contains spaces.")
    if bdm.get("volume_size"):
        try:
            bdm["volume_size"] = check_integer(bdm["volume_size"], "volume_size", 0, INT_MAX)
        except errors.Invalid:
            raise _invalid("Invalid volume_size.") from None


def _prepared(values: Any, legacy: Any, *, allow_updates: bool) -> dict[str, Any]:
    """The caller's values as the table stores them: scrubbed, converted from legacy, coerced.

    As Newton: an empty-string ``volume_size`` is dropped; legacy values are converted unless
    ``allow_updates`` and every key belongs to the new format or the DB fields.  A key neither
    format nor the table has, given as None, is dropped first: ignored, as by a create, it
    cannot send an update through the legacy conversion (Newton's ``is_safe_for_update``
    counted it).

    :raises Invalid: see ``_from_legacy`` and ``coerce_values``; ``id`` or ``deleted`` given
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    given = {
        key: value
        for key, value in values.items()
        if not (key == "volume_size" and value == "") and not (value is None and key not in KNOWN_FIELDS)
    }
    if check_bool(legacy, "legacy") and not (allow_updates and set(given) <= NEW_FIELDS | DB_FIELDS):
        given = _from_legacy(given)
    coerced = coerce_values("nova", TABLE, given, SETTABLE | {"id"}, parse_times=True)
    info = coerced.get("connection_info")
    if isinstance(info, str) and len(info) * 4 > CONNECTION_INFO_BYTES:
        if len(info.encode()) > CONNECTION_INFO_BYTES:
            raise errors.Invalid(f"connection_info is longer than {CONNECTION_INFO_BYTES} bytes")
    return coerced


def _no_id(given: dict[str, Any], allowed: int | None = None) -> dict[str, Any]:
    """``given`` without ``id``, which may only repeat ``allowed``.

    :raises Invalid: another id
    """
    if "id" in given and given.pop("id") != allowed:
        raise errors.Invalid(f"a block device mapping's id cannot be set{'' if allowed is None else ' or changed'}")
    return given


def _is_swap(given: Mapping[str, Any]) -> bool:
    """nova's ``new_format_is_swap``: a blank local disk formatted as swap."""
    return (
        given.get("source_type") == "blank"
        and given.get("destination_type") == "local"
        and given.get("guest_format") == "swap"
    )


# --- statements ----------------------------------------------------------------------------


async def _insert(context: Context, given: dict[str, Any]) -> Row:
    if "delete_on_termination" not in given:
        given = {**given, "delete_on_termination": False}  # the model's default
    rows = await insert_values(context, "nova.block_devices.bdm_create", given)
    if context.dialect == "mysql":
        rows = await context.fetch("nova.block_devices.bdm_read_back", id=None)
    return dict(rows[0])


async def _update(context: Context, bdm_id: int, given: Mapping[str, Any], visible: str) -> Row | None:
    """Change the given columns of the mapping ``bdm_id`` if ``visible`` (read_deleted) shows it."""
    params: dict[str, Any] = {"id": bdm_id, "read_deleted": visible}
    for column in UPDATE_COLUMNS:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    params["updated_at"] = given.get("updated_at") or utcnow()
    if context.dialect != "mysql":
        row = await context.fetchrow("nova.block_devices.bdm_update", **params)
        return None if row is None else dict(row)
    if await context.execute("nova.block_devices.bdm_update", **params) == 0:
        return None
    row = await context.fetchrow("nova.block_devices.bdm_read_back", id=bdm_id)
    return None if row is None else dict(row)


async def _with_instances(context: Context, rows: Sequence[Mapping[str, Any]], join: bool) -> list[Row]:
    """The mappings as dicts, each with its ``instance`` when ``join`` (one more query for them all)."""
    result = [dict(row) for row in rows]
    if not join:
        return result
    wanted = sorted({row["instance_uuid"] for row in result if row["deleted"] == 0 and row["instance_uuid"]})
    instances: dict[str, Row] = {}
    if wanted:
        for found in await context.fetch("nova.block_devices.instances_of_bdms", uuids=wanted):
            instances[found["uuid"]] = instance_dict(found, INSTANCE_JOINS)
    for row in result:
        row["instance"] = instances.get(row["instance_uuid"]) if row["deleted"] == 0 else None
    return result


# --- writers -------------------------------------------------------------------------------


@require_context
@writer
async def block_device_mapping_create(context: Context, values: Mapping[str, Any], legacy: bool = True) -> Row:
    """Create a block device mapping.

    :param values: the mapping's columns (see the module docstring), legacy ones converted when ``legacy``
    :returns: the mapping
    :raises InvalidBDMFormat: a legacy mapping nova could not read
    :raises DBReferenceError: no instance has this ``instance_uuid``
    :raises Invalid: a key the table lacks, ``id``/``deleted``, or a value its column cannot hold;
        nothing is written
    """
    given = _no_id(_prepared(values, legacy, allow_updates=False))
    return await _insert(context, given)


@require_context
@writer
async def block_device_mapping_update(
    context: Context, bdm_id: int, values: Mapping[str, Any], legacy: bool = True
) -> Row | None:
    """Change the given columns of a mapping visible to the caller; ``updated_at`` now unless given.

    Legacy values are converted (Newton's ``from_legacy``) unless every key is a new-format or DB field.

    :returns: the mapping, changed, or None when the caller sees no mapping with this id
    :raises Invalid: see ``block_device_mapping_create``; nothing is written
    """
    key = lookup_id(bdm_id, "bdm_id")
    given = _no_id(_prepared(values, legacy, allow_updates=True), key)
    if key is None:
        return None
    return await _update(context, key, given, read_deleted(context))


@writer
async def block_device_mapping_update_or_create(
    context: Context, values: Mapping[str, Any], legacy: bool = True
) -> Row:
    """Update the instance's mapping of ``values['device_name']``, or create one; one swap per instance.

    The instance's row is locked first, so concurrent callers for one device make one live
    mapping.  A mapping of the instance with this device name (as ``context.read_deleted``
    says, a live one first) gets the given columns (``updated_at`` now unless given, untouched
    when nothing changes); without a device name, or without such a mapping, a new one is
    created.  When the values describe a swap disk (blank, local, guest_format ``swap``), the
    instance's other live swap mappings are soft-deleted (nova 14.0.0; Grizzly's de-duplication
    by ``virtual_name``, a column Newton's schema no longer has, is not reproduced).

    :returns: the mapping updated or created
    :raises DBReferenceError: no instance has this ``instance_uuid``
    :raises Invalid: no ``instance_uuid``; see ``block_device_mapping_create``; nothing is written
    """
    given = _no_id(_prepared(values, legacy, allow_updates=True))
    instance_uuid = given.get("instance_uuid")
    if instance_uuid is None:
        raise errors.Invalid("values must have an instance_uuid")
    visible = read_deleted(context)
    await context.fetchrow("nova.block_devices.instance_lock", instance_uuid=instance_uuid)
    row = None
    if given.get("device_name"):
        row = await context.fetchrow(
            "nova.block_devices.bdm_find_by_device",
            instance_uuid=instance_uuid,
            device_name=given["device_name"],
            read_deleted=visible,
        )
    if row is None:
        result = await _insert(context, given)
    elif any(row[column] != value for column, value in given.items()):
        result = await _update(context, row["id"], given, "yes") or dict(row)
    else:
        result = dict(row)
    if _is_swap(given):
        await context.execute(
            "nova.block_devices.swaps_soft_delete",
            instance_uuid=instance_uuid,
            id=result["id"],
            read_deleted=visible,
            now=utcnow(),
        )
    return result


@require_context
@writer
async def block_device_mapping_destroy(context: Context, bdm_id: int) -> None:
    """Soft-delete a live mapping visible to the caller (``updated_at`` kept); none is no error.

    :raises Invalid: ``bdm_id`` is not an integer
    """
    key = lookup_id(bdm_id, "bdm_id")
    if key is not None:
        await context.execute(
            "nova.block_devices.bdm_destroy", id=key, read_deleted=read_deleted(context), now=utcnow()
        )


@require_context
@writer
async def block_device_mapping_destroy_by_instance_and_volume(
    context: Context, instance_uuid: str, volume_id: str
) -> None:
    """Soft-delete the instance's live mappings of a volume (``updated_at`` kept); none is no error.

    :raises Invalid: a key is not a string
    """
    uuid = lookup_text(instance_uuid, "instance_uuid", UUID_LENGTH)
    volume = lookup_text(volume_id, "volume_id", UUID_LENGTH)
    if uuid is not None and volume is not None:
        await context.execute(
            "nova.block_devices.bdm_destroy_by_instance_and_volume",
            instance_uuid=uuid,
            volume_id=volume,
            read_deleted=read_deleted(context),
            now=utcnow(),
        )


@require_context
@writer
async def block_device_mapping_destroy_by_instance_and_device(
    context: Context, instance_uuid: str, device_name: str
) -> None:
    """Soft-delete the instance's live mappings of a device (``updated_at`` kept); none is no error.

    :raises Invalid: a key is not a string
    """
    uuid = lookup_text(instance_uuid, "instance_uuid", UUID_LENGTH)
    device = lookup_text(device_name, "device_name", NAME_LENGTH)
    if uuid is not None and device is not None:
        await context.execute(
            "nova.block_devices.bdm_destroy_by_instance_and_device",
            instance_uuid=uuid,
            device_name=device,
            read_deleted=read_deleted(context),
            now=utcnow(),
        )


# --- readers -------------------------------------------------------------------------------


@require_context
@reader
async def block_device_mapping_get_all_by_instance_uuids(context: Context, instance_uuids: Sequence[str]) -> list[Row]:
    """The mappings of some instances (``[]``, and no query, for none).

    :raises Invalid: ``instance_uuids`` is not a list (tuple, set) of strings
    """
    if isinstance(instance_uuids, (str, bytes)) or not isinstance(instance_uuids, (Sequence, AbstractSet)):
        raise errors.Invalid(f"instance_uuids must be a list of uuids, not {type(instance_uuids).__name__}")
    wanted = [
        uuid
        for uuid in dict.fromkeys(lookup_text(u, "instance_uuids", UUID_LENGTH) for u in instance_uuids)
        if uuid is not None
    ]
    if not wanted:
        return []
    rows = await context.fetch(
        "nova.block_devices.bdms_by_instance_uuids", instance_uuids=wanted, read_deleted=read_deleted(context)
    )
    return [dict(row) for row in rows]


@require_context
@reader
async def block_device_mapping_get_all_by_instance(context: Context, instance_uuid: str) -> list[Row]:
    """The mappings of an instance.

    :raises Invalid: ``instance_uuid`` is not a string
    """
    uuid = lookup_text(instance_uuid, "instance_uuid", UUID_LENGTH)
    if uuid is None:
        return []
    rows = await context.fetch(
        "nova.block_devices.bdms_by_instance", instance_uuid=uuid, read_deleted=read_deleted(context)
    )
    return [dict(row) for row in rows]


@require_context
@reader
async def block_device_mapping_get_all_by_volume_id(
    context: Context, volume_id: str, columns_to_join: Sequence[str] | None = None
) -> list[Row]:
    """The mappings of a volume, each with its ``instance`` when ``columns_to_join`` is ``['instance']``.

    :raises Invalid: ``volume_id`` is not a string; ``columns_to_join`` names something else
    """
    join = _joins_instance(columns_to_join)
    volume = lookup_text(volume_id, "volume_id", UUID_LENGTH)
    if volume is None:
        return []
    rows = await context.fetch(
        "nova.block_devices.bdms_by_volume_id", volume_id=volume, read_deleted=read_deleted(context)
    )
    return await _with_instances(context, rows, join)


@require_context
@reader
async def block_device_mapping_get_by_instance_and_volume_id(
    context: Context, volume_id: str, instance_uuid: str, columns_to_join: Sequence[str] | None = None
) -> Row | None:
    """The (first) mapping of a volume to an instance, or None; with ``instance`` when joined.

    :raises Invalid: a key is not a string; ``columns_to_join`` names something else
    """
    join = _joins_instance(columns_to_join)
    volume = lookup_text(volume_id, "volume_id", UUID_LENGTH)
    uuid = lookup_text(instance_uuid, "instance_uuid", UUID_LENGTH)
    if volume is None or uuid is None:
        return None
    row = await context.fetchrow(
        "nova.block_devices.bdm_by_instance_and_volume_id",
        volume_id=volume,
        instance_uuid=uuid,
        read_deleted=read_deleted(context),
    )
    if row is None:
        return None
    return (await _with_instances(context, [row], join))[0]
