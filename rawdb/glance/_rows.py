"""Turn database rows into the dicts glance's DB API returns (spec glance.md B.0).

Both backends produce the same dicts: keys in the same order, naive UTC datetimes,
real booleans.  Children aggregated as JSON arrive with timestamps as ISO text and (on
SQLite) booleans as 0/1; they are decoded here and put in insertion (id) order.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.glance._validate import IMAGE_COLUMN_NAMES

Row = Mapping[str, Any]

PROPERTY_KEYS = ("id", "image_id", "name", "value", "created_at", "updated_at", "deleted_at", "deleted")
MEMBER_KEYS = ("id", "image_id", "member", "can_share", "status", "created_at", "updated_at", "deleted")
# Children travel as positional tuples (see listing._CHILDREN), in these field orders.
PROPERTY_FIELDS = ("id", "name", "value", "created_at", "updated_at", "deleted_at", "deleted")
LOCATION_FIELDS = ("id", "url", "metadata", "status")
TAG_FIELDS = ("id", "value")


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def fields(row: Row, names: tuple[str, ...]) -> tuple[Any, ...]:
    """A row's values in the positional order children travel in."""
    return tuple(row[name] for name in names)


def property_dict(row: Any, image_id: str, with_deleted_at: bool = True) -> dict[str, Any]:
    """A property (positional, PROPERTY_FIELDS order) as glance returns it."""
    prop_id, name, value, created_at, updated_at, deleted_at, deleted = row
    prop = {
        "id": prop_id,
        "image_id": image_id,
        "name": name,
        "value": value,
        "created_at": _time(created_at),
        "updated_at": _time(updated_at),
        "deleted_at": _time(deleted_at),
        "deleted": bool(deleted),
    }
    if not with_deleted_at:
        del prop["deleted_at"]
    return prop


def location_dict(row: Any) -> dict[str, Any]:
    """A location (positional, LOCATION_FIELDS order) as ``{id, url, metadata, status}``."""
    location_id, url, metadata, status = row
    decoded = location_metadata(metadata) if isinstance(metadata, str) else metadata
    return {"id": location_id, "url": url, "metadata": decoded or {}, "status": status}


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


_image_columns = operator.itemgetter(*IMAGE_COLUMN_NAMES)


# The C scanner behind json.loads, called directly: the arrays SQLite aggregates are
# compact JSON (no surrounding whitespace), and json.loads's Python layers cost more
# than the scan on a page of small arrays.
_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_first = operator.itemgetter(0)


def _children(value: Any) -> Any:
    """Children as tuples in id order: native record arrays arrive ordered; JSON is sorted here."""
    if value is None:
        return ()
    if isinstance(value, str):
        try:
            return sorted(_scan_json(value, 0)[0], key=_first)
        except (StopIteration, ValueError) as exc:  # scan_once signals malformed input with StopIteration
            raise errors.DBDataError(detail=f"malformed JSON from the database: {value[:80]!r}") from exc
    return value


_SCALARS = (str, int, float, bool, type(None))
_metadata_seen: dict[str, dict[str, Any]] = {}


def location_metadata(text: str | None) -> Any:
    """A location's metadata from its JSON text ({} when empty).

    Deployments have a handful of distinct metadata texts (``{"store": "ceph"}``): flat
    ones are decoded once and copied per location, since callers may change their dict.
    """
    if not text:
        return {}
    flat = _metadata_seen.get(text)
    if flat is not None:
        return flat.copy()
    try:
        value = json.loads(text) or {}
    except ValueError as exc:  # written by another tool, or damaged
        raise errors.DBDataError(detail=f"a location's meta_data is not JSON: {text[:80]!r}") from exc
    if isinstance(value, dict) and all(isinstance(item, _SCALARS) for item in value.values()):
        if len(_metadata_seen) >= 1024:
            _metadata_seen.clear()
        _metadata_seen[text] = value
        return value.copy()
    return value


def image_dict(
    row: Row,
    properties: Any,
    locations: Any,
    tags: Any = None,
    *,
    hide_locations: bool = False,
    v1_mode: bool = False,
) -> dict[str, Any]:
    """The B.0 image dict from an images row and its children (positional tuples, or JSON of them).

    :param hide_locations: glance hides a deactivated image's locations from non-admins
    :param tags: ``(id, value)`` of live tags; the ``tags`` key is present only when this is not None
    """
    image = dict(zip(IMAGE_COLUMN_NAMES, _image_columns(row), strict=True))
    image_id = image["id"]
    props = _children(properties)
    if props and isinstance(props[0][3], datetime):
        # Typed by the driver (PostgreSQL): build the dicts directly, the hot path of
        # large pages.  JSON children (SQLite) carry text times and 0/1 booleans.
        image["properties"] = [
            {
                "id": p[0],
                "image_id": image_id,
                "name": p[1],
                "value": p[2],
                "created_at": p[3],
                "updated_at": p[4],
                "deleted_at": p[5],
                "deleted": p[6],
            }
            for p in props
        ]
    elif props and isinstance(props[0][3], str):
        # JSON children (SQLite): ISO text times and 0/1 booleans, decoded inline (a page
        # of 25 images carries ~200 properties: function calls per value add up).
        iso = datetime.fromisoformat
        image["properties"] = [
            {
                "id": p[0],
                "image_id": image_id,
                "name": p[1],
                "value": p[2],
                "created_at": iso(p[3]),
                "updated_at": iso(p[4]) if p[4] else None,
                "deleted_at": iso(p[5]) if p[5] else None,
                "deleted": bool(p[6]),
            }
            for p in props
        ]
    else:
        image["properties"] = [property_dict(p, image_id) for p in props]
    if hide_locations:
        image["locations"] = []
    else:
        image["locations"] = [
            {"id": loc[0], "url": loc[1], "metadata": location_metadata(loc[2]), "status": loc[3]}
            for loc in _children(locations)
        ]
    if tags is not None:
        image["tags"] = [tag[1] for tag in _children(tags)]
    if v1_mode:
        image["is_public"] = image.pop("visibility") == "public"
    return image
