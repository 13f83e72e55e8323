"""Working-day arithmetic over Kazakhstan's holidays, moved holidays and working Saturdays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest

from domain.almaty import ALMATY
from domain.workdays import add_working_days, decision_due, is_working_day, registration_day


@dataclass(frozen=True)
class Span:
    label: str
    start: date
    n: int
    expected: date


SPANS = [
    # FACTS.md. Nauryz 21-23 March 2026 falls on Sat-Mon; the weekend days move to Tue 24 and Wed 25,
    # so the working days are 26, 27, 30, 31 March and 1, 2, 3 April.
    Span("Nauryz 2026: 7 from Fri 20 March", date(2026, 3, 20), 7, date(2026, 4, 3)),
    # No holiday in between: Nov 23-27 (5) and Nov 30, Dec 1. The contract's example decision_due agrees.
    Span("late November 2026: 7 from Fri 20 November", date(2026, 11, 20), 7, date(2026, 12, 1)),
    # 1 and 2 January 2027 are Fri-Sat; the Saturday holiday moves to Mon 4 January.
    # Dec 28, 29, 30, 31 are working days 1-4, then Jan 5 is the fifth.
    Span("New Year 2027: 5 from Fri 25 December", date(2026, 12, 25), 5, date(2027, 1, 5)),
    # Independence Day is 16 December only since 2022 (17 December stopped being a holiday).
    Span("Independence Day 2026: 1 from Tue 15 December", date(2026, 12, 15), 1, date(2026, 12, 17)),
    # Until 2021 both 16 and 17 December were holidays (Thu-Fri in 2021): next working day is Monday.
    Span("Independence Days 2021: 1 from Wed 15 December", date(2021, 12, 15), 1, date(2021, 12, 20)),
    # Government transfer: Wed 8 May 2024 was a day off and Sat 4 May 2024 a working day instead.
    Span("working Saturday 4 May 2024: 1 from Fri 3 May", date(2024, 5, 3), 1, date(2024, 5, 4)),
    # 7 May (Defender of the Fatherland), 8 May (moved from Sat 4 May), 9 May (Victory Day).
    Span("three days off 7-9 May 2024: 1 from Mon 6 May", date(2024, 5, 6), 1, date(2024, 5, 10)),
    Span("zero from a working day is that day", date(2026, 11, 20), 0, date(2026, 11, 20)),
    Span("zero from a Saturday is the next Monday", date(2026, 11, 21), 0, date(2026, 11, 23)),
    Span("backwards over a weekend", date(2026, 11, 23), -1, date(2026, 11, 20)),
]


@pytest.mark.parametrize("case", SPANS, ids=[c.label for c in SPANS])
def test_add_working_days(case: Span) -> None:
    assert add_working_days(case.start, case.n) == case.expected


@dataclass(frozen=True)
class Day:
    label: str
    day: date
    working: bool


DAYS = [
    Day("ordinary Friday", date(2026, 11, 20), True),
    Day("ordinary Saturday", date(2026, 11, 21), False),
    Day("ordinary Sunday", date(2026, 11, 22), False),
    Day("New Year's Day", date(2027, 1, 1), False),
    Day("New Year on Saturday moved to Monday 4 January 2027", date(2027, 1, 4), False),
    Day("Nauryz moved day off, Wed 25 March 2026", date(2026, 3, 25), False),
    Day("Independence Day 16 December 2026", date(2026, 12, 16), False),
    Day("17 December 2026 is a working day", date(2026, 12, 17), True),
    Day("working Saturday 4 May 2024", date(2024, 5, 4), True),
    Day("transferred day off Wed 8 May 2024", date(2024, 5, 8), False),
    Day("working Sunday 5 January 2025", date(2025, 1, 5), True),
    Day("transferred day off Fri 3 January 2025", date(2025, 1, 3), False),
]


@pytest.mark.parametrize("case", DAYS, ids=[c.label for c in DAYS])
def test_is_working_day(case: Day) -> None:
    assert is_working_day(case.day) is case.working


@pytest.mark.parametrize(
    ("start", "n"),
    [(date(2024, 12, 20), 30), (date(2025, 12, 1), 60), (date(2026, 6, 1), 400)],
    ids=["over New Year 2025", "over December and New Year 2026", "more than a year ahead"],
)
def test_add_working_days_agrees_with_counting_day_by_day(start: date, n: int) -> None:
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        counted += is_working_day(day)
    assert add_working_days(start, n) == day


@dataclass(frozen=True)
class Applied:
    label: str
    at: str  # Kazakhstan time (UTC+5) unless an offset is given
    registered: date
    due: date


END = time(18, 30)  # the provider's working day ends at 18:30 (Order 206, the standards' item 7)
APPLIED = [
    # 7 working days from Fri 20 November 2026: Nov 23-27 (5), Nov 30, Dec 1.
    Applied("Friday morning: registered that day", "2026-11-20T10:00", date(2026, 11, 20), date(2026, 12, 1)),
    Applied("Friday 18:29, before the end of the day", "2026-11-20T18:29:59", date(2026, 11, 20), date(2026, 12, 1)),
    Applied("Friday 18:30, the day is over: Monday", "2026-11-20T18:30", date(2026, 11, 23), date(2026, 12, 2)),
    Applied("Friday evening: Monday", "2026-11-20T23:59", date(2026, 11, 23), date(2026, 12, 2)),
    Applied("Saturday: Monday", "2026-11-21T10:00", date(2026, 11, 23), date(2026, 12, 2)),
    Applied("Sunday: Monday", "2026-11-22T12:00", date(2026, 11, 23), date(2026, 12, 2)),
    Applied("Monday 00:30: that Monday", "2026-11-23T00:30", date(2026, 11, 23), date(2026, 12, 2)),
    Applied("Monday before opening: that Monday", "2026-11-23T08:59", date(2026, 11, 23), date(2026, 12, 2)),
    Applied("18:29 Almaty given in UTC", "2026-11-20T13:29+00:00", date(2026, 11, 20), date(2026, 12, 1)),
    Applied("18:30 Almaty given in UTC", "2026-11-20T13:30+00:00", date(2026, 11, 23), date(2026, 12, 2)),
    # Independence Day, Wed 16 December 2026: Dec 18, 21-25, 28.
    Applied("the evening before a holiday: the day after it", "2026-12-15T19:00", date(2026, 12, 17),
            date(2026, 12, 28)),
    Applied("on the holiday: the next working day", "2026-12-16T10:00", date(2026, 12, 17), date(2026, 12, 28)),
    # Nauryz 2026 (FACTS.md): Friday morning ends on 3 April; Friday evening waits for Thursday 26 March.
    Applied("Nauryz, Friday morning", "2026-03-20T10:00", date(2026, 3, 20), date(2026, 4, 3)),
    Applied("Nauryz, Friday evening: Thursday 26 March", "2026-03-20T19:00", date(2026, 3, 26), date(2026, 4, 6)),
    # Day-off transfer 2024: Sat 4 May worked, Wed 8 May off (7 and 9 May are holidays).
    Applied("Friday evening before a working Saturday", "2024-05-03T19:00", date(2024, 5, 4), date(2024, 5, 17)),
    Applied("on a working Saturday", "2024-05-04T10:00", date(2024, 5, 4), date(2024, 5, 17)),
    Applied("a working Saturday's evening: Monday", "2024-05-04T19:00", date(2024, 5, 6), date(2024, 5, 20)),
    Applied("New Year's Eve evening: 5 January 2026", "2025-12-31T19:00", date(2026, 1, 5), date(2026, 1, 15)),
]


def _instant(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=ALMATY)


@pytest.mark.parametrize("case", APPLIED, ids=[c.label for c in APPLIED])
def test_the_decision_term_runs_from_the_day_of_registration(case: Applied) -> None:
    at = _instant(case.at)
    assert registration_day(at, END) == case.registered
    assert decision_due(at, 7, END) == case.due
