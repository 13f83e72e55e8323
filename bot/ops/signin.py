"""Signing in and out of the console, and switching its language."""

from __future__ import annotations

from aiohttp import web

from bot.ops.auth import COOKIE, Operator, clean_name, csrf_ok, operator_of, set_session, token_matches
from bot.ops.texts import language
from bot.ops.views import login_page


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


async def login_form(request: web.Request) -> web.StreamResponse:
    """GET /ops/login: the form (401, like every console page to someone not signed in)."""
    if operator_of(request) is not None:
        raise web.HTTPSeeOther("/ops")
    return login_page(request.query.get("lang"))


async def login(request: web.Request) -> web.StreamResponse:
    """POST /ops/login {token, name, lang}: the operator token signs in; the name goes into the dialog log."""
    form = await request.post()
    name, lang = clean_name(_text(form.get("name"))), language(_text(form.get("lang")))
    if not token_matches(request, _text(form.get("token"))) or name is None:
        return login_page(lang, error=True)
    response = web.HTTPSeeOther("/ops")
    set_session(request, response, name, lang)
    raise response


async def logout(request: web.Request, op: Operator) -> web.StreamResponse:
    """POST /ops/logout."""
    form = await request.post()
    if not csrf_ok(op, _text(form.get("csrf"))):
        raise web.HTTPForbidden()
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
    response = web.HTTPSeeOther(back)
    set_session(request, response, op.name, _text(form.get("lang")), op.csrf)
    raise response
