"""Redis: every key the bot uses is built here, and every multi-key write is one transaction.

The store is one class, `Store`, made of mixins that each hold one concern:

    keys.py        Keys (every key name, laid out for Redis Cluster), dialog_shard, MAX_SHARDS, STREAM_ID
    codec.py       values as written and read back: a dialog, a log line, a feed record, a text
    base.py        StoreBase: the client, the key names, whether Redis is a cluster; `lookup` (one key's text)
    dialogs.py     DialogReads: load, load_many, new_dialog_id
    log.py         DialogLog: the dialog log, the live feed, the counters the log moves; log observers
    ledger.py      Ledger: the consent ledger's chain (extend, read, trim)
    claims.py      Claims: the event id and the subjects a dialog holds
    save.py        DialogWrites: create and save, the dialog's own transaction; Marks, index_marks
    compaction.py  Compaction: a closed, quiet dialog and its log archived (what it does to each key)
    deliveries.py  Deliveries: gateway receipts, delivery reports taken without a step
    indexes.py     DialogIndexes: pages of the indexes of dialogs, a phone's dialogs
    timers.py      Timers: next due, claim due, drop
    phones.py      PhoneSlot: the phone's lock, active dialog and queue; inbound counting and dedup
    snapshot.py    ReplyReads: the lock and what a step reads (a reply's, or one dialog), in one round trip
    telegram.py    TelegramBindings: Telegram user ↔ phone and chat
    ussd.py        UssdSessions: where a phone's last USSD session stopped

Mixins rather than parts the store holds and forwards to: the dialog's transaction writes its log, counters and
ledger records into one pipeline, so those concerns share `self` (the client, the keys, whether Redis is a
cluster) as they did in one class; each method is defined once, with its signature, in its concern's module,
and `Store` adds only its constructor. A mixin that uses another concern names it as its base (DialogWrites:
DialogLog, Ledger, Claims; Compaction: DialogWrites; DialogLog: DialogReads, since a dialog's log is read with
the dialog), so mypy checks each module alone, and the modules import one another only downwards, never this
package. The Lua scripts sit beside the methods that run them; `Store.__init__` registers them (no Redis call: a
script is loaded when first run).
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from bot import fencing
from bot.store.claims import DELETE_IF_EQUAL
from bot.store.compaction import Compaction
from bot.store.deliveries import RECORD_DELIVERY, Deliveries
from bot.store.indexes import DialogIndexes
from bot.store.keys import DIALOG_ID, MAX_SHARDS, SHARD_INDEXES, STREAM_ID, Keys, dialog_shard
from bot.store.ledger import TRIM_LEDGER
from bot.store.log import DAY_STATS_SECONDS, LogObserver
from bot.store.phones import INBOUND_MEMORY_SECONDS
from bot.store.save import Marks, index_marks
from bot.store.snapshot import ReplyReads, ReplySnapshot
from bot.store.telegram import TelegramBindings
from bot.store.timers import CLAIM_DUE, Timers
from bot.store.ussd import UssdSessions

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
    "ReplySnapshot",
    "Store",
    "dialog_shard",
    "index_marks",
]


class Store(Compaction, Deliveries, DialogIndexes, Timers, ReplyReads, TelegramBindings, UssdSessions):
    """The bot's persistence: dialogs, indexes, phone slots and timers."""

    def __init__(self, redis: Redis, prefix: str = "pb", *, shards: int = 16,
                 log_retention_seconds: int = 400 * 86400, log_feed_maxlen: int = 10_000,
                 lock_seconds: float = 60) -> None:
        if not 1 <= shards <= MAX_SHARDS:
            raise ValueError(f"shards must be 1-{MAX_SHARDS}")
        self.redis = redis
        self.keys = Keys(prefix, shards)
        self.log_retention_seconds = log_retention_seconds
        self.log_feed_maxlen = log_feed_maxlen
        self.lock_seconds = lock_seconds
        self.cluster = isinstance(redis, RedisCluster)
        self.observers = []  # told every log record once it is written (metrics)
        self._delete_if_equal = redis.register_script(DELETE_IF_EQUAL)
        self._claim_due = redis.register_script(CLAIM_DUE)
        self._record_delivery = redis.register_script(RECORD_DELIVERY)
        self._trim_ledger = redis.register_script(TRIM_LEDGER)
        self._fenced = fencing.register(redis)
        self._lock_and_read = redis.register_script(fencing.LOCK_AND_READ)
        self._lock_and_load = redis.register_script(fencing.LOCK_AND_LOAD)
        self._hand_on = redis.register_script(fencing.HAND_ON)

    async def ping(self) -> bool:
        return bool(await self.redis.ping())
