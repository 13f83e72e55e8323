"""Who is at the console: the operator token signs in; the cookie holds a random session id, the session is in Redis.

API clients may send `Authorization: Bearer <OPERATOR_TOKEN>` (and `X-Operator: <name>`) instead of the cookie;
they need no CSRF token, since nothing a browser sends on its own carries that header. Failed sign-ins and
Bearer calls are counted per client address and per name, and answered 429 with backoff (bot/ops/sessions.py).
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot.http.common import SETTINGS, errors, unauthorized
from bot.http.gateway_auth import GATEWAYS, source_address
from bot.logs import CONTROLS
from bot.ops.sessions import OperatorState
from bot.ops.texts import language
from bot.settings import Settings
from domain.masking import scrub

log = logging.getLogger("bot.ops")
COOKIE = "pb_ops"
MAX_NAME = 64
OPERATORS = web.AppKey("ops_state", OperatorState)
HSTS = "max-age=31536000; includeSubDomains"


@dataclass(frozen=True)
class Operator:
    """A signed-in operator: the name written in the dialog log, the interface language, the session's CSRF token."""

    name: str
    lang: str
    csrf: str | None = None  # None for bearer-token API calls
    session: str | None = None  # the session id (None for bearer-token API calls)
    named: bool = True  # False for a Bearer call without X-Operator (logged as "api")


OperatorHandler = Callable[[web.Request, Operator], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Denied = Callable[[web.Request, str], web.StreamResponse]


def clean_name(text: str | None) -> str | None:
    """An operator's name as the log keeps it: one line, at most 64 characters, no personal data, no control or
    bidi characters (they would forge log lines or reorder them on screen); None if empty."""
    # A header's bytes that are not UTF-8 arrive as lone surrogates: replaced, so the name can be stored and shown.
    text = (text or "").encode("utf-8", "replace").decode("utf-8")
    name = scrub(CONTROLS.sub("", re.sub(r"\s+", " ", text)).strip())[:MAX_NAME]
    return name or None


def token_matches(settings: Settings, token: str) -> bool:
    """Constant-time comparison (over bytes) with the configured operator token; an empty one matches nothing."""
    expected = settings.operator_token.encode()
    return bool(expected) and hmac.compare_digest(token.encode("utf-8", "surrogatepass"), expected)


def secure(request: web.Request) -> bool:
    """Whether cookies get `Secure` and answers HSTS: the public URL is https, a setting says so, or TLS is direct."""
    settings = request.config_dict[SETTINGS]  # (sub-applications such as the dev mocks answer too)
    return settings.ops_secure_cookies or settings.public_url.startswith("https://") or request.secure


def client_address(request: web.Request) -> str:
    """The address failures are counted against: the peer, or behind a proxy in TRUSTED_PROXIES the address that
    proxy saw (the gateways' rule, bot/http/gateway_auth.py), so one office's failures do not throttle another's."""
    address = source_address(request, request.app[GATEWAYS].trusted_proxies)
    return str(address) if address is not None else request.remote or "unknown"


def set_session(request: web.Request, response: web.StreamResponse, session_id: str) -> None:
    """Sign the operator in (HttpOnly, SameSite=Strict, only for /ops; Secure behind https)."""
    response.set_cookie(COOKIE, session_id, max_age=request.app[SETTINGS].ops_session_max_seconds, path="/ops",
                        httponly=True, samesite="Strict", secure=secure(request))


def too_many(wait: int, answer: web.StreamResponse | None = None) -> web.StreamResponse:
    """429 with Retry-After (the given answer, or the JSON error shape)."""
    response = answer if answer is not None else errors(
        429, ("$", "throttled", f"too many failed attempts; retry in {wait} s"))
    response.set_status(429)
    response.headers["Retry-After"] = str(max(1, wait))
    return response


async def _from_cookie(request: web.Request) -> Operator | None:
    session_id = request.cookies.get(COOKIE, "")
    if not session_id:
        return None
    session = await request.app[OPERATORS].find(session_id)
    if session is None:
        return None
    return Operator(name=session.name, lang=language(session.lang), csrf=session.csrf, session=session.session_id)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else None


async def operator_of(request: web.Request) -> Operator | web.StreamResponse | None:
    """The operator making this request: by bearer token (API) or by session (browser); None if neither;
    a 429 while this address is throttled for failing too often, or for a wrong token past the name's free tries."""
    token = _bearer(request)
    if token is None:
        return await _from_cookie(request)
    state, name = request.app[OPERATORS], clean_name(request.headers.get("X-Operator"))
    address = client_address(request)
    if wait := await state.wait_seconds(address, None):  # the address only: see signin.login
        log.warning("ops bearer refused: throttled for %s s (address %s, operator %s)", wait, address, name or "-")
        return too_many(wait)
    if not token_matches(request.app[SETTINGS], token):
        wait = await state.failed(address, name)
        log.warning("ops bearer failed: wrong token (address %s, operator %s)", address, name or "-")
        return too_many(wait) if wait else None
    return Operator(name=name or "api", lang=language(request.query.get("lang")), named=name is not None)


async def bearer_refusal(request: web.Request, message: str) -> web.StreamResponse | None:
    """None when the request carries the right operator Bearer token; else its 401 (or 429 while throttled).

    For routes outside the console that take the operator token (/v1/dialogs): their failures count too."""
    if _bearer(request) is None:
        return unauthorized(message)
    found = await operator_of(request)
    if isinstance(found, Operator):
        return None
    return found if found is not None else unauthorized(message)


def csrf_ok(operator: Operator, sent: str | None) -> bool:
    """A state-changing request from a browser carries its session's CSRF token (API calls need none)."""
    if operator.csrf is None:
        return True
    return sent is not None and hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), operator.csrf.encode())


def guarded(denied: Denied) -> Callable[[OperatorHandler], Handler]:
    """Wrap a handler so that it runs only for a signed-in operator; everyone else gets `denied` (a 401)."""

    def wrap(handler: OperatorHandler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            operator = await operator_of(request)
            if operator is None:
                return denied(request, "")
            if not isinstance(operator, Operator):
                return operator  # throttled
            return await handler(request, operator)

        checked.__name__ = handler.__name__
        checked.__doc__ = handler.__doc__
        return checked

    return wrap
