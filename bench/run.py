"""One benchmark run: the intake burst and reply ladder on one system, the year's replay on another."""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from bench import profile
from bench.citizens import UNCLEAR, YES, Citizen, iban, mistyped, population, typed
from bench.load import Driver, intake_burst, replay, reply_level, verify
from bench.measure import keys_memory, latency_ms, own_cpu_seconds, redis_info
from bench.server import ARCHIVE_AFTER_DAYS
from bench.system import start_system
from bot.clock import ALMATY

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=ALMATY)  # a Monday, 09:00 in Kazakhstan


@dataclass
class Options:
    """What the command line chose (see `python -m bench --help`)."""

    size: int
    redis_url: str
    concurrency: int = 64
    burst_concurrency: int = 16
    rates: list[float] = field(default_factory=lambda: [10, 20, 30, 50, 100, 200, 300, 400, 600])
    level_seconds: float = 4.0
    tick_minutes: float = 15.0
    daily: int = 1450
    max_minutes: float = 30.0
    p99_goal_ms: float = 50.0
    target_rate: float = 200.0
    experiments: tuple[str, ...] = ()
    out: Path = Path("bench/results")
    workers: int = 0  # worker processes for the replay (0: the system's own process does the work)


def _session(concurrency: int) -> aiohttp.ClientSession:
    """A client session with enough connections for `concurrency` requests to 127.0.0.1."""
    connector = aiohttp.TCPConnector(limit=concurrency * 2 + 8)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120))


def _deltas(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    steps = {k: v - before["steps"].get(k, 0) for k, v in after["steps"].items()}
    return {"redis_commands": after["redis_commands"] - before["redis_commands"],
            "redis_round_trips": after["redis_round_trips"] - before["redis_round_trips"],
            "steps": steps, "step_total": sum(steps.values()),
            "cpu_seconds": after["cpu_user"] + after["cpu_system"] - before["cpu_user"] - before["cpu_system"],
            "workers_cpu_seconds": after.get("workers_cpu", 0) - before.get("workers_cpu", 0),
            "sms_sent": after["sms_sent"] - before["sms_sent"]}


def _ladder_scripts(citizens: list[Citizen], seed: int) -> list[tuple[Citizen, list[str]]]:
    """Four replies per burst dialog (no account on record): unclear, yes, a mistyped IBAN, the IBAN."""
    rng = random.Random(seed)
    scripts = []
    for c in citizens:
        lang = c.language or "kk"
        account = iban("965", 10_000_000 + c.index)
        scripts.append((c, [rng.choice(UNCLEAR[lang]), rng.choice(YES[lang]), typed(mistyped(account, rng), rng),
                            typed(account, rng)]))
    return scripts


async def probes(options: Options, redis: Redis, run: str) -> dict[str, Any]:
    """Intake burst (events a second, event to first SMS), then the open-loop reply ladder, on one system."""
    need = int(sum(options.rates) * options.level_seconds / 4) + len(options.rates)
    citizens = population(max(need, 50), run=f"{run}p", start=START, daily=10**9, seed=11)
    for c in citizens:
        c.replies = []
        c.event["recipient"]["language"] = c.language  # the ladder's replies answer the consent question
    system = await start_system(options.redis_url, START, tag=f"{run}-probe", experiments=options.experiments)
    result: dict[str, Any] = {"burst_events": len(citizens), "burst_concurrency": options.burst_concurrency}
    try:
        async with _session(max(options.concurrency, options.burst_concurrency)) as session:
            driver = Driver(session, system.url, START)
            s0 = await system.stats()
            seconds = await intake_burst(driver, citizens, options.burst_concurrency)
            s1 = await system.stats()
            accepted = len(driver.tally.latencies.get("burst_event", []))
            result.update(events_per_second=accepted / seconds, event_latency=latency_ms(
                driver.tally.latencies.get("burst_event", [])), intake=_deltas(s0, s1))
            opened = [c for c in citizens if c.dialog_id]
            memory = await keys_memory(redis, system.prefix)
            result["open_dialogs_via_http"] = {"dialogs": len(opened), "bytes_per_dialog":
                                               memory["total_bytes"] / max(len(opened), 1),
                                               "families": memory["families"]}
            scripts = _ladder_scripts(opened, seed=5)
            levels = []
            offset = 0
            for rate in options.rates:
                share = int(rate * options.level_seconds / 4) + 1
                chunk = scripts[offset:offset + share]
                offset += share
                if not chunk:
                    break
                before = await system.stats()
                level = await reply_level(driver, chunk, rate, options.level_seconds, max_in_flight=256,
                                          summarise=latency_ms)
                after = await system.stats()
                levels.append({**level.__dict__, "server": _deltas(before, after)})
                p99 = level.latency["p99"]
                saturated = not level.kept_up or (p99 is not None and p99 > 4 * options.p99_goal_ms)
                if saturated and rate >= options.target_rate:
                    break  # past saturation and past the target rate: higher rates only measure the queue
            result["ladder"] = levels
            result["errors"] = dict(driver.tally.errors)
    finally:
        await system.stop(redis)
    return result


async def replay_run(options: Options, redis: Redis, run: str, *, profile_to: Path | None = None) -> dict[str, Any]:
    """The year's traffic at its daily density through a fresh system; figures, checks and key memory."""
    citizens = population(options.size, run=run, start=START, daily=options.daily, seed=7)
    system = await start_system(options.redis_url, START, tag=f"{run}-replay", experiments=options.experiments,
                                workers=options.workers)
    result: dict[str, Any] = {"citizens": len(citizens), "daily": options.daily, "workers": options.workers,
                              "simulated_days": max(c.at for c in citizens) / 86400 + 4 if citizens else 0}
    sampler = None
    try:
        async with _session(options.concurrency) as session:
            driver = Driver(session, system.url, START)
            began = time.perf_counter()
            await driver.setup_world(citizens, options.concurrency)
            result["setup_seconds"] = time.perf_counter() - began
            if profile_to is not None:
                sampler = await profile.start(system.pid, profile_to)
            s0, r0, own0 = await system.stats(), await redis_info(redis), own_cpu_seconds()
            began = time.perf_counter()
            deadline = began + options.max_minutes * 60
            finished = await replay(driver, citizens, tick=options.tick_minutes * 60,
                                    concurrency=options.concurrency, tail=4 * 86400, deadline=deadline)
            wall = time.perf_counter() - began
            s1, r1, own1 = await system.stats(), await redis_info(redis), own_cpu_seconds()
            if sampler is not None:
                await profile.stop(sampler)
                sampler = None
            check = await verify(driver, citizens, options.concurrency)
            final = sum(n for status, n in check["statuses"].items()
                        if status in ("assigned", "refused", "declined", "expired", "opted_out"))
            tally = driver.tally
            result.update(
                finished=finished, wall_seconds=wall, completed=final, completed_per_second=final / wall,
                clock_moves=tally.clock_moves, clock_seconds=tally.clock_seconds,
                event_latency=latency_ms(tally.latencies.get("event", [])),
                reply_latency=latency_ms(tally.latencies.get("reply", [])),
                server=_deltas(s0, s1), redis_cpu_seconds=r1["cpu_seconds"] - r0["cpu_seconds"],
                redis_memory_delta=r1["used_memory"] - r0["used_memory"], load_cpu_seconds=own1 - own0,
                verify=check, errors=dict(tally.errors))
            memory = await keys_memory(redis, system.prefix)
            result["closed_dialogs_memory"] = {"bytes_per_dialog": memory["total_bytes"] / max(len(citizens), 1),
                                               "families": memory["families"]}
            # The clock moves on until every closed dialog is archived (bot/store/compaction.py); read again.
            await driver.advance_to(driver.sim + (ARCHIVE_AFTER_DAYS + 1) * 86400)
            memory = await keys_memory(redis, system.prefix)
            result["archived_dialogs_memory"] = {"bytes_per_dialog": memory["total_bytes"] / max(len(citizens), 1),
                                                 "families": memory["families"]}
    finally:
        if sampler is not None:
            await profile.stop(sampler)
        await system.stop(redis)
    return result
