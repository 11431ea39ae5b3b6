"""An instance's children in nova's DB API (nova/db/sqlalchemy/api.py at 14.0.0), async, on rawdb.

The network info cache, user metadata, system metadata, the ``instance_extra`` row and tags.

Where rawdb departs from Newton, and why:

- Info cache: creating a missing row runs in a savepoint and a duplicate is swallowed, as
  Newton (nova bug 1378459: the re-created row is persisted).  The caller that loses the
  race then updates the row the winner created, so no update is lost (Newton kept the
  winner's values).  A soft-deleted row is never revived: it keeps the instance's uuid
  (instance_uuid is unique), so under ``read_deleted='no'`` the update writes nothing and
  returns the stored deleted row, and a context that can see it gets
  ``InstanceInfoCacheNotFound`` (both as Newton).
- Metadata and tag writes lock the instance row first, so concurrent writers of one
  instance take turns: two updates adding the same metadata key leave one live row, and
  concurrent ``instance_tag_set`` calls end with one caller's set, never a mix (Newton
  could do both).  A soft delete never re-stamps a row that is deleted already.  A value
  that does not change leaves its row (and ``updated_at``) alone, as the ORM's flush did.
- Tags come back ordered by tag (by code point, on every backend): the table has no id
  to keep insertion order by.  A tag is any string of up to 80 characters the column can
  hold; what nova's API refuses besides ('/', ',', empty tags) is the API's business.
- Removed keys of ``instance_system_metadata_update`` are soft-deleted (at 14.0.0 only
  ``instance_update`` hard-deletes system metadata).
- The foreign keys to ``instances.uuid`` hold on every backend: a child of an instance
  that does not exist is ``DBReferenceError`` (Newton's SQLite tests had no foreign keys).
- Writers retry the whole scope on deadlocks when they own it (``@writer(retry=True)``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import (
    Column,
    check_bool,
    coerce,
    coerce_values,
    insert_values,
    project_only,
    read_deleted,
    require_context,
    table_columns,
)
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]

INFO_CACHE_SETTABLE = frozenset({"network_info", "instance_uuid", "created_at", "updated_at"})
# instance_extra's deferred TEXT columns, and the ones Newton loads when ``columns`` is None.
EXTRA_DEFERRED = (
    "device_metadata",
    "numa_topology",
    "pci_requests",
    "flavor",
    "vcpu_model",
    "migration_context",
    "keypairs",
)
EXTRA_DEFAULT_COLUMNS = ("numa_topology", "pci_requests", "flavor", "vcpu_model", "migration_context")
EXTRA_SETTABLE = frozenset({*EXTRA_DEFERRED, "updated_at"})
# Whether a dialect's UPDATE can return the row it changed (MariaDB/MySQL reads it back).
UPDATE_RETURNS = {"postgresql": True, "sqlite": True, "mysql": False}

_ANY_TEXT = Column("instance_uuid", "string", None, False)  # NUL and lone surrogates refused
_UUID = Column("instance_uuid", "string", 36, False)


def _uuid(instance_uuid: Any, *, write: bool = False) -> str:
    """An instance uuid to look up (any string a database can be asked about) or to write (36 at most).

    :raises Invalid: not a string; NUL or a lone surrogate; (write) longer than 36 characters
    """
    if not isinstance(instance_uuid, str):
        raise errors.Invalid(f"instance_uuid must be a string, not {type(instance_uuid).__name__}")
    return str(coerce(_UUID if write else _ANY_TEXT, "instance_uuid", instance_uuid))


def _text(value: Any, what: str) -> str:
    """A string to look up: NUL and lone surrogates refused.

    :raises Invalid: not a string, or not storable
    """
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    return str(coerce(_ANY_TEXT, what, value))


async def _lock_instance(context: Context, instance_uuid: str, visibility: str, mode: Any) -> bool:
    """Lock the instance row until the transaction ends (SQLite's writers are serialized already).

    :returns: whether the instance exists as ``visibility`` and ``project_only`` ``mode`` see it
    """
    row = await context.fetchrow(
        "nova.instance_data.instance_lock",
        instance_uuid=instance_uuid,
        read_deleted=visibility,
        **project_only(context, mode),
    )
    return row is not None


# --- network info cache ----------------------------------------------------------------


@require_context
@reader
async def instance_info_cache_get(context: Context, instance_uuid: str) -> Row | None:
    """An instance's network info cache row, as ``context.read_deleted`` allows.

    :returns: the row (``created_at, updated_at, deleted_at, deleted, id, network_info,
        instance_uuid``), or None
    :raises Invalid: ``instance_uuid`` is not a string
    """
    return await context.fetchrow(
        "nova.instance_data.info_cache_get",
        instance_uuid=_uuid(instance_uuid),
        read_deleted=read_deleted(context),
    )


async def _info_cache_update(context: Context, instance_uuid: str, given: Mapping[str, Any]) -> Row | None:
    """Update the instance's live cache row with ``given``.

    A duplicate (``instance_uuid`` moved onto another instance's cache) is swallowed in a
    savepoint and changes nothing, as Newton.

    :returns: the row as stored afterwards, or None when the instance has no live row
    """
    params = {
        "instance_uuid": instance_uuid,
        "set_network_info": "network_info" in given,
        "network_info": given.get("network_info"),
        "set_created_at": "created_at" in given,
        "created_at": given.get("created_at"),
        "updated_at": given.get("updated_at") or utcnow(),
        "set_instance_uuid": "instance_uuid" in given,
        "new_instance_uuid": given.get("instance_uuid"),
    }
    if "instance_uuid" not in given:  # nothing unique changes: no savepoint needed
        return await _info_cache_update_returning(context, params, instance_uuid)
    try:
        async with context.savepoint():
            return await _info_cache_update_returning(context, params, given["instance_uuid"])
    except errors.DBDuplicateEntry:  # another instance has a cache row: nothing changed
        return await context.fetchrow(
            "nova.instance_data.info_cache_get", instance_uuid=instance_uuid, read_deleted="no"
        )


async def _info_cache_update_returning(context: Context, params: Mapping[str, Any], stored_as: str) -> Row | None:
    """Run info_cache_update; the row it changed, read back by ``stored_as`` where UPDATE returns nothing."""
    if UPDATE_RETURNS[context.dialect]:
        return await context.fetchrow("nova.instance_data.info_cache_update", **params)
    if not await context.execute("nova.instance_data.info_cache_update", **params):
        return None
    return await context.fetchrow("nova.instance_data.info_cache_get", instance_uuid=stored_as, read_deleted="no")


@require_context
@writer(retry=True)
async def instance_info_cache_update(context: Context, instance_uuid: str, values: Mapping[str, Any]) -> Row:
    """Update an instance's network info cache row; create it when the instance has none.

    ``values`` may set ``network_info``, ``instance_uuid``, ``created_at`` and ``updated_at``
    (ISO-8601 strings are read as times, as Newton).  Concurrent callers creating the same
    missing row neither fail nor make two rows: the one that loses the race updates the
    row the winner created.  A soft-deleted row is left as it is (see the module notes).

    :returns: the row as stored (the deleted row when a soft-deleted one holds the uuid;
        unchanged when moving ``instance_uuid`` collides with another instance's row)
    :raises InstanceInfoCacheNotFound: the context sees the instance's row, and it is deleted
    :raises DBReferenceError: the instance does not exist
    :raises Invalid: bad values or uuid; nothing is written
    """
    uuid = _uuid(instance_uuid, write=True)
    given = coerce_values("nova", "instance_info_caches", values, INFO_CACHE_SETTABLE, parse_times=True)
    visibility = read_deleted(context)
    if visibility != "no":
        seen = await context.fetchrow("nova.instance_data.info_cache_get", instance_uuid=uuid, read_deleted=visibility)
        if seen is not None and seen["deleted"]:
            raise errors.InstanceInfoCacheNotFound(instance_uuid=uuid)
    row = await _info_cache_update(context, uuid, given)
    if row is not None:
        return row
    creating = {k: v for k, v in given.items() if k != "instance_uuid"}  # the row is the instance's (Newton)
    try:
        async with context.savepoint():
            await insert_values(context, "nova.instance_data.info_cache_create", creating, instance_uuid=uuid)
    except errors.DBDuplicateEntry:
        # nova bug 1378459's race: someone created the row first (or a deleted row holds the uuid).
        row = await _info_cache_update(context, uuid, creating)
        if row is not None:
            return row
    stored = await context.fetchrow("nova.instance_data.info_cache_get", instance_uuid=uuid, read_deleted="yes")
    assert stored is not None  # created above, or the deleted row that refused the INSERT
    return stored


@require_context
@writer(retry=True)
async def instance_info_cache_delete(context: Context, instance_uuid: str) -> None:
    """Soft-delete an instance's network info cache row (if ``context.read_deleted`` sees live rows).

    :raises Invalid: ``instance_uuid`` is not a string
    """
    await context.execute(
        "nova.instance_data.info_cache_soft_delete",
        instance_uuid=_uuid(instance_uuid),
        read_deleted=read_deleted(context),
        now=utcnow(),
    )


# --- metadata and system metadata ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _MetadataTable:
    """One of the two key/value tables and the statements that replace its set."""

    table: str
    get: str
    delete_others: str
    update_values: str
    insert_new: str


_METADATA = _MetadataTable(
    "instance_metadata",
    "nova.instance_data.metadata_get",
    "nova.instance_data.metadata_delete_others",
    "nova.instance_data.metadata_update_values",
    "nova.instance_data.metadata_insert_new",
)
_SYSTEM_METADATA = _MetadataTable(
    "instance_system_metadata",
    "nova.instance_data.system_metadata_get",
    "nova.instance_data.system_metadata_delete_others",
    "nova.instance_data.system_metadata_update_values",
    "nova.instance_data.system_metadata_insert_new",
)


def _metadata_items(table: str, metadata: Any) -> list[dict[str, Any]]:
    """``metadata`` as ``[{"key": k, "value": v}, ...]`` in its order.

    :raises Invalid: not a dict; a key that is not a string; a key or value the table's
        columns cannot hold (over 255 characters, NUL, a value that is not a string or None)
    """
    if not isinstance(metadata, Mapping):
        raise errors.Invalid(f"metadata must be a dict, not {type(metadata).__name__}")
    columns = table_columns("nova")[table]
    items = []
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise errors.Invalid(f"metadata keys must be strings, not {type(key).__name__}")
        coerce(columns["key"], "metadata key", key)
        items.append({"key": key, "value": coerce(columns["value"], f"metadata value of {key!r:.80}", value)})
    return items


async def _metadata_get(context: Context, table: _MetadataTable, instance_uuid: str, visibility: str) -> dict[str, Any]:
    rows = await context.fetch(table.get, instance_uuid=_uuid(instance_uuid), read_deleted=visibility)
    return {row["key"]: row["value"] for row in rows}


async def _metadata_update(
    context: Context, table: _MetadataTable, instance_uuid: str, metadata: Any, delete: Any, visibility: str
) -> None:
    """Make the instance's keys (as ``visibility`` sees them) carry ``metadata``'s values; with
    ``delete``, soft-delete the live keys it lacks.  One transaction, the instance row locked."""
    uuid = _uuid(instance_uuid, write=True)
    items = _metadata_items(table.table, metadata)
    delete = check_bool(delete, "delete")
    if not items and not delete:
        return
    await _lock_instance(context, uuid, "yes", False)  # a missing instance is left to the foreign key
    now = utcnow()
    if delete:
        keys = [item["key"] for item in items]
        await context.execute(table.delete_others, instance_uuid=uuid, keys=keys, read_deleted=visibility, now=now)
    if items:
        encoded = json.dumps(items)
        params = {"instance_uuid": uuid, "items": encoded, "read_deleted": visibility, "now": now}
        await context.execute(table.update_values, **params)
        await context.execute(table.insert_new, **params)


@require_context
@reader
async def instance_metadata_get(context: Context, instance_uuid: str) -> dict[str, Any]:
    """An instance's live metadata as ``{key: value}`` (whatever ``context.read_deleted`` says).

    :raises Invalid: ``instance_uuid`` is not a string
    """
    return await _metadata_get(context, _METADATA, instance_uuid, "no")


@require_context
@writer(retry=True)
async def instance_metadata_delete(context: Context, instance_uuid: str, key: str) -> None:
    """Soft-delete one live metadata key of an instance (nothing happens if there is none).

    :raises Invalid: ``instance_uuid`` or ``key`` is not a string, or holds NUL
    """
    await context.execute(
        "nova.instance_data.metadata_delete",
        instance_uuid=_uuid(instance_uuid),
        key=_text(key, "key"),
        now=utcnow(),
    )


@require_context
@writer(retry=True)
async def instance_metadata_update(
    context: Context, instance_uuid: str, metadata: Mapping[str, Any], delete: bool
) -> Mapping[str, Any]:
    """Set an instance's metadata keys; with ``delete``, the live set becomes exactly ``metadata``.

    Existing live keys get the new values, new keys are inserted (in ``metadata``'s
    order), and with ``delete`` the live keys ``metadata`` lacks are soft-deleted; all in
    one transaction.

    :returns: ``metadata``
    :raises DBReferenceError: the instance does not exist (nothing written)
    :raises Invalid: ``metadata`` is not a dict of strings (keys and values up to 255
        characters, values may be None), or a bad uuid; nothing is written
    """
    await _metadata_update(context, _METADATA, instance_uuid, metadata, delete, "no")
    return metadata


@require_context
@reader
async def instance_system_metadata_get(context: Context, instance_uuid: str) -> dict[str, Any]:
    """An instance's system metadata as ``{key: value}``, as ``context.read_deleted`` allows (as Newton).

    :raises Invalid: ``instance_uuid`` is not a string
    """
    return await _metadata_get(context, _SYSTEM_METADATA, instance_uuid, read_deleted(context))


@require_context
@writer(retry=True)
async def instance_system_metadata_update(
    context: Context, instance_uuid: str, metadata: Mapping[str, Any], delete: bool
) -> None:
    """Set an instance's system metadata keys; with ``delete``, soft-delete the live keys ``metadata`` lacks.

    As Newton, the rows it matches are those ``context.read_deleted`` sees (with 'yes', a
    key whose only row is deleted gets its value there, and is not inserted again).
    Returns None, as nova.db.api.

    :raises DBReferenceError: the instance does not exist (nothing written)
    :raises Invalid: see ``instance_metadata_update``; nothing is written
    """
    await _metadata_update(context, _SYSTEM_METADATA, instance_uuid, metadata, delete, read_deleted(context))


# --- instance_extra --------------------------------------------------------------------


def _extra_columns(columns: Any) -> frozenset[str]:
    """The deferred columns ``columns`` asks for (Newton's five when None).

    :raises Invalid: not a list of instance_extra's column names
    """
    if columns is None:
        return frozenset(EXTRA_DEFAULT_COLUMNS)
    if isinstance(columns, (str, bytes)) or not isinstance(columns, Iterable):
        raise errors.Invalid("columns must be a list of instance_extra column names")
    known = table_columns("nova")["instance_extra"]
    wanted = set()
    for column in columns:
        if not isinstance(column, str) or column not in known:
            raise errors.Invalid(f"instance_extra has no column {column!r:.80}")
        wanted.add(column)
    return frozenset(wanted)


@reader
async def instance_extra_get_by_instance_uuid(
    context: Context, instance_uuid: str, columns: Iterable[str] | None = None
) -> Row | None:
    """An instance's ``instance_extra`` row, as ``context.read_deleted`` allows.

    The row has ``created_at, updated_at, deleted_at, deleted, id, instance_uuid`` and, of
    the deferred TEXT columns (device_metadata, numa_topology, pci_requests, flavor,
    vcpu_model, migration_context, keypairs), those named in ``columns`` (None: numa_topology,
    pci_requests, flavor, vcpu_model, migration_context, as Newton).

    :returns: the row, or None
    :raises Invalid: ``columns`` names a column instance_extra lacks; a bad uuid
    """
    wanted = _extra_columns(columns)
    row = await context.fetchrow(
        "nova.instance_data.extra_get",
        instance_uuid=_uuid(instance_uuid),
        read_deleted=read_deleted(context),
        **{f"load_{column}": column in wanted for column in EXTRA_DEFERRED},
    )
    if row is None:
        return None
    return {key: value for key, value in row.items() if key not in EXTRA_DEFERRED or key in wanted}


@writer(retry=True)
async def instance_extra_update_by_uuid(context: Context, instance_uuid: str, updates: Mapping[str, Any]) -> int:
    """Update an instance's ``instance_extra`` rows (as ``context.read_deleted`` sees them); create one if none.

    ``updates`` may set the deferred TEXT columns and ``updated_at``.  Concurrent callers
    creating the missing row make one row: the second finds the first's.

    :returns: the number of rows updated, 1 when it created the row (as Newton)
    :raises DBReferenceError: the instance does not exist (nothing written)
    :raises Invalid: a key instance_extra cannot set, a value its column cannot hold, a
        bad uuid; nothing is written
    """
    uuid = _uuid(instance_uuid, write=True)
    given = coerce_values("nova", "instance_extra", updates, EXTRA_SETTABLE)
    params: dict[str, Any] = {
        "instance_uuid": uuid,
        "read_deleted": read_deleted(context),
        "updated_at": given.get("updated_at") or utcnow(),
    }
    for column in EXTRA_DEFERRED:
        params[f"set_{column}"] = column in given
        params[column] = given.get(column)
    updated = await context.execute("nova.instance_data.extra_update", **params)
    if updated:
        return updated
    await _lock_instance(context, uuid, "yes", False)  # concurrent creators take turns
    updated = await context.execute("nova.instance_data.extra_update", **params)
    if updated:
        return updated
    await insert_values(context, "nova.instance_data.extra_create", given, instance_uuid=uuid)
    return 1


# --- tags ------------------------------------------------------------------------------


def _tag(tag: Any) -> str:
    """A tag to store: a string of at most 80 characters the column can hold.

    :raises Invalid: anything else
    """
    if not isinstance(tag, str):
        raise errors.Invalid(f"a tag must be a string, not {type(tag).__name__}")
    return str(coerce(table_columns("nova")["tags"]["tag"], "tag", tag))


def _tag_rows(rows: Iterable[Mapping[str, Any]]) -> list[Row]:
    """Tag rows ordered by tag (code point order, the same on every backend)."""
    tagged = [{"resource_id": row["resource_id"], "tag": row["tag"]} for row in rows if row["tag"] is not None]
    return sorted(tagged, key=lambda row: row["tag"])


async def _instance_for_tags(context: Context, instance_uuid: str) -> None:
    """Lock the live instance in the caller's project (Newton's _check_instance_exists_in_project).

    :raises InstanceNotFound: there is none
    """
    if not await _lock_instance(context, instance_uuid, "no", True):
        raise errors.InstanceNotFound(instance_id=instance_uuid)


@writer(retry=True)
async def instance_tag_add(context: Context, instance_uuid: str, tag: str) -> Row:
    """Tag a live instance of the caller's project; a tag it has already is ignored.

    :returns: ``{"resource_id": instance_uuid, "tag": tag}``
    :raises InstanceNotFound: no live instance in the caller's project (admins: any)
    :raises Invalid: the tag is not a string of at most 80 characters, or a bad uuid
    """
    uuid, tag = _uuid(instance_uuid), _tag(tag)
    await _instance_for_tags(context, uuid)
    await context.execute("nova.instance_data.tag_add", instance_uuid=uuid, tag=tag)
    return {"resource_id": uuid, "tag": tag}


@writer(retry=True)
async def instance_tag_set(context: Context, instance_uuid: str, tags: Iterable[str]) -> list[Row]:
    """Make an instance's tags exactly ``tags`` (duplicates collapse).

    Concurrent calls for one instance take turns: the result is one caller's set.

    :returns: the instance's tag rows, ordered by tag
    :raises InstanceNotFound: no live instance in the caller's project (admins: any)
    :raises Invalid: ``tags`` is not a list of strings of at most 80 characters, or a bad uuid
    """
    uuid = _uuid(instance_uuid)
    if isinstance(tags, (str, bytes)) or not isinstance(tags, Iterable):
        raise errors.Invalid("tags must be a list of strings")
    wanted = list(dict.fromkeys(_tag(tag) for tag in tags))
    await _instance_for_tags(context, uuid)
    await context.execute("nova.instance_data.tags_delete_others", instance_uuid=uuid, tags=wanted)
    if wanted:
        await context.execute("nova.instance_data.tags_insert", instance_uuid=uuid, tags=json.dumps(wanted))
    return _tag_rows({"resource_id": uuid, "tag": tag} for tag in wanted)


@reader
async def instance_tag_get_by_instance_uuid(context: Context, instance_uuid: str) -> list[Row]:
    """A live instance's tag rows (``{resource_id, tag}``), ordered by tag.

    :raises InstanceNotFound: no live instance in the caller's project (admins: any)
    :raises Invalid: ``instance_uuid`` is not a string
    """
    uuid = _uuid(instance_uuid)
    rows = await context.fetch(
        "nova.instance_data.tags_get", instance_uuid=uuid, read_deleted="no", **project_only(context)
    )
    if not rows:
        raise errors.InstanceNotFound(instance_id=uuid)
    return _tag_rows(rows)


@writer(retry=True)
async def instance_tag_delete(context: Context, instance_uuid: str, tag: str) -> None:
    """Remove one tag of a live instance.

    :raises InstanceNotFound: no live instance in the caller's project (admins: any)
    :raises InstanceTagNotFound: the instance has no such tag
    :raises Invalid: ``instance_uuid`` or ``tag`` is not a string, or holds NUL
    """
    uuid, tag = _uuid(instance_uuid), _text(tag, "tag")
    await _instance_for_tags(context, uuid)
    if not await context.execute("nova.instance_data.tag_delete", instance_uuid=uuid, tag=tag):
        raise errors.InstanceTagNotFound(instance_id=uuid, tag=tag)


@writer(retry=True)
async def instance_tag_delete_all(context: Context, instance_uuid: str) -> None:
    """Remove every tag of a live instance.

    :raises InstanceNotFound: no live instance in the caller's project (admins: any)
    :raises Invalid: ``instance_uuid`` is not a string
    """
    uuid = _uuid(instance_uuid)
    await _instance_for_tags(context, uuid)
    await context.execute("nova.instance_data.tags_delete_all", instance_uuid=uuid)


@reader
async def instance_tag_exists(context: Context, instance_uuid: str, tag: str) -> bool:
    """Whether a live instance has the tag.

    :raises InstanceNotFound: no live instance in the caller's project (admins: any)
    :raises Invalid: ``instance_uuid`` or ``tag`` is not a string, or holds NUL
    """
    uuid, tag = _uuid(instance_uuid), _text(tag, "tag")
    row = await context.fetchrow(
        "nova.instance_data.tag_exists", instance_uuid=uuid, tag=tag, read_deleted="no", **project_only(context)
    )
    if row is None:
        raise errors.InstanceNotFound(instance_id=uuid)
    return bool(row["tagged"])
