"""What ``rawdb.cinder.volumes`` checks and shapes in Python: arguments, metadata, result rows.

A volume is its columns (``VOLUME_COLUMNS``), the model's computed ``name`` (``'volume-<id>'``,
Folsom's default ``volume_name_template``, which cinder's volume manager and drivers read as
``volume['name']``), ``volume_metadata`` (its live metadata rows, oldest first) and
``volume_type`` (its live volume type's row, or None): what Folsom's model gave with both
relationships joined.  The statements return the type's columns prefixed ``type_``; ``nest``
folds them back.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from typing import Any

from rawdb import errors
from rawdb.checks import lookup_text
from rawdb.conventions import coerce, table_columns

Row = dict[str, Any]

VOLUME_COLUMNS = (
    "id",
    "ec2_id",
    "user_id",
    "project_id",
    "snapshot_id",
    "host",
    "size",
    "availability_zone",
    "instance_uuid",
    "mountpoint",
    "attach_time",
    "status",
    "attach_status",
    "scheduled_at",
    "launched_at",
    "terminated_at",
    "display_name",
    "display_description",
    "provider_location",
    "provider_auth",
    "volume_type_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
)
# The columns volume_update may change (not the id: metadata and targets refer to it).
UPDATABLE = tuple(c for c in VOLUME_COLUMNS if c not in ("id", "updated_at"))
TYPE_COLUMNS = ("id", "name", "created_at", "updated_at", "deleted_at", "deleted")
TYPE_PREFIX = "type_"
ID_LENGTH, NAME_LENGTH = 36, 255
VOLUME_NAME = "volume-%s"  # Folsom's FLAGS.volume_name_template: Volume.name


# --- arguments -----------------------------------------------------------------------------


def volume_key(volume_id: Any) -> str | None:
    """A volume id to look a volume up by, or None when no volume can have it.

    :raises Invalid: not a string
    """
    return lookup_text(volume_id, "volume_id", ID_LENGTH)


def instance_uuid_arg(value: Any) -> str:
    """An instance uuid to attach a volume to: what Folsom's ``is_uuid_like`` accepts, as given.

    :raises InvalidUUID: not a uuid (or a form of one the 36-character column cannot hold)
    """
    try:
        uuidlib.UUID(value)
    except (TypeError, ValueError, AttributeError):
        raise errors.InvalidUUID(uuid=value) from None
    if len(value) > ID_LENGTH:
        raise errors.InvalidUUID(uuid=value)
    return str(value)


def metadata_items(metadata: Any) -> dict[str, str | None]:
    """A metadata dict whose keys and values the volume_metadata columns hold.

    :raises Invalid: not a dict, a key that is not a string, a key or value too long, not a
        string, or holding NUL
    """
    if not isinstance(metadata, Mapping):
        raise errors.Invalid(f"metadata must be a dict, not {type(metadata).__name__}")
    columns = table_columns("cinder")["volume_metadata"]
    items: dict[str, str | None] = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise errors.Invalid(f"metadata keys must be strings, not {type(key).__name__}")
        items[coerce(columns["key"], "metadata key", key)] = coerce(columns["value"], f"metadata[{key!r:.40}]", value)
    return items


def pairs_json(items: Mapping[str, str | None]) -> str:
    """``[{"key": k, "value": v}, ...]``: what metadata_insert reads."""
    return json.dumps([{"key": key, "value": value} for key, value in items.items()])


def changes_json(changes: Sequence[tuple[int, str | None]]) -> str:
    """``[{"id": i, "value": v}, ...]``: what metadata_set_values reads."""
    return json.dumps([{"id": row_id, "value": value} for row_id, value in changes])


def update_params(given: Mapping[str, Any], now: Any) -> dict[str, Any]:
    """The parameters of volume_update: a ``set_<c>`` flag and a value per column, and updated_at."""
    params: dict[str, Any] = {}
    for column in UPDATABLE:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    params["updated_at"] = given.get("updated_at") or now
    return params


# --- results -------------------------------------------------------------------------------


def nest(rows: Sequence[Mapping[str, Any]], metadata: Sequence[Mapping[str, Any]]) -> list[Row]:
    """Volumes as upstream gave them: columns, ``name``, ``volume_metadata`` and ``volume_type``.

    :param rows: rows of a volume statement (the type's columns prefixed ``type_``)
    :param metadata: the live metadata rows of those volumes, oldest first
    """
    children: dict[str, list[Row]] = {}
    for item in metadata:
        children.setdefault(item["volume_id"], []).append(dict(item))
    result = []
    for row in rows:
        volume = {column: row[column] for column in VOLUME_COLUMNS}
        volume["name"] = VOLUME_NAME % row["id"]
        volume["volume_metadata"] = children.get(row["id"], [])
        volume["volume_type"] = (
            None
            if row[f"{TYPE_PREFIX}id"] is None
            else {column: row[f"{TYPE_PREFIX}{column}"] for column in TYPE_COLUMNS}
        )
        result.append(volume)
    return result
