"""The gateway mocks as one aiohttp app: SMS gateway with phones, e-government, assignment backend, clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.clock import SimClock

from .assignment import AssignmentBackend
from .clock import ClockApi
from .common import Outbound
from .egov import EgovRegistry
from .fixtures import FIXTURES
from .rates import load_rates
from .settings import MocksSettings
from .sms import SmsGateway
from .telegram import TELEGRAM_API, TelegramApi

__all__ = [
    "ASSIGNMENT",
    "EGOV",
    "SMS_GATEWAY",
    "MocksSettings",
    "create_mocks_app",
    "create_mocks_root",
]

SMS_GATEWAY = web.AppKey("sms_gateway", SmsGateway)
EGOV = web.AppKey("egov", EgovRegistry)
ASSIGNMENT = web.AppKey("assignment", AssignmentBackend)
OUTBOUND = web.AppKey("outbound", Outbound)


def create_mocks_app(settings: MocksSettings, clock: SimClock, *,
                     sms_gateway: SmsGateway | None = None) -> web.Application:
    """Every mock with relative routes; mount it with `parent.add_subapp("/mock", app)`. `sms_gateway` replaces
    the aggregator mock (with Kannel: the phone network on its fake SMSC)."""
    rates = load_rates(settings.rates_path)  # read now: a broken rate table should stop startup
    outbound = Outbound()
    egov = EgovRegistry()
    if settings.seed:
        egov.seed(FIXTURES)
    gateway = sms_gateway if sms_gateway is not None else SmsGateway(settings, clock, outbound)
    backend = AssignmentBackend(settings, clock, outbound, egov, rates)
    clock.add_source(backend)

    app = web.Application()
    app[SMS_GATEWAY] = gateway
    app[EGOV] = egov
    app[ASSIGNMENT] = backend
    app[OUTBOUND] = outbound
    app.add_routes([*ClockApi(clock).routes(), *gateway.routes(), *egov.routes(), *backend.routes()])
    # -- mocks: ussd --
    from .ussd import USSD_GATEWAY, UssdGateway

    app[USSD_GATEWAY] = UssdGateway(settings, clock, outbound, gateway)
    app.add_routes(app[USSD_GATEWAY].routes())
    # -- mocks: telegram --
    telegram_api = TelegramApi(settings, clock, outbound)
    app[TELEGRAM_API] = telegram_api
    app.add_routes(telegram_api.routes())
    app.cleanup_ctx.append(_http_session)
    return app


def create_mocks_root(settings: MocksSettings, clock: SimClock, *,
                      sms_gateway: SmsGateway | None = None) -> web.Application:
    """A top-level app serving the mocks under `/mock`, for `proactive-bot mocks`."""
    root = web.Application()
    root.add_subapp("/mock", create_mocks_app(settings, clock, sms_gateway=sms_gateway))
    return root


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    """One client session for every call the mocks make to the bot; reports are flushed before it closes."""
    outbound = app[OUTBOUND]
    outbound.session = aiohttp.ClientSession()
    try:
        yield
    finally:
        await app[SMS_GATEWAY].flush()
        await outbound.session.close()
        outbound.session = None
