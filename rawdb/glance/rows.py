"""Turn database rows into the dicts glance's DB API returns (spec glance.md B.0).

Both backends produce the same dicts: keys in the same order, naive UTC datetimes,
real booleans.  Children aggregated as JSON arrive with timestamps as ISO text and (on
SQLite) booleans as 0/1; they are decoded here and put in insertion (id) order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rawdb.glance.validate import IMAGE_COLUMN_NAMES

Row = Mapping[str, Any]

PROPERTY_KEYS = ("id", "image_id", "name", "value", "created_at", "updated_at", "deleted_at", "deleted")
MEMBER_KEYS = ("id", "image_id", "member", "can_share", "status", "created_at", "updated_at", "deleted")


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def property_dict(row: Row, image_id: str | None = None, with_deleted_at: bool = True) -> dict[str, Any]:
    """An image_properties row (or its JSON form) as glance returns it."""
    prop = {
        "id": row["id"],
        "image_id": image_id if image_id is not None else row["image_id"],
        "name": row["name"],
        "value": row["value"],
        "created_at": _time(row["created_at"]),
        "updated_at": _time(row["updated_at"]),
        "deleted_at": _time(row["deleted_at"]),
        "deleted": bool(row["deleted"]),
    }
    if not with_deleted_at:
        del prop["deleted_at"]
    return prop


def location_dict(row: Row) -> dict[str, Any]:
    """A location (selected as ``id, url, metadata, status``) as glance returns it."""
    metadata = _json(row["metadata"]) if row["metadata"] is not None else None
    return {"id": row["id"], "url": row["url"], "metadata": metadata or {}, "status": row["status"]}


def member_dict(row: Row) -> dict[str, Any]:
    """An image_members row as glance returns it (no ``deleted_at``)."""
    return {
        "id": row["id"],
        "image_id": row["image_id"],
        "member": row["member"],
        "can_share": bool(row["can_share"]),
        "status": row["status"],
        "created_at": _time(row["created_at"]),
        "updated_at": _time(row["updated_at"]),
        "deleted": bool(row["deleted"]),
    }


def image_dict(
    row: Row,
    properties: Any,
    locations: Any,
    tags: Any = None,
    *,
    hide_locations: bool = False,
    v1_mode: bool = False,
) -> dict[str, Any]:
    """The B.0 image dict from an images row and its children (rows, or JSON arrays).

    :param hide_locations: glance hides a deactivated image's locations from non-admins
    :param tags: live tag values; the ``tags`` key is present only when this is not None
    """
    image = {column: row[column] for column in IMAGE_COLUMN_NAMES}
    image_id = image["id"]
    props = sorted(_json(properties) or [], key=lambda p: p["id"])
    image["properties"] = [property_dict(p, image_id) for p in props]
    if hide_locations:
        image["locations"] = []
    else:
        locs = sorted(_json(locations) or [], key=lambda loc: loc["id"])
        image["locations"] = [location_dict(loc) for loc in locs]
    if tags is not None:
        decoded = _json(tags) or []
        if decoded and isinstance(decoded[0], Mapping):
            decoded = [t["value"] for t in sorted(decoded, key=lambda t: t["id"])]
        image["tags"] = list(decoded)
    if v1_mode:
        image["is_public"] = image.pop("visibility") == "public"
    return image
