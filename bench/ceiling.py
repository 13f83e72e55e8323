"""The Redis ceiling: what `redis-benchmark` reaches on this machine, set against what a dialog step needs."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import uuid
from typing import Any
from urllib.parse import urlparse

from redis.asyncio import Redis

# (name, clients, pipeline): one client one request at a time (how the simulated clock fires timers),
# 50 clients one request each (round trips a second), 50 clients pipelining 16 (commands a second).
SHAPES = (("sequential_round_trips", 1, 1), ("round_trips", 50, 1), ("pipelined_commands", 50, 16))


async def redis_benchmark(redis: Redis, redis_url: str, requests: int = 50_000) -> dict[str, Any] | None:
    """`redis-benchmark` SET of a 64-byte value on one bench key, in each shape; None when it is missing."""
    exe = shutil.which("redis-benchmark")
    if exe is None:
        return None
    url = urlparse(redis_url)
    key = f"pbbench:redis-benchmark:{uuid.uuid4().hex[:8]}"
    db = (url.path or "/0").lstrip("/") or "0"
    results: dict[str, Any] = {"command": "SET <key> <64 bytes>", "requests": requests}
    try:
        for name, clients, pipeline in SHAPES:
            process = await asyncio.create_subprocess_exec(
                exe, "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 6379), "--dbnum", db,
                "-c", str(clients), "-P", str(pipeline), "-n", str(requests if clients > 1 else requests // 5),
                "--csv", "SET", key, "x" * 64, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, _ = await process.communicate()
            rows = list(csv.DictReader(io.StringIO(out.decode())))
            if process.returncode != 0 or not rows:
                return None
            results[name] = {"clients": clients, "pipeline": pipeline, "per_second": float(rows[-1]["rps"]),
                             "p50_ms": float(rows[-1]["p50_latency_ms"])}
    finally:
        await redis.delete(key)
    return results


def ceiling(bench: dict[str, Any] | None, round_trips: float | None, commands: float | None,
            achieved: float | None) -> dict[str, Any]:
    """Units a second Redis alone would allow, from round trips and commands per unit, and achieved/ceiling."""
    if bench is None or not round_trips or not commands:
        return {"by_round_trips": None, "by_commands": None, "sequential": None, "ratio": None}
    by_rt = bench["round_trips"]["per_second"] / round_trips
    by_cmd = bench["pipelined_commands"]["per_second"] / commands
    limit = min(by_rt, by_cmd)
    return {"by_round_trips": by_rt, "by_commands": by_cmd,
            "sequential": bench["sequential_round_trips"]["per_second"] / round_trips,
            "ratio": achieved / limit if achieved is not None and limit else None}
