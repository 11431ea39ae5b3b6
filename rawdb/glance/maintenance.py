"""Usage counters and the purge of old soft-deleted rows (spec glance.md B.1, G.4, G.5)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rawdb import errors
from rawdb.context import Context
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


def _purge_args(age_in_days: Any, max_rows: Any) -> tuple[Any, int]:
    for name, value in (("age_in_days", age_in_days), ("max_rows", max_rows)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise errors.Invalid(f"{name} must be an integer")
    if age_in_days < 0:
        raise errors.Invalid("age_in_days must not be negative")
    if max_rows > INT_MAX:
        raise errors.Invalid(f"'max_rows' value out of range, must not exceed {INT_MAX}.")
    if max_rows < -1:
        raise errors.Invalid("max_rows must be -1 (no limit) or more")
    now = utcnow()
    # An age beyond year 1 (timedelta would overflow) purges what an age of year 1 purges: nothing.
    cutoff = datetime.min if age_in_days >= (now - datetime.min).days else now - timedelta(days=age_in_days)
    return cutoff, UNLIMITED if max_rows == -1 else max_rows


@writer
async def purge_deleted_rows(context: Context, age_in_days: int, max_rows: int) -> dict[str, int]:
    """Hard-delete image children soft-deleted more than ``age_in_days`` ago, ``max_rows`` per table.

    Only rows that are deleted *and* old go: a revived row (glance kept its old
    ``deleted_at``, spec G.5) is never purged.  The images table is purged by
    purge_deleted_rows_from_images.  Returns the rows deleted per table.

    :param max_rows: -1 for no limit
    :raises Invalid: a negative age, or max_rows out of range
    """
    cutoff, limit = _purge_args(age_in_days, max_rows)
    return {
        table: await context.execute(statement, cutoff=cutoff, max_rows=limit)
        for table, statement in PURGE_CHILDREN.items()
    }


@writer
async def purge_deleted_rows_from_images(context: Context, age_in_days: int, max_rows: int) -> dict[str, int]:
    """Hard-delete images soft-deleted more than ``age_in_days`` ago that no row refers to any more.

    An image some child row still refers to stays until purge_deleted_rows has removed
    its children, instead of failing on the foreign key.
    """
    cutoff, limit = _purge_args(age_in_days, max_rows)
    return {"images": await context.execute("glance.maintenance.purge_images", cutoff=cutoff, max_rows=limit)}
