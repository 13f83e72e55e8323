"""Redis memory per open dialog: dialogs made in-process by the bot's own Engine, then cloned.

HTTP is too slow to open 10^5-10^6 dialogs here, so this drives `Engine.intake` (lock, create, e-government
lookup, consent request, save) and then `Engine.delivery_report` (what the gateway's report does) with
in-process stand-ins for the SMS gateway and e-government: every Redis write of these templates is the
bot's own code path, and each ends as an open offer awaiting consent, exactly as after a real event.
Even in-process that path makes only a few hundred dialogs a second here, so larger counts are reached by
cloning the templates key by key: every key a template dialog owns is copied with fresh identifiers of
the same length, and its entries in the shared sorted sets and the capped log feed are added again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import re
import time
import uuid
from typing import Any

from redis.asyncio import Redis

from bench.citizens import population
from bench.measure import delete_prefix, keys_memory, redis_info
from bot.channels.base import DeliveryReport, Outbound, Receipt
from bot.clock import ALMATY
from bot.commands import NewEvent
from bot.engine import Engine
from bot.i18n import Translator
from bot.intake import parse_event
from bot.packing import pack_line, unpack_dialog
from bot.settings import Settings
from bot.store import Keys, Store

START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ALMATY)


class _Clock:
    def now(self) -> dt.datetime:
        return START.astimezone(dt.UTC)


class _Gateway:
    """Takes every SMS at once, as the gateway mock does, and numbers it."""

    name = "sms"

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    async def send(self, message: Outbound) -> Receipt:
        return Receipt(f"gw-out-{next(self._ids)}")


class _Egov:
    async def person(self, iin: str) -> dict[str, Any]:
        return {}


class _Assignment:
    async def submit(self, application: dict[str, Any]) -> str:
        raise AssertionError("open dialogs submit nothing")


async def _no_later(kind: str, payload: dict[str, Any]) -> None:
    raise AssertionError("open dialogs hand no work to the queue")


def engine_for(redis: Redis, prefix: str) -> Engine:
    """The bot's Engine on `redis` under `prefix`, its gateways replaced by in-process stand-ins."""
    settings = Settings(key_prefix=prefix)
    return Engine(store=Store(redis, prefix), clock=_Clock(), settings=settings, translator=Translator(),
                  sms=_Gateway(), egov=_Egov(), assignment=_Assignment(),  # type: ignore[arg-type]
                  later=_no_later)


async def open_dialogs(engine: Engine, count: int, concurrency: int, run: str) -> float:
    """Make `count` open dialogs (consent asked, its delivery reported); the wall time it took."""
    citizens = population(count, run=run, start=START, daily=max(count, 1))
    events: list[NewEvent] = []
    for citizen in citizens:
        event, problems = parse_event(citizen.event)
        assert isinstance(event, NewEvent), problems
        events.append(event)
    gate = asyncio.Semaphore(concurrency)

    async def one(event: NewEvent) -> None:
        async with gate:
            _, dialog = await engine.intake(event)
            for line in dialog.transcript:
                if line.get("provider_id"):
                    await engine.delivery_report(DeliveryReport(line["provider_id"], line["message_id"], True))

    began = time.perf_counter()
    await asyncio.gather(*(one(e) for e in events))
    return time.perf_counter() - began


FEED_MAXLEN = Settings().log_feed_maxlen
Arg = list[str | int]  # literal text and identifier slots (the template's n-th identifier)


class _Template:
    """One engine-made dialog as the Redis commands that would write it again, identifiers left as slots."""

    def __init__(self, dialog: dict[str, Any]) -> None:
        self.dialog_id: str = dialog["dialog_id"]
        self.ids = [self.dialog_id, dialog["event_id"], dialog["msisdn"], dialog["recipient_iin"],
                    *dialog["subject_iins"],
                    *(line["provider_id"] for line in dialog["transcript"] if line.get("provider_id"))]
        # Whole identifiers only: gw-out-1 must not match inside gw-out-10 (a message id may follow a dialog id).
        alternatives = "|".join(re.escape(i) for i in sorted(self.ids, key=len, reverse=True))
        self._pattern = re.compile(rf"(?<![\w-])({alternatives})(?!\w)")
        self.flat: list[bytes | int] = []  # the protocol bytes, with identifier slots

    def slots(self, text: str) -> Arg:
        """`text` split into literal parts and identifier slots."""
        parts: Arg = []
        last = 0
        for match in self._pattern.finditer(text):
            parts += [text[last:match.start()], self.ids.index(match.group(1))]
            last = match.end()
        return [*parts, text[last:]]

    def add(self, *args: str | bytes) -> None:
        """Append one command; a clone's identifiers have fixed lengths, so only their slots vary (bytes are
        copied as they are)."""
        sizes = [max(len(old), 12) for old in self.ids]
        self._emit(b"*%d\r\n" % len(args))
        for arg in args:
            parts: list[bytes | int] = [arg] if isinstance(arg, bytes) else [
                p.encode() if isinstance(p, str) else p for p in self.slots(arg)]
            size = sum(sizes[p] if isinstance(p, int) else len(p) for p in parts)
            self._emit(b"$%d\r\n" % size)
            for part in parts:
                self._emit(part)
            self._emit(b"\r\n")

    def _emit(self, part: bytes | int) -> None:
        if isinstance(part, bytes) and self.flat and isinstance(self.flat[-1], bytes):
            self.flat[-1] += part
        else:
            self.flat.append(part)

    def resp(self, n: int) -> bytes:
        """The commands for clone `n` in the Redis protocol, each identifier unique to the clone and its slot."""
        new = [f"{old[: max(0, len(old) - 12)]}{p % 10}{n:011d}".encode() for p, old in enumerate(self.ids)]
        return b"".join(new[part] if isinstance(part, int) else part for part in self.flat)


async def _snapshot(redis: Redis, prefix: str) -> list[_Template]:
    """Read back every engine-made dialog and what it wrote: its own keys and its shared entries."""
    keys_of = Keys(prefix)
    tag = r"\{s[0-9a-f]{2}\}"
    shared = re.compile(rf"^{re.escape(prefix)}:({tag}:(timers|index:.*|stats:.*)|log)$")
    keys = [_text(k) async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    dialog_key = re.compile(rf"^{re.escape(prefix)}:{tag}:dialog:([^:]+)$")
    templates = [_Template(json.loads(unpack_dialog(await redis.get(k)))) for k in keys if dialog_key.match(k)]
    timers = [(keys_of.timers(s), pair) for s in range(keys_of.shards)
              for pair in await _scored(redis, keys_of.timers(s))]
    created = {m: (key, score) for key in keys_of.index_parts("dialogs") for m, score in await _scored(redis, key)}
    owners = {ident: t for t in templates for ident in t.ids}
    for key in keys:
        if shared.match(key):
            continue
        owner = next(owners[token] for token in re.split(r"[:{}]", key) if token in owners)
        kind = _text(await redis.type(key))
        if kind == "string":
            value = await redis.get(key)
            # A dialog is stored compressed: its clones carry the template's bytes (the same size).
            owner.add("SET", key, value if dialog_key.match(key) else _text(value))
        elif kind == "list":  # a dialog's log lines are stored deflated: copied as they are
            values = await redis.lrange(key, 0, -1)
            owner.add("RPUSH", key, *(values if key.endswith(":log") else [_text(v) for v in values]))
        elif kind == "hash":
            fields = (await redis.hgetall(key)).items()
            owner.add("HSET", key, *[_text(x) for kv in fields for x in kv])
        elif kind == "zset":
            owner.add("ZADD", key, *[x for m, s in await _scored(redis, key) for x in (repr(s), m)])
        elif kind == "set":
            owner.add("SADD", key, *[_text(v) for v in await redis.smembers(key)])
    for template in templates:
        index_key, score = created[template.dialog_id]
        template.add("ZADD", index_key, repr(score), template.dialog_id)
        for timers_key, (member, due) in timers:
            if member.startswith(template.dialog_id):
                template.add("ZADD", timers_key, repr(due), member)
        for record in await Store(redis, prefix).dialog_log(template.dialog_id):  # whole, as the feed has them
            template.add("XADD", keys_of.log_feed(), "MAXLEN", "~", str(FEED_MAXLEN), "*", "record",
                         pack_line(json.dumps(record, ensure_ascii=False, separators=(",", ":"))))
    return templates


async def _scored(redis: Redis, key: str) -> list[tuple[str, float]]:
    """A sorted set's members with their scores."""
    pairs: list[Any] = await redis.zrange(key, 0, -1, withscores=True)
    return [(_text(member), float(score)) for member, score in pairs]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def clone(redis_url: str, templates: list[_Template], count: int, batch: int = 2000) -> None:
    """Write `count` clones of the templates, round-robin, through `redis-cli --pipe` (the protocol, in bulk)."""
    process = await asyncio.create_subprocess_exec(
        "redis-cli", "-u", redis_url, "--pipe", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert process.stdin is not None
    for first in range(0, count, batch):
        process.stdin.write(b"".join(templates[n % len(templates)].resp(n)
                                     for n in range(first, min(first + batch, count))))
        await process.stdin.drain()
    process.stdin.close()
    output, _ = await process.communicate()
    if process.returncode != 0 or b"errors: 0" not in output:
        raise RuntimeError(f"redis-cli --pipe failed: {output.decode(errors='replace')[-500:]}")


async def _free_prefix(redis: Redis) -> str:
    while True:
        prefix = f"m{uuid.uuid4().hex[:3]}"
        if not [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]:
            return prefix


async def memory_per_open_dialog(redis: Redis, redis_url: str, count: int, *, templates: int = 300,
                                 concurrency: int = 32, breakdown: bool = True) -> dict[str, Any]:
    """Open `count` dialogs under a fresh prefix (engine-made templates, then clones); bytes per dialog; clean up."""
    # A key prefix as short as production's (`pb`): every key carries it, so a long one would be counted in
    # the figure (9 keys a dialog). Four characters, unique enough, checked free before use.
    prefix = await _free_prefix(redis)
    engine = engine_for(redis, prefix)
    before = await redis_info(redis)
    made = min(count, templates)
    try:
        seconds = await open_dialogs(engine, made, concurrency, prefix)
        began = time.perf_counter()
        if count > made:
            await clone(redis_url, await _snapshot(redis, prefix), count - made)
        after = await redis_info(redis)
        result: dict[str, Any] = {
            "dialogs": count, "by_engine": made, "cloned": count - made,
            "engine_dialogs_per_second": round(made / seconds, 1),
            "seconds_to_clone": round(time.perf_counter() - began, 1),
            "info_bytes_per_dialog": (after["used_memory"] - before["used_memory"]) / count,
        }
        if breakdown:
            keys = await keys_memory(redis, prefix)
            result["keys_bytes_per_dialog"] = keys["total_bytes"] / count
            result["families_bytes_per_dialog"] = {
                name: round(fam["bytes"] / count, 1) for name, fam in keys["families"].items()}
        return result
    finally:
        await delete_prefix(redis, prefix)
