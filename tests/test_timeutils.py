"""rawdb's clock can be frozen and moved, and every write of rawdb's own time follows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from rawdb import errors, timeutils

T0 = datetime(2016, 1, 1, 12, 0, 0, 250)


def test_frozen_time_stays_moves_on_request_and_is_restored() -> None:
    before = timeutils.utcnow()
    with timeutils.frozen(T0) as clock:
        assert timeutils.utcnow() == T0 and clock.now == T0
        assert clock.advance(timedelta(minutes=5)) == T0 + timedelta(minutes=5)
        assert timeutils.utcnow() == datetime(2016, 1, 1, 12, 5, 0, 250)
        with timeutils.frozen(datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=2)))):
            assert timeutils.utcnow() == datetime(2019, 12, 31, 22, 0)  # aware: converted to naive UTC
        assert timeutils.utcnow() == datetime(2016, 1, 1, 12, 5, 0, 250)
    assert before <= timeutils.utcnow() <= datetime.now(UTC).replace(tzinfo=None)


def test_a_clock_that_is_not_frozen_cannot_be_moved_and_frozen_takes_datetimes_only() -> None:
    with timeutils.frozen(T0) as clock:
        pass
    with pytest.raises(errors.Invalid, match="not frozen"):
        clock.advance(timedelta(seconds=1))
    with pytest.raises(errors.Invalid):
        with timeutils.frozen("2016-01-01"):  # type: ignore[arg-type]
            pass
