"""rawdb's clock: naive UTC datetimes with microseconds, as oslo's ``timeutils.utcnow()``."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time as a naive UTC datetime (microsecond precision)."""
    return datetime.now(UTC).replace(tzinfo=None)


def normalize(value: datetime) -> datetime:
    """A datetime as naive UTC: aware values are converted, naive ones taken as UTC."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)
