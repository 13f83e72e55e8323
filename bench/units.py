"""Unit costs on this machine: what one Redis round trip and one local HTTP request cost a Python client."""

from __future__ import annotations

import time
import uuid
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis


async def unit_costs(redis: Redis, repeat: int = 1000) -> dict[str, Any]:
    """CPU and wall microseconds for a GET, a MULTI of 10 SETs, and an aiohttp POST served in-process."""
    key = f"pbbench:units:{uuid.uuid4().hex[:8]}"
    await redis.set(key, "x" * 1500)
    out: dict[str, Any] = {}
    try:
        began, cpu = time.perf_counter(), time.process_time()
        for _ in range(repeat):
            await redis.get(key)
        out["redis_get"] = _us(began, cpu, repeat)
        began, cpu = time.perf_counter(), time.process_time()
        for _ in range(repeat // 4):
            async with redis.pipeline(transaction=True) as pipe:
                for i in range(10):
                    pipe.set(f"{key}:{i}", "y" * 100)
                await pipe.execute()
        out["redis_multi_10_set"] = _us(began, cpu, repeat // 4)
    finally:
        await redis.delete(key, *(f"{key}:{i}" for i in range(10)))
    out["http_post_in_process"] = await _http(repeat // 4)
    return out


def _us(began: float, cpu: float, n: int) -> dict[str, float]:
    return {"wall_us": (time.perf_counter() - began) / n * 1e6, "cpu_us": (time.process_time() - cpu) / n * 1e6}


async def _http(n: int) -> dict[str, float]:
    """One POST with a small JSON body to an aiohttp app in this process: client and server both counted."""
    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"accepted": True})

    app = web.Application()
    app.router.add_post("/unit", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            began, cpu = time.perf_counter(), time.process_time()
            for _ in range(n):
                async with session.post(f"http://127.0.0.1:{port}/unit", json={"text": "иә"}) as resp:
                    await resp.read()
            return _us(began, cpu, n)
    finally:
        await runner.cleanup()
