"""Attacks on the console's live feed: streams that outlive their session, and streams opened by the hundred.

One feed reader per process hands the feed to every stream, so open streams hold no Redis connections; each
stream re-checks its session and ends when it is gone.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from bot.app import REDIS
from bot.http.common import SETTINGS
from bot.ops.sse import HUB
from tests.conftest import Running
from tests.helpers import birth
from tests.security._ops import TOKEN, Console, production_pool_system, redis_keys, system

STREAMS = 300


async def _open(session: aiohttp.ClientSession, url: str, **headers: str) -> aiohttp.ClientResponse:
    """An open event stream, once the server has started it (its `retry:` line read)."""
    resp = await session.get(f"{url}/ops/events", headers=headers)
    assert resp.status == 200, resp.status
    assert (await asyncio.wait_for(resp.content.readline(), timeout=30)).startswith(b"retry:")
    return resp


async def _ended(resp: aiohttp.ClientResponse) -> bool:
    """Read the stream to its end (bounded by a timeout: a stream that does not end fails the test)."""
    await asyncio.wait_for(resp.content.read(), timeout=10)
    return resp.content.at_eof()


async def test_a_stream_ends_when_its_operator_signs_out() -> None:
    async with system() as running:
        console = Console(running)
        try:
            await console.sign_in("Aigerim")
            stream = await _open(console.session, running.system.url)
            assert (await console.post("/ops/logout"))[0] == 303
            assert await _ended(stream)
            assert len(running.system.runner.app[HUB].listeners) == 0
        finally:
            await console.close()


@pytest.mark.parametrize("store", ["redis", "fakeredis"])
async def test_a_stream_ends_at_its_re_check_once_the_session_is_gone_elsewhere(store: str) -> None:
    async with system(store, ops_stream_recheck_seconds=0.2) as running:
        console = Console(running)
        try:
            await console.sign_in("Aigerim")
            stream = await _open(console.session, running.system.url)
            # another process signs the operator out: only the session in Redis is gone
            await running.system.runner.app[REDIS].delete(*await redis_keys(running, "session"))
            assert await _ended(stream)
            await console.sign_in("Aigerim")
            stream = await _open(console.session, running.system.url)
            running.system.runner.app[SETTINGS].operator_token = "a-new-operator-token-of-32-bytes-or-more"
            assert await _ended(stream)  # a new token: every stream of an old session ends
        finally:
            await console.close()


async def test_streams_are_capped_per_operator_and_per_process() -> None:
    async with system(ops_streams_per_operator=2, ops_streams_per_process=3) as running, \
            aiohttp.ClientSession() as session:
        url = running.system.url

        def who(name: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {TOKEN}", "X-Operator": name}

        streams = [await _open(session, url, **who("Dana")), await _open(session, url, **who("Dana"))]
        async with session.get(f"{url}/ops/events", headers=who("Dana")) as resp:
            assert resp.status == 429 and "Retry-After" in resp.headers
        streams.append(await _open(session, url, **who("Aigerim")))
        async with session.get(f"{url}/ops/events", headers=who("Berik")) as resp:
            assert resp.status == 429
        assert len(running.system.runner.app[HUB].listeners) == 3
        for stream in streams:
            stream.close()


async def _answered(running: Running, msisdn: str) -> float:
    """Seconds from an inbound SMS to its answer in the phone's inbox."""
    before = len(await running.client.inbox(msisdn))
    started = time.perf_counter()
    assert await running.client.phone_says(msisdn, "?") in (200, 202)
    await running.system.gateway.flush()
    elapsed = time.perf_counter() - started
    assert len(await running.client.inbox(msisdn)) > before  # answered
    return elapsed


async def test_hundreds_of_open_streams_hold_no_redis_connections_and_leave_an_sms_answered(
        capsys: pytest.CaptureFixture[str]) -> None:
    async with production_pool_system(ops_streams_per_operator=STREAMS + 10) as running, \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        app = running.system.runner.app
        pool = app[REDIS].connection_pool
        for n in range(2):
            await birth(running.client, msisdn=f"+7701111700{n}")
        baseline = await _answered(running, "+77011117000")
        idle_in_use = len(pool._in_use_connections)  # type: ignore[attr-defined]
        streams = await asyncio.gather(*(_open(session, running.system.url, Authorization=f"Bearer {TOKEN}",
                                               **{"X-Operator": "Dana"}) for _ in range(STREAMS)))
        hub = app[HUB]
        assert len(hub.listeners) == STREAMS
        reads_before = hub.reads
        in_use = len(pool._in_use_connections)  # type: ignore[attr-defined]
        loaded = await _answered(running, "+77011117001")
        while not (first := await asyncio.wait_for(streams[-1].content.readline(), timeout=10)).strip():
            pass  # the blank line after `retry:`
        reads = hub.reads - reads_before
        for stream in streams:
            stream.close()
        with capsys.disabled():
            print(f"\nlive feed: SMS answered in {baseline * 1000:.0f} ms with no stream, {loaded * 1000:.0f} ms with "
                  f"{STREAMS} open; Redis connections in use {idle_in_use} → {in_use}; feed reads {reads} for the "
                  "SMS's records")
    assert first.startswith((b"id:", b": keep-alive"))  # the streams were fed
    assert in_use <= idle_in_use + 1  # the one reader, whatever the number of streams
    assert reads <= 10  # one reader's XREADs, not one per stream
    assert loaded < 10 * baseline + 1.0  # relative to this run's own baseline (a loaded 2-core machine varies)
