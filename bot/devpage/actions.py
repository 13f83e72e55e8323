"""What the dev page's buttons do: a registry event, a phone's SMS, USSD or Telegram action, a clock move.

Each is a console form (the session's CSRF token checked first) answered with a redirect back to its page.
The page acts only through the mocks' HTTP API, as a registry or a phone would; log lines mask the phone.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from multidict import MultiDictProxy

from bot.clock import ALMATY, parse_instant
from bot.devpage.pages import render_start
from bot.devpage.people import BY_KEY, KINDS, NewPerson, new_person_case, registry_of, seeded_event
from bot.devpage.phone import Said, path_of, telegram_user
from bot.devpage.state import DEV_PAGE, DevPage, phone_in_path, registry_secret
from bot.http.common import SETTINGS, STORE
from bot.ops.auth import OPERATORS, Operator, csrf_ok
from bot.ops.views import notice_page
from domain.masking import mask_msisdn
from domain.phone import PhoneError, parse_msisdn

log = logging.getLogger("bot.devpage")
MAX_TEXT = 1000  # an SMS or Telegram message typed on the page (the mocks take more; nobody types that much)
USSD_FAILURES = frozenset({"no_session", "session_timed_out", "phone_unreachable", "unknown_service",
                           "invalid_dial_string"})
TELEGRAM_ACTIONS = ("start", "text", "contact", "press")
MOVES = {"hour": 3600, "day": 24 * 3600}
MORNING = dt.time(9, 0)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


async def _form(request: web.Request, op: Operator) -> MultiDictProxy[Any] | web.Response:
    """The posted form, or the console's 403 page when it lacks the session's CSRF token."""
    form = await request.post()
    if not csrf_ok(op, _text(form.get("csrf")) or None):
        return notice_page(request, op, "action.csrf", status=403)
    return form


# After an action the page comes back focused where the user was working: a URL fragment naming a form field or
# button is scrolled to and focused by the browser itself (a script's focus would be undone by that fragment step).
FOCUS = {"sms": "sms-text", "ussd": "ussd-input", "telegram": "tg-text", "clock": "clock-hour"}


def _back(path: str, done: str, panel: str, **extra: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{path}?{urlencode({'done': done, **extra})}#{FOCUS[panel]}")


async def _now(state: DevPage) -> str:
    return str((await state.http.clock())["now"])


# ---- start a case --------------------------------------------------------------------------------------------


async def start_case(request: web.Request, op: Operator) -> web.StreamResponse:
    """POST /ops/dev/cases {person: <key>|new, kind: birth|disability, …}: the event a registry would send, signed
    with that registry's secret and posted to /v1/events; then the phone it went to."""
    form = await _form(request, op)
    if isinstance(form, web.Response):
        return form
    state, kind, who = request.app[DEV_PAGE], _text(form.get("kind")), _text(form.get("person"))
    if kind not in KINDS:
        return await render_start(request, op, status=422, refused=[{"field": "kind", "code": "invalid"}])
    now = await _now(state)
    if who == "new":
        try:
            msisdn = parse_msisdn(_text(form.get("msisdn"))).e164
        except PhoneError as error:
            return await render_start(request, op, status=422, refused=[{"field": "msisdn", "code": error.code}])
        language = _text(form.get("language"))
        new = NewPerson(msisdn, language if language in ("kk", "ru") else None,
                        account=form.get("account") == "yes", twins="twins" in form,
                        group1=form.get("disability") == "group1", since_childhood="since_childhood" in form,
                        first="first" in form, social_assistant="social_assistant" in form,
                        caregiver_changes="caregiver_changes" in form, other_district="other_district" in form)
        records, event = new_person_case(new, kind, now, state.rng)
        for record in records:
            await state.http.egov_person(record)
        key = ""
    elif (person := BY_KEY.get(who)) is not None:
        msisdn, key, event = person.msisdn, person.key, seeded_event(person, kind, now, state.rng)
    else:
        return await render_start(request, op, status=422, refused=[{"field": "person", "code": "invalid"}])
    secret = registry_secret(request.app[SETTINGS], registry_of(kind))
    status, answer = await state.http.post_event(event, secret=secret)
    log.info("dev page: operator %s sent a %s event for %s: %s %s", op.name, kind, mask_msisdn(msisdn), status,
             answer.get("status", "") if isinstance(answer, dict) else "")
    if status not in (200, 202) or not isinstance(answer, dict):
        errors = answer.get("errors", []) if isinstance(answer, dict) else []
        return await render_start(request, op, status=422, refused=errors or [{"field": "$", "code": str(status)}])
    state.memory(msisdn, key)
    raise _back(path_of(msisdn), "started", "sms", status=str(answer.get("status", "")))


# ---- the phone -----------------------------------------------------------------------------------------------


async def _phone(request: web.Request, op: Operator) -> tuple[str, MultiDictProxy[Any]] | web.Response:
    """The phone in the path and the posted form (or the answer that refuses them)."""
    form = await _form(request, op)
    if isinstance(form, web.Response):
        return form
    msisdn = phone_in_path(request)
    if msisdn is None:
        return notice_page(request, op, "dialog.not_found", status=404, heading=True)
    return msisdn, form


async def phone_sms(request: web.Request, op: Operator) -> web.StreamResponse:
    """POST /ops/dev/phones/{msisdn}/sms {text}: the phone sends an SMS to 1414 (answered once the bot has)."""
    found = await _phone(request, op)
    if isinstance(found, web.Response):
        return found
    msisdn, form = found
    state, text = request.app[DEV_PAGE], _text(form.get("text"))[:MAX_TEXT]
    if not text:
        raise _back(path_of(msisdn), "sms_failed", "sms")
    received, now = len(await state.http.inbox(msisdn)), await _now(state)
    status = await state.http.phone_says(msisdn, text)
    log.info("dev page: operator %s: %s sent an SMS to 1414: %s", op.name, mask_msisdn(msisdn), status)
    if status != 202:
        raise _back(path_of(msisdn), "sms_failed", "sms")
    state.memory(msisdn).sms.append(Said(received, text, now))
    raise _back(path_of(msisdn), "sms", "sms")


async def phone_ussd(request: web.Request, op: Operator) -> web.StreamResponse:
    """POST /ops/dev/phones/{msisdn}/ussd {input | dial}: dial (`*1414#`: the dial button, or nothing typed), or
    send what was typed (an input in the open session, or another dial string)."""
    found = await _phone(request, op)
    if isinstance(found, web.Response):
        return found
    msisdn, form = found
    state = request.app[DEV_PAGE]
    entry = "*1414#" if "dial" in form else _text(form.get("input"))[:182] or "*1414#"
    status, answer = await state.http.ussd(msisdn, entry)
    code = answer.get("error", "") if isinstance(answer, dict) else ""
    log.info("dev page: operator %s: %s USSD %s: %s %s", op.name, mask_msisdn(msisdn),
             "dial" if entry.startswith("*") else "input", status, code)
    done = "ussd" if status == 200 else f"ussd_{code}" if code in USSD_FAILURES else "ussd_failed"
    raise _back(path_of(msisdn), done, "ussd")


async def phone_ussd_cut(request: web.Request, op: Operator) -> web.StreamResponse:
    """POST /ops/dev/phones/{msisdn}/ussd/cut: the network drops the phone's USSD session (the bot is not told)."""
    found = await _phone(request, op)
    if isinstance(found, web.Response):
        return found
    msisdn, _ = found
    state = request.app[DEV_PAGE]
    dropped = await state.http.ussd_cut(msisdn)
    if dropped is not None:
        state.memory(msisdn).cuts.add(dropped)
    log.info("dev page: operator %s: the network cut %s's USSD session", op.name, mask_msisdn(msisdn))
    raise _back(path_of(msisdn), "cut" if dropped else "cut_none", "ussd")


async def phone_telegram(request: web.Request, op: Operator) -> web.StreamResponse:
    """POST /ops/dev/phones/{msisdn}/telegram/{start|text|contact|press}: the phone's owner in Telegram opens the
    bot, types, shares their own contact card, or taps an inline button (`data` on `message_id`)."""
    found = await _phone(request, op)
    if isinstance(found, web.Response):
        return found
    msisdn, form = found
    action, state = request.match_info["action"], request.app[DEV_PAGE]
    if action not in TELEGRAM_ACTIONS or not request.app[SETTINGS].telegram_token:
        raise web.HTTPNotFound()
    user, client = telegram_user(msisdn), state.http
    messages = await client.telegram_messages(user)
    before, now = len(messages), await _now(state)
    if action == "start":
        said = Said(before, "/start", now, "start")
        status, answer = await client.telegram_start(user, op.lang)
    elif action == "contact":
        said = Said(before, msisdn, now, "contact")
        status, answer = await client.telegram_shares(user, msisdn)
    elif action == "press":
        data, message_id = _text(form.get("data")), _text(form.get("message_id"))
        shown = [b["text"] for m in messages if str(m["message_id"]) == message_id
                 for row in m["buttons"] for b in row if b["data"] == data]
        said = Said(before, shown[0] if shown else data, now, "press")
        body: dict[str, Any] = {"data": data, **({"message_id": int(message_id)} if message_id.isdigit() else {})}
        status, answer = await client.telegram(user, "press", body)
    else:
        text = _text(form.get("text"))[:MAX_TEXT]
        if not text:
            raise _back(path_of(msisdn), "telegram_failed", "telegram")
        said = Said(before, text, now)
        status, answer = await client.telegram_says(user, text)
    log.info("dev page: operator %s: %s's Telegram user %s: %s", op.name, mask_msisdn(msisdn), action, status)
    if status != 200 or not isinstance(answer, dict):
        raise _back(path_of(msisdn), "telegram_no_button" if status == 409 else "telegram_failed", "telegram")
    memory = state.memory(msisdn)
    memory.telegram.append(said)
    after = before + len(answer.get("replies", []))
    memory.telegram.extend(Said(after, a["text"], a.get("at", now), "popup")
                           for a in answer.get("answers", []) if a.get("text"))
    raise _back(path_of(msisdn), "telegram", "telegram")


# ---- time ----------------------------------------------------------------------------------------------------


def _next_morning(now: dt.datetime) -> dt.datetime:
    """The next 09:00 in Kazakhstan after `now` (tomorrow's, unless it is still night before today's)."""
    local = now.astimezone(ALMATY)
    morning = dt.datetime.combine(local.date(), MORNING, tzinfo=ALMATY)
    return morning if morning > local else morning + dt.timedelta(days=1)


async def move_clock(request: web.Request, op: Operator) -> web.StreamResponse:
    """POST /ops/dev/clock {move: hour|day|morning|decision, phone?, back}: move the simulated clock forwards; it
    answers once every timer due on the way (reminders, expiries, held SMS, the backend's decisions) has fired.

    Console sessions count idle time on that clock: the operator's own session is carried over the jump."""
    form = await _form(request, op)
    if isinstance(form, web.Response):
        return form
    state, move = request.app[DEV_PAGE], _text(form.get("move"))
    back = urlsplit(_text(form.get("back"))).path
    if not back.startswith("/ops/dev") or back.startswith("//"):
        back = "/ops/dev"
    now = parse_instant(await _now(state))
    if move in MOVES:
        target = now + dt.timedelta(seconds=MOVES[move])
    elif move == "morning":
        target = _next_morning(now)
    elif move == "decision":
        due = await _decision(request, state, _text(form.get("phone")))
        if due is None:
            raise _back(back, "no_decision", "clock")
        target = max(due, now)
    else:
        raise _back(back, "clock_failed", "clock")
    if op.session is not None:  # before the move: the live parts refresh while its timers fire
        await request.app[OPERATORS].carry_over(op.session, (target - now).total_seconds())
    status, _ = await state.http.set_clock(target.isoformat())
    log.info("dev page: operator %s moved the clock (%s) to %s: %s", op.name, move, target.isoformat(), status)
    raise _back(back, "clock" if status == 200 else "clock_failed", "clock")


async def _decision(request: web.Request, state: DevPage, phone: str) -> dt.datetime | None:
    """When the backend decides next: this phone's application when it has one pending, else anyone's."""
    try:
        msisdn = parse_msisdn(phone).e164 if phone else None
    except PhoneError:
        msisdn = None
    if msisdn is not None:
        ids = set(await request.app[STORE].phone_dialog_ids(msisdn))
        if (due := state.decision_due(ids)) is not None:
            return due
    return state.decision_due()
