"""Figures: percentiles, median and spread over runs, Redis INFO and key memory, the machine."""

from __future__ import annotations

import os
import platform
import re
import resource
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

# Key families: the part of a key after the prefix that says what it is (ids and phones stripped).
_TAG = r"\{s[0-9a-f]{2}\}:"  # a shard's hash tag (bot/store/keys.py, Keys)
_FAMILIES = (
    (re.compile(rf"^{_TAG}dialog:[^:]+:log$"), "dialog log (list)"),
    (re.compile(rf"^{_TAG}dialog:[^:]+:logz$"), "dialog log, archived (string)"),
    (re.compile(rf"^{_TAG}dialog:[^:]+:delivered$"), "delivery reports beside the dialog (hash)"),
    (re.compile(rf"^{_TAG}dialog:[^:]+$"), "dialog record (JSON)"),
    (re.compile(r"^event:"), "event id → dialog"),
    (re.compile(r"^subject:"), "subject IIN → dialog"),
    (re.compile(r"^message:"), "gateway message id → dialog"),
    (re.compile(rf"^{_TAG}phone:[^:]+:in:"), "inbound message seen (7 days)"),
    (re.compile(r"^application:"), "application id → dialog"),
    (re.compile(r"^iin:"), "IIN index (sorted set)"),
    (re.compile(rf"^{_TAG}phone:[^:]+:dialogs$"), "phone's dialogs (sorted set)"),
    (re.compile(rf"^{_TAG}phone:[^:]+:once:"), "once-a-day marks"),
    (re.compile(rf"^{_TAG}phone:[^:]+:rate:"), "flood counters (2 minutes)"),
    (re.compile(rf"^{_TAG}phone:[^:]+$"), "phone slot (hash)"),
    (re.compile(rf"^{_TAG}phone:"), "phone, other"),
    (re.compile(r"^log$"), "live log feed (stream, capped)"),
    (re.compile(rf"^{_TAG}timers$"), "timers (sorted set per shard)"),
    (re.compile(rf"^{_TAG}index:dialogs$"), "all dialogs (sorted set per shard)"),
    (re.compile(rf"^{_TAG}index:"), "operator indexes"),
    (re.compile(rf"^{_TAG}stats"), "counters"),
    (re.compile(r"^\{jobs\}:"), "work queue (streams)"),
    (re.compile(r"^\{ledger\}:"), "consent ledger"),
)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_ms(seconds: list[float]) -> dict[str, Any]:
    """p50, p95, p99 and max of latencies given in seconds, in milliseconds, with the sample count."""
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
            "max": max(ms) if ms else None}


def spread(values: list[float | None]) -> dict[str, Any]:
    """Median, min and max over runs (None values, from figures a run could not give, are left out)."""
    present = [v for v in values if v is not None]
    if not present:
        return {"median": None, "min": None, "max": None, "runs": values}
    return {"median": statistics.median(present), "min": min(present), "max": max(present), "runs": values}


def family(key: str, prefix: str) -> str:
    """The family a key belongs to (see _FAMILIES), by its name after `prefix:`."""
    rest = key.removeprefix(prefix + ":")
    return next((name for pattern, name in _FAMILIES if pattern.search(rest)), "other")


async def keys_memory(redis: Redis, prefix: str, batch: int = 1000) -> dict[str, Any]:
    """`MEMORY USAGE` of every key under `prefix`, summed by family: {family: {"keys", "bytes"}} and total."""
    families: dict[str, Counter[str]] = {}
    names: list[str] = []

    async def flush() -> None:
        async with redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.memory_usage(name, samples=0)
            sizes = await pipe.execute()
        for name, size in zip(names, sizes, strict=True):
            fam = families.setdefault(family(name, prefix), Counter())
            fam["keys"] += 1
            fam["bytes"] += int(size or 0)
        names.clear()

    async for raw in redis.scan_iter(match=f"{prefix}:*", count=batch):
        names.append(raw.decode() if isinstance(raw, bytes) else str(raw))
        if len(names) >= batch:
            await flush()
    if names:
        await flush()
    total = sum(f["bytes"] for f in families.values())
    return {"total_bytes": total, "keys": sum(f["keys"] for f in families.values()),
            "families": {k: dict(v) for k, v in sorted(families.items(), key=lambda kv: -kv[1]["bytes"])}}


async def delete_prefix(redis: Redis, prefix: str, batch: int = 2000) -> int:
    """UNLINK every key under `prefix` (never FLUSHDB: other suites share this Redis); how many."""
    deleted = 0
    names: list[bytes | str] = []
    async for raw in redis.scan_iter(match=f"{prefix}:*", count=batch):
        names.append(raw)
        if len(names) >= batch:
            deleted += int(await redis.unlink(*names))
            names.clear()
    if names:
        deleted += int(await redis.unlink(*names))
    return deleted


async def redis_info(redis: Redis) -> dict[str, float]:
    """The INFO fields the bench reads: memory in use and the server's CPU seconds."""
    memory = await redis.info("memory")
    cpu = await redis.info("cpu")
    return {"used_memory": float(memory["used_memory"]),
            "cpu_seconds": float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])}


def own_cpu_seconds() -> float:
    """CPU time this process (the load generator) has used, user plus system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory and software versions, to label every figure with."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
                         model)
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()
    return {"cores": os.cpu_count(), "cpu_model": model, "memory_gib": round(memory_gib, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in load]}


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds so far: the whole machine busy (/proc/stat), this benchmark with its waited-for children, Redis."""

    machine_busy: float
    ours: float
    redis: float
    wall: float


def machine_busy_seconds() -> float:
    """Seconds all CPUs spent busy since boot (/proc/stat: everything but idle and iowait)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def cpu_sample(redis: Redis) -> CpuSample:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    info = await redis.info("cpu")
    return CpuSample(machine_busy_seconds(), own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
                     float(info["used_cpu_user"]) + float(info["used_cpu_sys"]), time.monotonic())


def caveat(start: CpuSample, end: CpuSample, cores: int) -> tuple[str, dict[str, float]]:
    """The report's caveat, from the load measured over the run: how busy the machine was, and how much of it was
    neither this benchmark (with the servers it started) nor Redis (a server started before this benchmark and
    not waited for counts as other load; so do other users of the same Redis)."""
    wall = max(end.wall - start.wall, 1e-9)
    busy = (end.machine_busy - start.machine_busy) / wall / cores
    ours = (end.ours - start.ours + end.redis - start.redis) / wall / cores
    other = max(0.0, busy - ours)
    figures = {"machine_busy_share": round(busy, 3), "benchmark_and_redis_share": round(ours, 3),
               "other_load_share": round(other, 3), "seconds": round(wall, 1)}
    where = (f"measured on {cores} cores over {wall:.0f} s: the CPUs were busy {busy:.0%} of the time, this "
             f"benchmark (load generator and the servers it started) and Redis {ours:.0%}, other processes "
             f"{other:.0%}.")
    if other < 0.05:
        verdict = " Other load was light: the figures compare with other runs on this machine kind."
    else:
        verdict = (" Other load was not light: treat the figures as a lower bound and compare only runs of the "
                   "same sitting.")
    return where + verdict, figures
