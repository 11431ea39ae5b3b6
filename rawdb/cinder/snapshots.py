"""Cinder's snapshots, async (``cinder/db/sqlalchemy/api.py`` at 2012.2; spec A.2, A.5 "Snapshots").

A *snapshot* is a dict of the ``snapshots`` columns::

    id, user_id, project_id, volume_id, status, progress, volume_size, display_name,
    display_description, created_at, updated_at, deleted_at, deleted

plus the model's two computed keys that cinder's drivers read: ``name`` (``'snapshot-<id>'``) and
``volume_name`` (``'volume-<volume_id>'``, its volume's ``name``), from Folsom's default
``snapshot_name_template`` and ``volume_name_template``.  Lists come oldest first (``created_at``,
then ``id``; Folsom gave engine order).

Authorization as Folsom's decorators: ``snapshot_destroy`` and ``snapshot_get_all`` are for admins;
the rest for admins and user contexts, ``snapshot_get_all_by_project`` only for the caller's own
project (``authorize_project_context``), and a user context reads and updates only its project's
snapshots (``project_only``): another project's snapshot is ``SnapshotNotFound``.

Where rawdb departs from Folsom:

- ``snapshot_create`` needs ``volume_id`` (the column is NOT NULL) and leaves the caller's
  ``values`` unchanged (Folsom wrote the new id into it); ``deleted``/``deleted_at`` and the
  computed keys cannot be set; any other key with a value the table has no column for, a
  value of the wrong type, a string too long for its column or containing NUL is ``Invalid``,
  and nothing is written.  An id already taken is ``DBDuplicateEntry``.
- ``snapshot_destroy`` soft-deletes only a live snapshot: deleting it again keeps the first
  ``deleted_at`` (Folsom rewrote it); an unknown id is no error, as in Folsom.
- ``snapshot_update`` sets ``updated_at`` to now (unless given) whenever ``values`` is not empty;
  its ``id``, ``deleted`` and ``deleted_at`` cannot be changed.  It finds the snapshot as
  ``snapshot_get`` does (``context.read_deleted``, ``project_only``) in the same statement.
- An id no row can hold (too long, NUL) finds nothing; an id that is not a string is ``Invalid``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from rawdb import errors
from rawdb.cinder._volume_values import VOLUME_NAME  # Folsom's FLAGS.volume_name_template
from rawdb.context import Context
from rawdb.conventions import (
    authorize_project_context,
    coerce_values,
    insert_values,
    project_only,
    read_deleted,
    require_admin_context,
    require_context,
)
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

ID_LENGTH = 36
SNAPSHOT_NAME = "snapshot-%s"  # Folsom's FLAGS.snapshot_name_template
# The columns snapshot_update may change (snapshot_create takes these and ``id``).
UPDATABLE = frozenset(
    {
        "user_id",
        "project_id",
        "volume_id",
        "status",
        "progress",
        "volume_size",
        "display_name",
        "display_description",
        "created_at",
        "updated_at",
    }
)


def _snapshot(row: Mapping[str, Any]) -> Row:
    """A snapshot row as callers get it: ``deleted`` a bool, with ``name`` and ``volume_name``."""
    snapshot = dict(row)
    snapshot["deleted"] = bool(snapshot["deleted"])
    snapshot["name"] = SNAPSHOT_NAME % snapshot["id"]
    snapshot["volume_name"] = VOLUME_NAME % snapshot["volume_id"]
    return snapshot


def _lookup(value: Any, what: str) -> str | None:
    """An id (or project id) to look rows up by, or None when no row can hold it.

    :raises Invalid: not a string
    """
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
        return None
    return value


def _snapshot_id(value: Any) -> str | None:
    key = _lookup(value, "snapshot_id")
    return key if key is not None and len(key) <= ID_LENGTH else None


@require_context
@writer
async def snapshot_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a snapshot.

    :param values: the snapshot's columns: ``volume_id`` (required), ``id`` (default: a new
        uuid4), ``user_id``, ``project_id``, ``status``, ``progress``, ``volume_size``,
        ``display_name``, ``display_description``, ``created_at``, ``updated_at``
    :returns: the snapshot
    :raises Invalid: see the module's notes; nothing is written
    :raises DBDuplicateEntry: a snapshot has the id
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    columns = dict(values)
    if not columns.get("id"):
        columns["id"] = str(uuid.uuid4())
    if columns.get("volume_id") is None:
        raise errors.Invalid("volume_id is required: a snapshot is of a volume")
    rows = await insert_values(context, "cinder.snapshots.snapshot_create", columns)
    if context.dialect == "mysql":  # no RETURNING
        rows = await context.fetch("cinder.snapshots.snapshot_read_back", id=columns["id"])
    return _snapshot(rows[0])


@require_admin_context
@writer
async def snapshot_destroy(context: Context, snapshot_id: str) -> None:
    """Soft-delete a snapshot (admins only; ``updated_at`` kept).  An unknown id is no error.

    :raises Invalid: the id is not a string
    """
    key = _snapshot_id(snapshot_id)
    if key is not None:
        await context.execute("cinder.snapshots.snapshot_destroy", snapshot_id=key, now=utcnow())


@require_context
@reader
async def snapshot_get(context: Context, snapshot_id: str) -> Row:
    """A snapshot, visible as ``context.read_deleted`` says; a user context's only in its project.

    :raises SnapshotNotFound: none
    :raises Invalid: the id is not a string
    """
    key = _snapshot_id(snapshot_id)
    row = None
    if key is not None:
        row = await context.fetchrow(
            "cinder.snapshots.snapshot_get",
            snapshot_id=key,
            read_deleted=read_deleted(context),
            **project_only(context),
        )
    if row is None:
        raise errors.SnapshotNotFound(snapshot_id=snapshot_id)
    return _snapshot(row)


@require_admin_context
@reader
async def snapshot_get_all(context: Context) -> list[Row]:
    """Every snapshot visible as ``context.read_deleted`` says (admins only)."""
    rows = await context.fetch("cinder.snapshots.snapshot_get_all", read_deleted=read_deleted(context))
    return [_snapshot(row) for row in rows]


@require_context
@reader
async def snapshot_get_all_by_project(context: Context, project_id: str) -> list[Row]:
    """A project's snapshots, visible as ``context.read_deleted`` says.

    :raises NotAuthorized: a user context asking for another project
    :raises Invalid: the project id is not a string
    """
    authorize_project_context(context, project_id)
    key = _lookup(project_id, "project_id")
    if key is None:
        return []
    rows = await context.fetch(
        "cinder.snapshots.snapshot_get_all_by_project", project_id=key, read_deleted=read_deleted(context)
    )
    return [_snapshot(row) for row in rows]


@require_context
@reader
async def snapshot_get_all_for_volume(context: Context, volume_id: str) -> list[Row]:
    """A volume's live snapshots (a user context sees its project's only).

    :raises Invalid: the volume id is not a string
    """
    key = _lookup(volume_id, "volume_id")
    if key is None or len(key) > ID_LENGTH:
        return []
    rows = await context.fetch("cinder.snapshots.snapshot_get_all_for_volume", volume_id=key, **project_only(context))
    return [_snapshot(row) for row in rows]


@require_context
@writer
async def snapshot_update(context: Context, snapshot_id: str, values: Mapping[str, Any]) -> None:
    """Set the given columns of a snapshot found as ``snapshot_get`` finds it.

    :param values: any of the columns ``snapshot_create`` takes but ``id``
    :raises SnapshotNotFound: none
    :raises Invalid: a key that cannot be set, a value its column cannot hold; nothing is written
    """
    columns = coerce_values("cinder", "snapshots", values, UPDATABLE)
    key = _snapshot_id(snapshot_id)
    visible = {"read_deleted": read_deleted(context), **project_only(context)}
    found = 0
    if key is not None and not columns:  # nothing to change: only whether it is there
        found = int(await context.fetchrow("cinder.snapshots.snapshot_get", snapshot_id=key, **visible) is not None)
    elif key is not None:
        params: dict[str, Any] = {}
        for column in UPDATABLE - {"updated_at"}:
            params[f"set_{column}"] = column in columns
            params[column] = columns.get(column)
        params["updated_at"] = columns.get("updated_at") or utcnow()
        found = await context.execute("cinder.snapshots.snapshot_update", snapshot_id=key, **params, **visible)
    if not found:
        raise errors.SnapshotNotFound(snapshot_id=snapshot_id)
