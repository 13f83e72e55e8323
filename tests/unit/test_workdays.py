"""Working-day arithmetic over Kazakhstan's holidays, moved holidays and working Saturdays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from bot.domain.workdays import add_working_days, is_working_day


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
