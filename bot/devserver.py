"""Dev mode: the bot and every gateway mock in one process, on one port, with a simulated clock."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from bot.app import create_app
from bot.channels.base import Outbound
from bot.clock import SimClock
from bot.settings import Settings, kannel_basic_problem
from gateway_mocks.app import ASSIGNMENT, EGOV, SMS_GATEWAY, create_mocks_app
from gateway_mocks.assignment import AssignmentBackend
from gateway_mocks.egov import EgovRegistry
from gateway_mocks.kannel import KannelBox, KannelPhones, Traffic, mo_url, phones_settle_hook
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
    kannel: KannelBox | None = None  # with `--sms kannel`: the Kannel between the bot and the phones

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
        phones = self.gateway
        if isinstance(phones, KannelPhones):
            await phones.flush()  # what is on its way through Kannel arrives before the bot stops
        await self.runner.cleanup()
        if isinstance(phones, KannelPhones):
            await phones.close()
        if self.kannel is not None:
            await self.kannel.stop()


async def start_dev(*, host: str = "127.0.0.1", port: int = 8080, clock_start: dt.datetime | None = None,
                    redis: Redis | None = None, settings: Settings | None = None,
                    mocks_settings: MocksSettings | None = None, sms: str = "mock") -> DevSystem:
    """Bind, wire the bot to its own /mock gateways, and serve. Port 0 picks a free port.

    `sms="kannel"`: the bot sends through a real Kannel (started here on free loopback ports, stopped with the
    system), and the phones are a simulated network on Kannel's fake SMSC; else through the aggregator mock.
    """
    if sms not in ("mock", "kannel"):
        raise ValueError(f"sms must be 'mock' or 'kannel', got {sms!r}")
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
    kannel: KannelBox | None = None
    phones: KannelPhones | None = None
    traffic: Traffic | None = None
    on_sms_accepted: Callable[[Outbound], None] | None = None
    if sms == "kannel":
        problem = kannel_basic_problem(settings.sms_gateway_user, settings.sms_gateway_secret)
        if problem:
            raise ValueError(problem)
        mask = settings.kannel_dlr_mask  # what the fake SMSC reports: acceptance (8) and delivery (1), if asked
        traffic = counted = Traffic(reports_per_sms=bool(mask & 8) + bool(mask & 1))
        on_sms_accepted = lambda _: counted.bump("mt_accepted")  # noqa: E731  (the channel tells the phones)
        kannel = KannelBox(mo_url(base, settings.sms_gateway_user, settings.sms_gateway_secret),
                           password=settings.kannel_password, username=settings.kannel_username)
        try:
            await kannel.start()
            phones = KannelPhones(mocks_settings, clock, "127.0.0.1", kannel.smsc_port, traffic)
            await phones.connect()
        except BaseException:
            sock.close()
            await kannel.stop()
            raise
        settings.sms_gateway_kind = "kannel"
        settings.kannel_sendsms_url = kannel.sendsms_url
    app = create_app(settings, redis=redis if redis is not None else embedded_redis(), clock=clock,
                     on_sms_accepted=on_sms_accepted)
    if traffic is not None:
        app.on_response_prepare.append(phones_settle_hook(traffic))
    mocks = create_mocks_app(mocks_settings, clock, sms_gateway=phones)
    app.add_subapp("/mock", mocks)
    from bot import devpage  # the page to play with it all: dev only, never in `serve`

    devpage.mount(app, mocks, base)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return DevSystem(url=base, clock=clock, settings=settings, runner=runner, mocks=mocks, kannel=kannel)
