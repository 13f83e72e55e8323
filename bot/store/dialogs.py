"""Reading dialogs (one, or many across shards), and naming new ones.

A dialog is read with the delivery reports taken for it without a step (bot/store/deliveries.py), which sit
beside it until its next save writes them into it (bot/store/save.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets

from bot.store.base import StoreBase
from bot.store.codec import dialog_from
from bot.store.keys import dialog_shard
from dialogs.model import Dialog


class DialogReads(StoreBase):
    """Loading dialogs by id, and new dialog ids."""

    def new_dialog_id(self, msisdn: str) -> str:
        """A random id in groups of four, so no run of digits in it can be mistaken for an IIN or a phone;
        its first two hex digits name the phone's shard, so the id alone finds the dialog's keys."""
        token = f"{self.keys.shard_of(msisdn):02x}" + secrets.token_hex(7)
        return "d_" + "-".join(token[i:i + 4] for i in range(0, 16, 4))

    async def load(self, dialog_id: str) -> Dialog | None:
        try:
            key = self.keys.dialog(dialog_id)
        except ValueError:
            return None  # not an id we made: no such dialog
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.hkeys(self.keys.deliveries(dialog_id))
            raw, delivered = await pipe.execute()
        return dialog_from(raw, delivered)

    async def load_many(self, dialog_ids: list[str]) -> list[Dialog]:
        """The dialogs that exist, in the order asked; one MGET per shard (a multi-key command stays in a slot)."""
        by_shard: dict[int, list[str]] = {}
        for dialog_id in dialog_ids:
            with contextlib.suppress(ValueError):
                by_shard.setdefault(dialog_shard(dialog_id), []).append(dialog_id)
        # Not one pipeline: a cluster pipeline refuses MGET; the shards' reads run side by side instead.
        answers = await asyncio.gather(*(self.redis.mget([self.keys.dialog(d) for d in ids])
                                         for ids in by_shard.values()))
        wanted = [d for ids, raws in zip(by_shard.values(), answers, strict=True)
                  for d, r in zip(ids, raws, strict=True) if r is not None]
        async with self.redis.pipeline(transaction=False) as pipe:
            for dialog_id in wanted:
                pipe.hkeys(self.keys.deliveries(dialog_id))
            delivered = dict(zip(wanted, await pipe.execute(), strict=True))
        found: dict[str, Dialog] = {}
        for ids, raws in zip(by_shard.values(), answers, strict=True):
            for d, r in zip(ids, raws, strict=True):
                dialog = dialog_from(r, delivered.get(d, []))
                if dialog is not None:
                    found[d] = dialog
        return [found[d] for d in dialog_ids if d in found]
