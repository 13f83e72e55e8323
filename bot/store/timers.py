"""Timers: one sorted set per shard of dialogs by their earliest due timer (and a held dialog's start), polled
and claimed with a lease. A dialog's timers are written with it (bot/store/save.py, `_write`)."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from redis.commands.core import AsyncScript

from bot.store.base import StoreBase
from bot.store.codec import as_text
from bot.store.keys import dialog_shard
from dialogs.model import from_iso

# Take the timers due at ARGV[1] out of reach for ARGV[2] seconds (their score moves to then) and return
# them: of several pollers, one gets each timer; if its job is lost, the timer comes due again after the lease.
CLAIM_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), member) end
return due
"""


def timer_member(dialog_id: str, kind: str) -> str:
    """A dialog has one entry for all its timers (due at the earliest), and one for its start if it has one:
    at the same instant, held messages go out before held dialogs start (see TimerFeed.fire_due)."""
    return f"{dialog_id}|start" if kind == "start" else dialog_id


def timer_entries(dialog_id: str, timers: dict[str, str]) -> dict[str, float]:
    """Sorted-set members and scores for a dialog's timers."""
    entries: dict[str, float] = {}
    for kind, due in timers.items():
        member, score = timer_member(dialog_id, kind), from_iso(due).timestamp()
        entries[member] = min(score, entries.get(member, score))
    return entries


class Timers(StoreBase):
    """The next due instant, claiming due timers, dropping one."""

    _claim_due: AsyncScript  # CLAIM_DUE

    async def next_timer(self) -> dt.datetime | None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for shard in range(self.keys.shards):
                pipe.zrange(self.keys.timers(shard), 0, 0, withscores=True)
            firsts = await pipe.execute()
        scores = [float(first[0][1]) for first in firsts if first]
        return dt.datetime.fromtimestamp(min(scores), dt.UTC) if scores else None

    async def claim_due(self, now: dt.datetime, lease_seconds: float,
                        limit: int = 100) -> list[tuple[dt.datetime, str, str]]:
        """(due, dialog_id, kind) of timers due at `now`, earliest first, each claimed for `lease_seconds`.

        `kind` is "start" for a dialog's start, else "due": whichever of its timers are due then.
        """
        claimed: list[tuple[dt.datetime, str, str]] = []
        for shard in range(self.keys.shards):
            key = self.keys.timers(shard)
            # Scores first (for the order and the due instant), then the atomic claim.
            due: Any = await self.redis.zrangebyscore(key, "-inf", now.timestamp(), start=0, num=limit,
                                                      withscores=True)
            if not due:
                continue
            scores = {as_text(member): float(score) for member, score in due}
            taken = await self._claim_due(keys=[key], args=[now.timestamp(), lease_seconds, limit])
            for member in map(as_text, taken):
                dialog_id, _, kind = member.partition("|")
                kind = "start" if kind == "start" else "due"
                at = dt.datetime.fromtimestamp(scores.get(member, now.timestamp()), dt.UTC)
                claimed.append((at, dialog_id, kind))
        claimed.sort(key=lambda timer: timer[0])
        return claimed

    async def drop_timer(self, dialog_id: str, kind: str) -> None:
        with contextlib.suppress(ValueError):
            await self.redis.zrem(self.keys.timers(dialog_shard(dialog_id)), timer_member(dialog_id, kind))
