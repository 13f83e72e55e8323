"""The console script as an operator runs it: each command starts, answers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import uuid
from pathlib import Path

import aiohttp

BIN = Path(sys.executable).parent / "proactive-bot"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _start(*args: str, env: dict[str, str] | None = None) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        str(BIN), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "HOST": "127.0.0.1", **(env or {})})
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    return proc, line.decode()


async def _stop(proc: asyncio.subprocess.Process) -> int:
    proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(proc.wait(), timeout=30)


async def test_dev_prints_its_url_serves_the_mocks_and_stops_on_sigterm() -> None:
    port = _free_port()
    proc, line = await _start("dev", "--port", str(port), "--clock-start", "2026-11-23T10:00:00+05:00")
    try:
        assert f"http://127.0.0.1:{port}" in line
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/mock/clock") as resp:
                assert (await resp.json())["now"].startswith("2026-11-23T10:00:00")
            async with session.get(f"http://127.0.0.1:{port}/readyz") as resp:
                assert resp.status == 200
    finally:
        assert await _stop(proc) == 0


async def test_serve_needs_redis_and_answers_ready_with_it() -> None:
    port = _free_port()
    env = {"REDIS_URL": "redis://127.0.0.1:6379/0", "KEY_PREFIX": f"pbtest:{uuid.uuid4().hex[:8]}"}
    proc, line = await _start("serve", "--port", str(port), env=env)
    try:
        assert f"port {port}" in line
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/readyz") as resp:
            assert resp.status == 200 and (await resp.json())["redis"] == "ok"
    finally:
        assert await _stop(proc) == 0


async def test_mocks_alone_serve_phones_and_clock() -> None:
    port = _free_port()
    proc, line = await _start("mocks", "--port", str(port))
    try:
        assert f"port {port}" in line
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/mock/phones/77011234567/sms") as resp:
                assert resp.status == 200 and await resp.json() == []
            async with session.get(f"http://127.0.0.1:{port}/mock/clock") as resp:
                assert resp.status == 200
    finally:
        assert await _stop(proc) == 0


async def test_serve_without_redis_url_says_so_and_exits() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    proc = await asyncio.create_subprocess_exec(str(BIN), "serve", "--port", str(_free_port()),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                env=env)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode != 0 and b"REDIS_URL is required" in err
