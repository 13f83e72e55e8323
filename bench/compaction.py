"""Redis memory per closed dialog before and after it is archived, and what a year of offers takes.

    .venv/bin/python -m bench.compaction --size 1000 [--redis-url URL] [--out bench/results]

Replays `--size` simulated citizens (bench/citizens.py, the replay's personas and density) through the dev system
in this process (bot, work queue, timers and every mock; HTTP on 127.0.0.1), on the real Redis at `--redis-url`
under a fresh 4-character key prefix, as short as production's `pb` (every key carries it), deleted afterwards.
Once every dialog has closed, `MEMORY USAGE` of every key, by family (bench/measure.py); then the simulated clock
moves past COMPACT_CLOSED_AFTER_DAYS, every closed dialog is archived (bot/store/compaction.py), every dialog is
read back over the operators' API (its status, and an SMS in its phone's inbox for each one its transcript sent),
and the families are read again. With `--clones N`, at both points what each dialog keeps for its life (its own
keys, lookups and index entries; bench/memory.py explains why clones) is written N times again under fresh
identifiers of the same lengths (DUMP and RESTORE, with their expiries), and `INFO used_memory` read before and
after: it counts what `MEMORY USAGE` leaves out (the key table's buckets, the expiry entries).

Families are split into what a dialog keeps for its life (its record and log, the lookups and indexes naming it)
and what is transient or shared (flood counters, inbound ids seen, once-a-day marks, the capped live feed, the
work queue, counters); the consent ledger is counted apart (kept LEDGER_RETENTION_DAYS, untouched by archiving).
The year: 530 000 offers, each kept 400 days (LOG_RETENTION_DAYS), at a steady state of 530 000 × 400 / 365
dialogs, by the daily rate times how long each stage lasts: waiting for the citizen (the replay's mean) at the
open dialogs' figure of the memory benchmark; waiting for a decision (DECISION_DAYS for those submitted; the
mocks decide in an hour) and closed within COMPACT_CLOSED_AFTER_DAYS at the "closed" figure; the rest archived.
Per dialog, INFO at scale when `--clones` was given, else MEMORY USAGE.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from bench.citizens import population
from bench.load import Driver, replay, verify
from bench.measure import delete_prefix, family, keys_memory, machine, redis_info
from bench.memory import _free_prefix
from bot.clock import ALMATY
from bot.devserver import start_dev
from bot.http.common import STORE
from bot.packing import is_archived
from bot.settings import Settings
from bot.store import Store
from dialogs.model import FINAL, Dialog, from_iso

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=ALMATY)  # a Monday, 09:00 in Kazakhstan
YEAR_OFFERS = 530_000
DAILY = 1450  # 530 000 a year / 365
KEPT_DAYS = 400  # LOG_RETENTION_DAYS
OPEN_DIALOG_BYTES = 1_711  # Redis per open dialog at 100 000 (bench/results/reference.md, INFO used_memory)
# A submitted application waits for its decision (the mocks decide in an hour): at most 7 working days, 9 calendar.
DECISION_DAYS = 9
# What a dialog keeps for its life, by family (bench/measure.py); every other family is transient or shared.
KEPT = ("dialog record (JSON)", "dialog log (list)", "dialog log, archived (string)",
        "delivery reports beside the dialog (hash)", "event id → dialog", "subject IIN → dialog",
        "application id → dialog", "IIN index (sorted set)", "phone's dialogs (sorted set)",
        "all dialogs (sorted set per shard)", "operator indexes", "timers (sorted set per shard)", "phone slot (hash)")
OWN = ("dialog record (JSON)", "dialog log (list)", "dialog log, archived (string)",
       "delivery reports beside the dialog (hash)")  # the keys archiving rewrites
LEDGER = "consent ledger"


async def measure(redis_url: str, size: int, *, days: int = 3, clones: int = 0, concurrency: int = 32,
                  max_minutes: float = 30.0) -> dict[str, Any]:
    """The replay, the two readings and the checks (see the module's docstring)."""
    redis = Redis.from_url(redis_url)
    prefix = await _free_prefix(redis)
    citizens = population(size, run=prefix, start=START, daily=DAILY, seed=7)
    # Archiving waits for `days` after the replay's four-day tail: the first reading sees every dialog closed, none
    # archived; then the clock moves on and every one is.
    wait = 5 + days
    system = await start_dev(port=0, clock_start=START, redis=redis,
                             settings=Settings(key_prefix=prefix, compact_closed_after_days=wait))
    store: Store = system.runner.app[STORE]
    result: dict[str, Any] = {"citizens": size, "prefix_length": len(prefix), "compact_after_days": days}
    try:
        connector = aiohttp.TCPConnector(limit=concurrency * 2 + 8)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
            driver = Driver(session, system.url, START.astimezone(dt.UTC))
            await driver.setup_world(citizens, concurrency)
            began = time.perf_counter()
            finished = await replay(driver, citizens, tick=900, concurrency=concurrency, tail=4 * 86400,
                                    deadline=began + max_minutes * 60)
            await system.gateway.flush()
            result["replay_seconds"] = round(time.perf_counter() - began, 1)
            closed_check = await verify(driver, citizens, concurrency)
            ids = [c.dialog_id for c in citizens if c.dialog_id]
            dialogs = await store.load_many(ids)
            result["answer_days_mean"] = statistics.mean(_answer_days(d) for d in dialogs)
            result["submitted_share"] = sum(any(h["to"] == "submitted" for h in d.history) for d in dialogs) / len(ids)
            result["finals"] = sum(d.final for d in dialogs)
            closed = await keys_memory(redis, prefix)
            if clones:
                result["clones"] = clones
                result["info_bytes_per_clone"] = {"closed": await clone_kept(redis, prefix, dialogs, clones)}
            began = time.perf_counter()
            await driver.advance_to(driver.sim + (wait + 1) * 86400)
            result["archiving_seconds"] = round(time.perf_counter() - began, 1)
            archived_check = await verify(driver, citizens, concurrency)
            archived = await keys_memory(redis, prefix)
            if clones:
                result["info_bytes_per_clone"]["archived"] = await clone_kept(
                    redis, prefix, await store.load_many(ids), clones)
        raws = [await redis.get(store.keys.dialog(d)) for d in ids]
        result.update(
            finished=finished, dialogs=len(ids), archived=sum(is_archived(raw) for raw in raws),
            checks={"closed": closed_check, "archived": archived_check},
            closed=_per_dialog(closed, len(ids)), after=_per_dialog(archived, len(ids)))
        result["year"] = year(result)
        return result
    finally:
        await system.stop()
        await delete_prefix(redis, prefix)
        await redis.aclose()


class _Kept:
    """One dialog's long-lived keys (the KEPT families, as DUMP payloads with their TTL) and its entries in the
    shards' sorted sets, to be written again under fresh identifiers of the same lengths."""

    def __init__(self, dialog: Dialog) -> None:
        application = (dialog.application or {}).get("id")
        self.ids = [dialog.dialog_id, dialog.event_id, dialog.msisdn, dialog.recipient_iin, *dialog.subject_iins,
                    *([application] if application else [])]
        self.keys: list[tuple[str, int, bytes]] = []  # name, PTTL (0: none), DUMP
        self.shared: list[tuple[str, float]] = []  # a shard's sorted set holding the dialog id, its score

    def clone(self, pipe: Any, prefix: str, clone_prefix: str, n: int) -> None:
        new = [f"{old[: max(0, len(old) - 9)]}{p % 10}{n:08d}"[-len(old):] for p, old in enumerate(self.ids)]

        def renamed(name: str) -> str:
            for old, fresh in zip(self.ids, new, strict=True):
                name = name.replace(old, fresh)
            return clone_prefix + name[len(prefix):]

        for name, ttl, payload in self.keys:
            pipe.restore(renamed(name), ttl, payload)
        for name, score in self.shared:
            pipe.zadd(renamed(name), {new[0]: score})


async def _templates(redis: Redis, prefix: str, dialogs: list[Dialog]) -> list[_Kept]:
    """Every dialog's long-lived keys and shared entries (bench/measure.py's families, KEPT only)."""
    kept = {d.dialog_id: _Kept(d) for d in dialogs}
    owner = {ident: k for k in kept.values() for ident in k.ids}
    async for raw in redis.scan_iter(match=f"{prefix}:*", count=1000):
        name = raw.decode()
        if family(name, prefix) not in KEPT:
            continue
        if re.search(r"\}:(index:[a-z]+|timers)$", name):
            for member, score in await redis.zrange(name, 0, -1, withscores=True):
                if member.decode().partition("|")[0] in kept:
                    kept[member.decode().partition("|")[0]].shared.append((name, float(score)))
            continue
        template = next((owner[t] for t in re.split(r"[:{}]", name) if t in owner), None)
        if template is not None:
            template.keys.append((name, max(0, int(await redis.pttl(name))), await redis.dump(name)))
    return list(kept.values())


async def clone_kept(redis: Redis, prefix: str, dialogs: list[Dialog], count: int) -> float:
    """INFO used_memory per dialog of `count` clones of `dialogs`' long-lived keys (then deleted)."""
    templates = await _templates(redis, prefix, dialogs)
    clone_prefix = await _free_prefix(redis)
    before = (await redis_info(redis))["used_memory"]
    try:
        for first in range(0, count, 500):
            async with redis.pipeline(transaction=False) as pipe:
                for n in range(first, min(first + 500, count)):
                    templates[n % len(templates)].clone(pipe, prefix, clone_prefix, n)
                await pipe.execute()
        return ((await redis_info(redis))["used_memory"] - before) / count
    finally:
        await delete_prefix(redis, clone_prefix)
        for _ in range(100):  # UNLINK may free large values in the background: the next reading waits for it
            if not int((await redis.info("memory")).get("lazyfree_pending_objects", 0)):
                break
            await asyncio.sleep(0.1)


def _answer_days(dialog: Dialog) -> float:
    """Days from the dialog's creation until it stopped waiting for the citizen: submitted, or closed."""
    done = next((h["at"] for h in dialog.history if h["to"] == "submitted" or h["to"] in FINAL),
                dialog.history[-1]["at"] if dialog.history else dialog.created_at)
    return (from_iso(done) - from_iso(dialog.created_at)).total_seconds() / 86400


def _per_dialog(memory: dict[str, Any], dialogs: int) -> dict[str, Any]:
    """MEMORY USAGE by family per dialog, and the sums: the dialog's own keys, what it keeps, the rest."""
    families = {name: fam["bytes"] / dialogs for name, fam in memory["families"].items()}
    kept = sum(v for k, v in families.items() if k in KEPT)
    return {"families": {k: round(v, 1) for k, v in families.items()},
            "keys_per_dialog": round(memory["keys"] / dialogs, 2),
            "own": round(sum(v for k, v in families.items() if k in OWN), 1), "kept": round(kept, 1),
            "ledger": round(families.get(LEDGER, 0.0), 1),
            "transient": round(sum(v for k, v in families.items() if k not in KEPT and k != LEDGER), 1)}


def year(result: dict[str, Any]) -> dict[str, Any]:
    """A year of offers in Redis at steady state, with and without archiving (see the module's docstring)."""
    kept_dialogs = YEAR_OFFERS * KEPT_DAYS / 365
    daily = YEAR_OFFERS / 365
    waiting = daily * result["answer_days_mean"]  # open offers, at the open dialogs' figure
    # Waiting for a decision, and closed but not yet archived: all they will keep, not yet archived.
    deciding = daily * result["submitted_share"] * DECISION_DAYS
    closed = daily * result["compact_after_days"]
    archived = kept_dialogs - waiting - deciding - closed
    # What a dialog keeps, by INFO at scale when clones were measured (it counts the key table and the expiries
    # that MEMORY USAGE leaves out), else by MEMORY USAGE.
    scale = result.get("info_bytes_per_clone") or {"closed": result["closed"]["kept"],
                                                   "archived": result["after"]["kept"]}
    closed_b, archived_b = scale["closed"], scale["archived"]
    with_archiving = waiting * OPEN_DIALOG_BYTES + (deciding + closed) * closed_b + archived * archived_b
    without = waiting * OPEN_DIALOG_BYTES + (deciding + closed + archived) * closed_b
    return {"dialogs_kept": round(kept_dialogs), "awaiting_answer": round(waiting),
            "awaiting_decision": round(deciding), "closed_not_archived": round(closed), "archived": round(archived),
            "bytes_with_archiving": round(with_archiving), "bytes_without_archiving": round(without),
            "bytes_per_closed_dialog": round(closed_b), "bytes_per_archived_dialog": round(archived_b),
            "ledger_bytes_per_year_of_offers": round(YEAR_OFFERS * result["after"]["ledger"])}


def markdown(result: dict[str, Any]) -> str:
    """The figures as Markdown: families before and after, the sums, the year."""
    closed, after = result["closed"], result["after"]
    names = list(closed["families"]) + [n for n in after["families"] if n not in closed["families"]]
    out = [f"Redis bytes per dialog by key family (MEMORY USAGE), {result['dialogs']} dialogs, all closed "
           f"({result['archived']} archived after), key prefix of {result['prefix_length']} characters:", "",
           "| key family | kept for the dialog's life | closed | archived |", "|---|---|---|---|"]
    for name in names:
        kept = "consent ledger" if name == LEDGER else "yes" if name in KEPT else "no: transient or shared"
        out.append(f"| {name} | {kept} | {_b(closed['families'].get(name))} | {_b(after['families'].get(name))} |")
    y = result["year"]
    gb = 1e9
    out += ["", "| per closed dialog | closed | archived |", "|---|---|---|",
            f"| its own keys (record, log, delivery reports) | {_b(closed['own'])} | {_b(after['own'])} |",
            f"| everything it keeps for its life (own keys, lookups, indexes) | {_b(closed['kept'])} "
            f"| {_b(after['kept'])} |",
            f"| consent ledger (untouched) | {_b(closed['ledger'])} | {_b(after['ledger'])} |",
            f"| transient or shared | {_b(closed['transient'])} | {_b(after['transient'])} |",
            f"| keys per dialog | {closed['keys_per_dialog']} | {after['keys_per_dialog']} |",
            *([f"| INFO used_memory per dialog at {result['clones']:,} clones of what it keeps for its life "
               f"| {_b(result['info_bytes_per_clone']['closed'])} | {_b(result['info_bytes_per_clone']['archived'])} |"]
              if result.get("clones") else []),
            "", f"A year: {YEAR_OFFERS:,} offers kept {KEPT_DAYS} days, {y['dialogs_kept']:,} dialogs at a time: "
            f"{y['awaiting_answer']:,} awaiting an answer (mean {result['answer_days_mean']:.2f} days) at "
            f"{OPEN_DIALOG_BYTES} B, {y['awaiting_decision']:,} awaiting a decision ({DECISION_DAYS} days for the "
            f"{result['submitted_share']:.0%} submitted) and {y['closed_not_archived']:,} closed within "
            f"{result['compact_after_days']} days at {y['bytes_per_closed_dialog']} B, {y['archived']:,} archived at "
            f"{y['bytes_per_archived_dialog']} B: "
            f"**{y['bytes_with_archiving'] / gb:.2f} GB** ({y['bytes_without_archiving'] / gb:.2f} GB without "
            f"archiving); the consent ledger adds {y['ledger_bytes_per_year_of_offers'] / gb:.2f} GB for each year "
            "of offers it keeps."]
    return "\n".join(out) + "\n"


def _b(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}".replace(",", " ")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compaction", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="citizens replayed (events), default 1000")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--days", type=int, default=Settings().compact_closed_after_days,
                        help="COMPACT_CLOSED_AFTER_DAYS for the year's estimate (the replay waits longer)")
    parser.add_argument("--clones", type=int, default=0,
                        help="also clone what each dialog keeps for its life this many times, closed and then "
                             "archived, and read INFO used_memory per clone (e.g. 100000; deleted after)")
    parser.add_argument("--out", type=Path, help="also write <UTC stamp>-compaction.json and .md there")
    args = parser.parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    meta = {"date": started.isoformat(timespec="seconds"), "machine": machine(),
            "command": " ".join(["python -m bench.compaction", *sys.argv[1:]])}
    result = asyncio.run(measure(args.redis_url, args.size, days=args.days, clones=args.clones))
    text = markdown(result)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        stamp = started.strftime("%Y%m%dT%H%M%SZ")
        (args.out / f"{stamp}-compaction.json").write_text(json.dumps({"meta": meta, **result}, indent=1,
                                                                      ensure_ascii=False), encoding="utf-8")
        (args.out / f"{stamp}-compaction.md").write_text(text, encoding="utf-8")
    if not (result["checks"]["closed"]["ok"] and result["checks"]["archived"]["ok"]
            and result["archived"] == result["finals"] == result["dialogs"]):
        raise SystemExit(f"not every dialog closed, was archived and still reads: {result['checks']}")


if __name__ == "__main__":
    main()
