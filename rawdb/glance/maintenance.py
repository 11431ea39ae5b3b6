"""Usage counters and the purge of old soft-deleted rows (spec glance.md B.1, G.4, G.5).

The purges work in batches of at most ``BATCH`` rows, each batch its own transaction, so
memory and lock time stay flat however many rows go; ``max_rows`` still caps the rows of
each table.  Called with a context bound to a caller's writer scope, the batches run in that
transaction.  Their results keep glance's shape: every table purged, zero rows included,
and the count functions (their dry runs) answer in the same shape.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import require_admin_context
from rawdb.decorators import reader, writer
from rawdb.glance._validate import INT_MAX, check_image_id, lookup_text
from rawdb.timeutils import utcnow

# Children first: an image goes only once nothing refers to it.
PURGE_CHILDREN = {
    "image_properties": "glance.maintenance.purge_properties",
    "image_locations": "glance.maintenance.purge_locations",
    "image_members": "glance.maintenance.purge_members",
    "image_tags": "glance.maintenance.purge_tags",
}
UNLIMITED = 2**63 - 1
BATCH = 1000  # rows per transaction
Progress = Callable[[str, int], object]


def _owner_can_exist(owner_id: Any) -> bool:
    """Whether an image can have this owner (None: the ownerless images, which count nothing).

    :raises Invalid: ``owner_id`` is neither None nor a string UTF-8 can encode
    """
    return owner_id is not None and lookup_text(owner_id, "owner_id", 255)


@reader
async def user_get_storage_usage(context: Context, owner_id: str, image_id: str | None = None) -> int:
    """Bytes stored by an owner: each image's size times its locations not marked deleted.

    :param image_id: an image to leave out (the one being uploaded)
    :raises ImageNotFound: ``image_id`` cannot be an image id
    :raises Invalid: ``owner_id`` is not a string UTF-8 can encode
    """
    if image_id is not None and not check_image_id(image_id):
        raise errors.ImageNotFound(image_id=image_id)
    if not _owner_can_exist(owner_id):
        return 0
    return int(await context.fetchval("glance.maintenance.storage_usage", owner=owner_id, image_id=image_id))


@reader
async def user_get_image_count(context: Context, owner_id: str) -> int:
    """How many of an owner's images are not killed, pending_delete or deleted."""
    if not _owner_can_exist(owner_id):
        return 0
    return int(await context.fetchval("glance.maintenance.image_count", owner=owner_id))


@reader
async def user_get_uploading_count(context: Context, owner_id: str) -> int:
    """How many of an owner's images are being uploaded, imported or copied to other stores."""
    if not _owner_can_exist(owner_id):
        return 0
    return int(await context.fetchval("glance.maintenance.uploading_count", owner=owner_id))


@reader
async def user_get_staging_usage(context: Context, owner_id: str) -> int:
    """Bytes of staging space an owner's uploads, imports and copies use."""
    if not _owner_can_exist(owner_id):
        return 0
    return int(await context.fetchval("glance.maintenance.staging_usage", owner=owner_id))


def _cutoff(age_in_days: Any) -> datetime:
    if isinstance(age_in_days, bool) or not isinstance(age_in_days, int):
        raise errors.Invalid("age_in_days must be an integer")
    if age_in_days < 0:
        raise errors.Invalid("age_in_days must not be negative")
    now = utcnow()
    # An age beyond year 1 (timedelta would overflow) purges what an age of year 1 purges: nothing.
    return datetime.min if age_in_days >= (now - datetime.min).days else now - timedelta(days=age_in_days)


def _purge_args(age_in_days: Any, max_rows: Any, progress: Any) -> tuple[datetime, int]:
    cutoff = _cutoff(age_in_days)
    if isinstance(max_rows, bool) or not isinstance(max_rows, int):
        raise errors.Invalid("max_rows must be an integer")
    if max_rows > INT_MAX:
        raise errors.Invalid(f"'max_rows' value out of range, must not exceed {INT_MAX}.")
    if max_rows < -1:
        raise errors.Invalid("max_rows must be -1 (no limit) or more")
    if progress is not None and not callable(progress):
        raise errors.Invalid(f"progress must be a callable or None, not {type(progress).__name__}")
    return cutoff, UNLIMITED if max_rows == -1 else max_rows


@writer(retry=True)
async def _batch(context: Context, statement: str, cutoff: datetime, size: int) -> int:
    """One batch: at most ``size`` rows, oldest first."""
    return await context.execute(statement, cutoff=cutoff, max_rows=size)


async def _purge(context: Context, table: str, statement: str, cutoff: datetime, limit: int, progress: Any) -> int:
    """Purge up to ``limit`` rows of a table, a batch at a time; return how many went."""
    total = 0
    while total < limit:
        size = min(BATCH, limit - total)
        deleted = await _batch(context, statement, cutoff, size)
        total += deleted
        if deleted and progress is not None:
            progress(table, deleted)
        if deleted < size:
            break
    return total


@require_admin_context
async def purge_deleted_rows(
    context: Context, age_in_days: int, max_rows: int, *, progress: Progress | None = None
) -> dict[str, int]:
    """Hard-delete image children soft-deleted more than ``age_in_days`` ago, ``max_rows`` per table.

    Only rows that are deleted *and* old go: a revived row (glance kept its old
    ``deleted_at``, spec G.5) is never purged.  The images table is purged by
    purge_deleted_rows_from_images.

    :param max_rows: -1 for no limit
    :param progress: ``progress(table, rows)``, called after each batch that deleted rows
        (committed, unless the context is bound to a caller's scope)
    :returns: the rows deleted per table, every child table listed (0 included)
    :raises AdminRequired: not an admin context
    :raises Invalid: a negative age, max_rows out of range, or progress not callable
    """
    cutoff, limit = _purge_args(age_in_days, max_rows, progress)
    return {
        table: await _purge(context, table, statement, cutoff, limit, progress)
        for table, statement in PURGE_CHILDREN.items()
    }


@require_admin_context
async def purge_deleted_rows_from_images(
    context: Context, age_in_days: int, max_rows: int, *, progress: Progress | None = None
) -> dict[str, int]:
    """Hard-delete images soft-deleted more than ``age_in_days`` ago that no row refers to any more.

    An image some child row still refers to stays until purge_deleted_rows has removed
    its children, instead of failing on the foreign key.

    :returns: ``{"images": rows deleted}``
    :raises AdminRequired: not an admin context
    :raises Invalid: as purge_deleted_rows
    """
    cutoff, limit = _purge_args(age_in_days, max_rows, progress)
    return {"images": await _purge(context, "images", "glance.maintenance.purge_images", cutoff, limit, progress)}


@require_admin_context
@reader
async def purge_deleted_rows_count(context: Context, age_in_days: int) -> dict[str, int]:
    """What ``purge_deleted_rows`` with no limit would delete now, deleting nothing (its dry run).

    :returns: ``{table: rows}``, every child table listed (0 included)
    :raises AdminRequired: not an admin context
    :raises Invalid: a negative age
    """
    row = await context.fetchrow("glance.maintenance.count_children", cutoff=_cutoff(age_in_days))
    assert row is not None
    return {table: int(row[table]) for table in PURGE_CHILDREN}


@require_admin_context
@reader
async def purge_deleted_rows_from_images_count(context: Context, age_in_days: int) -> dict[str, int]:
    """What ``purge_deleted_rows_from_images`` with no limit would delete now, deleting nothing.

    :returns: ``{"images": rows}``
    :raises AdminRequired: not an admin context
    :raises Invalid: a negative age
    """
    return {"images": int(await context.fetchval("glance.maintenance.count_images", cutoff=_cutoff(age_in_days)))}
