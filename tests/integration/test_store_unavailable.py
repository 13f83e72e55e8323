"""Redis down: requests fail clearly with 503, and nothing half-written is left behind."""

from __future__ import annotations

import datetime as dt
import socket

import aiohttp
from redis.asyncio import Redis

from bot.devclient import DevClient
from bot.devserver import start_dev
from bot.settings import Settings
from gateway_mocks.registry import birth_event, child_iin
from tests.conftest import MONDAY_10


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_events_and_reads_answer_503_when_redis_is_unreachable() -> None:
    redis = Redis.from_url(f"redis://127.0.0.1:{_closed_port()}/0", socket_connect_timeout=0.5)
    system = await start_dev(port=0, clock_start=MONDAY_10, redis=redis, settings=Settings(key_prefix="pbdown"))
    try:
        async with aiohttp.ClientSession() as session:
            client = DevClient(session, system.url)
            born = dt.date(2026, 11, 22)
            event = birth_event("zags-down-1", parent_iin="920412412349", msisdn="+77011119999", language="kk",
                                registered_at=MONDAY_10.isoformat(), children=[(child_iin(born), born)])
            status, body = await client.post_event(event)
            assert status == 503 and body["errors"][0]["code"] == "store_unavailable"
            assert await client.inbox("+77011119999") == []
            async with session.get(f"{system.url}/readyz") as resp:
                assert resp.status == 503
            async with session.get(f"{system.url}/healthz") as resp:
                assert resp.status == 200
    finally:
        await system.stop()
        await redis.aclose()
