"""The system under test in its own process: `start_dev` on real Redis, counted, driven over stdin.

Run as `python -m bench.server --redis-url URL --prefix P --clock-start ISO`. It prints one JSON line
`{"url", "pid"}` once it serves, then answers one JSON line per command read from stdin: `stats` (Redis
commands and round trips, dialog steps by kind, the process's CPU time, the mocks' counters) and `quit`.
Counting wraps what the bot already calls; no bot code is changed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import json
import logging
import os
import secrets
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.connection import Connection

from bench import experiments as experiments_module
from bot.clock import parse_instant
from bot.devserver import DevSystem, start_dev
from bot.http.common import ENGINE
from bot.logs import masked_handler, setup_logging
from bot.settings import SECRETS, Settings

COUNTS: Counter[str] = Counter()  # redis_commands, redis_round_trips, step:<kind>


class CountingConnection(Connection):
    """A Redis connection that counts commands packed and round trips (one send, then its replies)."""

    def pack_command(self, *args: Any) -> list[bytes]:
        COUNTS["redis_commands"] += 1
        return super().pack_command(*args)

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        COUNTS["redis_round_trips"] += 1
        await super().send_packed_command(command, check_health)


def counting_redis(url: str, *, blocking: bool = False) -> Redis:
    """A client for `url` whose every connection counts what it sends."""
    # By default the pool is redis-py's own (what `Redis.from_url` gives `serve`: at most 100 connections, and
    # MaxConnectionsError past that); `blocking` waits for a free connection instead (experiment blocking-pool).
    if blocking:
        pool: ConnectionPool = BlockingConnectionPool.from_url(url, connection_class=CountingConnection,
                                                               max_connections=100, timeout=30)
    else:
        pool = ConnectionPool.from_url(url, connection_class=CountingConnection)
    return Redis(connection_pool=pool)


def _count_steps(system: DevSystem) -> None:
    """Count each engine entry point as it is called: one call is one dialog step (or one lookup)."""
    engine = system.runner.app[ENGINE]
    for name in ("intake", "inbound", "delivery_report", "fire_timer", "decision"):
        method: Callable[..., Awaitable[Any]] = getattr(engine, name)

        @functools.wraps(method)
        async def counted(*args: Any, __m: Callable[..., Awaitable[Any]] = method, __n: str = name,
                          **kwargs: Any) -> Any:
            COUNTS[f"step:{__n}"] += 1
            return await __m(*args, **kwargs)

        setattr(engine, name, counted)


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of another process (/proc/<pid>/stat), 0 when it is gone."""
    try:
        fields = open(f"/proc/{pid}/stat", encoding="ascii").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stats(system: DevSystem, workers: list[asyncio.subprocess.Process]) -> dict[str, Any]:
    """What the load generator reads between phases: counters, CPU seconds and the mocks' totals."""
    times = os.times()
    gateway, backend = system.gateway, system.backend
    return {
        "workers_cpu": sum(_cpu_of(w.pid) for w in workers), "workers": len(workers),
        "redis_commands": COUNTS["redis_commands"], "redis_round_trips": COUNTS["redis_round_trips"],
        "steps": {k.removeprefix("step:"): v for k, v in COUNTS.items() if k.startswith("step:")},
        "cpu_user": times.user, "cpu_system": times.system,
        "sms_sent": gateway.sent_count, "sms_received": len(gateway.received),
        "delivery_reports": len(gateway.reports), "duplicates_dropped": gateway.duplicates_dropped,
        "applications": len(backend.applications), "callbacks": len(backend.callbacks),
        "clock": system.clock.now().isoformat(),
    }


# Closed dialogs are archived this long after their last change: past the replay's four-day tail, so that the
# replay's "closed, kept" figure is read before any is archived, and its "archived" figure after (bench/run.py).
ARCHIVE_AFTER_DAYS = 7


async def start_workers(count: int, redis_url: str, prefix: str, url: str,
                        client_id_secret: str) -> list[asyncio.subprocess.Process]:
    """`count` `proactive-bot worker` processes doing this system's queued work (the timers stay with its
    simulated clock: they poll none, and each job carries its own instant).

    A worker refuses dev secrets: each gets random ones, but for the SMS client-id secret, which it shares with
    this process (it tags the SMS it sends; this process checks the tags in their delivery reports)."""
    strong = {name: secrets.token_hex(32) for name in SECRETS}
    env = {**os.environ, **strong, "SMS_CLIENT_ID_SECRET": client_id_secret,
           "REDIS_URL": redis_url, "KEY_PREFIX": prefix, "PUBLIC_URL": url,
           "SMS_GATEWAY_URL": f"{url}/mock/sms", "EGOV_URL": f"{url}/mock/egov",
           "ASSIGNMENT_URL": f"{url}/mock/assignment", "POLL_TIMERS": "0", "TELEGRAM_TOKEN": "",
           "WORKER_CONCURRENCY": "32", "LOG_LEVEL": "WARNING",
           "COMPACT_CLOSED_AFTER_DAYS": str(ARCHIVE_AFTER_DAYS)}
    binary = os.path.join(os.path.dirname(sys.executable), "proactive-bot")
    workers = []
    for _ in range(count):
        workers.append(await asyncio.create_subprocess_exec(
            binary, "worker", env=env, stdout=asyncio.subprocess.PIPE, stderr=None))
    for worker in workers:
        assert worker.stdout is not None
        await worker.stdout.readline()  # "proactive-bot worker doing queued work…": it is reading the queue
    return workers


async def serve(redis_url: str, prefix: str, clock_start: dt.datetime, experiments: list[str],
                workers: int = 0) -> None:
    """Start the dev system, announce it, answer commands until `quit` or end of input."""
    redis = counting_redis(redis_url, blocking=experiments_module.POOL_EXPERIMENT in experiments)
    # With worker processes, this one only answers HTTP, queues, runs the mocks and the simulated clock.
    settings = Settings(key_prefix=prefix, worker_concurrency=0 if workers else 16,
                        sms_client_id_secret=secrets.token_hex(32), compact_closed_after_days=ARCHIVE_AFTER_DAYS)
    system = await start_dev(port=0, clock_start=clock_start, redis=redis, settings=settings)
    _count_steps(system)
    processes = await start_workers(workers, redis_url, prefix, system.url,
                                    settings.sms_client_id_secret) if workers else []
    print(json.dumps({"url": system.url, "pid": os.getpid(), "worker_pids": [p.pid for p in processes]}),
          flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := (await reader.readline()).decode().strip():
            if line == "quit":
                break
            answer = stats(system, processes) if line == "stats" else {"error": f"unknown command {line!r}"}
            print(json.dumps(answer), flush=True)
    finally:
        for worker in processes:
            worker.terminate()
            await worker.wait()
        await system.stop()
        await redis.aclose()
    print(json.dumps({"stopped": True}), flush=True)


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m bench.server")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--clock-start", required=True)
    parser.add_argument("--log-level", default="INFO", help="INFO as `serve` runs; the lines go to /dev/null")
    parser.add_argument("--experiment", action="append", default=[], help="a bench-only patch (bench.experiments)")
    parser.add_argument("--workers", type=int, default=0, help="worker processes doing the queued work (0: this one)")
    args = parser.parse_args()
    # The production handler (masking filter, formatter) at the production level: its cost is part of a step.
    setup_logging(args.log_level, stream=open(os.devnull, "w", encoding="utf-8"))
    problems = masked_handler(sys.stderr)  # warnings and errors still reach the bench's terminal
    problems.setLevel(logging.WARNING)
    logging.getLogger().addHandler(problems)
    experiments_module.apply(args.experiment)
    asyncio.run(serve(args.redis_url, args.prefix, parse_instant(args.clock_start), args.experiment, args.workers))


if __name__ == "__main__":
    main()
