"""What the operator security tests share: a system with its own settings, a browser-like console client."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from bot.app import REDIS, redis_client
from bot.devclient import DevClient
from bot.devserver import start_dev
from bot.http.common import SETTINGS
from bot.settings import Settings
from tests.conftest import MONDAY_10, REDIS_URL, Running, start_running, stop_running

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TOKEN = "dev-operator"


@asynccontextmanager
async def system(store: str = "redis", **settings: Any) -> AsyncIterator[Running]:
    """A dev system on real Redis (or the embedded store) with some settings changed."""
    running, prefix = await start_running(store, **settings)
    try:
        yield running
    finally:
        await stop_running(running, prefix)


@asynccontextmanager
async def production_pool_system(**settings: Any) -> AsyncIterator[Running]:
    """A dev system on real Redis through the client `serve` makes (a blocking pool of 64 connections)."""
    prefix = f"pbtest:{uuid.uuid4().hex[:10]}"
    redis = redis_client(REDIS_URL)
    dev = await start_dev(port=0, clock_start=MONDAY_10, redis=redis,
                          settings=Settings(key_prefix=prefix).with_(**settings))
    running = Running(dev, DevClient(aiohttp.ClientSession(), dev.url), redis)
    try:
        yield running
    finally:
        await stop_running(running, prefix)


async def redis_keys(running: Running, kind: str) -> list[bytes]:
    """The keys of one kind of operator state (`session`, `failures`, `reveals`) this system holds."""
    app = running.system.runner.app
    match = f"{app[SETTINGS].key_prefix}:ops:{kind}:*"
    return [k async for k in app[REDIS].scan_iter(match=match, count=1000)]


class Console:
    """A browser: its own cookie jar, signed in through the form."""

    def __init__(self, running: Running) -> None:
        self.url = running.system.url
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def sign_in(self, name: str = "Aigerim", token: str = TOKEN) -> aiohttp.ClientResponse:
        async with self.session.post(f"{self.url}/ops/login", data={"token": token, "name": name, "lang": "ru"},
                                     allow_redirects=False) as resp:
            await resp.read()
        if resp.status == 303:
            status, page = await self.get("/ops")
            assert status == 200, status
            self.csrf = CSRF.search(page).group(1)  # type: ignore[union-attr]
        return resp

    def cookie(self) -> str:
        return next(c.value for c in self.session.cookie_jar if c.key == "pb_ops")

    async def get(self, path: str, **headers: str) -> tuple[int, str]:
        async with self.session.get(f"{self.url}{path}", headers=headers, allow_redirects=False) as resp:
            return resp.status, await resp.text()

    async def post(self, path: str, **form: str) -> tuple[int, str]:
        async with self.session.post(f"{self.url}{path}", data={"csrf": self.csrf, **form},
                                     allow_redirects=False) as resp:
            return resp.status, await resp.text()

    async def close(self) -> None:
        await self.session.close()


async def with_cookie(running: Running, path: str, cookie: str) -> int:
    """A request carrying a saved copy of a session cookie (an attacker's replay)."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{running.system.url}{path}", headers={"Cookie": f"pb_ops={cookie}"},
                               allow_redirects=False) as resp:
            return resp.status
