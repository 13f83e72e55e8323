"""What a step reads before it decides, read in the same round trip as the phone's lock is taken: a citizen's reply
(the seen mark, the phone's active dialog, the answer last taken), or one dialog by its id (timers, reports,
decisions, corrections, operators)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.commands.core import AsyncScript

from bot.fencing import PhoneLock
from bot.store.codec import as_text, dialog_from
from bot.store.dialogs import DialogReads
from bot.store.keys import hash_tag
from bot.store.phones import PhoneSlot
from dialogs.model import Dialog


@dataclass(frozen=True)
class ReplySnapshot:
    """Under the phone's lock: whether this message was seen, the phone's active dialog, the last answer taken."""

    seen: bool
    active: str | None
    dialog: Dialog | None  # the active dialog (None: none, or its id names no stored dialog)
    taken: str | None  # the stored JSON of the message last taken as an answer (dialogs/answers.py Taken)


class ReplyReads(PhoneSlot, DialogReads):
    """The lock and a reply's reads in one script; when the lock is busy, waited for and read as usual."""

    _lock_and_read: AsyncScript  # fencing.LOCK_AND_READ
    _lock_and_load: AsyncScript  # fencing.LOCK_AND_LOAD

    @contextlib.asynccontextmanager
    async def locked_dialog(self, msisdn: str, dialog_id: str) -> AsyncIterator[tuple[PhoneLock, Dialog | None]]:
        """The phone's lock and one of its dialogs as stored now, in one round trip (None: no such dialog)."""
        lock = self.phone_lock(msisdn)
        key = self._dialog_key(dialog_id)
        found = None
        if key is not None and hash_tag(key) == hash_tag(self.keys.phone_lock(msisdn)):
            found = await lock.acquire_reading(self._lock_and_load, [key, self.keys.deliveries(dialog_id)], [])
        async with lock:
            if found is None:  # the lock was busy (now taken), or a dialog of another shard: read on its own
                yield lock, await self.load(dialog_id)
            else:
                raw, delivered = found
                yield lock, dialog_from(raw or None, delivered)

    @contextlib.asynccontextmanager
    async def reply_snapshot(self, msisdn: str,
                             seen_key: str | None = None) -> AsyncIterator[tuple[PhoneLock, ReplySnapshot]]:
        """The phone's lock, with its active dialog, the answer last taken and (`seen_key`, a reply's) whether
        this message was seen: one round trip. Without a seen key (a repeat, a flood), `seen` is False."""
        lock = self.phone_lock(msisdn)
        dialogs = self.keys.phone_dialog_prefix(msisdn)
        keys = [self.keys.phone(msisdn), self.keys.taken(msisdn), *([seen_key] if seen_key else [])]
        found = await lock.acquire_reading(self._lock_and_read, keys, ["active", dialogs])
        async with lock:
            if found is None:
                snapshot = await self._read_reply(msisdn, seen_key)
            else:
                seen, active_raw, raw, delivered, taken = found
                active = as_text(active_raw) if active_raw else None
                if active is None:
                    dialog = None
                elif self._dialog_key(active) == dialogs + active:
                    dialog = dialog_from(raw or None, delivered)
                else:
                    dialog = await self.load(active)  # an id not of this phone's shard (none is made so)
                snapshot = ReplySnapshot(seen is not None, active, dialog, as_text(taken) if taken else None)
            yield lock, snapshot

    def _dialog_key(self, dialog_id: str) -> str | None:
        try:
            return self.keys.dialog(dialog_id)
        except ValueError:
            return None  # not an id we made

    async def _read_reply(self, msisdn: str, seen_key: str | None) -> ReplySnapshot:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(self.keys.phone(msisdn), "active")
            pipe.get(self.keys.taken(msisdn))
            if seen_key:
                pipe.get(seen_key)
            active_raw, taken, *seen_found = await pipe.execute()
        seen = seen_found[0] if seen_found else None
        active = as_text(active_raw) if active_raw else None
        return ReplySnapshot(seen is not None, active, await self.load(active) if active else None,
                             as_text(taken) if taken else None)

