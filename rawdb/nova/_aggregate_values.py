"""The checks and row shapes of ``rawdb.nova.aggregates`` (pure Python: it runs no statements)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rawdb import errors
from rawdb.checks import BIGINT_MAX, INT_MAX, check_integer, lookup_text
from rawdb.conventions import coerce, coerce_values, table_columns

Row = dict[str, Any]

AZ = "availability_zone"
# The aggregate columns create and update may set (the id and soft-delete columns are rawdb's).
COLUMNS = ("name", "uuid", "created_at", "updated_at")
UUID_LENGTH, NAME_LENGTH = 36, 255


def row_id(value: Any, what: str = "aggregate_id") -> int | None:
    """An id argument as an int, or None when no row can have it (0, out of range).

    :raises Invalid: not an integer nor a string of one
    """
    if isinstance(value, str) and len(value) > 24:
        raise errors.Invalid(f"{what} must be an integer, not {value!r:.80}")
    number = check_integer(value, what, -BIGINT_MAX - 1, BIGINT_MAX)
    return number if 0 < number <= INT_MAX else None


def mapping(value: Any, what: str) -> Mapping[Any, Any]:
    """:raises Invalid: ``value`` is not a dict."""
    if not isinstance(value, Mapping):
        raise errors.Invalid(f"{what} must be a dict, not {type(value).__name__}")
    return value


def metadata_items(metadata: Any) -> dict[str, str]:
    """Metadata as the aggregate_metadata columns store it (keys and values: strings of up to 255).

    :raises Invalid: not a dict, or a key or value its column cannot hold (None included)
    """
    columns = table_columns("nova")["aggregate_metadata"]
    items: dict[str, str] = {}
    for key, value in mapping(metadata, "metadata").items():
        items[coerce(columns["key"], "metadata key", key)] = coerce(columns["value"], f"metadata[{key!r:.40}]", value)
    return items


def aggregate_columns(values: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """The aggregate columns in ``values`` (without ``metadata`` / ``availability_zone``), checked.

    :raises Invalid: an unknown key, a value its column cannot hold, a name that is not a string
        (required when ``creating``)
    """
    given = {k: v for k, v in values.items() if k not in ("metadata", AZ)}
    if given.get("deleted") in (0, False):
        del given["deleted"]  # callers pass the default; the ORM ignored it
    columns = coerce_values("nova", "aggregates", given, frozenset(COLUMNS), parse_times=True)
    if (creating or "name" in values) and not isinstance(values.get("name"), str):
        raise errors.Invalid(f"an aggregate's name must be a string, not {type(values.get('name')).__name__}")
    return columns


def aggregate(row: Mapping[str, Any]) -> Row:
    """An aggregate dict from a row whose ``hosts`` and ``metadetails`` are JSON text."""
    result = dict(row)
    result["hosts"] = json.loads(result["hosts"])
    result["metadetails"] = {key: value for key, value in json.loads(result["metadetails"])}
    result[AZ] = result["metadetails"].get(AZ)
    return result


def key_filter(key: Any) -> tuple[bool, str | None]:
    """``(possible, key)``: no filter for None or '' (Newton's ``if key``); impossible for an unholdable key."""
    if key is None or key == "":
        return True, None
    found = lookup_text(key, "key")
    return found is not None, found


def restore(row: Mapping[str, Any]) -> dict[str, Any]:
    """aggregate_update's parameters that put back a row's columns (MySQL: a rename found a rival)."""
    params: dict[str, Any] = {"aggregate_id": row["id"], "updated_at": row["updated_at"]}
    for column in COLUMNS[:-1]:
        params[f"set_{column}"] = True
        params[column] = row[column]
    return params
