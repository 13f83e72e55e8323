"""Reading the indexes of dialogs by creation time: every shard's part of `dialogs`, `flagged`, `overdue` and
`attention`, and a phone's dialogs. They are written with the dialog (bot/store/save.py)."""

from __future__ import annotations

from bot.store.base import StoreBase
from bot.store.codec import as_text


class DialogIndexes(StoreBase):
    """Pages of dialog ids, newest first, merged across shards; an index's size."""

    async def list_ids(self, msisdn: str | None, offset: int, count: int) -> list[str]:
        """Dialog ids newest first: one phone's, or everyone's."""
        keys = [self.keys.phone_dialogs(msisdn)] if msisdn else self.keys.index_parts("dialogs")
        return await self.index_page(keys, offset, count)

    async def index_page(self, keys: list[str], offset: int, count: int, low: float | str = "-inf",
                         high: float | str = "+inf") -> list[str]:
        """Ids from a sorted-set index (its shards' parts merged), newest first, created between `low` and `high`.

        Each part gives its first `offset + count`; merged in the order one sorted set would give them.
        """
        if len(keys) == 1:
            found = await self.redis.zrevrangebyscore(keys[0], high, low, start=offset, num=count)
            return [as_text(v) for v in found]
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zrevrangebyscore(key, high, low, start=0, num=offset + count, withscores=True)
            parts = await pipe.execute()
        merged = sorted(((float(score), as_text(member)) for part in parts for member, score in part), reverse=True)
        return [member for _, member in merged[offset:offset + count]]

    async def size(self, name: str) -> int:
        """How many dialogs an index holds (every shard's part)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in self.keys.index_parts(name):
                pipe.zcard(key)
            return sum(int(n) for n in await pipe.execute())

    async def phone_dialog_ids(self, msisdn: str) -> list[str]:
        return [as_text(v) for v in await self.redis.zrange(self.keys.phone_dialogs(msisdn), 0, -1)]
