"""Image properties and locations (spec glance.md B.1).

The functions taking a context are glance's public API; the ``set_*`` helpers are what
image_create and image_update use, one statement for all of an image's properties.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.context import Context
from rawdb.conventions import check_datetime
from rawdb.decorators import writer
from rawdb.glance._returning import UPDATE_RETURNING, update_returning
from rawdb.glance._rows import PROPERTY_FIELDS, fields, property_dict
from rawdb.glance._validate import (
    INT_MAX,
    check_image_id,
    check_no_4byte,
    check_property,
    check_reference,
    check_text,
    lookup_text,
)
from rawdb.timeutils import utcnow

DELETED_LOCATION_STATUSES = ("deleted", "pending_delete")
LOCATION_KEYS = ("url", "metadata", "status")


def _timestamp(value: datetime | None) -> str | None:
    """A time as both backends read it from JSON: ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    return None if value is None else value.isoformat(" ", "microseconds")


# --- properties ---------------------------------------------------------------------------


async def insert_properties(tx: Context, image_id: str, properties: Mapping[str, Any], now: datetime) -> list[Any]:
    """Insert a new image's properties in one statement; return their rows."""
    if not properties:
        return []
    payload = json.dumps([{"name": k, "value": v} for k, v in properties.items()])
    return await tx.fetch("glance.children.properties_insert", image_id=image_id, props=payload, now=now)


async def set_properties(
    tx: Context,
    image_id: str,
    properties: Mapping[str, Any],
    purge: bool,
    atomic_props: Sequence[str],
    now: datetime,
) -> None:
    """image_update's properties: upsert (reviving deleted rows), then purge the others if asked."""
    chosen = {k: v for k, v in properties.items() if k not in atomic_props}
    if chosen:
        payload = json.dumps([{"name": k, "value": v} for k, v in chosen.items()])
        await tx.execute("glance.children.properties_upsert", image_id=image_id, props=payload, now=now)
    if purge:
        keep = [*properties, *atomic_props]
        await tx.execute("glance.children.properties_purge", image_id=image_id, keep=keep, now=now)


@writer
async def image_property_create(context: Context, values: Mapping[str, Any]) -> dict[str, Any]:
    """Create one property ``{image_id, name, value}``.

    :raises DBDuplicateEntry: the image has a property of that name, even a deleted one
    :raises DBReferenceError: the image does not exist
    :raises Invalid: bad name or value
    """
    if not isinstance(values, Mapping):
        raise errors.Invalid("values must be a dict")
    image_id, name, value = values.get("image_id"), values.get("name"), values.get("value")
    check_reference(image_id)
    check_property(name, value)
    row = await context.fetchrow(
        "glance.children.property_create", image_id=image_id, name=name, value=value, now=utcnow()
    )
    assert row is not None
    return property_dict(fields(row, PROPERTY_FIELDS), row["image_id"], with_deleted_at=False)


@writer
async def image_property_delete(context: Context, prop_ref: str, image_ref: str) -> dict[str, Any]:
    """Soft-delete the property named ``prop_ref`` of image ``image_ref``; return the row.

    :raises ImagePropertyNotFound: no such property, live or deleted
    :raises Invalid: ``prop_ref`` or ``image_ref`` is not a string UTF-8 can encode
    """
    row = None
    if lookup_text(prop_ref, "prop_ref", 255) & check_image_id(image_ref, "image_ref"):  # & checks both
        key = {"image_id": image_ref, "name": prop_ref}
        delete, read_back = "glance.children.property_soft_delete", "glance.children.property_get"
        row = await update_returning(context, delete, {**key, "now": utcnow()}, read_back, key)
    if row is None:
        raise errors.ImagePropertyNotFound(name=prop_ref, image_id=image_ref)
    return property_dict(fields(row, PROPERTY_FIELDS), row["image_id"])


@writer(retry=True)
async def image_set_property_atomic(context: Context, image_id: str, name: str, value: str) -> None:
    """Create a property (or revive a deleted one) only if no live one exists.

    Competing callers can use it as a lock: exactly one of them succeeds.  Unlike
    glance's, it takes a context: rawdb has no global database to reach.  On Galera the
    loser through another node fails certification instead of waiting; run again, it finds
    the winner's property and raises Duplicate, as on one server.

    :raises Duplicate: a live property of that name exists
    :raises Invalid: a bad image id, name or value
    """
    check_reference(image_id)
    check_property(name, value)
    params = {"image_id": image_id, "name": name, "value": value, "now": utcnow()}
    row = await context.fetchrow("glance.children.property_set_atomic", **params)
    if row is None and not UPDATE_RETURNING[context.dialect]:
        # MariaDB's property_set_atomic only inserts (see its variant): revive a deleted row here.
        # A live row is not matched, also when a concurrent call revived it: the UPDATE waits
        # for that call's lock and then reads the row it committed.
        if await context.execute("glance.children.property_revive", **params) == 1:
            return
    if row is None:
        raise errors.Duplicate(f"Property {name} of image {image_id} is already set.")


@writer(retry=True)
async def image_delete_property_atomic(context: Context, image_id: str, name: str, value: str) -> None:
    """Hard-delete a live property only if it holds exactly ``value`` (run again after a Galera conflict).

    :raises NotFound: no live property with that name and value
    :raises Invalid: the image id, name or value is not a string UTF-8 can encode
    """
    count = 0
    # & evaluates every check, so whichever argument is not text is the one named
    if check_image_id(image_id) & lookup_text(name, "name", 255) & (value is None or lookup_text(value, "value")):
        count = await context.execute(
            "glance.children.property_delete_atomic", image_id=image_id, name=name, value=value
        )
    if count != 1:
        raise errors.NotFound(f"No property {name}={value!r} on image {image_id}.")


# --- locations ----------------------------------------------------------------------------


def _row_id(value: Any, what: str) -> bool:
    """For a lookup by an INTEGER id: whether a row can have it.

    :raises Invalid: not an integer
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.Invalid(f"{what} must be an integer, not {type(value).__name__}")
    return -INT_MAX - 1 <= value <= INT_MAX


def _metadata_text(metadata: Any) -> str:
    """A location's metadata as the JSON text stored (glance's JSONEncodedDict).

    :raises Invalid: not a dict, or not something JSON can hold (sets, objects, NaN, infinity)
    """
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping):
        raise errors.Invalid(f"location metadata must be a dict, not {type(metadata).__name__}")
    try:
        return json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:  # ValueError: NaN, infinity or a circular reference
        raise errors.Invalid(f"location metadata cannot be stored as JSON: {exc}") from None


def check_location(location: Any, need_id: bool = False) -> dict[str, Any]:
    """Validate a location dict ``{url, metadata, status[, id]}``; the copy carries ``meta_data``, its JSON."""
    if not isinstance(location, Mapping):
        raise errors.Invalid(f"a location must be a dict, not {type(location).__name__}")
    missing = [k for k in LOCATION_KEYS if k not in location]
    if missing:
        raise errors.Invalid(f"location is missing {missing}")
    if need_id and location.get("id") is None:
        raise errors.Invalid("The location data has an invalid ID: None")
    if location.get("id") is not None and not _row_id(location["id"], "The location id"):
        raise errors.Invalid(f"The location data has an invalid ID: {location['id']!r}")
    if not isinstance(location["url"], str) or not location["url"]:
        raise errors.Invalid("location url must be a non-empty string")
    if not isinstance(location["status"], str):
        raise errors.Invalid("location status must be a string")
    check_text(location["status"], "Location status", 30)
    check_no_4byte(location, "Location")
    return {**location, "meta_data": _metadata_text(location["metadata"])}


def _location_row(location: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    deleted = location["status"] in DELETED_LOCATION_STATUSES
    return {
        "url": location["url"],
        "meta_data": location["meta_data"],
        "status": location["status"],
        "deleted": deleted,
        "deleted_at": now if deleted else None,
    }


async def insert_locations(
    tx: Context, image_id: str, locations: Sequence[Mapping[str, Any]], now: datetime
) -> list[Any]:
    """Insert new locations of an image in one statement; return ``{id, url, metadata, status, deleted}``."""
    if not locations:
        return []
    rows = [_location_row(loc, now) for loc in locations]
    payload = json.dumps([{**r, "deleted_at": _timestamp(r["deleted_at"])} for r in rows])
    return await tx.fetch("glance.children.locations_insert", image_id=image_id, locations=payload, now=now)


async def _update_location(tx: Context, image_id: str, location: Mapping[str, Any], now: datetime) -> None:
    row = _location_row(location, now)
    count = await tx.execute(
        "glance.children.location_update",
        location_id=location["id"],
        image_id=image_id,
        url=row["url"],
        meta_data=row["meta_data"],
        status=row["status"],
        deleted=row["deleted"],
        deleted_at=row["deleted_at"],
        now=now,
    )
    if count != 1:
        raise errors.ImageLocationNotFound(location_id=location["id"], image_id=image_id)


async def set_locations(tx: Context, image_id: str, locations: Sequence[Mapping[str, Any]], now: datetime) -> None:
    """Replace an image's locations: ``[]`` deletes them all (glance ignored ``[]``, spec G.11)."""
    keep = [loc["id"] for loc in locations if loc.get("id") is not None]
    await tx.execute("glance.children.locations_delete_except", image_id=image_id, keep=keep, now=now)
    for location in locations:
        if location.get("id") is not None:
            await _update_location(tx, image_id, location, now)
    await insert_locations(tx, image_id, [loc for loc in locations if loc.get("id") is None], now)


@writer
async def image_location_add(context: Context, image_id: str, location: Mapping[str, Any]) -> None:
    """Add a location ``{url, metadata, status}`` to an image.

    :raises DBReferenceError: the image does not exist
    :raises Invalid: a key is missing or a value is bad, or the image id cannot be one
    """
    checked = check_location(location)
    check_reference(image_id)
    await insert_locations(context, image_id, [checked], utcnow())


@writer
async def image_location_update(context: Context, image_id: str, location: Mapping[str, Any]) -> None:
    """Rewrite the location ``location['id']`` of an image (deleted ones too; a live status revives it).

    :raises Invalid: the location has no id (glance raised TypeError)
    :raises ImageLocationNotFound: no such location on this image
    """
    checked = check_location(location, need_id=True)
    if not check_image_id(image_id):
        raise errors.ImageLocationNotFound(location_id=checked["id"], image_id=image_id)
    await _update_location(context, image_id, checked, utcnow())


@writer
async def image_location_delete(
    context: Context,
    image_id: str,
    location_id: int,
    status: str,
    delete_time: datetime | None = None,
) -> None:
    """Mark a location ``deleted`` or ``pending_delete``, at ``delete_time`` if given (glance ignored it).

    :raises Invalid: another status
    :raises ImageLocationNotFound: no such location on this image
    """
    if status not in DELETED_LOCATION_STATUSES:
        raise errors.Invalid("The status of deleted image location can only be set to 'pending_delete' or 'deleted'")
    at = check_datetime(delete_time, "delete_time") if delete_time is not None else utcnow()
    count = 0
    if _row_id(location_id, "location_id") & check_image_id(image_id):
        count = await context.execute(
            "glance.children.location_delete", location_id=location_id, image_id=image_id, status=status, at=at
        )
    if count != 1:
        raise errors.ImageLocationNotFound(location_id=location_id, image_id=image_id)


__all__ = [
    "image_delete_property_atomic",
    "image_location_add",
    "image_location_delete",
    "image_location_update",
    "image_property_create",
    "image_property_delete",
    "image_set_property_atomic",
]
