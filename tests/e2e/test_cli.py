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

from tests.helpers import production_secrets

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
    try:
        return await asyncio.wait_for(proc.wait(), timeout=30)
    except TimeoutError:
        proc.kill()  # a process that ignores SIGTERM fails the test, and is not left behind
        await proc.wait()
        raise


async def test_dev_prints_its_url_serves_the_mocks_and_stops_on_sigterm() -> None:
    port = _free_port()
    proc, line = await _start("dev", "--port", str(port), "--clock-start", "2026-11-23T10:00:00+05:00")
    try:
        assert f"http://127.0.0.1:{port}" in line
        assert proc.stdout is not None
        banner = [(await asyncio.wait_for(proc.stdout.readline(), timeout=10)).decode() for _ in range(2)]
        assert f"open http://127.0.0.1:{port}/dev" in banner[1]  # the page to play with it
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/mock/clock") as resp:
                assert (await resp.json())["now"].startswith("2026-11-23T10:00:00")
            async with session.get(f"http://127.0.0.1:{port}/readyz") as resp:
                assert resp.status == 200
    finally:
        assert await _stop(proc) == 0


async def test_serve_needs_redis_and_answers_ready_with_it() -> None:
    port = _free_port()
    env = {"REDIS_URL": "redis://127.0.0.1:6379/0", "KEY_PREFIX": f"pbtest:{uuid.uuid4().hex[:8]}",
           **production_secrets()}
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


async def test_workers_fire_the_timers_of_dialogs_a_stopped_bot_left_behind() -> None:
    """Two worker processes on the same Redis: the overdue reminder and expiry fire once each, by either."""
    import datetime as dt
    import json

    from redis.asyncio import Redis

    from bot.clock import ALMATY
    from bot.packing import unpack_dialog, unpack_line
    from bot.store import Keys
    from tests.conftest import start_running, stop_running
    from tests.helpers import birth

    # A week before real time: the dialog's reminder and expiry are overdue when the workers start.
    week_ago = (dt.datetime.now(ALMATY) - dt.timedelta(days=7)).replace(hour=10, minute=0, second=0, microsecond=0)
    running, prefix = await start_running("redis", start=week_ago)
    try:
        _, answer, _ = await birth(running.client, msisdn="+77011116666")
        await running.system.stop()  # the bot is gone; its dialog's timers stay in Redis
        redis = Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=60)  # XREAD BLOCK outlasts 5 s
        feed = f"{prefix}:log"
        last_id = (await redis.xrevrange(feed, count=1))[0][0]
        env = {"REDIS_URL": "redis://127.0.0.1:6379/0", "KEY_PREFIX": prefix,
               "SMS_GATEWAY_URL": "http://127.0.0.1:9/mock/sms",  # nowhere: sends fail and are retried later
               **production_secrets()}
        workers = [await _start("worker", env=env) for _ in range(2)]
        try:
            for _, line in workers:
                assert "firing timers" in line
            # Real time is past the dialog's reminder and expiry: a worker fires both.
            statuses: list[str] = []
            while "expired" not in statuses:
                entries = await redis.xread({feed: last_id}, block=30_000)
                assert entries, "no worker fired the timers within 30 s"
                for entry_id, fields in entries[0][1]:
                    last_id = entry_id
                    record = json.loads(unpack_line(fields[b"record"]))
                    if record["type"] == "status":
                        statuses.append(record["to"])
            assert statuses == ["expired"]
        finally:
            for proc, _ in workers:
                assert await _stop(proc) == 0
        dialog = json.loads(unpack_dialog(await redis.get(Keys(prefix).dialog(answer["dialog_id"]))))
        assert dialog["state"] == "expired"
        await redis.aclose()
    finally:
        await stop_running(running, prefix)
