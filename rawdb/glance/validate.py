"""Input checks for the glance API, run before anything is written.

Glance leaves many of these to the database, so PostgreSQL raises DBError where SQLite
accepts the row (a 33-character checksum, an unknown visibility).  rawdb checks them
itself and raises ``Invalid`` on both backends, with nothing written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from rawdb import errors

STATUSES = (
    "active",
    "saving",
    "queued",
    "killed",
    "pending_delete",
    "deleted",
    "deactivated",
    "importing",
    "uploading",
)
VISIBILITIES = ("private", "public", "shared", "community")
MEMBER_STATUSES = ("pending", "accepted", "rejected")
INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1

# column -> (kind, max length for strings, nullable)
IMAGE_COLUMNS: dict[str, tuple[str, int | None, bool]] = {
    "id": ("str", 36, False),
    "name": ("str", 255, True),
    "disk_format": ("str", 20, True),
    "container_format": ("str", 20, True),
    "size": ("bigint", None, True),
    "virtual_size": ("bigint", None, True),
    "status": ("str", 30, False),
    "visibility": ("str", 9, False),
    "checksum": ("str", 32, True),
    "os_hash_algo": ("str", 64, True),
    "os_hash_value": ("str", 128, True),
    "min_disk": ("int", None, False),
    "min_ram": ("int", None, False),
    "owner": ("str", 255, True),
    "protected": ("bool", None, False),
    "os_hidden": ("bool", None, False),
    "created_at": ("datetime", None, False),
    "updated_at": ("datetime", None, True),
    "deleted_at": ("datetime", None, True),
    "deleted": ("bool", None, False),
}
IMAGE_COLUMN_NAMES = tuple(IMAGE_COLUMNS)

_FOUR_BYTE = re.compile("[\U00010000-\U0010ffff]")


def check_text(value: str, what: str, max_length: int | None = None) -> None:
    """Refuse 4-byte unicode (glance's schema is utf8mb3-safe), NUL characters and oversized strings."""
    if _FOUR_BYTE.search(value):
        raise errors.Invalid(f"{what} can't contain 4 byte unicode.")
    if "\x00" in value:
        raise errors.Invalid(f"{what} can't contain NUL characters.")
    if max_length is not None and len(value) > max_length:
        raise errors.Invalid(f"{what} is longer than {max_length} characters.")


def check_no_4byte(value: Any, what: str) -> None:
    """Check every string in a value, dict keys and nested containers included."""
    if isinstance(value, str):
        check_text(value, what)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_no_4byte(key, what)
            check_no_4byte(item, what)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            check_no_4byte(item, what)


def check_column(column: str, value: Any) -> None:
    """Raise Invalid unless ``value`` fits the images column ``column``."""
    kind, max_length, nullable = IMAGE_COLUMNS[column]
    if value is None:
        if not nullable:
            raise errors.Invalid(f"Image {column} may not be None.")
        return
    if kind == "str":
        if not isinstance(value, str):
            raise errors.Invalid(f"Image {column} must be a string, not {type(value).__name__}.")
        check_text(value, f"Image {column}", max_length)
    elif kind in ("int", "bigint"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise errors.Invalid(f"Image {column} must be an integer, not {type(value).__name__}.")
        limit = INT_MAX if kind == "int" else BIGINT_MAX
        if value > limit or value < -limit - 1:
            raise errors.Invalid(f"'{column}' value out of range, must not exceed {limit}.")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise errors.Invalid(f"Image {column} must be a boolean, not {type(value).__name__}.")
    elif kind == "datetime" and not isinstance(value, datetime):
        raise errors.Invalid(f"Image {column} must be a datetime, not {type(value).__name__}.")


def check_image_values(values: Mapping[str, Any], status_required: bool) -> None:
    """Validate the image columns in ``values`` (glance's ``_validate_image`` and more)."""
    if status_required:
        status = values.get("status")
        if not status:
            raise errors.Invalid("Image status is required.")
    status = values.get("status")
    if status is not None and status not in STATUSES:
        raise errors.Invalid(f"Invalid image status '{status}' for image.")
    if "visibility" in values and values["visibility"] not in VISIBILITIES:
        raise errors.Invalid(f"Invalid visibility value: {values['visibility']!r}; expected one of {VISIBILITIES}.")
    for column, value in values.items():
        if column in IMAGE_COLUMNS:
            check_column(column, value)


def check_properties(properties: Any) -> dict[str, str | None]:
    """Validate a properties mapping: string names up to 255 characters, string (or None) values."""
    if not isinstance(properties, Mapping):
        raise errors.Invalid(f"properties must be a dict, not {type(properties).__name__}.")
    for name, value in properties.items():
        if not isinstance(name, str) or not name:
            raise errors.Invalid(f"Property names must be non-empty strings, not {name!r}.")
        check_text(name, "Property name", 255)
        if value is not None:
            if not isinstance(value, str):
                raise errors.Invalid(f"Property {name} must be a string, not {type(value).__name__}.")
            check_text(value, f"Property {name}")
    return dict(properties)


def check_image_id(image_id: Any) -> bool:
    """True when ``image_id`` can be an image id (glance answers ImageNotFound otherwise)."""
    return isinstance(image_id, str) and 0 < len(image_id) <= 36


def check_tag(value: Any) -> str:
    """Validate one tag value."""
    if not isinstance(value, str) or not value:
        raise errors.Invalid(f"Tags must be non-empty strings, not {value!r}.")
    check_text(value, "Tag", 255)
    return value


def check_tags(tags: Any) -> list[str]:
    """Validate a list of tags; return them without duplicates, in their first order."""
    if isinstance(tags, (str, bytes)) or not isinstance(tags, Iterable):
        raise errors.Invalid(f"tags must be a list of strings, not {type(tags).__name__}.")
    return list(dict.fromkeys(check_tag(t) for t in tags))


def check_int_limit(**values: Any) -> None:
    """glance's ``_validate_db_int``: integers must fit a signed 32-bit column."""
    for name, value in values.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise errors.Invalid(f"'{name}' must be an integer.")
        if (value or 0) > INT_MAX:
            raise errors.Invalid(f"'{name}' value out of range, must not exceed {INT_MAX}.")
