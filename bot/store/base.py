"""What every part of the store shares: the client, the key names, whether Redis is a cluster, and one-key reads.

`Store` (bot/store/__init__.py) sets these; each part declares here or in its own class what else it reads.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.store.codec import as_text
from bot.store.keys import Keys


class StoreBase:
    """The state the store's parts share (set by `Store.__init__`), and `lookup`."""

    redis: Redis
    keys: Keys
    cluster: bool  # a Redis Cluster: keys of different slots are never written in one transaction
    log_retention_seconds: int  # how long a dialog's log, and what is as personal as it, is kept

    async def lookup(self, key: str) -> str | None:
        """The text a string key holds, or None."""
        value = await self.redis.get(key)
        return as_text(value) if value is not None else None
