"""rawdb's clock: naive UTC datetimes with microseconds, as oslo's ``timeutils.utcnow()``.

Every time rawdb writes of its own (``created_at``, ``updated_at``, ``deleted_at``, a usage
cache's ``last_refreshed`` …) comes from ``utcnow()``, so a caller can freeze it, as oslo's
``timeutils.set_time_override`` froze nova's::

    from rawdb import timeutils

    with timeutils.frozen(datetime(2016, 1, 1, 12, 0)) as clock:
        await db.bw_usage_update(ctx, ...)       # last_refreshed 2016-01-01 12:00
        clock.advance(timedelta(minutes=5))       # now 12:05

The override is process-wide (as oslo's), for tests and tools; it is not a per-request setting.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

_override: datetime | None = None


def utcnow() -> datetime:
    """The current time as a naive UTC datetime (microsecond precision), or the frozen time."""
    if _override is not None:
        return _override
    return datetime.now(UTC).replace(tzinfo=None)


def normalize(value: datetime) -> datetime:
    """A datetime as naive UTC: aware values are converted, naive ones taken as UTC."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


class FrozenClock:
    """The handle ``frozen()`` yields: the frozen time, and a way to move it."""

    @property
    def now(self) -> datetime:
        return utcnow()

    def advance(self, delta: timedelta) -> datetime:
        """Move the frozen time by ``delta``; the new time."""
        global _override
        if _override is None:
            from rawdb import errors

            raise errors.Invalid("the clock is not frozen")
        _override = _override + delta
        return _override


@contextlib.contextmanager
def frozen(at: datetime | None = None) -> Iterator[FrozenClock]:
    """Freeze ``utcnow()`` at ``at`` (naive UTC, or aware and converted; default: now) for the
    ``with`` block, then restore what was there before (nested blocks nest)."""
    global _override
    given: object = at  # callers may pass anything
    if given is not None and not isinstance(given, datetime):
        from rawdb import errors  # (rawdb.errors imports nothing of the clock; kept local all the same)

        raise errors.Invalid(f"frozen() takes a datetime, not {type(given).__name__}")
    saved = _override
    _override = normalize(at) if at is not None else utcnow()
    try:
        yield FrozenClock()
    finally:
        _override = saved
