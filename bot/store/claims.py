"""Claims on keys named by an outside identifier: an event id and the subjects (children, person) an event is
about, each held by one dialog. Each is one key (SET NX), written outside the dialog's transaction."""

from __future__ import annotations

from redis.commands.core import AsyncScript

from bot.store.base import StoreBase
from dialogs.model import Dialog

# Delete a key only while it still holds the value we wrote (a claim we give back).
DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Claims(StoreBase):
    """Which dialog holds an event id or a subject; claiming and giving them back."""

    _delete_if_equal: AsyncScript  # DELETE_IF_EQUAL

    async def event_dialog(self, event_id: str) -> str | None:
        return await self.lookup(self.keys.event(event_id))

    async def claim_event(self, event_id: str, dialog_id: str) -> bool:
        return bool(await self.redis.set(self.keys.event(event_id), dialog_id, nx=True))

    async def claim_subjects(self, dialog_id: str, subject_keys: list[str]) -> str | None:
        """Claim every subject key for this dialog; the id of another dialog holding one (then none is kept).

        Idempotent: at a dialog's start it makes sure of what its creation claimed (that may have stopped short).
        """
        claimed: list[str] = []
        holder = None
        for key in subject_keys:
            if await self.redis.set(key, dialog_id, nx=True):
                claimed.append(key)
                continue
            owner = await self.lookup(key)
            if owner is not None and owner != dialog_id:
                holder = owner
                break
        if holder is not None:
            for key in claimed:
                await self._delete_if_equal(keys=[key], args=[dialog_id])
        return holder

    async def forget_subjects(self, dialog: Dialog, subject_keys: list[str]) -> None:
        """A cancelled event no longer blocks a corrected one for the same person."""
        for key in subject_keys:
            await self._delete_if_equal(keys=[key], args=[dialog.dialog_id])
