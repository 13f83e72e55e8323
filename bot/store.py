"""Redis: every key the bot uses is built here, and every multi-key write is one transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import WatchError

from bot.clock import almaty_date
from dialogs.model import Dialog, from_iso

DAY_STATS_SECONDS = 40 * 86400
LogObserver = Callable[[list[dict[str, Any]]], None]


@dataclass(frozen=True)
class Keys:
    """Key names. Everything about one phone shares the `{msisdn}` hash tag (one Redis Cluster slot)."""

    prefix: str

    def dialog(self, dialog_id: str) -> str:
        return f"{self.prefix}:dialog:{dialog_id}"

    def event(self, event_id: str) -> str:
        return f"{self.prefix}:event:{event_id}"

    def subject(self, service: str, iin: str) -> str:
        return f"{self.prefix}:subject:{service}:{iin}"

    def phone(self, msisdn: str) -> str:
        return f"{self.prefix}:phone:{{{msisdn}}}"

    def phone_queue(self, msisdn: str) -> str:
        return f"{self.prefix}:phone:{{{msisdn}}}:queue"

    def phone_lock(self, msisdn: str) -> str:
        return f"{self.prefix}:phone:{{{msisdn}}}:lock"

    def phone_dialogs(self, msisdn: str) -> str:
        return f"{self.prefix}:phone:{{{msisdn}}}:dialogs"

    def once(self, what: str, msisdn: str, day: str) -> str:
        return f"{self.prefix}:phone:{{{msisdn}}}:once:{what}:{day}"

    def ussd_session(self, msisdn: str) -> str:
        return f"{self.prefix}:phone:{{{msisdn}}}:ussd"

    def dialog_log(self, dialog_id: str) -> str:
        return f"{self.prefix}:dialog:{dialog_id}:log"

    def log_feed(self) -> str:
        return f"{self.prefix}:log"

    def inbound_rate(self, msisdn: str, minute: str) -> str:
        return f"{self.prefix}:phone:{{{msisdn}}}:rate:{minute}"

    def timers(self) -> str:
        return f"{self.prefix}:timers"

    def dialogs(self) -> str:
        return f"{self.prefix}:dialogs"

    def application(self, application_id: str) -> str:
        return f"{self.prefix}:application:{application_id}"

    def message(self, provider_message_id: str) -> str:
        return f"{self.prefix}:message:{provider_message_id}"

    def inbound(self, provider_message_id: str) -> str:
        return f"{self.prefix}:inbound:{provider_message_id}"

    def iin(self, iin: str) -> str:
        """Dialogs naming this IIN as recipient or subject (the console's exact IIN search)."""
        return f"{self.prefix}:iin:{iin}"

    def status_counts(self) -> str:
        """Hash: public status → number of dialogs in it now (kept from the dialog log's status records)."""
        return f"{self.prefix}:stats:status"

    def day_stats(self, day: str) -> str:
        """Hash of one Kazakhstan day's counts: new dialogs, consents, entries into each status."""
        return f"{self.prefix}:stats:day:{day}"

    def flagged(self) -> str:
        """Dialogs with any flag raised, by creation time."""
        return f"{self.prefix}:index:flagged"

    def overdue(self) -> str:
        """Dialogs whose decision is overdue, by creation time."""
        return f"{self.prefix}:index:overdue"

    def attention(self) -> str:
        """Dialogs that need a person (Dialog.attention), by creation time: the console's queue."""
        return f"{self.prefix}:index:attention"

    def telegram_user(self, user_id: int) -> str:
        return f"{self.prefix}:telegram:user:{user_id}"

    def phone_telegram(self, msisdn: str) -> str:
        return f"{self.prefix}:phone:{{{msisdn}}}:telegram"


# Inbound message ids are remembered for a week: long enough for any gateway's retries.
INBOUND_MEMORY_SECONDS = 7 * 86400


def _timer_member(dialog_id: str, kind: str) -> str:
    return f"{dialog_id}|{kind}"


class Store:
    """The bot's persistence: dialogs, indexes, phone slots and timers."""

    def __init__(self, redis: Redis, prefix: str = "pb", *, log_retention_seconds: int = 400 * 86400,
                 log_feed_maxlen: int = 100_000) -> None:
        self.redis = redis
        self.keys = Keys(prefix)
        self.log_retention_seconds = log_retention_seconds
        self.log_feed_maxlen = log_feed_maxlen
        self.observers: list[LogObserver] = []  # told every log record once it is written (metrics)

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    def phone_lock(self, msisdn: str) -> Lock:
        """The lock that serialises every change to the dialogs of one phone (lock, then load)."""
        return self.redis.lock(self.keys.phone_lock(msisdn), timeout=60, blocking_timeout=30)

    # ---- dialogs -----------------------------------------------------------------------------------

    async def load(self, dialog_id: str) -> Dialog | None:
        raw = await self.redis.get(self.keys.dialog(dialog_id))
        return Dialog.from_json(raw) if raw is not None else None

    async def load_many(self, dialog_ids: list[str]) -> list[Dialog]:
        if not dialog_ids:
            return []
        raws = await self.redis.mget([self.keys.dialog(d) for d in dialog_ids])
        return [Dialog.from_json(r) for r in raws if r is not None]

    async def create(self, dialog: Dialog, subject_keys: list[str]) -> tuple[bool, str | None, str | None]:
        """Write a new dialog with its event key, unless the event or the subject is known already.

        Returns (created, dialog id already holding the event_id, dialog id already holding the subject).
        The check and the write are one WATCH/MULTI transaction, so two concurrent posts cannot both create.
        """
        event_key = self.keys.event(dialog.event_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(event_key, *subject_keys)
                    known = await pipe.get(event_key)
                    if known is not None:
                        return False, _text(known), None
                    holder = None
                    for key in subject_keys:
                        owner = await pipe.get(key)
                        if owner is not None:
                            holder = _text(owner)
                            break
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(event_key, dialog.dialog_id)
                    if holder is None:
                        for key in subject_keys:
                            pipe.set(key, dialog.dialog_id)
                    self._write(pipe, dialog, {})
                    created_at = from_iso(dialog.created_at).timestamp()
                    pipe.zadd(self.keys.dialogs(), {dialog.dialog_id: created_at})
                    pipe.zadd(self.keys.phone_dialogs(dialog.msisdn), {dialog.dialog_id: created_at})
                    for iin in {dialog.recipient_iin, *dialog.subject_iins}:
                        pipe.zadd(self.keys.iin(iin), {dialog.dialog_id: created_at})
                    pipe.hincrby(self.keys.status_counts(), dialog.status, 1)
                    self._count_day(pipe, dialog.created_at, "dialogs")
                    await pipe.execute()
                    return True, None, holder
                except WatchError:
                    continue

    async def save(self, dialog: Dialog, previous_timers: dict[str, str],
                   extra: list[tuple[str, str, int | None]] | None = None,
                   log: list[dict[str, Any]] | None = None) -> None:
        """Write the dialog, bring its timers in line and append its log records, atomically."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self._write(pipe, dialog, previous_timers)
            for key, value, keep_seconds in extra or []:
                pipe.set(key, value, ex=keep_seconds)
            if log:
                self._append_log(pipe, dialog.dialog_id, log)
            await pipe.execute()
        self._tell(log or [])

    def _append_log(self, pipe: Any, dialog_id: str, records: list[dict[str, Any]]) -> None:
        """Per-dialog JSON lines (kept `log_retention_seconds`) and the live feed every tail reads."""
        key = self.keys.dialog_log(dialog_id)
        for record in records:
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
            pipe.rpush(key, line)
            pipe.xadd(self.keys.log_feed(), {"record": line}, maxlen=self.log_feed_maxlen, approximate=True)
            if record.get("type") == "status" and record["from"] != record["to"]:
                pipe.hincrby(self.keys.status_counts(), record["from"], -1)
                pipe.hincrby(self.keys.status_counts(), record["to"], 1)
                self._count_day(pipe, record["at"], f"status:{record['to']}")
                if record.get("trigger") == "agree":
                    self._count_day(pipe, record["at"], "consents")
        pipe.expire(key, self.log_retention_seconds)

    def _count_day(self, pipe: Any, at: str, what: str) -> None:
        key = self.keys.day_stats(almaty_date(from_iso(at)).isoformat())
        pipe.hincrby(key, what, 1)
        pipe.expire(key, DAY_STATS_SECONDS)

    def _tell(self, records: list[dict[str, Any]]) -> None:
        if records:
            for observe in self.observers:
                observe(records)

    async def dialog_log(self, dialog_id: str) -> list[dict[str, Any]]:
        """Every log record kept for one dialog, oldest first."""
        return [json.loads(line) for line in await self.redis.lrange(self.keys.dialog_log(dialog_id), 0, -1)]

    async def feed_last_id(self) -> str:
        """The id of the newest record in the live feed ("0-0" when it is empty): where a tail starts."""
        newest = await self.redis.xrevrange(self.keys.log_feed(), count=1)
        return _text(newest[0][0]) if newest else "0-0"

    async def read_feed(self, after: str, *, block_ms: int | None = None,
                        count: int = 100) -> list[tuple[str, dict[str, Any]]]:
        """Feed records after the id `after`, oldest first, waiting up to `block_ms` for one (None: no wait)."""
        found: Any = await self.redis.xread({self.keys.log_feed(): after}, count=count, block=block_ms)
        if not found:
            return []
        return [(_text(entry_id), _record(fields)) for entry_id, fields in found[0][1]]

    async def feed_tail(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        """The newest `count` feed records, oldest first."""
        newest: Any = await self.redis.xrevrange(self.keys.log_feed(), count=count)
        return [(_text(entry_id), _record(fields)) for entry_id, fields in reversed(newest)]

    async def append_log(self, dialog_id: str, records: list[dict[str, Any]]) -> None:
        """Log records that change no dialog state (an operator's look at personal data, say)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self._append_log(pipe, dialog_id, records)
            await pipe.execute()
        self._tell(records)

    def _write(self, pipe: Any, dialog: Dialog, previous_timers: dict[str, str]) -> None:
        pipe.set(self.keys.dialog(dialog.dialog_id), dialog.to_json())
        created_at = from_iso(dialog.created_at).timestamp()
        for key, member in ((self.keys.flagged(), bool(dialog.flags)), (self.keys.attention(), bool(dialog.attention)),
                            (self.keys.overdue(), "decision_overdue" in dialog.flags)):
            if member:
                pipe.zadd(key, {dialog.dialog_id: created_at})
            else:
                pipe.zrem(key, dialog.dialog_id)
        gone = [_timer_member(dialog.dialog_id, k) for k in previous_timers if k not in dialog.timers]
        if gone:
            pipe.zrem(self.keys.timers(), *gone)
        if dialog.timers:
            pipe.zadd(self.keys.timers(), {
                _timer_member(dialog.dialog_id, k): from_iso(v).timestamp() for k, v in dialog.timers.items()
            })

    async def forget_subjects(self, dialog: Dialog, subject_keys: list[str]) -> None:
        """A cancelled event no longer blocks a corrected one for the same person."""
        for key in subject_keys:
            owner = await self.redis.get(key)
            if owner is not None and _text(owner) == dialog.dialog_id:
                await self.redis.delete(key)

    async def event_dialog(self, event_id: str) -> str | None:
        value = await self.redis.get(self.keys.event(event_id))
        return _text(value) if value is not None else None

    async def claim_event(self, event_id: str, dialog_id: str) -> bool:
        return bool(await self.redis.set(self.keys.event(event_id), dialog_id, nx=True))

    async def lookup(self, key: str) -> str | None:
        value = await self.redis.get(key)
        return _text(value) if value is not None else None

    async def list_ids(self, msisdn: str | None, offset: int, count: int) -> list[str]:
        key = self.keys.phone_dialogs(msisdn) if msisdn else self.keys.dialogs()
        return [_text(v) for v in await self.redis.zrevrange(key, offset, offset + count - 1)]

    async def index_page(self, key: str, offset: int, count: int, low: float | str = "-inf",
                         high: float | str = "+inf") -> list[str]:
        """Ids from one of the sorted-set indexes, newest first, created between `low` and `high`."""
        found = await self.redis.zrevrangebyscore(key, high, low, start=offset, num=count)
        return [_text(v) for v in found]

    async def size(self, key: str) -> int:
        """How many dialogs one of the sorted-set indexes holds."""
        return int(await self.redis.zcard(key))

    async def counts(self, key: str) -> dict[str, int]:
        """A hash of counters (status_counts, day_stats), as ints."""
        return {_text(k): int(v) for k, v in (await self.redis.hgetall(key)).items()}

    async def phone_dialog_ids(self, msisdn: str) -> list[str]:
        return [_text(v) for v in await self.redis.zrange(self.keys.phone_dialogs(msisdn), 0, -1)]

    # ---- phone slot (one conversation per phone) -----------------------------------------------------

    async def phone_active(self, msisdn: str) -> str | None:
        value = await self.redis.hget(self.keys.phone(msisdn), "active")
        return _text(value) if value else None

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
        return _text(value) if value is not None else None

    async def unqueue(self, msisdn: str, dialog_id: str) -> None:
        await self.redis.lrem(self.keys.phone_queue(msisdn), 0, dialog_id)

    async def once_per_day(self, what: str, msisdn: str, day: dt.date) -> bool:
        """True the first time `what` happens for this phone on this (Kazakhstan) day."""
        key = self.keys.once(what, msisdn, day.isoformat())
        return bool(await self.redis.set(key, "1", nx=True, ex=2 * 86400))

    async def count_inbound(self, msisdn: str, now: dt.datetime) -> int:
        """How many messages this phone has sent in the current minute, this one included."""
        key = self.keys.inbound_rate(msisdn, now.strftime("%Y%m%d%H%M"))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
        return int(count)

    async def mark_seen(self, inbound_key: str) -> None:
        """Remember an inbound message that changed no dialog (gateways retry)."""
        await self.redis.set(inbound_key, "-", ex=INBOUND_MEMORY_SECONDS)

    # ---- Telegram binding (a Telegram user proved they hold the phone) -----------------------------

    async def bind_telegram(self, user_id: int, chat_id: int, msisdn: str) -> None:
        """Tie a Telegram user and their chat to a phone; a newer binding of either side replaces the old."""
        user_key, phone_key = self.keys.telegram_user(user_id), self.keys.phone_telegram(msisdn)
        stale: list[str] = []
        previous_phone = await self.lookup(user_key)
        if previous_phone is not None and previous_phone != msisdn:
            old_phone_key = self.keys.phone_telegram(previous_phone)
            if _text(await self.redis.hget(old_phone_key, "user_id") or b"") == str(user_id):
                stale.append(old_phone_key)
        previous_user = await self.redis.hget(phone_key, "user_id")
        if previous_user is not None and _text(previous_user) != str(user_id):
            stale.append(self.keys.telegram_user(int(_text(previous_user))))
        async with self.redis.pipeline(transaction=True) as pipe:
            if stale:
                pipe.delete(*stale)
            # Kept as long as the dialog log: the binding is personal data like the rest of the record.
            pipe.set(user_key, msisdn, ex=self.log_retention_seconds)
            pipe.hset(phone_key, mapping={"chat_id": str(chat_id), "user_id": str(user_id)})
            pipe.expire(phone_key, self.log_retention_seconds)
            await pipe.execute()

    async def telegram_msisdn(self, user_id: int) -> str | None:
        """The phone a Telegram user proved to hold, if any."""
        return await self.lookup(self.keys.telegram_user(user_id))

    async def telegram_chat(self, msisdn: str) -> int | None:
        """The Telegram chat bound to a phone, if any."""
        value = await self.redis.hget(self.keys.phone_telegram(msisdn), "chat_id")
        return int(_text(value)) if value is not None else None

    # ---- USSD sessions (where a phone's last session stopped, so the next one can resume) -------------

    async def ussd_session(self, msisdn: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.keys.ussd_session(msisdn))
        return json.loads(raw) if raw is not None else None

    async def save_ussd_session(self, msisdn: str, session: dict[str, Any], ttl_seconds: int) -> None:
        await self.redis.set(self.keys.ussd_session(msisdn), json.dumps(session, ensure_ascii=False),
                             ex=ttl_seconds)

    # ---- timers ---------------------------------------------------------------------------------

    async def next_timer(self) -> dt.datetime | None:
        first = await self.redis.zrange(self.keys.timers(), 0, 0, withscores=True)
        if not first:
            return None
        return dt.datetime.fromtimestamp(float(first[0][1]), dt.UTC)

    async def due_timers(self, now: dt.datetime, limit: int = 100) -> list[tuple[str, str]]:
        """(dialog_id, kind) pairs due at `now`, earliest first."""
        members = await self.redis.zrangebyscore(self.keys.timers(), "-inf", now.timestamp(), start=0, num=limit)
        out = []
        for member in members:
            dialog_id, _, kind = _text(member).partition("|")
            out.append((dialog_id, kind))
        return out

    async def drop_timer(self, dialog_id: str, kind: str) -> None:
        await self.redis.zrem(self.keys.timers(), _timer_member(dialog_id, kind))


def _record(fields: dict[Any, Any]) -> dict[str, Any]:
    raw = fields.get(b"record", fields.get("record"))
    record: dict[str, Any] = json.loads(raw or "{}")
    return record


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
