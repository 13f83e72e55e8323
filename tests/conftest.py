"""Shared fixtures: a running dev system (bot + mocks over HTTP) on real Redis or fakeredis."""

from __future__ import annotations

import datetime as dt
import os
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.clock import ALMATY
from bot.devclient import DevClient
from bot.devserver import DevSystem, embedded_redis, start_dev
from bot.settings import Settings
from tests import outcomes

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# A Monday, 10:00 in Kazakhstan: inside working hours and outside quiet hours.
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ALMATY)


@dataclass
class Running:
    """A dev system under test and an HTTP client for it."""

    system: DevSystem
    client: DevClient
    redis: Redis


async def _real_redis() -> Redis:
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except Exception as error:  # the test command starts Redis; without it these tests must fail, not skip
        raise RuntimeError(f"no Redis at {REDIS_URL}: run ./scripts/test, which starts one") from error
    return redis


async def start_running(store: str, start: dt.datetime = MONDAY_10, **settings: object) -> tuple[Running,
                                                                                                   str]:
    """A dev system on `store`: "redis", "fakeredis", or "kannel" (real Redis, SMS through a real Kannel)."""
    prefix = f"pbtest:{uuid.uuid4().hex[:10]}"
    if os.environ.get("RECORD_OUTCOMES"):
        random.seed(0)  # the retry backoff's jitter: the same in every recording (tests/outcomes.py)
    redis = await _real_redis() if store in ("redis", "kannel") else embedded_redis()
    system = await start_dev(port=0, clock_start=start, redis=redis, sms="kannel" if store == "kannel" else "mock",
                             settings=Settings(key_prefix=prefix).with_(**settings))
    session = aiohttp.ClientSession()
    return Running(system, DevClient(session, system.url), redis), prefix


async def stop_running(running: Running, prefix: str) -> None:
    await running.client.session.close()
    await running.system.stop()
    await outcomes.record(running.redis, prefix, running.system.settings.shards)
    keys = [k async for k in running.redis.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await running.redis.delete(*keys)
    await running.redis.aclose()


# Why a test marked `aggregator_only` does not run through Kannel (it runs on "redis" and "fakeredis").
FAKE_SMSC_DELIVERS_EVERYTHING = (
    "Kannel's fake SMSC (gw/smsc/smsc_fake.c) reports every SMS it hands to the phone network as delivered, at "
    "once, and cannot lose one: a switched-off phone, a lost SMS or a failed report cannot be played through it. "
    "Kannel's failure codes (DLR 2 and 16) are tested in tests/unit/test_kannel_channel.py and "
    "tests/security/test_kannel_routes.py; the failure paths themselves through the aggregator mock.")


@pytest.fixture(params=["redis", "fakeredis", "kannel"])
async def running(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    """The whole system over HTTP: on real Redis, on the embedded store, and on real Redis with every SMS
    through a real Kannel (bearerbox and smsbox started for the test, the phones on its fake SMSC)."""
    if request.param == "kannel" and request.node.get_closest_marker("aggregator_only"):
        pytest.skip(FAKE_SMSC_DELIVERS_EVERYTHING)
    if request.param in ("redis", "kannel"):
        request.applymarker(pytest.mark.integration)
    run, prefix = await start_running(request.param)
    try:
        yield run
    finally:
        await stop_running(run, prefix)


@pytest.fixture
async def real(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    """The whole system over HTTP on real Redis only."""
    run, prefix = await start_running("redis")
    try:
        yield run
    finally:
        await stop_running(run, prefix)
