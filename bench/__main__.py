"""`python -m bench --size N --runs R --out DIR`: replay simulated citizens through the whole system.

Writes DIR/<timestamp>.json (every figure, median and spread over runs, with the detail of each run) and
DIR/<timestamp>.md (the same as tables). Traffic goes to 127.0.0.1 only; every phase is bounded in count
and time, and every Redis key it writes lives under a fresh `pbbench:` prefix that is deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench import profile
from bench.ceiling import redis_benchmark
from bench.experiments import NAMES
from bench.measure import caveat, cpu_sample, machine
from bench.memory import memory_per_open_dialog
from bench.report import markdown, summarise
from bench.run import Options, probes, replay_run
from bench.units import unit_costs


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=2000, help="citizens in the replay (events), default 2000")
    p.add_argument("--runs", type=int, default=3, help="runs to take the median and spread over, default 3")
    p.add_argument("--out", type=Path, default=Path("bench/results"), help="where the JSON and Markdown go")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--concurrency", type=int, default=32,
                   help="requests in flight during the replay (past ~50, the bot's 100 Redis connections run out)")
    p.add_argument("--burst-concurrency", type=int, default=16, help="events in flight in the intake burst")
    p.add_argument("--rates", default="10,20,30,50,100,200,300,400,600", help="reply ladder, replies per second")
    p.add_argument("--level-seconds", type=float, default=4.0, help="how long each ladder level lasts")
    p.add_argument("--target-rate", type=float, default=200, help="the ladder level the p99 target is read at")
    p.add_argument("--daily", type=int, default=1450, help="offers per simulated day (530 000 a year / 365)")
    p.add_argument("--tick-minutes", type=float, default=15.0, help="simulated minutes the clock moves at once")
    p.add_argument("--memory-sizes", default="10000,100000", help="open dialogs for the memory figure ('' = none)")
    p.add_argument("--workers", default="", help="also replay with this many `proactive-bot worker` processes "
                                                  "doing the work, e.g. 1,2,4 (--runs replays each)")
    p.add_argument("--profile", action="store_true", help="one more replay under py-spy (not in the timings)")
    p.add_argument("--max-minutes", type=float, default=30.0, help="a replay stops (reported unfinished) after this")
    p.add_argument("--rerender", type=Path, help="recompute figures and Markdown from an earlier JSON, run nothing")
    p.add_argument("--experiment", action="append", default=[], choices=NAMES,
                   help="a bench-only patch of the server trying a proposed fix (bench/experiments.py)")
    return p.parse_args(argv)


def _numbers(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Run everything, write the JSON and Markdown, return the report."""
    options = Options(size=args.size, redis_url=args.redis_url, concurrency=args.concurrency,
                      burst_concurrency=args.burst_concurrency, rates=_numbers(args.rates),
                      level_seconds=args.level_seconds, tick_minutes=args.tick_minutes, daily=args.daily,
                      max_minutes=args.max_minutes, out=args.out, target_rate=args.target_rate,
                      experiments=tuple(args.experiment))
    started = dt.datetime.now(dt.UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    redis = Redis.from_url(args.redis_url)
    await redis.ping()
    load_start = await cpu_sample(redis)
    meta = {"date": started.isoformat(timespec="seconds"), "machine": machine(),
            "command": " ".join(["python -m bench", *map(shlex.quote, sys.argv[1:])]),
            "size": args.size, "runs": args.runs, "experiments": args.experiment,
            "concurrency": args.concurrency, "daily": args.daily, "tick_minutes": args.tick_minutes,
            "redis_version": (await redis.info("server"))["redis_version"]}
    try:
        runs = []
        for i in range(args.runs):
            tag = f"{stamp[-7:-1]}r{i + 1}"
            _say(f"run {i + 1}/{args.runs}: intake burst and reply ladder")
            probe = await probes(options, redis, tag)
            _say(f"run {i + 1}/{args.runs}: replay of {args.size} citizens")
            runs.append({"probes": probe, "replay": await replay_run(options, redis, tag)})
        by_workers: dict[str, list[dict[str, Any]]] = {}
        for count in (int(x) for x in _numbers(args.workers)):
            for i in range(args.runs):
                _say(f"replay of {args.size} citizens with {count} worker process(es), run {i + 1}/{args.runs}")
                tag = f"{stamp[-7:-1]}w{count}r{i + 1}"
                by_workers.setdefault(str(count), []).append(
                    await replay_run(dataclasses.replace(options, workers=count), redis, tag))
        meta["worker_replays"] = by_workers
        memory = []
        for n, size in enumerate(int(x) for x in _numbers(args.memory_sizes)):
            _say(f"memory: {size} open dialogs")
            # MEMORY USAGE of every key is slow past 10^5 dialogs (~9 keys each): by family only for the first size.
            memory.append(await memory_per_open_dialog(redis, args.redis_url, size,
                                                       breakdown=n == 0 and size <= 100_000))
        _say("redis-benchmark and unit costs")
        bench = await redis_benchmark(redis, args.redis_url)
        meta["unit_costs"] = await unit_costs(redis)
        prof = None
        if args.profile:
            prof = await _profiled(options, redis, stamp)
        # The caveat says what load the run actually met, not a fixed text.
        meta["caveat"], meta["load"] = caveat(load_start, await cpu_sample(redis), os.cpu_count() or 1)
    finally:
        await redis.aclose()
    doc = summarise(runs, memory, bench, prof, meta, target_rate=args.target_rate)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stamp}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    (args.out / f"{stamp}.md").write_text(markdown(doc), encoding="utf-8")
    _say(f"wrote {args.out / stamp}.json and .md")
    return doc


async def _profiled(options: Options, redis: Redis, stamp: str) -> dict[str, Any] | None:
    """One more replay with py-spy sampling the system under test; its shares and top functions."""
    if profile.py_spy() is None:
        _say("py-spy not installed: no profile")
        return None
    _say("profiled replay (py-spy)")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "profile.txt"
        await replay_run(options, redis, f"{stamp[-7:-1]}pf", profile_to=raw)
        if not raw.exists():
            return None
        keep = options.out / f"{stamp}-profile.txt"
        options.out.mkdir(parents=True, exist_ok=True)
        keep.write_bytes(raw.read_bytes())
        return {**profile.analyse(raw), "raw": str(keep)}


def _say(text: str) -> None:
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {text}", file=sys.stderr, flush=True)


def rerender(path: Path) -> None:
    """Summarise an earlier report's runs again (after the report code changed) and rewrite both files."""
    old = json.loads(path.read_text(encoding="utf-8"))
    doc = summarise(old["runs"], old["memory"], old["figures"]["redis_ceiling"]["redis_benchmark"], old["profile"],
                    old["meta"], target_rate=old["figures"]["reply_to_next_sms_ms"]["offered_per_second"])
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    path.with_suffix(".md").write_text(markdown(doc), encoding="utf-8")


if __name__ == "__main__":
    arguments = parse()
    if arguments.rerender:
        rerender(arguments.rerender)
    else:
        asyncio.run(main(arguments))
