"""Redis: every key the bot uses is built here, and every multi-key write is one transaction."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import re
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.lock import Lock
from redis.exceptions import WatchError

from bot.clock import almaty_date
from bot.domain.masking import mask_msisdn
from bot.ledger import Head, canonical, chain
from bot.packing import pack_dialog, pack_line, unpack_dialog, unpack_line
from dialogs.model import Dialog, dialog_id_of, from_iso, iso

DAY_STATS_SECONDS = 40 * 86400
LogObserver = Callable[[list[dict[str, Any]]], None]


DIALOG_ID = re.compile(r"d_([0-9a-f]{2})[0-9a-f]{2}(?:-[0-9a-f]{4}){3}")
MAX_SHARDS = 256  # a dialog id carries its shard in two hex digits
SHARD_INDEXES = ("dialogs", "flagged", "overdue", "attention")


def dialog_shard(dialog_id: str) -> int:
    """The shard a dialog id was made in (its first two hex digits); ValueError for an id we never made."""
    found = DIALOG_ID.fullmatch(dialog_id)
    if found is None:
        raise ValueError(f"not a dialog id: {dialog_id[:40]!r}")
    return int(found.group(1), 16)


@dataclass(frozen=True)
class Keys:
    """Key names, laid out for Redis Cluster.

    A phone and all its dialogs belong to one shard (crc32 of the number, modulo `shards`), and every key of
    that shard carries its hash tag `{sNN}`, so one step's transaction (dialog, its log, phone slot, timers,
    indexes, counters) touches one hash slot. Keys named by an outside identifier (event, subject, IIN,
    application, Telegram user) are single-key lookups written outside that transaction, and the
    job streams share the tag `{jobs}`. The shard count is fixed for the life of a deployment's data.
    """

    prefix: str
    shards: int = 16

    def shard_of(self, msisdn: str) -> int:
        return zlib.crc32(msisdn.encode()) % self.shards

    def _tag(self, shard: int) -> str:
        return f"{self.prefix}:{{s{shard:02x}}}"

    def _phone(self, msisdn: str) -> str:
        return f"{self._tag(self.shard_of(msisdn))}:phone:{msisdn}"

    def dialog(self, dialog_id: str) -> str:
        return f"{self._tag(dialog_shard(dialog_id))}:dialog:{dialog_id}"

    def dialog_log(self, dialog_id: str) -> str:
        return f"{self.dialog(dialog_id)}:log"

    def deliveries(self, dialog_id: str) -> str:
        """Hash: client ids of this dialog's SMS reported delivered since its last save (and the field `!` while
        its reports need a step)."""
        return f"{self.dialog(dialog_id)}:delivered"

    def phone(self, msisdn: str) -> str:
        return self._phone(msisdn)

    def gateway_receipt(self, client_id: str) -> str:
        """String: the id a gateway that keeps no record of client ids (Kannel) gave the SMS sent under this one."""
        return f"{self.prefix}:gw-receipt:{client_id}"

    def phone_queue(self, msisdn: str) -> str:
        return f"{self._phone(msisdn)}:queue"

    def phone_lock(self, msisdn: str) -> str:
        return f"{self._phone(msisdn)}:lock"

    def phone_dialogs(self, msisdn: str) -> str:
        return f"{self._phone(msisdn)}:dialogs"

    def once(self, what: str, msisdn: str, day: str) -> str:
        return f"{self._phone(msisdn)}:once:{what}:{day}"

    def ussd_session(self, msisdn: str) -> str:
        return f"{self._phone(msisdn)}:ussd"

    def inbound_rate(self, msisdn: str, minute: str) -> str:
        return f"{self._phone(msisdn)}:rate:{minute}"

    def taken(self, msisdn: str) -> str:
        """The message last taken as an answer from this phone (dialogs/answers.py: the duplicate rule)."""
        return f"{self._phone(msisdn)}:taken"

    def inbound(self, msisdn: str, message_key: str) -> str:
        """An inbound message seen (`channel:provider id`): in the phone's slot, so it is marked in the step."""
        return f"{self._phone(msisdn)}:in:{message_key}"

    def phone_telegram(self, msisdn: str) -> str:
        return f"{self._phone(msisdn)}:telegram"

    def timers(self, shard: int) -> str:
        """Sorted set of dialogs by their earliest due timer (and `dialog_id|start` by its start), one per shard."""
        return f"{self._tag(shard)}:timers"

    def index(self, name: str, shard: int) -> str:
        """One shard's part of an index of dialogs by creation time: `dialogs` (all), `flagged`, `overdue`
        (decision overdue), `attention` (Dialog.attention: the console's queue)."""
        return f"{self._tag(shard)}:index:{name}"

    def index_parts(self, name: str) -> list[str]:
        """Every shard's part of an index."""
        return [self.index(name, shard) for shard in range(self.shards)]

    def status_counts(self, shard: int) -> str:
        """Hash: public status → number of dialogs in it now (kept from the dialog log's status records)."""
        return f"{self._tag(shard)}:stats:status"

    def day_stats(self, day: str, shard: int) -> str:
        """Hash of one Kazakhstan day's counts: new dialogs, consents, entries into each status."""
        return f"{self._tag(shard)}:stats:day:{day}"

    # Lookups by an outside identifier: one key each, written outside the dialog's transaction.

    def event(self, event_id: str) -> str:
        return f"{self.prefix}:event:{event_id}"

    def subject(self, service: str, iin: str) -> str:
        return f"{self.prefix}:subject:{service}:{iin}"

    def application(self, application_id: str) -> str:
        return f"{self.prefix}:application:{application_id}"

    def iin(self, iin: str) -> str:
        """Dialogs naming this IIN as recipient or subject (the console's exact IIN search)."""
        return f"{self.prefix}:iin:{iin}"

    def telegram_user(self, user_id: int) -> str:
        return f"{self.prefix}:telegram:user:{user_id}"

    def log_feed(self) -> str:
        """The live feed every tail reads (a capped stream, written just after each transaction)."""
        return f"{self.prefix}:log"

    # The consent ledger (bot/ledger.py): one hash tag, so the chain is one sequence a transaction can extend.

    def ledger(self, part: str) -> str:
        """`records` (list of canonical JSON records, oldest first), `head` (hash: seq, hash of the newest),
        `base` (hash: seq, hash of the last record trimmed after its retention), `ids` (hash: act id → seq)."""
        return f"{self.prefix}:{{ledger}}:{part}"

    def ledger_pending(self, dialog_id: str) -> str:
        """On a cluster: a dialog's ledger records written in its step's transaction, until chained."""
        return f"{self.dialog(dialog_id)}:ledger"

    # Operators (bot/ops/sessions.py): named by a digest, so a key never holds a session id, name or address.

    def ops_session(self, digest: str) -> str:
        """Hash: one console session (name, language, CSRF token, token fingerprint, last use)."""
        return f"{self.prefix}:ops:session:{digest}"

    def ops_failures(self, scope: str, digest: str) -> str:
        """Hash: failed sign-ins or Bearer calls of one client address or operator name, and when it may retry."""
        return f"{self.prefix}:ops:failures:{scope}:{digest}"

    def ops_reveals(self, digest: str, hour: str) -> str:
        """Counter: one operator's reveals of personal data in one hour."""
        return f"{self.prefix}:ops:reveals:{digest}:{hour}"

    # The work queue (bot/jobs.py): one hash tag, so moving an entry between its streams is one transaction.

    def jobs(self) -> str:
        return f"{self.prefix}:{{jobs}}:stream"

    def dead_letters(self) -> str:
        return f"{self.prefix}:{{jobs}}:dead"

    def job_errors(self) -> str:
        """Hash: stream entry id → the last error it raised (moved with it to the dead letters)."""
        return f"{self.prefix}:{{jobs}}:errors"

    def job_done(self, origin: str) -> str:
        """List of finished jobs' results for the process `origin`, which waits for them."""
        return f"{self.prefix}:{{jobs}}:done:{origin}"


# Inbound message ids are remembered for a week: long enough for any gateway's retries.
# A Redis stream entry id as it may come from outside (a URL, Last-Event-ID): each part below 2**64, or Redis
# refuses it with an error that would read as an outage.
STREAM_ID = re.compile(r"[0-9]{1,19}-[0-9]{1,19}")
INBOUND_MEMORY_SECONDS = 7 * 86400


def _timer_member(dialog_id: str, kind: str) -> str:
    """A dialog has one entry for all its timers (due at the earliest), and one for its start if it has one:
    at the same instant, held messages go out before held dialogs start (see TimerFeed.fire_due)."""
    return f"{dialog_id}|start" if kind == "start" else dialog_id


def _timer_entries(dialog_id: str, timers: dict[str, str]) -> dict[str, float]:
    """Sorted-set members and scores for a dialog's timers."""
    entries: dict[str, float] = {}
    for kind, due in timers.items():
        member, score = _timer_member(dialog_id, kind), from_iso(due).timestamp()
        entries[member] = min(score, entries.get(member, score))
    return entries


# Delete a key only while it still holds the value we wrote (a claim we give back).
_DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# A delivery report without a step: marked beside the dialog and logged, unless the dialog is unknown (0) or
# its reports need a step (0: an SMS of it failed, resends may be waiting), or it was taken already (2).
_RECORD_DELIVERY = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[2], '!') == 1 then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[1], '1') == 0 then return 2 end
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[3]))
return 1
"""
# Take the timers due at ARGV[1] out of reach for ARGV[2] seconds (their score moves to then) and return
# them: of several pollers, one gets each timer; if its job is lost, the timer comes due again after the lease.
# Drop the oldest ledger records acted before ARGV[1] (an ISO instant in UTC, compared as text), moving the
# chain's base to the last one dropped, so that what is kept still verifies from there. One script: atomic.
_TRIM_LEDGER = """
local dropped = 0
while true do
  local raw = redis.call('LINDEX', KEYS[1], 0)
  if not raw then break end
  local record = cjson.decode(raw)
  if record['at'] >= ARGV[1] then break end
  redis.call('LPOP', KEYS[1])
  redis.call('HSET', KEYS[2], 'seq', record['seq'], 'hash', record['hash'])
  dropped = dropped + 1
end
return dropped
"""
_CLAIM_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), member) end
return due
"""


class Store:
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
        self.observers: list[LogObserver] = []  # told every log record once it is written (metrics)
        self._delete_if_equal = redis.register_script(_DELETE_IF_EQUAL)
        self._claim_due = redis.register_script(_CLAIM_DUE)
        self._record_delivery = redis.register_script(_RECORD_DELIVERY)
        self._trim_ledger = redis.register_script(_TRIM_LEDGER)

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    def phone_lock(self, msisdn: str) -> Lock:
        """The lock that serialises every change to the dialogs of one phone (lock, then load).

        It lapses after `lock_seconds` so that a worker killed while holding it does not block the phone.
        """
        return self.redis.lock(self.keys.phone_lock(msisdn), timeout=self.lock_seconds,
                               blocking_timeout=min(30.0, self.lock_seconds))

    def new_dialog_id(self, msisdn: str) -> str:
        """A random id in groups of four, so no run of digits in it can be mistaken for an IIN or a phone;
        its first two hex digits name the phone's shard, so the id alone finds the dialog's keys."""
        token = f"{self.keys.shard_of(msisdn):02x}" + secrets.token_hex(7)
        return "d_" + "-".join(token[i:i + 4] for i in range(0, 16, 4))

    # ---- dialogs -----------------------------------------------------------------------------------

    async def load(self, dialog_id: str) -> Dialog | None:
        try:
            key = self.keys.dialog(dialog_id)
        except ValueError:
            return None  # not an id we made: no such dialog
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.hkeys(self.keys.deliveries(dialog_id))
            raw, delivered = await pipe.execute()
        return _dialog(raw, delivered)

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
                dialog = _dialog(r, delivered.get(d, []))
                if dialog is not None:
                    found[d] = dialog
        return [found[d] for d in dialog_ids if d in found]

    async def gateway_receipt(self, client_id: str) -> str | None:
        """The receipt kept for an SMS a gateway took under this client id (`keep_gateway_receipt`), or None."""
        value = await self.redis.get(self.keys.gateway_receipt(client_id))
        return value.decode() if isinstance(value, bytes) else value

    async def keep_gateway_receipt(self, client_id: str, receipt: str, seconds: int) -> None:
        await self.redis.set(self.keys.gateway_receipt(client_id), receipt, ex=seconds)

    async def record_delivery(self, client_id: str, at: dt.datetime) -> bool:
        """Take a `delivered` report without a step, when nothing but the transcript's status hangs on it.

        True when taken (or taken before); False when a step must take it: the dialog is unknown here, or an
        SMS of it failed (a resend may be waiting for this very report). One script, no lock: what it writes is
        merged into the dialog by the next load, and written into it by the next save.
        """
        try:
            dialog_id = dialog_id_of(client_id)
            keys = [self.keys.dialog(dialog_id), self.keys.deliveries(dialog_id), self.keys.dialog_log(dialog_id)]
        except ValueError:
            return False
        record = {"at": iso(at), "type": "message", "direction": "out", "channel": "sms", "message_id": client_id,
                  "delivery": "delivered"}
        taken = int(await self._record_delivery(keys=keys, args=[client_id, pack_line(_line(record)),
                                                                 self.log_retention_seconds]))
        if taken == 1:
            fed = [{**record, "dialog_id": dialog_id}]
            async with self.redis.pipeline(transaction=False) as pipe:
                self._copies(pipe, fed, [])
                await pipe.execute()
            self._tell(fed)
        return taken != 0

    async def create(self, dialog: Dialog, subject_keys: list[str]) -> tuple[bool, str | None, str | None]:
        """Write a new dialog for its event, claiming the event_id and the subjects (children, person).

        Returns (created, the dialog id already holding the event_id, the dialog id already holding a subject).
        Called under the phone's lock. Each part is idempotent, so a job replayed after a crash completes what
        the first attempt began: the event_id is claimed first (SET NX: of two posts of one event, one
        wins), then the dialog is written with its indexes in one transaction of its shard, then the subjects
        are claimed (SET NX: a second event for the same child finds the first dialog), then the IIN index.
        """
        event_key = self.keys.event(dialog.event_id)
        if not await self.redis.set(event_key, dialog.dialog_id, nx=True):
            owner = await self.lookup(event_key)
            if owner is not None and owner != dialog.dialog_id:
                return False, owner, None
        created = await self._write_new(dialog)
        holder = await self.claim_subjects(dialog.dialog_id, subject_keys)
        created_at = from_iso(dialog.created_at).timestamp()
        async with self.redis.pipeline(transaction=False) as pipe:
            for iin in sorted({dialog.recipient_iin, *dialog.subject_iins}):
                pipe.zadd(self.keys.iin(iin), {dialog.dialog_id: created_at})
            await pipe.execute()
        return created, None, holder

    async def _write_new(self, dialog: Dialog) -> bool:
        """The dialog and its indexes, unless it exists already (a replay): True when written now."""
        key = self.keys.dialog(dialog.dialog_id)
        shard = dialog_shard(dialog.dialog_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    # STRLEN, not EXISTS: a cluster pipeline splits EXISTS by slot and cannot run it here.
                    if await pipe.strlen(key):
                        return False
                    pipe.multi()  # type: ignore[no-untyped-call]
                    self._write(pipe, dialog, {})
                    created_at = from_iso(dialog.created_at).timestamp()
                    pipe.zadd(self.keys.index("dialogs", shard), {dialog.dialog_id: created_at})
                    pipe.zadd(self.keys.phone_dialogs(dialog.msisdn), {dialog.dialog_id: created_at})
                    pipe.hincrby(self.keys.status_counts(shard), dialog.status, 1)
                    self._count_day(pipe, shard, dialog.created_at, "dialogs")
                    await pipe.execute()
                    return True
                except WatchError:
                    continue

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

    async def save(self, dialog: Dialog, previous_timers: dict[str, str],
                   extra: list[tuple[str, str, int | None]] | None = None,
                   log: list[dict[str, Any]] | None = None,
                   lookups: list[tuple[str, str, int | None]] | None = None,
                   previous_marks: Marks | None = None, ledger: list[dict[str, Any]] | None = None) -> None:
        """Write the dialog, bring its timers and indexes in line and append its log records, atomically.

        `extra` keys must be in the dialog's slot (they join the transaction). `lookups` (keys named by an
        outside identifier) and the live feed join it too on one Redis; on a cluster, where their slots differ,
        they are written right after it: each is an idempotent accelerator or a copy, and the transaction
        alone is the record. `ledger` bodies (bot/ledger.py) are chained in the same transaction on one Redis
        (it watches the chain's head, and is done again if another worker extended the chain meanwhile); on a
        cluster they are written beside the dialog in its transaction and chained right after it, and a
        record left there by a worker that stopped in between is chained by the dialog's next save.
        """
        if ledger and not self.cluster:
            await self._save_chained(dialog, previous_timers, extra, log, lookups, previous_marks, ledger)
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            self._write(pipe, dialog, previous_timers, previous_marks)
            for key, value, keep_seconds in extra or []:
                pipe.set(key, value, ex=keep_seconds)
            if log:
                self._append_log(pipe, dialog, log)
            if not self.cluster:
                self._copies(pipe, log or [], lookups or [])
            pending = self.keys.ledger_pending(dialog.dialog_id)
            if self.cluster:
                if ledger:
                    pipe.rpush(pending, *(canonical(body) for body in ledger))
                pipe.lrange(pending, 0, -1)
            answers = await pipe.execute()
        await self._after(log or [], lookups or [])
        if self.cluster and answers[-1]:
            await self._chain_pending(pending, [json.loads(raw) for raw in answers[-1]])

    async def _save_chained(self, dialog: Dialog, previous_timers: dict[str, str],
                            extra: list[tuple[str, str, int | None]] | None, log: list[dict[str, Any]] | None,
                            lookups: list[tuple[str, str, int | None]] | None, previous_marks: Marks | None,
                            ledger: list[dict[str, Any]]) -> None:
        """`save` with ledger records, on one Redis: the dialog and the chain's new records in one MULTI."""
        reported = list(dialog.reported)  # _write consumes it; a retry after a WatchError needs it again
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self.keys.ledger("head"))
                    head = Head.parse(await pipe.hgetall(self.keys.ledger("head")))
                    pipe.multi()  # type: ignore[no-untyped-call]
                    dialog.reported = list(reported)
                    self._write(pipe, dialog, previous_timers, previous_marks)
                    for key, value, keep_seconds in extra or []:
                        pipe.set(key, value, ex=keep_seconds)
                    if log:
                        self._append_log(pipe, dialog, log)
                    self._copies(pipe, log or [], lookups or [])
                    self._extend_chain(pipe, chain(ledger, head.seq, head.hash))
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        self._tell(log or [])

    def _extend_chain(self, pipe: Any, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        pipe.rpush(self.keys.ledger("records"), *(canonical(r) for r in records))
        pipe.hset(self.keys.ledger("head"), mapping={"seq": records[-1]["seq"], "hash": records[-1]["hash"]})
        pipe.hset(self.keys.ledger("ids"), mapping={r["id"]: r["seq"] for r in records})
        for record in records:
            pipe.rpush(self.keys.ledger(f"dialog:{record['dialog_id']}"), record["seq"])

    async def _chain_pending(self, pending: str, bodies: list[dict[str, Any]]) -> None:
        """On a cluster: chain a dialog's records written beside it (each once, by its id), then drop them."""
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self.keys.ledger("head"))
                    head = Head.parse(await pipe.hgetall(self.keys.ledger("head")))
                    known = await pipe.hmget(self.keys.ledger("ids"), [b["id"] for b in bodies])
                    fresh = [b for b, seq in zip(bodies, known, strict=True) if seq is None]
                    pipe.multi()  # type: ignore[no-untyped-call]
                    self._extend_chain(pipe, chain(fresh, head.seq, head.hash))
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        await self.redis.ltrim(pending, len(bodies), -1)

    async def ledger_head(self) -> tuple[Head, Head]:
        """The chain's head and its base (where the kept records start)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.ledger("head"))
            pipe.hgetall(self.keys.ledger("base"))
            head, base = await pipe.execute()
        return Head.parse(head), Head.parse(base)

    async def ledger_lines(self, batch: int = 1000) -> list[str]:
        """Every kept ledger record, oldest first, as stored."""
        lines: list[str] = []
        while True:
            part = await self.redis.lrange(self.keys.ledger("records"), len(lines), len(lines) + batch - 1)
            lines.extend(_text(line) for line in part)
            if len(part) < batch:
                return lines

    async def trim_ledger(self, before: dt.datetime) -> int:
        """Drop ledger records of acts before `before` (callers pass now minus the retention): how many."""
        return int(await self._trim_ledger(keys=[self.keys.ledger("records"), self.keys.ledger("base")],
                                           args=[iso(before)]))

    async def dialog_ledger(self, dialog_id: str) -> list[dict[str, Any]]:
        """One dialog's ledger records (the console's evidence), oldest first, as kept in the chain."""
        seqs = [int(seq) for seq in await self.redis.lrange(self.keys.ledger(f"dialog:{dialog_id}"), 0, -1)]
        if not seqs:
            return []
        _, base = await self.ledger_head()
        kept = [seq for seq in seqs if seq > base.seq]  # trimmed ones are gone (a negative index counts from the end)
        async with self.redis.pipeline(transaction=False) as pipe:
            for seq in kept:
                pipe.lindex(self.keys.ledger("records"), seq - base.seq - 1)
            found = await pipe.execute()
        records = [json.loads(raw) for raw in found if raw is not None]
        return [r for r in records if r.get("dialog_id") == dialog_id]  # never another dialog's, whatever the index

    def _copies(self, pipe: Any, log: list[dict[str, Any]], lookups: list[tuple[str, str, int | None]]) -> None:
        for key, value, keep_seconds in lookups:
            pipe.set(key, value, ex=keep_seconds)
        for record in log:
            pipe.xadd(self.keys.log_feed(), {"record": pack_line(_line(record))}, maxlen=self.log_feed_maxlen,
                      approximate=True)

    async def _after(self, log: list[dict[str, Any]], lookups: list[tuple[str, str, int | None]]) -> None:
        """The live feed and the lookups, on a cluster (one Redis wrote them in the transaction); then observers."""
        if self.cluster and (log or lookups):
            async with self.redis.pipeline(transaction=False) as pipe:
                self._copies(pipe, log, lookups)
                await pipe.execute()
        self._tell(log)

    def _append_log(self, pipe: Any, dialog: Dialog, records: list[dict[str, Any]]) -> None:
        """Per-dialog JSON lines (kept `log_retention_seconds`) and the counters they move.

        A dialog's own lines leave out what every one of them would repeat (its id, service and masked phone):
        `dialog_log` puts it back. The live feed keeps whole records.
        """
        key = self.keys.dialog_log(dialog.dialog_id)
        shard = dialog_shard(dialog.dialog_id)
        for record in records:
            pipe.rpush(key, pack_line(_line({k: v for k, v in record.items() if k not in _SAME_IN_EVERY_LINE})))
            if record.get("type") == "status" and record["from"] != record["to"]:
                pipe.hincrby(self.keys.status_counts(shard), record["from"], -1)
                pipe.hincrby(self.keys.status_counts(shard), record["to"], 1)
                self._count_day(pipe, shard, record["at"], f"status:{record['to']}")
                if record.get("trigger") == "agree":
                    self._count_day(pipe, shard, record["at"], "consents")
        pipe.expire(key, self.log_retention_seconds)

    def _count_day(self, pipe: Any, shard: int, at: str, what: str) -> None:
        key = self.keys.day_stats(almaty_date(from_iso(at)).isoformat(), shard)
        pipe.hincrby(key, what, 1)
        pipe.expire(key, DAY_STATS_SECONDS)

    def _tell(self, records: list[dict[str, Any]]) -> None:
        if records:
            for observe in self.observers:
                observe(records)

    async def dialog_log(self, dialog_id: str) -> list[dict[str, Any]]:
        """Every log record kept for one dialog, oldest first."""
        try:
            key = self.keys.dialog_log(dialog_id)
        except ValueError:
            return []
        lines = [json.loads(unpack_line(line)) for line in await self.redis.lrange(key, 0, -1)]
        if not lines or all("dialog_id" in line for line in lines):
            return lines
        dialog = await self.load(dialog_id)
        same = {"dialog_id": dialog_id, "service": dialog.service if dialog else None,
                "msisdn": mask_msisdn(dialog.msisdn) if dialog else None}
        return [{"at": line.get("at"), **same, **line} for line in lines]

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

    async def append_log(self, dialog: Dialog, records: list[dict[str, Any]]) -> None:
        """Log records that change no dialog state (an operator's look at personal data, say)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self._append_log(pipe, dialog, records)
            if not self.cluster:
                self._copies(pipe, records, [])
            await pipe.execute()
        await self._after(records, [])

    def _write(self, pipe: Any, dialog: Dialog, previous_timers: dict[str, str],
               previous_marks: Marks | None = None) -> None:
        """The dialog and what is derived from it; with the timers and marks it was loaded with, only what
        changed (None: everything)."""
        pipe.set(self.keys.dialog(dialog.dialog_id), pack_dialog(dialog.to_json()))
        marks = index_marks(dialog)
        changed = [previous_marks is None or previous_marks[i] != marks[i] for i in range(len(marks))]
        shard = dialog_shard(dialog.dialog_id)
        created_at = from_iso(dialog.created_at).timestamp()
        for name, member, write in zip(("flagged", "attention", "overdue"), marks, changed, strict=False):
            if write and member:
                pipe.zadd(self.keys.index(name, shard), {dialog.dialog_id: created_at})
            elif write:
                pipe.zrem(self.keys.index(name, shard), dialog.dialog_id)
        # The reports taken without a step are in the dialog now; while an SMS of it has failed, they need one.
        deliveries = self.keys.deliveries(dialog.dialog_id)
        done = [*dialog.reported]
        if changed[3] and marks[3]:
            pipe.hset(deliveries, "!", "1")
        elif changed[3]:
            done.append("!")
        if done:
            pipe.hdel(deliveries, *done)
        dialog.reported = []
        entries = _timer_entries(dialog.dialog_id, dialog.timers)
        before = _timer_entries(dialog.dialog_id, previous_timers)
        gone = [m for m in before if m not in entries]
        if gone:
            pipe.zrem(self.keys.timers(shard), *gone)
        if entries and (entries != before or previous_marks is None):
            pipe.zadd(self.keys.timers(shard), entries)

    async def forget_subjects(self, dialog: Dialog, subject_keys: list[str]) -> None:
        """A cancelled event no longer blocks a corrected one for the same person."""
        for key in subject_keys:
            await self._delete_if_equal(keys=[key], args=[dialog.dialog_id])

    async def event_dialog(self, event_id: str) -> str | None:
        return await self.lookup(self.keys.event(event_id))

    async def claim_event(self, event_id: str, dialog_id: str) -> bool:
        return bool(await self.redis.set(self.keys.event(event_id), dialog_id, nx=True))

    async def lookup(self, key: str) -> str | None:
        value = await self.redis.get(key)
        return _text(value) if value is not None else None

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
            return [_text(v) for v in found]
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zrevrangebyscore(key, high, low, start=0, num=offset + count, withscores=True)
            parts = await pipe.execute()
        merged = sorted(((float(score), _text(member)) for part in parts for member, score in part), reverse=True)
        return [member for _, member in merged[offset:offset + count]]

    async def size(self, name: str) -> int:
        """How many dialogs an index holds (every shard's part)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in self.keys.index_parts(name):
                pipe.zcard(key)
            return sum(int(n) for n in await pipe.execute())

    async def status_counts(self) -> dict[str, int]:
        """Public status → dialogs in it now."""
        return await self._counts([self.keys.status_counts(s) for s in range(self.keys.shards)])

    async def day_counts(self, day: dt.date) -> dict[str, int]:
        """One Kazakhstan day's counters: new dialogs, consents, entries into each status."""
        return await self._counts([self.keys.day_stats(day.isoformat(), s) for s in range(self.keys.shards)])

    async def _counts(self, keys: list[str]) -> dict[str, int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            parts = await pipe.execute()
        total: dict[str, int] = {}
        for part in parts:
            for k, v in part.items():
                total[_text(k)] = total.get(_text(k), 0) + int(v)
        return total

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

    # ---- Telegram binding (a Telegram user proved they hold the phone) -----------------------------

    async def bind_telegram(self, user_id: int, chat_id: int, msisdn: str) -> None:
        """Tie a Telegram user and their chat to a phone; a newer binding of either side replaces the old.

        The user's key and the phone's are in different slots: the phone's side is written last, so a
        half-done binding (we stopped in between) binds nothing a message could be routed by.
        """
        user_key, phone_key = self.keys.telegram_user(user_id), self.keys.phone_telegram(msisdn)
        previous_phone = await self.lookup(user_key)
        if previous_phone is not None and previous_phone != msisdn:
            old_phone_key = self.keys.phone_telegram(previous_phone)
            if _text(await self.redis.hget(old_phone_key, "user_id") or b"") == str(user_id):
                await self.redis.delete(old_phone_key)
        previous_user = await self.redis.hget(phone_key, "user_id")
        if previous_user is not None and _text(previous_user) != str(user_id):
            await self.redis.delete(self.keys.telegram_user(int(_text(previous_user))))
        # Kept as long as the dialog log: the binding is personal data like the rest of the record.
        await self.redis.set(user_key, msisdn, ex=self.log_retention_seconds)
        async with self.redis.pipeline(transaction=True) as pipe:
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

    # ---- timers (one sorted set per shard) ---------------------------------------------------------

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
            scores = {_text(member): float(score) for member, score in due}
            taken = await self._claim_due(keys=[key], args=[now.timestamp(), lease_seconds, limit])
            for member in map(_text, taken):
                dialog_id, _, kind = member.partition("|")
                kind = "start" if kind == "start" else "due"
                at = dt.datetime.fromtimestamp(scores.get(member, now.timestamp()), dt.UTC)
                claimed.append((at, dialog_id, kind))
        claimed.sort(key=lambda timer: timer[0])
        return claimed

    async def drop_timer(self, dialog_id: str, kind: str) -> None:
        with contextlib.suppress(ValueError):
            await self.redis.zrem(self.keys.timers(dialog_shard(dialog_id)), _timer_member(dialog_id, kind))


_SAME_IN_EVERY_LINE = ("dialog_id", "service", "msisdn")


Marks = tuple[bool, bool, bool, bool]


def index_marks(dialog: Dialog) -> Marks:
    """What the shard's indexes and the delivery marker hold of a dialog: flagged, in the operators' queue,
    decision overdue, its reports need a step."""
    return (bool(dialog.flags), bool(dialog.attention), "decision_overdue" in dialog.flags,
            dialog.needs_report_steps)


def _dialog(raw: bytes | str | None, delivered: list[Any]) -> Dialog | None:
    if raw is None:
        return None
    dialog = Dialog.from_json(unpack_dialog(raw))
    reported = [_text(field) for field in delivered if field not in (b"!", "!")]
    if reported:
        dialog.merge_reported(reported)
    return dialog


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _record(fields: dict[Any, Any]) -> dict[str, Any]:
    raw = fields.get(b"record", fields.get("record"))
    record: dict[str, Any] = json.loads(unpack_line(raw) if raw else "{}")
    return record


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
