"""What every mock shares: JSON bodies, field errors, instants, identifiers, and the HTTP client."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import aiohttp
from aiohttp import web

from bot.clock import ALMATY

IIN_RE = re.compile(r"[0-9]{12}")  # not \d: it would accept other Unicode digits
_MSISDN_RE = re.compile(r"[0-9]{8,15}")
_IBAN_RE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


def iso(instant: dt.datetime) -> str:
    """An instant as ISO 8601 in Kazakhstan time (+05:00), the way every mock shows it."""
    return instant.astimezone(ALMATY).isoformat()


def json_response(payload: Any, status: int = 200) -> web.Response:
    """A JSON answer that keeps Kazakh and Russian letters readable."""
    return web.json_response(payload, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


def error_response(status: int, error: str, /, **extra: Any) -> web.Response:
    """`{"error": code, ...}` with the given status."""
    return json_response({"error": error, **extra}, status=status)


class FieldErrors:
    """Collects every problem with a request body; raises one 422 listing them all."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.items.append({"field": field, "code": code, "message": message})

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise unprocessable(self.items)


def unprocessable(items: list[dict[str, str]]) -> web.HTTPUnprocessableEntity:
    """The 422 `{"errors": [{"field", "code", "message"}]}` answer as an exception to raise."""
    body = json.dumps({"errors": items}, ensure_ascii=False)
    return web.HTTPUnprocessableEntity(text=body, content_type="application/json")


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 422 saying why it is not one."""
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise unprocessable([{"field": "", "code": "invalid_json", "message": "body is not JSON"}]) from None
    if not isinstance(body, dict):
        raise unprocessable([{"field": "", "code": "not_object", "message": "body must be a JSON object"}])
    return body


def required_str(body: Mapping[str, Any], field: str, errors: FieldErrors, *, max_len: int = 10_000) -> str:
    """`body[field]` when it is a non-empty string of at most `max_len` characters; else records why."""
    value = body.get(field)
    if value is None:
        errors.add(field, "required", f"{field} is required")
    elif not isinstance(value, str):
        errors.add(field, "type", f"{field} must be a string")
    elif not value or len(value) > max_len:
        errors.add(field, "length", f"{field} must be 1 to {max_len} characters")
    else:
        return value
    return ""


def check_iin(value: Any, field: str, errors: FieldErrors) -> str:
    """`value` when it is a 12-digit IIN; else records an error (the mocks check the shape only)."""
    if isinstance(value, str) and IIN_RE.fullmatch(value):
        return value
    errors.add(field, "invalid_iin", f"{field} must be an IIN of 12 digits")
    return ""


def normalise_msisdn(raw: str) -> str | None:
    """`+7701…` from `7701…`, `+7701…` or `%2B7701…`; None when it is not an E.164 number."""
    text = unquote(raw).strip()
    digits = text[1:] if text.startswith("+") else text
    return f"+{digits}" if _MSISDN_RE.fullmatch(digits) else None


def iban_valid(value: str) -> bool:
    """True for an IBAN in compact upper-case form whose mod-97 check digits agree."""
    if not _IBAN_RE.fullmatch(value):
        return False
    rearranged = value[4:] + value[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`, the backend's signature header."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: str, now: dt.datetime, body: bytes) -> dict[str, str]:
    """`X-Timestamp` and `X-Signature` for a post to the bot, as every signing gateway sends them."""
    timestamp = int(now.timestamp())
    return {"X-Timestamp": str(timestamp), "X-Signature": sign(secret, timestamp, body)}


def dump(payload: Any) -> bytes:
    """The raw JSON bytes the mocks send (UTF-8, compact), the same bytes that get signed."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class OutboundError(Exception):
    """The bot could not be reached (connection refused, timeout, app not started)."""


class Outbound:
    """The one HTTP client the mocks use to call the bot; its session lives in the app's cleanup_ctx."""

    def __init__(self, timeout_seconds: float = 30) -> None:
        self.session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def post(self, url: str, body: bytes, headers: Mapping[str, str] | None = None) -> tuple[int, str]:
        """POST JSON bytes; the status and text of the answer, or OutboundError."""
        if self.session is None or self.session.closed:
            raise OutboundError("the mocks app is not running")
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        try:
            async with self.session.post(url, data=body, headers=all_headers, timeout=self._timeout) as resp:
                return resp.status, await resp.text()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise OutboundError(f"{type(exc).__name__}: {exc}".strip()) from exc
