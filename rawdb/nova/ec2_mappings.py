"""EC2 id mappings and S3 images (nova/db/sqlalchemy/api.py at 14.0.0, spec A.3): the EC2 API's numbers for uuids.

Each mapping table pairs an integer id, the number the EC2 API shows, with a uuid; a
``_Kind`` record names one table's statements and the NotFound its lookups raise, so every
kind of mapping runs the same few private functions.  Lookups see deleted mappings too
(upstream reads them with ``read_deleted='yes'``), and a value no mapping can hold (a
uuid that is no string or is too long, an id that is no integer) finds nothing, as
upstream's own tests expect, rather than being Invalid.

Four tables: instances (``ec2_instance_*``), volumes (``ec2_volume_*``), snapshots
(``ec2_snapshot_*``) and S3 images (``s3_image_*``, which have no chosen ids).  Newton's
functions return the mapping; nova 2013.1's ``get_ec2_*_id_by_uuid`` / ``get_*_uuid_by_ec2_id``,
which Newton dropped, return the id or the uuid alone.  The instance, volume and snapshot
functions need an admin or a user context (``@require_context``); the S3 image ones, as in
Newton, check no caller.  A lookup that finds nothing raises the table's NotFound naming the
value looked up: ``InstanceNotFound(instance_id)``, ``VolumeNotFound(volume_id)``,
``SnapshotNotFound(snapshot_id)``, ``ImageNotFound(image_id)``.

Where rawdb departs from upstream:

- ``s3_image_create`` raises ``Invalid`` for a uuid it cannot store (upstream wrapped every
  error, its own included, in ``DBError``);
- a chosen id (``id``, ``forced_id``) must be a positive integer (MariaDB would take 0 as "generate one");
- on PostgreSQL a chosen ``id`` moves the id sequence past it, so a later generated id
  never collides with it (upstream's ``DBDuplicateEntry``); MariaDB and SQLite do so alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rawdb import errors
from rawdb.checks import INT_MAX, check_integer
from rawdb.context import Context
from rawdb.conventions import coerce, require_context, table_columns
from rawdb.decorators import reader, writer
from rawdb.timeutils import utcnow

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Kind:
    """One mapping table: its statements, and the error a lookup that finds nothing raises."""

    table: str
    create: str  # insert with a generated id
    create_with_id: str | None  # insert with the caller's id (on PostgreSQL, moving the id sequence past it)
    read_back: str  # (MySQL) the row just inserted, by :id or LAST_INSERT_ID()
    get_by_uuid: str
    get_by_id: str
    not_found: Callable[[Any], errors.NotFound]


_INSTANCE = _Kind(
    table="instance_id_mappings",
    create="nova.ec2_mappings.instance_create",
    create_with_id="nova.ec2_mappings.instance_create_with_id",
    read_back="nova.ec2_mappings.instance_read_back",
    get_by_uuid="nova.ec2_mappings.instance_get_by_uuid",
    get_by_id="nova.ec2_mappings.instance_get_by_id",
    not_found=lambda value: errors.InstanceNotFound(instance_id=value),
)
_VOLUME = _Kind(
    table="volume_id_mappings",
    create="nova.ec2_mappings.volume_create",
    create_with_id="nova.ec2_mappings.volume_create_with_id",
    read_back="nova.ec2_mappings.volume_read_back",
    get_by_uuid="nova.ec2_mappings.volume_get_by_uuid",
    get_by_id="nova.ec2_mappings.volume_get_by_id",
    not_found=lambda value: errors.VolumeNotFound(volume_id=value),
)
_SNAPSHOT = _Kind(
    table="snapshot_id_mappings",
    create="nova.ec2_mappings.snapshot_create",
    create_with_id="nova.ec2_mappings.snapshot_create_with_id",
    read_back="nova.ec2_mappings.snapshot_read_back",
    get_by_uuid="nova.ec2_mappings.snapshot_get_by_uuid",
    get_by_id="nova.ec2_mappings.snapshot_get_by_id",
    not_found=lambda value: errors.SnapshotNotFound(snapshot_id=value),
)
_S3_IMAGE = _Kind(
    table="s3_images",
    create="nova.ec2_mappings.s3_image_create",
    create_with_id=None,  # s3_image_create takes no id
    read_back="nova.ec2_mappings.s3_image_read_back",
    get_by_uuid="nova.ec2_mappings.s3_image_get_by_uuid",
    get_by_id="nova.ec2_mappings.s3_image_get_by_id",
    not_found=lambda value: errors.ImageNotFound(image_id=value),
)


def _uuid(kind: _Kind, value: Any, what: str) -> str:
    """A uuid the table's column can hold.

    :raises Invalid: not a string, too long for the column, NUL or a lone surrogate
    """
    return str(coerce(table_columns("nova")[kind.table]["uuid"], what, value))


def _lookup_id(value: Any) -> int | None:
    """The integer id ``value`` names, or None when no mapping can have it."""
    try:
        return check_integer(value, "id", 1, INT_MAX)
    except errors.Invalid:
        return None


async def _create(context: Context, kind: _Kind, uuid: Any, id: Any, what: str) -> Row:
    """Insert a mapping (``context`` is bound to a writer) and return it.

    :raises DBDuplicateEntry: the chosen id is taken
    :raises Invalid: see ``_uuid``; a chosen id that is not a positive integer
    """
    uuid = _uuid(kind, uuid, what)
    now = utcnow()
    if id is None or kind.create_with_id is None:
        rows = await context.fetch(kind.create, uuid=uuid, now=now)
    else:
        id = check_integer(id, "id", 1, INT_MAX)
        rows = await context.fetch(kind.create_with_id, id=id, uuid=uuid, now=now)
    if context.dialect == "mysql":
        rows = await context.fetch(kind.read_back, id=id)
    return dict(rows[0])


async def _get_by_uuid(context: Context, kind: _Kind, uuid: Any) -> Row:
    """The (first) mapping of a uuid, deleted or not.

    :raises NotFound: ``kind.not_found(uuid)``
    """
    try:
        key = _uuid(kind, uuid, "uuid")
    except errors.Invalid:
        raise kind.not_found(uuid) from None
    row = await context.fetchrow(kind.get_by_uuid, uuid=key)
    if row is None:
        raise kind.not_found(uuid)
    return dict(row)


async def _get_by_id(context: Context, kind: _Kind, id: Any) -> Row:
    """The mapping of an EC2 id, deleted or not.

    :raises NotFound: ``kind.not_found(id)``
    """
    key = _lookup_id(id)
    row = None if key is None else await context.fetchrow(kind.get_by_id, id=key)
    if row is None:
        raise kind.not_found(id)
    return dict(row)


# --- instances -----------------------------------------------------------------------------


@require_context
@writer
async def ec2_instance_create(context: Context, instance_uuid: str, id: int | None = None) -> Row:
    """Give an instance an EC2 id: a new one, or ``id`` when given.

    :returns: the mapping ``{id, uuid, created_at, updated_at, deleted_at, deleted}``
    :raises DBDuplicateEntry: (a Duplicate) ``id`` is taken
    :raises Invalid: ``instance_uuid`` is not a string of at most 36 characters (or holds
        NUL); ``id`` is not a positive integer
    :raises NotAuthorized: neither an admin nor a user context
    """
    return await _create(context, _INSTANCE, instance_uuid, id, "instance_uuid")


@require_context
@reader
async def ec2_instance_get_by_uuid(context: Context, instance_uuid: str) -> Row:
    """An instance's EC2 mapping (the first, if it has several), deleted or not.

    :raises InstanceNotFound: none, naming ``instance_uuid``
    :raises NotAuthorized: neither an admin nor a user context
    """
    return await _get_by_uuid(context, _INSTANCE, instance_uuid)


@require_context
@reader
async def ec2_instance_get_by_id(context: Context, instance_id: int) -> Row:
    """The EC2 mapping with this id, deleted or not.

    :raises InstanceNotFound: none, naming ``instance_id``
    :raises NotAuthorized: neither an admin nor a user context
    """
    return await _get_by_id(context, _INSTANCE, instance_id)


@require_context
@reader
async def get_ec2_instance_id_by_uuid(context: Context, instance_id: str) -> int:
    """The EC2 id of an instance uuid (nova 2013.1's name; the parameter holds the uuid).

    :raises InstanceNotFound: none, naming the uuid
    :raises NotAuthorized: neither an admin nor a user context
    """
    row = await _get_by_uuid(context, _INSTANCE, instance_id)
    return int(row["id"])


@require_context
@reader
async def get_instance_uuid_by_ec2_id(context: Context, ec2_id: int) -> str:
    """The instance uuid of an EC2 id.

    :raises InstanceNotFound: none, naming ``ec2_id``
    :raises NotAuthorized: neither an admin nor a user context
    """
    row = await _get_by_id(context, _INSTANCE, ec2_id)
    return str(row["uuid"])


# --- volumes -------------------------------------------------------------------------------


@require_context
@writer
async def ec2_volume_create(context: Context, volume_id: str, forced_id: int | None = None) -> Row:
    """Give a volume (its uuid: ``volume_id``) an EC2 id: a new one, or ``forced_id`` when given.

    :returns: the mapping ``{id, uuid, created_at, updated_at, deleted_at, deleted}``
    :raises DBDuplicateEntry: (a Duplicate) ``forced_id`` is taken
    :raises Invalid: ``volume_id`` is not a string of at most 36 characters (or holds NUL);
        ``forced_id`` is not a positive integer
    :raises NotAuthorized: neither an admin nor a user context
    """
    return await _create(context, _VOLUME, volume_id, forced_id, "volume_id")


@require_context
@reader
async def ec2_volume_get_by_id(context: Context, volume_id: int) -> Row:
    """The volume mapping with this EC2 id, deleted or not.

    :raises VolumeNotFound: none, naming ``volume_id``
    :raises NotAuthorized: neither an admin nor a user context
    """
    return await _get_by_id(context, _VOLUME, volume_id)


@require_context
@reader
async def ec2_volume_get_by_uuid(context: Context, volume_uuid: str) -> Row:
    """A volume's EC2 mapping (the first, if it has several), deleted or not.

    :raises VolumeNotFound: none, naming ``volume_uuid``
    :raises NotAuthorized: neither an admin nor a user context
    """
    return await _get_by_uuid(context, _VOLUME, volume_uuid)


@require_context
@reader
async def get_ec2_volume_id_by_uuid(context: Context, volume_id: str) -> int:
    """The EC2 id of a volume uuid (nova 2013.1's name; the parameter holds the uuid).

    :raises VolumeNotFound: none, naming the uuid
    :raises NotAuthorized: neither an admin nor a user context
    """
    row = await _get_by_uuid(context, _VOLUME, volume_id)
    return int(row["id"])


@require_context
@reader
async def get_volume_uuid_by_ec2_id(context: Context, ec2_id: int) -> str:
    """The volume uuid of an EC2 id (nova 2013.1).

    :raises VolumeNotFound: none, naming ``ec2_id``
    :raises NotAuthorized: neither an admin nor a user context
    """
    row = await _get_by_id(context, _VOLUME, ec2_id)
    return str(row["uuid"])


# --- snapshots -----------------------------------------------------------------------------


@require_context
@writer
async def ec2_snapshot_create(context: Context, snapshot_id: str, forced_id: int | None = None) -> Row:
    """Give a snapshot (its uuid: ``snapshot_id``) an EC2 id: a new one, or ``forced_id`` when given.

    :returns: the mapping ``{id, uuid, created_at, updated_at, deleted_at, deleted}``
    :raises DBDuplicateEntry: (a Duplicate) ``forced_id`` is taken
    :raises Invalid: ``snapshot_id`` is not a string of at most 36 characters (or holds NUL);
        ``forced_id`` is not a positive integer
    :raises NotAuthorized: neither an admin nor a user context
    """
    return await _create(context, _SNAPSHOT, snapshot_id, forced_id, "snapshot_id")


@require_context
@reader
async def ec2_snapshot_get_by_ec2_id(context: Context, ec2_id: int) -> Row:
    """The snapshot mapping with this EC2 id, deleted or not.

    :raises SnapshotNotFound: none, naming ``ec2_id``
    :raises NotAuthorized: neither an admin nor a user context
    """
    return await _get_by_id(context, _SNAPSHOT, ec2_id)


@require_context
@reader
async def ec2_snapshot_get_by_uuid(context: Context, snapshot_uuid: str) -> Row:
    """A snapshot's EC2 mapping (the first, if it has several), deleted or not.

    :raises SnapshotNotFound: none, naming ``snapshot_uuid``
    :raises NotAuthorized: neither an admin nor a user context
    """
    return await _get_by_uuid(context, _SNAPSHOT, snapshot_uuid)


@require_context
@reader
async def get_ec2_snapshot_id_by_uuid(context: Context, snapshot_id: str) -> int:
    """The EC2 id of a snapshot uuid (nova 2013.1's name; the parameter holds the uuid).

    :raises SnapshotNotFound: none, naming the uuid
    :raises NotAuthorized: neither an admin nor a user context
    """
    row = await _get_by_uuid(context, _SNAPSHOT, snapshot_id)
    return int(row["id"])


@require_context
@reader
async def get_snapshot_uuid_by_ec2_id(context: Context, ec2_id: int) -> str:
    """The snapshot uuid of an EC2 id (nova 2013.1).

    :raises SnapshotNotFound: none, naming ``ec2_id``
    :raises NotAuthorized: neither an admin nor a user context
    """
    row = await _get_by_id(context, _SNAPSHOT, ec2_id)
    return str(row["uuid"])


# --- S3 images -----------------------------------------------------------------------------


@writer
async def s3_image_create(context: Context, image_uuid: str) -> Row:
    """Give an image (its uuid) the number the EC2/S3 API shows for it.

    :returns: the mapping ``{id, uuid, created_at, updated_at, deleted_at, deleted}``
    :raises Invalid: ``image_uuid`` is not a string of at most 36 characters (or holds NUL)
    """
    return await _create(context, _S3_IMAGE, image_uuid, None, "image_uuid")


@reader
async def s3_image_get(context: Context, image_id: int) -> Row:
    """The S3 image mapping with this id, deleted or not.

    :raises ImageNotFound: none, naming ``image_id``
    """
    return await _get_by_id(context, _S3_IMAGE, image_id)


@reader
async def s3_image_get_by_uuid(context: Context, image_uuid: str) -> Row:
    """An image's S3 mapping (the first, if it has several), deleted or not.

    :raises ImageNotFound: none, naming ``image_uuid``
    """
    return await _get_by_uuid(context, _S3_IMAGE, image_uuid)
