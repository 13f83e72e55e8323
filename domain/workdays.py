"""Kazakhstan working days, for deadlines counted "in working days" (decision due dates)."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache

import holidays

from domain.almaty import ALMATY

# Roughly 247 working days a year; 200 keeps the year span a safe over-estimate.
_MIN_WORKING_DAYS_PER_YEAR = 200


@lru_cache(maxsize=16)
def _calendar(first_year: int, last_year: int) -> holidays.HolidayBase:
    """Kazakhstan's calendar for these years, built once per span (building one costs milliseconds)."""
    # The library, not a hand loop: it knows holidays moved off weekends and government day-off
    # transfers, including working Saturdays. Years outside the span are added on demand (expand=True);
    # spans are sized so that this rarely happens on a shared, cached calendar.
    return holidays.country_holidays("KZ", language="kk", years=range(first_year, last_year + 1))


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (n < 0 counts back; n = 0 gives `start` or the next working day)."""
    span = abs(n) // _MIN_WORKING_DAYS_PER_YEAR + 1
    first, last = (start.year, start.year + span) if n >= 0 else (start.year - span, start.year)
    return _calendar(first, last).get_nth_working_day(start, n)


def is_working_day(d: date) -> bool:
    """Whether `d` is a working day in Kazakhstan (working Saturdays count, holidays and weekends do not)."""
    return _calendar(d.year, d.year).is_working_day(d)


def registration_day(applied_at: datetime, working_day_end: time) -> date:
    """The day an application made at this instant is registered, as Order 206 counts it.

    The portal and the phone take applications round the clock, but one made after working hours, on a
    weekend or on a holiday is taken in on the next working day (the standards' item 7). Kazakhstan time.
    """
    local = applied_at.astimezone(ALMATY)
    day = local.date()
    if is_working_day(day) and local.time() < working_day_end:
        return day
    return add_working_days(day, 1)


def decision_due(applied_at: datetime, working_days: int, working_day_end: time) -> date:
    """The last day of the decision term: `working_days` working days after the day of registration."""
    return add_working_days(registration_day(applied_at, working_day_end), working_days)
