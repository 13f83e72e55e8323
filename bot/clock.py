"""Injected time: the real clock in production, a simulated one in dev, demo and tests."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Protocol

from domain.almaty import ALMATY as ALMATY  # Kazakhstan time is a domain rule; re-exported for the service

UTC = dt.UTC


class Clock(Protocol):
    """What every component asks for the time."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real clock (UTC)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)


class TimerSource(Protocol):
    """Something with timers that the simulated clock must fire when it moves."""

    async def next_due(self) -> dt.datetime | None: ...

    async def fire_due(self, now: dt.datetime) -> None: ...


class ClockMovedBackwards(ValueError):
    """A simulated clock may only move forwards."""


class SimClock:
    """A clock that stands still until moved; moving it fires every due timer at its own instant."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        start = start or dt.datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("the clock start needs a UTC offset")
        self._now = start.astimezone(UTC).replace(microsecond=0)
        self._sources: list[TimerSource] = []
        self._lock = asyncio.Lock()

    def now(self) -> dt.datetime:
        return self._now

    def add_source(self, source: TimerSource) -> None:
        self._sources.append(source)

    async def advance(self, seconds: float) -> dt.datetime:
        return await self.move_to(self._now + dt.timedelta(seconds=seconds))

    async def move_to(self, target: dt.datetime) -> dt.datetime:
        """Move to `target`, firing every timer due on the way in due order, each at its own instant."""
        target = target.astimezone(UTC)
        async with self._lock:
            if target < self._now:
                raise ClockMovedBackwards(f"{target.isoformat()} is before {self._now.isoformat()}")
            await self._fire_until(target)
            self._now = target
            return self._now

    async def _fire_until(self, target: dt.datetime) -> None:
        # Bounded so that a timer that keeps re-arming itself for "now" cannot hang the clock.
        for _ in range(100_000):
            earliest: tuple[dt.datetime, TimerSource] | None = None
            for source in self._sources:
                due = await source.next_due()
                if due is not None and due <= target and (earliest is None or due < earliest[0]):
                    earliest = (due, source)
            if earliest is None:
                return
            due, source = earliest
            self._now = max(self._now, due)
            await source.fire_due(self._now)
        raise RuntimeError("timers keep firing at the same instant")


def almaty_date(instant: dt.datetime) -> dt.date:
    """The Kazakhstan calendar date of an instant."""
    return instant.astimezone(ALMATY).date()


def parse_instant(text: str) -> dt.datetime:
    """An ISO 8601 instant with an offset, as UTC."""
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("an offset is required (e.g. +05:00 or Z)")
    return value.astimezone(UTC)
