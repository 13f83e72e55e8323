"""The dev page (`proactive-bot dev` only): start a case, play the phone on SMS, USSD and Telegram, move the clock.

It lives under /ops so that the console's session (cookie `Path=/ops`), CSRF token, language and live feed serve
it as they are: every page needs an operator's sign-in, every button is a form with the session's CSRF token.
`/dev` only redirects there. `serve` never mounts any of it: there every one of these paths answers 404.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.devclient import DevClient
from bot.devpage import actions, pages, views
from bot.devpage.state import DEV_PAGE, DevPage
from bot.http.common import SETTINGS
from bot.ops import denied_page
from bot.ops.auth import guarded


def routes() -> list[web.RouteDef]:
    """Every dev page route; each one (but the /dev redirect) answers 401 with the sign-in form to a stranger."""
    page = guarded(denied_page)
    return [
        web.get("/dev", pages.to_dev_page),
        web.get("/ops/dev", page(pages.start_page)),
        web.post("/ops/dev/cases", page(actions.start_case)),
        web.post("/ops/dev/clock", page(actions.move_clock)),
        web.get("/ops/dev/dialogs/{dialog_id}", page(pages.dialog_phone)),
        web.get("/ops/dev/phones/{msisdn}", page(pages.phone_page)),
        web.post("/ops/dev/phones/{msisdn}/sms", page(actions.phone_sms)),
        web.post("/ops/dev/phones/{msisdn}/ussd", page(actions.phone_ussd)),
        web.post("/ops/dev/phones/{msisdn}/ussd/cut", page(actions.phone_ussd_cut)),
        web.post("/ops/dev/phones/{msisdn}/telegram/{action}", page(actions.phone_telegram)),
    ]


def mount(app: web.Application, mocks: web.Application, url: str) -> None:
    """Serve the dev page on a dev system's bot app, before it starts; `mocks` is its /mock app at `url`/mock."""
    app[DEV_PAGE] = DevPage(url, mocks)
    app.add_routes(routes())
    views.setup(app)

    async def client(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        async with aiohttp.ClientSession() as session:
            app[DEV_PAGE].client = DevClient(session, url, events_secret=settings.events_secret,
                                             operator_token=settings.operator_token)
            yield
            app[DEV_PAGE].client = None

    app.cleanup_ctx.append(client)
