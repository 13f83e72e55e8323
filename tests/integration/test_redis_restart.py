"""Redis killed (SIGKILL) in the middle of a run and started again from its append-only file: nothing lost.

The aggregator's side is played the way a real one behaves: each citizen SMS keeps its message id, and a
post the bot did not take (a 5xx while Redis was down) is posted again with the same id until it is taken.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.app import redis_client
from bot.devclient import DevClient
from bot.devserver import DevSystem, start_dev
from bot.settings import Settings
from tests.conftest import MONDAY_10
from tests.helpers import birth, texts
from tests.redis_servers import RedisServer, aof_redis

pytestmark = pytest.mark.integration
PHONES = [f"+7701333{n:04d}" for n in range(24)]
IN_FLIGHT = 6


@pytest.fixture
async def server() -> AsyncIterator[RedisServer]:
    async with aof_redis() as s:
        yield s


async def _post_until_taken(session: aiohttp.ClientSession, system: DevSystem, body: dict[str, Any],
                            redis_back: asyncio.Event, statuses: list[int]) -> None:
    """Post a citizen's SMS as an aggregator does: the same message id again until the bot answers 2xx."""
    while True:
        try:
            # HTTP Basic, as a gateway that cannot sign (Kannel) sends it: `dev` takes every scheme.
            gateway = aiohttp.encode_basic_auth(system.settings.sms_gateway_user, system.settings.sms_gateway_secret)
            async with session.post(f"{system.url}/v1/inbound/sms", json=body,
                                    headers={"Authorization": gateway}) as resp:
                statuses.append(resp.status)
                if resp.status < 300:
                    return
                assert resp.status == 503, await resp.text()  # store unavailable: try again later
        except aiohttp.ClientError:
            statuses.append(0)
        await redis_back.wait()


async def test_redis_killed_mid_run_and_restarted_from_its_aof_loses_nothing(server: RedisServer) -> None:
    redis = redis_client(server.url)
    system = await start_dev(port=0, clock_start=MONDAY_10, redis=redis,
                             settings=Settings(key_prefix="pbaof", job_claim_idle_seconds=0.5,
                                               phone_lock_seconds=3))
    session = aiohttp.ClientSession()
    client = DevClient(session, system.url)
    try:
        dialogs = {}
        for phone in PHONES:
            status, answer, _ = await birth(client, msisdn=phone)
            assert status == 202 and answer["status"] == "awaiting_consent"
            dialogs[phone] = answer["dialog_id"]

        # Every phone agrees ("1"), six at a time; Redis is killed once a third of them have been posted.
        statuses: list[int] = []
        redis_back, killed = asyncio.Event(), asyncio.Event()
        posted = 0
        slots = asyncio.Semaphore(IN_FLIGHT)

        async def agree(n: int, phone: str) -> None:
            nonlocal posted
            async with slots:
                posted += 1
                if posted == len(PHONES) // 3:
                    killed.set()
                body = {"message_id": f"agg-consent-{n}", "from": phone, "to": "1414", "text": "1"}
                await _post_until_taken(session, system, body, redis_back, statuses)

        replies = asyncio.gather(*(agree(n, p) for n, p in enumerate(PHONES)))
        await killed.wait()
        await server.kill()
        await asyncio.sleep(0.3)  # the outage: requests in flight and new ones meet a dead store
        await server.start()  # reloads the append-only file; returns once it has loaded
        redis_back.set()
        await replies
        assert 503 in statuses or 0 in statuses, "no request met the outage"

        await client.advance(121)  # the account questions read: a copy of "1" within 2 minutes would be set aside
        for n, phone in enumerate(PHONES):  # confirm the account on record; then the backend decides
            await _post_until_taken(session, system, {"message_id": f"agg-confirm-{n}", "from": phone,
                                                      "to": "1414", "text": "1"}, redis_back, statuses)
        await client.advance(3600)
        for phone, dialog_id in dialogs.items():
            dialog = await client.dialog(dialog_id)
            assert dialog["status"] == "assigned", (phone, dialog["history"])
            assert dialog["consent"]["application_date"] == "2026-11-23"
            inbox = await texts(client, phone)
            assert len(inbox) == 4 and len(set(inbox)) == 4, inbox  # offer, account, registered, decision
        assert len(system.backend.applications) == len(PHONES)
    finally:
        await session.close()
        await system.stop()
        await redis.aclose()
