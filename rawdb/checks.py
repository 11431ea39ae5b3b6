"""How OpenStack's services read the values callers pass (part of rawdb.conventions).

``check_bool`` is oslo's ``strutils.bool_from_string`` made strict: glance, nova and
cinder parse boolean strings with it, and a string it does not know is refused rather
than taken for True.  Times are stored as naive UTC (``check_datetime``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from rawdb import errors
from rawdb.timeutils import normalize

# oslo's strutils.bool_from_string
TRUE_STRINGS = ("1", "t", "true", "on", "y", "yes")
FALSE_STRINGS = ("0", "f", "false", "off", "n", "no")


def check_bool(value: Any, what: str) -> bool:
    """A boolean argument: True or False, or 0/1 or a string as oslo parses them (``'false'`` is False).

    :raises Invalid: anything else; a truthy value is never taken for True
    """
    if isinstance(value, bool):
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in TRUE_STRINGS:
            return True
        if lowered in FALSE_STRINGS:
            return False
    raise errors.Invalid(f"{what} must be True or False (or one of {TRUE_STRINGS + FALSE_STRINGS}), not {value!r:.80}.")


def check_datetime(value: Any, what: str) -> datetime:
    """A datetime as naive UTC (aware ones converted), or Invalid if it is not one or leaves years 1-9999."""
    if not isinstance(value, datetime):
        raise errors.Invalid(f"{what} must be a datetime, not {type(value).__name__}.")
    try:
        return normalize(value)
    except OverflowError:
        raise errors.Invalid(f"{what} {value!r} is out of range once converted to UTC.") from None


def check_identity(value: Any, what: str) -> str | None:
    """A project, user or quota class id as a Context carries it: a string, or None.

    :raises Invalid: another type, or a string no database column can hold (NUL, a lone
        surrogate, over 255 characters)
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string or None, not {type(value).__name__}")
    if len(value) > 255 or "\x00" in value or not _encodable(value):
        raise errors.Invalid(f"{what} {value!r:.80} cannot be an id: NUL, a lone surrogate or over 255 characters")
    return value


def _encodable(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1


def check_integer(value: Any, what: str, minimum: int = -INT_MAX - 1, maximum: int = INT_MAX) -> int:
    """An integer, or a string the database would read as one (``'10'``), within the range.

    OpenStack's API layers pass numbers from requests as strings and upstream's Integer
    columns stored them; a bool, a float or any other string is refused.

    :raises Invalid: not an integer, or out of ``minimum``..``maximum``
    """
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.Invalid(f"{what} must be an integer, not {value!r:.80}")
    if not minimum <= value <= maximum:
        raise errors.Invalid(f"{what} must be between {minimum} and {maximum}, not {value}")
    return value


NAME_LENGTH = 255  # VARCHAR(255): most of OpenStack's string columns


def lookup_text(value: Any, what: str, max_length: int | None = NAME_LENGTH) -> str | None:
    """A string key to look rows up by, or None when no row can hold it (longer than
    ``max_length``, a NUL, a lone surrogate): the lookup then finds nothing, as upstream's
    query would, without sending a value the database refuses.

    :raises Invalid: not a string
    """
    if not isinstance(value, str):
        raise errors.Invalid(f"{what} must be a string, not {type(value).__name__}")
    if (max_length is not None and len(value) > max_length) or "\x00" in value or not _encodable(value):
        return None
    return value


def lookup_id(value: Any, what: str) -> int | None:
    """An integer id (or a string of one) to look rows up by, or None when no INTEGER row id can
    be it (out of range but within BIGINT).

    :raises Invalid: not an integer, or beyond BIGINT
    """
    number = check_integer(value, what, -BIGINT_MAX - 1, BIGINT_MAX)
    return number if -INT_MAX - 1 <= number <= INT_MAX else None
