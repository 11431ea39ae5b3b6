"""The image cache's database side: glance's centralized_db driver calls (spec glance.md E.3).

Each call is one statement.  Unlike glance: a repeated ``insert_cache_details`` refreshes
the row instead of leaving it stale, ``get_cached_images`` computes epoch seconds as UTC
(glance read the naive UTC value as local time) and orders by image id,
``get_least_recently_accessed`` breaks ties by image id, ``update_hit_count`` stamps
rawdb's clock and stops counting at the INTEGER maximum, and inputs are checked before
anything is written.  Like glance, no call checks the context's identity.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import check_bool
from rawdb.decorators import reader, writer
from rawdb.glance._validate import BIGINT_MAX, INT_MAX, check_text, lookup_text
from rawdb.timeutils import normalize, utcnow

URL_MAX = 255
IMAGE_ID_MAX = 36
CHECKSUM_MAX = 32


# --- input checks ----------------------------------------------------------------------


def _text(value: Any, what: str, max_length: int) -> str:
    """A value to write in a VARCHAR column: a non-empty string that fits."""
    if not isinstance(value, str) or not value:
        raise errors.Invalid(f"{what} must be a non-empty string, not {type(value).__name__} {value!r:.80}.")
    check_text(value, what, max_length)
    return value


def _can_exist(value: Any, what: str, max_length: int) -> bool:
    """For a lookup: False when no row can hold ``value`` (so the database need not be asked).

    :raises Invalid: ``value`` is not a string, or holds a lone surrogate (not UTF-8)
    """
    return lookup_text(value, what, max_length) and len(value) > 0


def _url_can_exist(node_reference_url: Any) -> bool:
    return _can_exist(node_reference_url, "node_reference_url", URL_MAX)


def _image_id_can_exist(image_id: Any) -> bool:
    return _can_exist(image_id, "image_id", IMAGE_ID_MAX)


def _both_can_exist(image_id: Any, node_reference_url: Any) -> bool:
    """Both checked, so a wrong type is Invalid whichever argument it is."""
    image_id_ok = _image_id_can_exist(image_id)
    return _url_can_exist(node_reference_url) and image_id_ok


def _count(value: Any, what: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.Invalid(f"{what} must be an integer, not {type(value).__name__}.")
    if not 0 <= value <= limit:
        raise errors.Invalid(f"{what} must be between 0 and {limit}, not {value}.")
    return value


def _timestamp(value: Any, what: str, default: datetime) -> datetime:
    """A naive UTC datetime from a datetime (aware, or naive UTC) or epoch seconds."""
    if value is None:
        return default
    try:
        if isinstance(value, datetime):
            return normalize(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError) as exc:
        raise errors.Invalid(f"{what} {value!r} is not a valid time: {exc}.") from None
    raise errors.Invalid(f"{what} must be a datetime or epoch seconds, not {type(value).__name__}.")


def _epoch(value: datetime) -> float:
    """Epoch seconds of a naive UTC datetime (glance's ``naive.timestamp()`` assumed local time)."""
    return value.replace(tzinfo=UTC).timestamp()


# --- nodes -----------------------------------------------------------------------------


@writer
async def node_reference_create(context: Context, node_reference_url: str) -> dict[str, Any]:
    """Register an image-cache node.

    Returns ``{"node_reference_id", "node_reference_url"}``.  A registered url is
    refused without an error in the database, so a caller's transaction goes on.

    :raises Duplicate: the url is registered already
    :raises Invalid: the url is not a non-empty string of at most 255 characters, or holds
        4-byte unicode or NUL
    """
    url = _text(node_reference_url, "node_reference_url", URL_MAX)
    row = await context.fetchrow("glance.cache_db.node_reference_create", node_reference_url=url)
    if row is None:
        raise errors.Duplicate(f"Node reference {url} already exists.", node_reference_url=url)
    return {"node_reference_id": row["node_reference_id"], "node_reference_url": row["node_reference_url"]}


@reader
async def node_reference_get_by_url(context: Context, node_reference_url: str) -> dict[str, Any]:
    """The node registered with this url: ``{"node_reference_id", "node_reference_url"}``.

    :raises NodeReferenceNotFound: no node has this url
    :raises Invalid: the url is not a string
    """
    row = None
    if _url_can_exist(node_reference_url):
        row = await context.fetchrow("glance.cache_db.node_reference_get_by_url", node_reference_url=node_reference_url)
    if row is None:
        raise errors.NodeReferenceNotFound(node_reference_url=node_reference_url)
    return {"node_reference_id": row["node_reference_id"], "node_reference_url": row["node_reference_url"]}


# --- cached images ---------------------------------------------------------------------


@writer
async def insert_cache_details(
    context: Context,
    node_reference_url: str,
    image_id: str,
    filesize: int,
    checksum: str | None = None,
    last_accessed: datetime | float | None = None,
    last_modified: datetime | float | None = None,
    hits: int | None = None,
    *,
    replace: bool = True,
) -> bool:
    """Record that the node caches the image.

    Timestamps are datetimes (aware ones are converted, naive ones taken as UTC) or epoch
    seconds; both default to now, ``hits`` to 0.

    :param replace: a row the node has for the image already takes the new details (glance
        kept the stale row); with False it is kept as it is (the one-time migration's copy)
    :returns: True when the row now holds these details: always with ``replace``; without,
        False when the node's row for the image was kept with other details
    :raises NodeReferenceNotFound: no node has this url; nothing is written
    :raises Invalid: a bad url, image id (non-empty, at most 36 characters), filesize
        (0 to 2**63-1), checksum (at most 32 characters), timestamp or hits (0 to 2**31-1);
        nothing is written
    """
    replace = check_bool(replace, "replace")
    now = utcnow()
    params = {
        "node_reference_url": _text(node_reference_url, "node_reference_url", URL_MAX),
        "image_id": _text(image_id, "image_id", IMAGE_ID_MAX),
        "size": _count(filesize, "filesize", BIGINT_MAX),
        "checksum": None if checksum is None else _text(checksum, "checksum", CHECKSUM_MAX),
        "last_accessed": _timestamp(last_accessed, "last_accessed", now),
        "last_modified": _timestamp(last_modified, "last_modified", now),
        "hits": 0 if hits is None else _count(hits, "hits", INT_MAX),
    }
    name = "glance.cache_db.cache_details_upsert" if replace else "glance.cache_db.cache_details_keep"
    row = await context.fetchrow(name, **params)
    if row is None:  # the SELECT found no node, so nothing was inserted
        raise errors.NodeReferenceNotFound(node_reference_url=node_reference_url)
    return bool(row["written"])


@reader
async def get_hit_count(context: Context, image_id: str, node_reference_url: str) -> int:
    """How often the node served the image from its cache; 0 when it has no row for it.

    :raises Invalid: the image id or url is not a string
    """
    if not _both_can_exist(image_id, node_reference_url):
        return 0
    hits = await context.fetchval(
        "glance.cache_db.hit_count_get", image_id=image_id, node_reference_url=node_reference_url
    )
    return int(hits) if hits is not None else 0


@reader
async def get_cached_images(context: Context, node_reference_url: str) -> list[dict[str, Any]]:
    """Every image cached on the node, by image id ([] for an unknown node).

    Each is ``{id, image_id, last_accessed, last_modified, size, hits, checksum}`` with the
    timestamps as float epoch seconds.

    :raises Invalid: the url is not a string
    """
    if not _url_can_exist(node_reference_url):
        return []
    rows = await context.fetch_records("glance.cache_db.cached_images_get", node_reference_url=node_reference_url)
    return [
        {
            "id": row["id"],
            "image_id": row["image_id"],
            "last_accessed": _epoch(row["last_accessed"]),
            "last_modified": _epoch(row["last_modified"]),
            "size": row["size"],
            "hits": row["hits"],
            "checksum": row["checksum"],
        }
        for row in rows
    ]


@reader
async def get_cached_nodes(context: Context, image_id: str) -> list[str]:
    """The urls of the nodes that cache the image, in url order.

    :raises Invalid: the image id is not a string
    """
    if not _image_id_can_exist(image_id):
        return []
    rows = await context.fetch("glance.cache_db.cached_nodes_get", image_id=image_id)
    return [row["node_reference_url"] for row in rows]


@writer
async def delete_all_cached_images(context: Context, node_reference_url: str) -> int:
    """Forget every image cached on the node; returns how many rows went (0 for an unknown node).

    :raises Invalid: the url is not a string
    """
    if not _url_can_exist(node_reference_url):
        return 0
    return await context.execute("glance.cache_db.cached_images_delete_all", node_reference_url=node_reference_url)


@writer
async def delete_cached_image(context: Context, image_id: str, node_reference_url: str) -> int:
    """Forget that the node caches the image; returns 1, or 0 when it had no row for it.

    :raises Invalid: the image id or url is not a string
    """
    if not _both_can_exist(image_id, node_reference_url):
        return 0
    return await context.execute(
        "glance.cache_db.cached_image_delete", image_id=image_id, node_reference_url=node_reference_url
    )


@reader
async def get_least_recently_accessed(context: Context, node_reference_url: str) -> str | None:
    """The id of the image the node accessed longest ago (ties: the smallest id), or None.

    None when the node caches nothing (glance's driver answered ``(None, 0)``, a truthy
    tuple on which ``prune()`` looped forever).

    :raises Invalid: the url is not a string
    """
    if not _url_can_exist(node_reference_url):
        return None
    image_id: str | None = await context.fetchval(
        "glance.cache_db.least_recently_accessed_get", node_reference_url=node_reference_url
    )
    return image_id


@reader
async def is_image_cached_for_node(context: Context, node_reference_url: str, image_id: str) -> bool:
    """Whether the node has a row for the image.

    :raises Invalid: the url or image id is not a string
    """
    if not _both_can_exist(image_id, node_reference_url):
        return False
    cached = await context.fetchval(
        "glance.cache_db.image_cached_for_node", image_id=image_id, node_reference_url=node_reference_url
    )
    return bool(cached)


@writer
async def update_hit_count(context: Context, image_id: str, node_reference_url: str) -> int:
    """Count one hit of the image on the node and stamp its access time with rawdb's clock.

    Returns 1, or 0 when the node has no row for the image.  The count stops at 2**31-1.

    :raises Invalid: the image id or url is not a string
    """
    if not _both_can_exist(image_id, node_reference_url):
        return 0
    return await context.execute(
        "glance.cache_db.hit_count_update", image_id=image_id, node_reference_url=node_reference_url, now=utcnow()
    )
