"""Input checks for the quota API, run before any statement.

Bad input raises ``Invalid`` (or InvalidReservationExpiration) naming the parameter, and
nothing is written.  Strings must be text a column can hold on every backend: no NUL
(PostgreSQL refuses it) and no lone surrogate (UTF-8 cannot encode it); a string written
to a column must also fit it (PostgreSQL refuses a longer one, SQLite would keep it).
A lookup of a longer string just finds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rawdb import errors
from rawdb.checks import check_datetime, check_integer
from rawdb.context import Context
from rawdb.quota.core import MAX_INT
from rawdb.quota.resources import BaseResource
from rawdb.timeutils import normalize, utcnow

NAME_LENGTH = 255  # project_id, user_id, class_name (and nova's resource) columns
UUID_LENGTH = 36
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_context(context: Any, call: str) -> Context:
    """The context argument, or ScopeError (as the @reader/@writer decorators raise)."""
    if not isinstance(context, Context):
        raise errors.ScopeError(f"{call}() takes a rawdb.Context as its first argument, got {type(context).__name__}")
    return context


def text(value: Any, name: str, max_length: int | None = None) -> str:
    """A string argument; ``max_length`` when it is written to a column of that size."""
    if not isinstance(value, str):
        raise errors.Invalid(f"{name} must be a string, not {type(value).__name__}")
    if _UNSTORABLE.search(value):
        raise errors.Invalid(f"{name} can't contain NUL characters or lone surrogates (not UTF-8)")
    if max_length is not None and len(value) > max_length:
        raise errors.Invalid(f"{name} is longer than {max_length} characters")
    return value


def optional_text(value: Any, name: str, max_length: int | None = None) -> str | None:
    """None, or a string argument as ``text`` checks it."""
    return None if value is None else text(value, name, max_length)


def names(value: Any, name: str) -> list[str]:
    """A list of strings (resource names, reservation uuids); a lone string is not one."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise errors.Invalid(f"{name} must be a list of strings, not {type(value).__name__}")
    return [text(item, f"an item of {name}") for item in value]


def integer(value: Any, name: str, minimum: int = -MAX_INT - 1, maximum: int = MAX_INT) -> int:
    """An integer argument that fits an INTEGER column (or the given range); integer strings
    (``'10'``) are read as upstream's Integer columns stored them."""
    return check_integer(value, name, minimum, maximum)


def optional_integer(value: Any, name: str, minimum: int = -MAX_INT - 1, maximum: int = MAX_INT) -> int | None:
    """None, or an integer argument as ``integer`` checks it."""
    return None if value is None else integer(value, name, minimum, maximum)


def flag(value: Any, name: str) -> bool:
    """A boolean argument: True or False, never a truthy value."""
    if not isinstance(value, bool):
        raise errors.Invalid(f"{name} must be True or False, not {type(value).__name__}")
    return value


def check_limit(limit: Any) -> int:
    """A hard limit: -1 (unlimited) or 0 to MAX_INT.  nova's API passes limits as strings
    (``'10'``), which upstream's Integer columns stored as numbers, and so does rawdb."""
    return check_integer(limit, "a quota limit", -1, MAX_INT)


def check_limits(limits: Any, name: str, resources: Sequence[str]) -> dict[str, int]:
    """The given limits of ``resources`` (quota_reserve's project_quotas, user_quotas)."""
    if not isinstance(limits, Mapping):
        raise errors.Invalid(f"{name} must be a dict of resource -> limit, not {type(limits).__name__}")
    missing = sorted(r for r in resources if r not in limits)
    if missing:
        raise errors.Invalid(f"{name} gives no quota for {missing}")
    return {r: check_limit(limits[r]) for r in resources}


def check_deltas(deltas: Any) -> dict[str, int]:
    if not isinstance(deltas, Mapping) or not deltas:
        raise errors.Invalid("deltas must be a non-empty dict of resource -> integer")
    for resource, delta in deltas.items():
        if not isinstance(resource, str) or isinstance(delta, bool) or not isinstance(delta, int):
            raise errors.Invalid(f"delta {resource!r:.80}: {delta!r:.80} is not resource -> integer")
        text(resource, "a resource of deltas")
        if abs(delta) > MAX_INT:
            raise errors.Invalid(f"delta {resource!r}: {delta} is out of range")
    return dict(deltas)


def check_resources(resources: Any) -> Mapping[str, BaseResource]:
    """quota_reserve's ``resources``: a dict of resource name -> resource."""
    if not isinstance(resources, Mapping) or not all(isinstance(r, BaseResource) for r in resources.values()):
        raise errors.Invalid("resources must be a dict of resource name -> BaseResource")
    return resources


def expiry(expire: Any, default_seconds: int = 86400) -> datetime:
    """nova's DbQuotaDriver: None (default), seconds, a timedelta or a datetime.

    :raises InvalidReservationExpiration: anything else, or a time out of range
    """
    if expire is None:
        expire = default_seconds
    if isinstance(expire, bool):
        raise errors.InvalidReservationExpiration(expire=expire)
    try:
        if isinstance(expire, int):
            expire = timedelta(seconds=expire)
        if isinstance(expire, timedelta):
            return utcnow() + expire
        if isinstance(expire, datetime):
            return normalize(expire)
    except OverflowError:  # beyond datetime's years 1-9999
        raise errors.InvalidReservationExpiration(expire=expire) from None
    raise errors.InvalidReservationExpiration(expire=expire)


def max_age_seconds(value: Any) -> float:
    """quota_reserve's ``max_age``: seconds (an integer; None or 0: never) or a timedelta, as seconds.

    cinder's and nova's ``max_age`` option is seconds; a timedelta says the same thing.

    :raises Invalid: anything else, or an age below 0 or beyond MAX_INT seconds
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if not 0 <= seconds <= MAX_INT:
            raise errors.Invalid(f"max_age must be between 0 and {MAX_INT} seconds, not {value!r}")
        return seconds
    return optional_integer(value, "max_age", 0) or 0


def optional_time(value: Any, name: str) -> datetime | None:
    """None, or a datetime as naive UTC."""
    return None if value is None else check_datetime(value, name)
