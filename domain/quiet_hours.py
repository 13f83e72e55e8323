"""Quiet hours: when a proactive SMS may not be sent (Kazakhstan time)."""

from __future__ import annotations

import datetime as dt

from domain.almaty import ALMATY


def _in_window(local: dt.time, start: dt.time, end: dt.time) -> bool:
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # the window wraps midnight (21:00-09:00)


def quiet_until(now: dt.datetime, start: dt.time, end: dt.time) -> dt.datetime | None:
    """The instant quiet hours end if `now` falls inside them, else None."""
    if start == end:
        return None
    local = now.astimezone(ALMATY)
    if not _in_window(local.time(), start, end):
        return None
    candidate = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += dt.timedelta(days=1)
    return candidate.astimezone(dt.UTC)


def start_of_local_day(day: dt.date) -> dt.datetime:
    """00:00 Kazakhstan time on `day`, as UTC."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=ALMATY).astimezone(dt.UTC)
