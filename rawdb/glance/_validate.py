"""Input checks for the glance API, run before anything is written.

Glance leaves many of these to the database, so PostgreSQL raises DBError where SQLite
accepts the row (a 33-character checksum, an unknown visibility).  rawdb checks them
itself and raises ``Invalid`` on both backends, with nothing written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from rawdb import errors
from rawdb.conventions import check_datetime

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

# One scan finds every character a stored string may not hold: NUL (PostgreSQL refuses it),
# lone UTF-16 surrogates (UTF-8 cannot encode them: SQLite stored them as invalid UTF-8 that
# no later read could decode) and 4-byte characters (glance's no_4byte_params).
_REFUSED = re.compile("[\x00\ud800-\udfff\U00010000-\U0010ffff]")
_UNENCODABLE = re.compile("[\ud800-\udfff]")


def check_text(value: str, what: str, max_length: int | None = None) -> None:
    """Refuse 4-byte unicode (glance's schema is utf8mb3-safe), NUL characters, lone surrogates
    (not UTF-8) and oversized strings."""
    refused = _REFUSED.search(value)
    if refused is not None:
        char = refused.group()
        if char == "\x00":
            raise errors.Invalid(f"{what} can't contain NUL characters.")
        if char <= "\udfff":
            raise errors.Invalid(f"{what} can't contain lone surrogates ({char!r}): they are not UTF-8.")
        raise errors.Invalid(f"{what} can't contain 4 byte unicode.")
    if max_length is not None and len(value) > max_length:
        raise errors.Invalid(f"{what} is longer than {max_length} characters.")


def lookup_text(value: Any, what: str, max_length: int | None = None) -> bool:
    """For a lookup: whether a row can hold ``value`` (False for NUL or an oversized string).

    :raises Invalid: ``value`` is not a string, or holds a lone surrogate (not UTF-8)
    """
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}.")
    if _UNENCODABLE.search(value):
        raise errors.Invalid(f"{what} can't contain lone surrogates: they are not UTF-8.")
    return "\x00" not in value and (max_length is None or len(value) <= max_length)


MAX_NESTING = 32  # containers within containers a value may have (a cycle would recurse forever)


def check_no_4byte(value: Any, what: str, depth: int = 0) -> None:
    """Check every string in a value, dict keys and nested containers included."""
    if isinstance(value, str):
        check_text(value, what)
    elif isinstance(value, (Mapping, list, tuple, set, frozenset)):
        if depth >= MAX_NESTING:
            raise errors.Invalid(f"{what} is nested more than {MAX_NESTING} levels deep.")
        items = value.items() if isinstance(value, Mapping) else ((None, item) for item in value)
        for key, item in items:
            check_no_4byte(key, what, depth + 1)
            check_no_4byte(item, what, depth + 1)


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
    elif kind == "datetime":
        check_datetime(value, f"Image {column}")


def column_value(column: str, value: Any) -> Any:
    """``value`` as the images column ``column`` stores it (aware datetimes as naive UTC);
    Invalid unless it fits (see check_column)."""
    if value is not None and IMAGE_COLUMNS[column][0] == "datetime":
        value = check_datetime(value, f"Image {column}")
    check_column(column, value)
    return value


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


def check_property(name: Any, value: Any) -> None:
    """Validate one property: a string name up to 255 characters, a string (or None) value."""
    if not isinstance(name, str) or not name:
        raise errors.Invalid(f"Property names must be non-empty strings, not {name!r:.80}.")
    check_text(name, "Property name", 255)
    if value is not None:
        if not isinstance(value, str):
            raise errors.Invalid(f"Property {name} must be a string, not {type(value).__name__}.")
        check_text(value, f"Property {name}")


def check_properties(properties: Any) -> dict[str, str | None]:
    """Validate a properties mapping (see check_property)."""
    if not isinstance(properties, Mapping):
        raise errors.Invalid(f"properties must be a dict, not {type(properties).__name__}.")
    for name, value in properties.items():
        check_property(name, value)
    return dict(properties)


def check_image_id(image_id: Any, what: str = "image_id") -> bool:
    """True when ``image_id`` can be an image id (glance answers ImageNotFound otherwise).

    :raises Invalid: a string with a lone surrogate, which no database can be asked about
    """
    if not isinstance(image_id, str) or not image_id:
        return False
    return lookup_text(image_id, what, 36)


def check_reference(image_id: Any) -> str:
    """An image id a child row (property, location, member, tag) can refer to.

    Glance left the rest to the foreign key, which the backends refuse differently (a
    too-long id is a DataError on PostgreSQL, a missing reference on SQLite).
    """
    if not check_image_id(image_id):
        raise errors.Invalid(f"image_id {image_id!r:.80} is not an image id")
    return str(image_id)


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
