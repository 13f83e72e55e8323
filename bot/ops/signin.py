"""Signing in and out of the console, and switching its language."""

from __future__ import annotations

import logging
import re

from aiohttp import web

from bot.http.common import SETTINGS
from bot.ops.auth import (
    COOKIE,
    OPERATORS,
    Operator,
    clean_name,
    client_address,
    csrf_ok,
    operator_of,
    set_session,
    token_matches,
    too_many,
)
from bot.ops.sse import end_session_streams
from bot.ops.texts import language
from bot.ops.views import login_page

log = logging.getLogger("bot.ops")
# Where a sign-in may return: a console page of this server (path and query, no scheme, host or whitespace).
_BACK = re.compile(r"/ops(?:/[^\s\\?#]*)?(?:\?[^\s\\#]*)?")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


async def login_form(request: web.Request) -> web.StreamResponse:
    """GET /ops/login: the form (401, like every console page to someone not signed in)."""
    if isinstance(await operator_of(request), Operator):
        raise web.HTTPSeeOther("/ops")
    return login_page(request, request.query.get("lang"))


async def login(request: web.Request) -> web.StreamResponse:
    """POST /ops/login {token, name, lang}: the operator token signs in; the name goes into the dialog log.

    Failures are counted per client address and per name; past a few, each further wrong token is a 429 and the
    address waits longer each time (a name never refuses the right token)."""
    form = await request.post()
    name, lang = clean_name(_text(form.get("name"))), language(_text(form.get("lang")))
    state, address = request.app[OPERATORS], client_address(request)
    # Only the address can refuse the right token: a name is anyone's to type, and its throttle would let a stranger
    # lock a colleague out. A guesser is held by its address; a name's failures answer wrong tokens with a 429.
    if wait := await state.wait_seconds(address, None):
        log.warning("ops sign-in refused: throttled for %s s (address %s, operator %s)", wait, address, name or "-")
        return too_many(wait, login_page(request, lang, error="login.throttled"))
    if not token_matches(request.app[SETTINGS], _text(form.get("token"))):
        wait = await state.failed(address, name)
        log.warning("ops sign-in failed: wrong token (address %s, operator %s)", address, name or "-")
        page = login_page(request, lang, error="login.throttled" if wait else "login.failed")
        return too_many(wait, page) if wait else page
    if name is None:
        return login_page(request, lang, error="login.failed")
    await state.succeeded(address, name)
    session = await state.open(name, lang)
    log.info("ops sign-in: operator %s", name)
    back = _text(form.get("back"))
    response = web.HTTPSeeOther(back if _BACK.fullmatch(back) and not back.startswith("/ops/login") else "/ops")
    set_session(request, response, session.session_id)
    raise response


async def logout(request: web.Request, op: Operator) -> web.StreamResponse:
    """POST /ops/logout: the session is deleted on the server (a saved cookie no longer works)."""
    form = await request.post()
    if not csrf_ok(op, _text(form.get("csrf"))):
        raise web.HTTPForbidden()
    if op.session is not None:
        await request.app[OPERATORS].close(op.session)
        end_session_streams(request.app, op.session)
    response = web.HTTPSeeOther("/ops/login")
    response.del_cookie(COOKIE, path="/ops")
    raise response


async def switch_language(request: web.Request, op: Operator) -> web.StreamResponse:
    """POST /ops/lang {lang, back}: the console in Kazakh or Russian, back on the same page."""
    form = await request.post()
    if not csrf_ok(op, _text(form.get("csrf"))):
        raise web.HTTPForbidden()
    back = _text(form.get("back"))
    if not back.startswith("/ops") or back.startswith("//"):
        back = "/ops"
    if op.session is not None:
        await request.app[OPERATORS].set_language(op.session, language(_text(form.get("lang"))))
    raise web.HTTPSeeOther(back)
