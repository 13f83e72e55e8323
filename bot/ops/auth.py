"""Who is at the console: the operator token signs in, a signed cookie carries the name, language and CSRF token.

API clients may send `Authorization: Bearer <OPERATOR_TOKEN>` (and `X-Operator: <name>`) instead of the cookie;
they need no CSRF token, since nothing a browser sends on its own carries that header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot.domain.masking import scrub
from bot.http.common import SETTINGS, operator_ok
from bot.logs import CONTROLS
from bot.ops.texts import language

COOKIE = "pb_ops"
SESSION_SECONDS = 12 * 3600
MAX_NAME = 64


@dataclass(frozen=True)
class Operator:
    """A signed-in operator: the name written in the dialog log, the interface language, the session's CSRF token."""

    name: str
    lang: str
    csrf: str | None = None  # None for bearer-token API calls


OperatorHandler = Callable[[web.Request, Operator], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Denied = Callable[[web.Request, str], web.StreamResponse]


def clean_name(text: str | None) -> str | None:
    """An operator's name as the log keeps it: one line, at most 64 characters, no personal data, no control or
    bidi characters (they would forge log lines or reorder them on screen); None if empty."""
    name = scrub(CONTROLS.sub("", re.sub(r"\s+", " ", text or "")).strip())[:MAX_NAME]
    return name or None


def token_matches(request: web.Request, token: str) -> bool:
    """Constant-time comparison with the configured operator token."""
    return hmac.compare_digest(token.encode(), request.app[SETTINGS].operator_token.encode())


def _key(request: web.Request) -> bytes:
    # Derived from the token: a new token signs every session out.
    token = request.app[SETTINGS].operator_token.encode()
    return hmac.new(token, b"proactive-bot ops session", hashlib.sha256).digest()


def _sign(request: web.Request, payload: bytes) -> str:
    return hmac.new(_key(request), payload, hashlib.sha256).hexdigest()


def session_cookie(request: web.Request, name: str, lang: str, csrf: str | None = None) -> str:
    """The cookie value for a signed-in operator."""
    data = {"n": name, "l": language(lang), "c": csrf or secrets.token_urlsafe(24),
            "e": int(time.time()) + SESSION_SECONDS}
    payload = base64.urlsafe_b64encode(json.dumps(data, ensure_ascii=False).encode())
    return f"{payload.decode()}.{_sign(request, payload)}"


def set_session(request: web.Request, response: web.StreamResponse, name: str, lang: str,
                csrf: str | None = None) -> None:
    """Sign the operator in (HttpOnly, SameSite=Strict, only for /ops)."""
    response.set_cookie(COOKIE, session_cookie(request, name, lang, csrf), max_age=SESSION_SECONDS, path="/ops",
                        httponly=True, samesite="Strict", secure=request.secure)


def _from_cookie(request: web.Request) -> Operator | None:
    payload, _, signature = request.cookies.get(COOKIE, "").partition(".")
    if not payload or not hmac.compare_digest(signature.encode(), _sign(request, payload.encode()).encode()):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return None
    if int(data.get("e", 0)) < time.time():
        return None
    return Operator(name=str(data["n"]), lang=language(data.get("l")), csrf=str(data["c"]))


def operator_of(request: web.Request) -> Operator | None:
    """The operator making this request: by bearer token (API) or by session cookie (browser); None if neither."""
    if operator_ok(request):
        lang = language(request.query.get("lang"))
        return Operator(name=clean_name(request.headers.get("X-Operator")) or "api", lang=lang)
    return _from_cookie(request)


def csrf_ok(operator: Operator, sent: str | None) -> bool:
    """A state-changing request from a browser carries its session's CSRF token (API calls need none)."""
    if operator.csrf is None:
        return True
    return sent is not None and hmac.compare_digest(sent.encode(), operator.csrf.encode())


def guarded(denied: Denied) -> Callable[[OperatorHandler], Handler]:
    """Wrap a handler so that it runs only for a signed-in operator; everyone else gets `denied` (a 401)."""

    def wrap(handler: OperatorHandler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            operator = operator_of(request)
            if operator is None:
                return denied(request, "")
            return await handler(request, operator)

        checked.__name__ = handler.__name__
        checked.__doc__ = handler.__doc__
        return checked

    return wrap
