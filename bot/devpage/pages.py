"""The dev page's pages: the start page (people, a new person, phones, clock) and one phone's page."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.clock import parse_instant
from bot.devpage.people import PEOPLE
from bot.devpage.phone import path_of, sms_thread, telegram_chat, telegram_user, ussd_sessions
from bot.devpage.state import DEV_PAGE, DevPage, phone_in_path
from bot.devpage.texts import DEV_IDS, dev
from bot.devpage.views import fragment, page
from bot.http.common import SETTINGS, STORE
from bot.http.dialogs import PUBLIC_STATUSES
from bot.ops.auth import Operator
from bot.ops.pages import events_url
from bot.ops.queries import summary
from bot.ops.views import notice_page
from bot.store import Store
from domain.masking import mask_msisdn
from domain.quiet_hours import quiet_until

# Notices an action leaves (`?done=`); those that say something went wrong are shown as such.
GOOD = frozenset({"started", "sms", "ussd", "cut", "telegram", "clock"})


def notice(request: web.Request) -> dict[str, Any]:
    """The notice a redirect after an action asked for (`done`, and the status a new case reached)."""
    done = request.query.get("done", "")
    status = request.query.get("status", "")
    return {"done": f"done.{done}" if f"done.{done}" in DEV_IDS else "", "done_bad": done not in GOOD,
            "done_status": status if status in PUBLIC_STATUSES else ""}


async def clock_panel(request: web.Request, state: DevPage, dialog_ids: set[str] | None = None) -> dict[str, Any]:
    """The simulated clock, whether quiet hours hold SMS back now, and what fires next (bot timer, decision)."""
    settings, store = request.app[SETTINGS], request.app[STORE]
    now = parse_instant((await state.http.clock())["now"])
    decision = state.decision_due(dialog_ids) or (state.decision_due() if dialog_ids is not None else None)
    return {"now": now, "quiet": quiet_until(now, settings.quiet_start, settings.quiet_end),
            "next_timer": await store.next_timer(), "next_decision": decision}


async def phone_dialogs(store: Store, msisdn: str) -> list[dict[str, Any]]:
    """The phone's dialogs as the console lists them (masked), newest first."""
    return [summary(d) for d in reversed(await store.load_many(await store.phone_dialog_ids(msisdn)))]


async def start_page(request: web.Request, op: Operator) -> web.StreamResponse:
    """GET /ops/dev: start a case for a seeded person or a new one; the phones in play; the clock."""
    return await render_start(request, op)


async def render_start(request: web.Request, op: Operator, *, status: int = 200, refused: list[dict[str, Any]]
                       | None = None) -> web.StreamResponse:
    """The start page (with the problems a registry event was refused for, when it just was)."""
    state, store = request.app[DEV_PAGE], request.app[STORE]
    phones = []
    for memory in reversed(state.phones.values()):
        dialogs = await phone_dialogs(store, memory.msisdn)
        phones.append({"msisdn": memory.msisdn, "who": memory.who, "href": path_of(memory.msisdn),
                       "dialog": dialogs[0] if dialogs else None})
    context: dict[str, Any] = {"lang": op.lang, "phones": phones, "clock": await clock_panel(request, state),
                               "back": "/ops/dev"}
    if request.query.get("fragment"):
        return fragment(request, "dev_fragment.html", op=op, **context)
    return page(request, op, "dev.html", title=dev(op.lang, "page.title"), status=status,
                events=await events_url(store), queue_size=await store.size("attention"), people=PEOPLE,
                fresh_phone=state.fresh_phone(), refused=refused or [],
                telegram=bool(request.app[SETTINGS].telegram_token), **notice(request), **context)


async def phone_page(request: web.Request, op: Operator) -> web.StreamResponse:
    """GET /ops/dev/phones/{msisdn}: the phone's SMS, USSD and Telegram, its dialogs in the console, the clock."""
    msisdn = phone_in_path(request)
    if msisdn is None:
        return notice_page(request, op, "dialog.not_found", status=404, heading=True)
    state, store, settings = request.app[DEV_PAGE], request.app[STORE], request.app[SETTINGS]
    memory = state.memory(msisdn)
    client = state.http
    dialogs = await phone_dialogs(store, msisdn)
    clock = await clock_panel(request, state, {d["dialog_id"] for d in dialogs})
    user = telegram_user(msisdn)
    chat, keyboard = telegram_chat(await client.telegram_messages(user), memory) if settings.telegram_token \
        else ([], [])
    sessions = ussd_sessions(await client.ussd_screens(msisdn), memory, clock["now"])
    here = path_of(msisdn)
    context: dict[str, Any] = {
        "lang": op.lang, "msisdn": msisdn, "masked": mask_msisdn(msisdn), "here": here,
        "sms": sms_thread(await client.inbox(msisdn), memory), "sessions": sessions,
        "open_session": sessions[-1] if sessions and sessions[-1].state == "open" else None,
        "chat": chat, "keyboard": keyboard, "telegram": bool(settings.telegram_token),
        "dialogs": dialogs, "clock": clock, "back": here}
    if request.query.get("fragment"):
        return fragment(request, "phone_fragment.html", op=op, **context)
    return page(request, op, "phone.html", title=f'{dev(op.lang, "phone.title")} {msisdn}',
                events=await events_url(store), queue_size=await store.size("attention"), who=memory.who,
                **notice(request), **context)


async def dialog_phone(request: web.Request, op: Operator) -> web.StreamResponse:
    """GET /ops/dev/dialogs/{dialog_id}: from the console's dialog page to that dialog's phone."""
    dialog = await request.app[STORE].load(request.match_info["dialog_id"])
    if dialog is None:
        return notice_page(request, op, "dialog.not_found", status=404, heading=True)
    raise web.HTTPSeeOther(path_of(dialog.msisdn))


async def to_dev_page(request: web.Request) -> web.StreamResponse:
    """GET /dev: the dev page lives under /ops, where the console's session cookie is sent."""
    raise web.HTTPSeeOther("/ops/dev")
