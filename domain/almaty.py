"""Kazakhstan time: the zone in which the domain rules read a local date or hour (working days, quiet hours)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

ALMATY = ZoneInfo("Asia/Almaty")
