"""Image tags (spec glance.md B.1).  Live tags are unique per image (glance allowed duplicates)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.decorators import reader, writer
from rawdb.glance._validate import check_image_id, check_reference, check_tag, check_tags, lookup_text
from rawdb.timeutils import utcnow


@writer
async def image_tag_set_all(context: Context, image_id: str, tags: Sequence[str]) -> None:
    """Make the image's live tags exactly ``tags`` (duplicates collapse; order is kept).

    :raises DBReferenceError: a tag is added to an image that does not exist
    :raises Invalid: a tag is not a non-empty string of at most 255 characters, or the image id
        cannot be one
    """
    wanted = check_tags(tags)
    check_reference(image_id)
    now = utcnow()
    if wanted:
        await context.execute("glance.tags.tags_insert", image_id=image_id, tags=json.dumps(wanted), now=now)
    await context.execute("glance.tags.tags_delete_except", image_id=image_id, keep=wanted, now=now)


@writer
async def image_tag_create(context: Context, image_id: str, value: str) -> str:
    """Tag an image; tagging it again with the same value changes nothing. Returns ``value``.

    :raises DBReferenceError: the image does not exist
    :raises Invalid: the tag is not a non-empty string of at most 255 characters, or the image id
        cannot be one
    """
    check_tag(value)
    check_reference(image_id)
    await context.execute("glance.tags.tag_create", image_id=image_id, value=value, now=utcnow())
    return value


@writer
async def image_tag_delete(context: Context, image_id: str, value: str) -> None:
    """Remove a live tag.

    :raises ImageNotFound: the image id cannot exist (longer than 36 characters)
    :raises ImageTagNotFound: the image has no live tag of this value
    :raises Invalid: the value is not a string UTF-8 can encode
    """
    if not check_image_id(image_id):
        raise errors.ImageNotFound(image_id=image_id)
    if not lookup_text(value, "value", 255):
        raise errors.ImageTagNotFound(value=value, image_id=image_id)
    if await context.execute("glance.tags.tag_soft_delete", image_id=image_id, value=value, now=utcnow()) != 1:
        raise errors.ImageTagNotFound(value=value, image_id=image_id)


@reader
async def image_tag_get_all(context: Context, image_id: str) -> list[Any]:
    """The image's live tags in the order they were added ([] for an unknown image).

    :raises ImageNotFound: the image id cannot exist (longer than 36 characters)
    """
    if not check_image_id(image_id):
        raise errors.ImageNotFound(image_id=image_id)
    return [row["value"] for row in await context.fetch("glance.tags.tags_get", image_id=image_id)]
