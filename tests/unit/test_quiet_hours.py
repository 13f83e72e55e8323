"""Quiet hours in Kazakhstan time: when a proactive SMS is held, and until when."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.almaty import ALMATY
from domain.quiet_hours import quiet_until, start_of_local_day

NINE, NINE_PM = dt.time(9, 0), dt.time(21, 0)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=ALMATY)


CASES = [
    ("morning after 09:00 is open", at(23, 9, 0), None),
    ("20:59 is still open", at(23, 20, 59), None),
    ("21:00 is quiet until 09:00 next day", at(23, 21, 0), at(24, 9, 0)),
    ("23:30 is quiet until 09:00 next day", at(23, 23, 30), at(24, 9, 0)),
    ("00:30 is quiet until 09:00 the same day", at(24, 0, 30), at(24, 9, 0)),
    ("08:59 is quiet until 09:00", at(24, 8, 59), at(24, 9, 0)),
]


@pytest.mark.parametrize(("label", "now", "until"), CASES, ids=[c[0] for c in CASES])
def test_quiet_until(label: str, now: dt.datetime, until: dt.datetime | None) -> None:
    result = quiet_until(now.astimezone(dt.UTC), NINE_PM, NINE)
    assert result == (until.astimezone(dt.UTC) if until else None)


def test_a_window_that_does_not_wrap_midnight() -> None:
    assert quiet_until(at(23, 13, 30), dt.time(13, 0), dt.time(14, 30)) == at(23, 14, 30).astimezone(dt.UTC)
    assert quiet_until(at(23, 15, 0), dt.time(13, 0), dt.time(14, 30)) is None


def test_no_quiet_hours_when_start_equals_end() -> None:
    assert quiet_until(at(23, 23, 0), NINE, NINE) is None


def test_start_of_local_day_is_19_00_utc_the_day_before() -> None:
    assert start_of_local_day(dt.date(2026, 12, 3)) == dt.datetime(2026, 12, 2, 19, 0, tzinfo=dt.UTC)
