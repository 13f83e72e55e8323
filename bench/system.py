"""Start and stop the system under test (`bench.server`) in its own process, and read its counters."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import uuid
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bench.measure import delete_prefix

STARTUP_SECONDS = 60


@dataclass
class SystemUnderTest:
    """A running `bench.server`: its URL, process, key prefix and the Redis it writes to."""

    url: str
    pid: int
    prefix: str
    process: asyncio.subprocess.Process

    async def stats(self) -> dict[str, Any]:
        """The server's counters now (Redis commands and round trips, steps, CPU, mocks' totals)."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"stats\n")
        await self.process.stdin.drain()
        return await _json_line(self.process)

    async def stop(self, redis: Redis, *, keep_keys: bool = False) -> None:
        """Ask the server to stop, wait for it, and delete every key under its prefix."""
        if self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.write(b"quit\n")
            await self.process.stdin.drain()
            try:
                await asyncio.wait_for(self.process.wait(), STARTUP_SECONDS)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if not keep_keys:
            await delete_prefix(redis, self.prefix)


async def _json_line(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), STARTUP_SECONDS)
    if not line:
        raise RuntimeError(f"bench.server exited (code {process.returncode})")
    data: dict[str, Any] = json.loads(line)
    return data


async def start_system(redis_url: str, clock_start: dt.datetime, *, log_level: str = "INFO",
                       tag: str = "run", experiments: tuple[str, ...] = (), workers: int = 0) -> SystemUnderTest:
    """Launch `python -m bench.server` with a fresh key prefix and wait until it serves."""
    prefix = f"pbbench:{tag}:{uuid.uuid4().hex[:8]}"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.server", "--redis-url", redis_url, "--prefix", prefix,
        "--clock-start", clock_start.isoformat(), "--log-level", log_level, "--workers", str(workers),
        *(arg for name in experiments for arg in ("--experiment", name)),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    try:
        hello = await _json_line(process)
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    return SystemUnderTest(url=hello["url"], pid=int(hello["pid"]), prefix=prefix, process=process)
