"""A phone's slot: its lock, its one active dialog and the queue behind it, and what it sent (rate, once a day,
inbound messages seen). Every key here carries the phone's shard tag, so a step can write them in its transaction."""

from __future__ import annotations

import datetime as dt

from redis.commands.core import AsyncScript

from bot import fencing
from bot.fencing import Fence, PhoneLock
from bot.store.base import StoreBase
from bot.store.codec import as_text

# Inbound message ids are remembered for a week: long enough for any gateway's retries.
INBOUND_MEMORY_SECONDS = 7 * 86400


class PhoneSlot(StoreBase):
    """One conversation per phone: the lock, the active dialog, the queue; inbound counting and dedup."""

    lock_seconds: float
    _hand_on: AsyncScript  # fencing.HAND_ON

    async def hand_on(self, fence: Fence, msisdn: str, dialog_id: str) -> str | None:
        """`dialog_id` no longer waits: if it is the phone's active dialog, clear the slot and pop the next queued
        id (returned, the lock still held); with none to start, let the lock go. One fenced script."""
        return await fencing.hand_on(self._hand_on, fence, self.keys.phone(msisdn), self.keys.phone_queue(msisdn),
                                     dialog_id)

    def phone_lock(self, msisdn: str) -> PhoneLock:
        """The lock that serialises every change to the dialogs of one phone (lock, then load).

        It lapses after `lock_seconds` so that a worker killed while holding it does not block the phone; a save
        given its `fence` writes nothing once it has lapsed (bot/fencing.py).
        """
        return PhoneLock(self.redis, self.keys.phone_lock(msisdn), timeout=self.lock_seconds,
                         blocking_timeout=min(30.0, self.lock_seconds))

    async def phone_active(self, msisdn: str) -> str | None:
        value = await self.redis.hget(self.keys.phone(msisdn), "active")
        return as_text(value) if value else None

    async def set_phone_active(self, msisdn: str, dialog_id: str | None) -> None:
        if dialog_id is None:
            await self.redis.hdel(self.keys.phone(msisdn), "active")
        else:
            await self.redis.hset(self.keys.phone(msisdn), "active", dialog_id)

    async def enqueue(self, msisdn: str, dialog_id: str) -> None:
        key = self.keys.phone_queue(msisdn)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrem(key, 0, dialog_id)
            pipe.rpush(key, dialog_id)
            await pipe.execute()

    async def dequeue(self, msisdn: str) -> str | None:
        value = await self.redis.lpop(self.keys.phone_queue(msisdn))
        return as_text(value) if value is not None else None

    async def unqueue(self, msisdn: str, dialog_id: str) -> None:
        await self.redis.lrem(self.keys.phone_queue(msisdn), 0, dialog_id)

    async def once_per_day(self, what: str, msisdn: str, day: dt.date) -> bool:
        """True the first time `what` happens for this phone on this (Kazakhstan) day."""
        key = self.keys.once(what, msisdn, day.isoformat())
        return bool(await self.redis.set(key, "1", nx=True, ex=2 * 86400))

    async def count_inbound(self, msisdn: str, now: dt.datetime, message_key: str) -> tuple[int, bool]:
        """How many distinct messages this phone has sent in the current minute, this one included, and
        whether this one is new: a message done again (a retry, a job taken over) is not counted twice."""
        key = self.keys.inbound_rate(msisdn, now.strftime("%Y%m%d%H%M"))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, message_key)
            pipe.scard(key)
            pipe.expire(key, 120)
            added, count, _ = await pipe.execute()
        return int(count), bool(added)

    async def mark_seen(self, inbound_key: str) -> None:
        """Remember an inbound message that changed no dialog (gateways retry)."""
        await self.redis.set(inbound_key, "-", ex=INBOUND_MEMORY_SECONDS)
