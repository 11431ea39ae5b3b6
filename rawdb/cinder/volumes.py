"""Cinder's volumes and volume metadata (``cinder/db/sqlalchemy/api.py`` at 2012.2, spec A.5), async.

A *volume* is a dict of the ``volumes`` columns plus the model's computed ``name``
(``'volume-<id>'``, Folsom's default ``volume_name_template``: cinder's volume manager and
drivers read ``volume['name']``), ``volume_metadata`` (its live metadata rows: ``id, key, value,
volume_id, created_at, updated_at, deleted_at, deleted``, oldest first) and ``volume_type`` (its
live volume type's ``id, name, created_at, updated_at, deleted_at, deleted``, or None), from
every getter alike.  Lists are oldest first (a NULL ``created_at`` last), then by id.
``volume_get`` and the metadata functions see a volume as ``context.read_deleted`` says and, for
a user context, only in the caller's project (``project_only``): another project's volume is
``VolumeNotFound``.

Values come as upstream's callers send them (see ``rawdb.conventions.coerce_values``); a key
``volumes`` has no column for with a value other than None (``name`` among them: it is computed,
as the model's property had no setter), a value a column cannot hold (too long, NUL, the wrong
type) or a metadata key or value that is not a string of at most 255 characters is ``Invalid``,
and nothing is written.  A lookup id no volume can have (over 36 characters, NUL) finds nothing.

Where rawdb departs from Folsom:

- ``volume_update`` replaces the metadata and changes the columns in ONE transaction (Folsom
  replaced the metadata first, row by row, in autocommit: a failure after it left the new
  metadata with the old columns; spec F.1 29).  ``volume_metadata_update`` is atomic too, and
  locks the volume row (PostgreSQL, MariaDB), so concurrent writers of one volume's metadata
  never create two live rows for a key.  Keys it drops get ``deleted_at`` as well as ``deleted``
  (Folsom set only ``deleted``); a value that does not change is left alone (as the ORM did).
- ``volume_create`` by a user context for another project raises ``VolumeNotFound`` (what
  Folsom's read-back raised) before writing anything (Folsom had committed the volume).
- ``volume_update`` cannot change ``id`` (``Invalid``): metadata and targets refer to it.
- ``volume_destroy`` soft-deletes only live rows, so a second call keeps the first
  ``deleted_at`` of the volume and of its metadata.
- ``volume_data_get_for_project`` takes no ``session`` (rawdb has none to pass, spec B.8).
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.checks import check_bool, check_datetime, lookup_text
from rawdb.cinder import _volume_values as values_
from rawdb.context import Context
from rawdb.conventions import (
    authorize_project_context,
    coerce_values,
    insert_values,
    is_user_context,
    project_only,
    read_deleted,
    require_admin_context,
    require_context,
)
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]


async def _volumes(context: Context, statement: str, **params: Any) -> list[Row]:
    """The volumes a volume statement returns, each with its metadata (one more statement)."""
    rows = await context.fetch(statement, **params)
    if not rows:
        return []
    metadata = await context.fetch("cinder.volumes.metadata_of_volumes", volume_ids=[row["id"] for row in rows])
    return values_.nest(rows, metadata)


async def _get(context: Context, volume_id: str | None, shown: Any) -> Row:
    """The volume, as read_deleted and project_only allow.

    :raises VolumeNotFound: none
    """
    found = []
    if volume_id is not None:
        found = await _volumes(
            context,
            "cinder.volumes.volume_get",
            volume_id=volume_id,
            read_deleted=read_deleted(context),
            **project_only(context),
        )
    if not found:
        raise errors.VolumeNotFound(volume_id=shown)
    return found[0]


async def _check_volume(context: Context, volume_id: Any, *, lock: bool) -> str:
    """Folsom's ``require_volume_exists``: the volume's id, once its existence is checked (and its row locked).

    :raises VolumeNotFound: not visible to the caller
    :raises Invalid: ``volume_id`` is not a string
    """
    key = values_.volume_key(volume_id)
    row = None
    if key is not None:
        statement = "cinder.volumes.volume_lock" if lock else "cinder.volumes.volume_exists"
        row = await context.fetchrow(
            statement, volume_id=key, read_deleted=read_deleted(context), **project_only(context)
        )
    if row is None:
        raise errors.VolumeNotFound(volume_id=volume_id)
    return key  # type: ignore[return-value]  # a row was found, so key is not None


async def _replace_metadata(context: Context, volume_id: str, items: Mapping[str, str | None], delete: bool) -> None:
    """Set the volume's metadata to ``items`` (dropping other keys when ``delete``), in the caller's transaction.

    At most four statements: read the live rows, soft-delete the dropped ones, change the
    values that differ (every live row of a key), insert the new keys in their order.
    """
    live = await context.fetch("cinder.volumes.metadata_live", volume_id=volume_id)
    now = utcnow()
    dropped = [row["id"] for row in live if delete and row["key"] not in items]
    changed = [(row["id"], items[k]) for row in live if (k := row["key"]) in items and row["value"] != items[k]]
    present = {row["key"] for row in live}
    added = {key: value for key, value in items.items() if key not in present}
    if dropped:
        await context.execute("cinder.volumes.metadata_delete_rows", ids=dropped, now=now)
    if changed:
        await context.execute("cinder.volumes.metadata_set_values", items=values_.changes_json(changed), now=now)
    if added:
        await context.execute(
            "cinder.volumes.metadata_insert", volume_id=volume_id, items=values_.pairs_json(added), now=now
        )


# --- volumes -------------------------------------------------------------------------------


@require_context
@writer
async def volume_create(context: Context, values: Mapping[str, Any]) -> Row:
    """Create a volume and its metadata rows (``values['metadata']``, a dict).

    :param values: ``volumes`` columns (``id`` a new uuid4 when absent) and ``metadata``
    :returns: the volume, as ``volume_get`` gives it
    :raises VolumeNotFound: a user context creating a volume in another project (what
        Folsom's read-back raised); nothing is written
    :raises DBDuplicateEntry: a volume has this id
    :raises Invalid: an unknown key, a value its column cannot hold, bad metadata; nothing is written
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    given = dict(values)
    metadata = given.pop("metadata", None)
    items = {} if metadata is None else values_.metadata_items(metadata)
    if not given.get("id"):
        given["id"] = str(uuidlib.uuid4())
    checked = coerce_values("cinder", "volumes", given, frozenset(values_.VOLUME_COLUMNS))
    if is_user_context(context) and checked.get("project_id") != context.project_id:
        raise errors.VolumeNotFound(volume_id=checked["id"])
    await insert_values(context, "cinder.volumes.volume_create", checked)
    if items:
        await context.execute(
            "cinder.volumes.metadata_insert", volume_id=checked["id"], items=values_.pairs_json(items), now=utcnow()
        )
    return await _get(context, checked["id"], checked["id"])


@require_context
@reader
async def volume_get(context: Context, volume_id: str) -> Row:
    """A volume, as ``context.read_deleted`` allows; a user context sees only its project's.

    :raises VolumeNotFound: none visible
    :raises Invalid: ``volume_id`` is not a string
    """
    return await _get(context, values_.volume_key(volume_id), volume_id)


@require_admin_context
@reader
async def volume_get_all(context: Context) -> list[Row]:
    """Every volume, as ``context.read_deleted`` allows (admins only)."""
    return await _volumes(context, "cinder.volumes.volume_get_all", read_deleted=read_deleted(context))


@require_admin_context
@reader
async def volume_get_all_by_host(context: Context, host: str) -> list[Row]:
    """The volumes of a host, as ``context.read_deleted`` allows (admins only).

    :raises Invalid: ``host`` is not a string
    """
    key = lookup_text(host, "host")
    if key is None:
        return []
    return await _volumes(
        context, "cinder.volumes.volume_get_all_by_host", host=key, read_deleted=read_deleted(context)
    )


@require_admin_context
@reader
async def volume_get_all_by_instance_uuid(context: Context, instance_uuid: str) -> list[Row]:
    """The live volumes attached to an instance (admins only).

    :raises Invalid: ``instance_uuid`` is not a string
    """
    key = lookup_text(instance_uuid, "instance_uuid", values_.ID_LENGTH)
    if key is None:
        return []
    return await _volumes(context, "cinder.volumes.volume_get_all_by_instance_uuid", instance_uuid=key)


@require_context
@reader
async def volume_get_all_by_project(context: Context, project_id: str) -> list[Row]:
    """The volumes of a project, as ``context.read_deleted`` allows.

    :raises NotAuthorized: a user context asking for another project
    :raises Invalid: ``project_id`` is not a string
    """
    authorize_project_context(context, project_id)
    key = lookup_text(project_id, "project_id")
    if key is None:
        return []
    return await _volumes(
        context, "cinder.volumes.volume_get_all_by_project", project_id=key, read_deleted=read_deleted(context)
    )


@require_context
@reader
async def volume_get_active_by_window(
    context: Context, begin: datetime, end: datetime | None = None, project_id: str | None = None
) -> list[Row]:
    """The volumes, deleted or not, active during a window: not deleted before ``begin``,
    created before ``end`` (if given), of ``project_id`` (if given).

    As upstream, no ``read_deleted`` or project restriction applies beyond these.

    :raises Invalid: ``begin``/``end`` not datetimes, ``project_id`` not a string
    """
    start = check_datetime(begin, "begin")
    finish = check_datetime(end, "end") if end else None
    project = lookup_text(project_id, "project_id") if project_id else None
    if project_id and project is None:
        return []
    return await _volumes(
        context,
        "cinder.volumes.volume_get_active_by_window",
        begin=start,
        has_end=finish is not None,
        end=finish,
        has_project=project is not None,
        project_id=project,
    )


@require_context
@writer(retry=True)
async def volume_update(context: Context, volume_id: str, values: Mapping[str, Any]) -> None:
    """Change a volume's columns and, when ``values['metadata']`` is not None, replace its metadata.

    Both in one transaction: a failure leaves the volume as it was (Folsom replaced the
    metadata first, in a transaction of its own).

    :param values: ``volumes`` columns (not ``id``), ``updated_at`` (default now), ``metadata``
    :raises VolumeNotFound: not visible to the caller (``read_deleted``, ``project_only``)
    :raises Invalid: an unknown key, a value its column cannot hold, bad metadata; nothing is written
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid(f"values must be a dict, not {type(values).__name__}")
    given = dict(values)
    metadata = given.pop("metadata", None)
    items = None if metadata is None else values_.metadata_items(metadata)
    checked = coerce_values("cinder", "volumes", given, frozenset((*values_.UPDATABLE, "updated_at")))
    key = values_.volume_key(volume_id)
    if items is not None:
        key = await _check_volume(context, volume_id, lock=True)
        await _replace_metadata(context, key, items, delete=True)
    changed = 0
    if key is not None:
        changed = await context.execute(
            "cinder.volumes.volume_update",
            volume_id=key,
            read_deleted=read_deleted(context),
            **project_only(context),
            **values_.update_params(checked, utcnow()),
        )
    if not changed:
        raise errors.VolumeNotFound(volume_id=volume_id)


@require_admin_context
@writer
async def volume_destroy(context: Context, volume_id: str) -> None:
    """Soft-delete a live volume (``updated_at`` kept), free its iSCSI target, soft-delete its metadata.

    One transaction; an unknown volume changes nothing and is no error (as upstream).

    :raises Invalid: ``volume_id`` is not a string
    """
    key = values_.volume_key(volume_id)
    if key is None:
        return
    now = utcnow()
    await context.execute("cinder.volumes.volume_destroy", volume_id=key, now=now)
    await context.execute("cinder.volumes.volume_release_iscsi_target", volume_id=key, now=now)
    await context.execute("cinder.volumes.volume_destroy_metadata", volume_id=key, now=now)


@require_admin_context
@writer
async def volume_attached(context: Context, volume_id: str, instance_id: str, mountpoint: str) -> None:
    """Mark a volume attached to an instance at a mountpoint (status ``in-use``; ``attach_time`` untouched).

    :param instance_id: the instance's uuid (cinder's listing names it ``instance_id``)
    :raises InvalidUUID: ``instance_id`` is not a uuid; nothing is written
    :raises VolumeNotFound: none, as ``context.read_deleted`` allows
    :raises Invalid: ``volume_id`` is not a string, ``mountpoint`` not a string of at most 255 characters
    """
    instance_uuid = values_.instance_uuid_arg(instance_id)
    column = coerce_values("cinder", "volumes", {"mountpoint": mountpoint}).get("mountpoint")
    key = values_.volume_key(volume_id)
    changed = 0
    if key is not None:
        changed = await context.execute(
            "cinder.volumes.volume_attached",
            volume_id=key,
            instance_uuid=instance_uuid,
            mountpoint=column,
            read_deleted=read_deleted(context),
            now=utcnow(),
        )
    if not changed:
        raise errors.VolumeNotFound(volume_id=volume_id)


@require_admin_context
@writer
async def volume_detached(context: Context, volume_id: str) -> None:
    """Mark a volume detached (status ``available``, no instance, no mountpoint).

    :raises VolumeNotFound: none, as ``context.read_deleted`` allows
    :raises Invalid: ``volume_id`` is not a string
    """
    key = values_.volume_key(volume_id)
    changed = 0
    if key is not None:
        changed = await context.execute(
            "cinder.volumes.volume_detached", volume_id=key, read_deleted=read_deleted(context), now=utcnow()
        )
    if not changed:
        raise errors.VolumeNotFound(volume_id=volume_id)


@require_admin_context
@reader
async def volume_data_get_for_project(context: Context, project_id: str) -> tuple[int, int]:
    """``(count, total size)`` of a project's live volumes; ``(0, 0)`` for none.

    :raises Invalid: ``project_id`` is not a string
    """
    key = lookup_text(project_id, "project_id")
    if key is None:
        return (0, 0)
    row = await context.fetchrow("cinder.volumes.volume_data_get_for_project", project_id=key)
    assert row is not None  # an aggregate always has its row
    return (int(row["volumes"] or 0), int(row["gigabytes"] or 0))


# --- metadata ------------------------------------------------------------------------------


@require_context
@reader
async def volume_metadata_get(context: Context, volume_id: str) -> dict[str, str | None]:
    """A volume's live metadata, ``{key: value}``.

    :raises VolumeNotFound: the volume is not visible to the caller
    :raises Invalid: ``volume_id`` is not a string
    """
    key = await _check_volume(context, volume_id, lock=False)
    rows = await context.fetch("cinder.volumes.metadata_live", volume_id=key)
    return {row["key"]: row["value"] for row in rows}


@require_context
@writer
async def volume_metadata_delete(context: Context, volume_id: str, key: str) -> None:
    """Soft-delete a volume's live metadata with ``key`` (``updated_at`` kept); no error if it has none.

    :raises VolumeNotFound: the volume is not visible to the caller
    :raises Invalid: ``volume_id`` or ``key`` is not a string
    """
    checked = await _check_volume(context, volume_id, lock=False)
    lookup = lookup_text(key, "key")
    if lookup is not None:
        await context.execute("cinder.volumes.metadata_delete", volume_id=checked, key=lookup, now=utcnow())


@require_context
@writer(retry=True)
async def volume_metadata_update(
    context: Context, volume_id: str, metadata: Mapping[str, Any], delete: bool
) -> Mapping[str, Any]:
    """Set a volume's metadata keys to ``metadata``'s values; with ``delete``, soft-delete the other keys.

    One transaction (Folsom saved row by row): a failure changes nothing.

    :returns: ``metadata``, as upstream
    :raises VolumeNotFound: the volume is not visible to the caller (checked first)
    :raises Invalid: ``metadata`` not a dict of strings at most 255 characters long, ``delete``
        not a boolean; nothing is written
    """
    key = await _check_volume(context, volume_id, lock=True)  # first, as Folsom's require_volume_exists
    items = values_.metadata_items(metadata)
    replace = check_bool(delete, "delete")
    await _replace_metadata(context, key, items, replace)
    return metadata
