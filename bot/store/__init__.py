"""Redis: every key the bot uses is built here, and every multi-key write is one transaction.

Step one of splitting the store by concern: `bot/store.py` moved as it is to `bot/store/save.py` (so its history
follows the part that keeps `Store.save`); the next commit splits it.
"""

from bot.store.save import (
    DAY_STATS_SECONDS,
    DIALOG_ID,
    INBOUND_MEMORY_SECONDS,
    MAX_SHARDS,
    SHARD_INDEXES,
    STREAM_ID,
    Keys,
    LogObserver,
    Marks,
    Store,
    dialog_shard,
    index_marks,
)

__all__ = [
    "DAY_STATS_SECONDS",
    "DIALOG_ID",
    "INBOUND_MEMORY_SECONDS",
    "MAX_SHARDS",
    "SHARD_INDEXES",
    "STREAM_ID",
    "Keys",
    "LogObserver",
    "Marks",
    "Store",
    "dialog_shard",
    "index_marks",
]
