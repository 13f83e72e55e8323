"""Dev mode: the bot and every gateway mock in one process, on one port, with a simulated clock."""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from bot.app import create_app
from bot.clock import SimClock
from bot.settings import Settings
from gateway_mocks.app import ASSIGNMENT, EGOV, SMS_GATEWAY, create_mocks_app
from gateway_mocks.assignment import AssignmentBackend
from gateway_mocks.egov import EgovRegistry
from gateway_mocks.settings import MocksSettings
from gateway_mocks.sms import SmsGateway
from gateway_mocks.telegram import TELEGRAM_API, TelegramApi
from gateway_mocks.ussd import USSD_GATEWAY, UssdGateway


def embedded_redis() -> Redis:
    """An in-memory Redis (fakeredis) for dev mode without a server."""
    import fakeredis

    return fakeredis.FakeAsyncRedis()


@dataclass
class DevSystem:
    """A running dev system: its URL, clock and the mocks' state for tests and the demo."""

    url: str
    clock: SimClock
    settings: Settings
    runner: web.AppRunner
    mocks: web.Application

    @property
    def gateway(self) -> SmsGateway:
        return self.mocks[SMS_GATEWAY]

    @property
    def egov(self) -> EgovRegistry:
        return self.mocks[EGOV]

    @property
    def backend(self) -> AssignmentBackend:
        return self.mocks[ASSIGNMENT]

    @property
    def telegram(self) -> TelegramApi:
        return self.mocks[TELEGRAM_API]

    @property
    def ussd(self) -> UssdGateway:
        return self.mocks[USSD_GATEWAY]

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_dev(*, host: str = "127.0.0.1", port: int = 8080, clock_start: dt.datetime | None = None,
                    redis: Redis | None = None, settings: Settings | None = None,
                    mocks_settings: MocksSettings | None = None) -> DevSystem:
    """Bind, wire the bot to its own /mock gateways, and serve. Port 0 picks a free port."""
    clock = SimClock(clock_start)
    settings = settings or Settings()
    # Bind first so that the gateways' URLs (which include the port) are known before start-up.
    sock = socket.create_server((host, port), reuse_port=False)
    actual_port = sock.getsockname()[1]
    base = f"http://{host}:{actual_port}"
    settings.point_at_mocks(base)
    mocks_settings = mocks_settings or MocksSettings()
    mocks_settings.bot_url = base
    mocks_settings.backend_secret = settings.backend_secret
    mocks_settings.sms_gateway_secret = settings.sms_gateway_secret
    mocks_settings.ussd_gateway_secret = settings.ussd_gateway_secret
    mocks_settings.telegram_token = settings.telegram_token or mocks_settings.telegram_token
    mocks_settings.telegram_secret = settings.telegram_secret
    app = create_app(settings, redis=redis if redis is not None else embedded_redis(), clock=clock)
    mocks = create_mocks_app(mocks_settings, clock)
    app.add_subapp("/mock", mocks)
    from bot import devpage  # the page to play with it all: dev only, never in `serve`

    devpage.mount(app, mocks, base)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return DevSystem(url=base, clock=clock, settings=settings, runner=runner, mocks=mocks)
