"""What every handler shares: typed app keys, error bodies, body reading and signatures."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bot.backends.assignment import signature_ok
from bot.clock import Clock
from bot.engine import Engine
from bot.jobs import JobQueue
from bot.safejson import JsonProblem, loads
from bot.settings import Settings
from bot.store import Store

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
STORE = web.AppKey("store", Store)
CLOCK = web.AppKey("clock", Clock)
JOBS = web.AppKey("jobs", JobQueue)


async def run_or_queued(request: web.Request, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The job's result; None when it is queued: not done in time, or waiting for a phone a dead worker locked,
    or failed and kept in the dead letters for an operator (what arrived is kept each time, so the sender need
    not post it again)."""
    return await request.app[JOBS].run_or_queued(kind, payload)


def errors(status: int, *items: tuple[str, str, str]) -> web.Response:
    """A 4xx body in the one shape every endpoint uses: {"errors": [{"field", "code", "message"}]}."""
    body = {"errors": [{"field": f, "code": c, "message": m} for f, c, m in items]}
    return web.json_response(body, status=status)


def unauthorized(message: str) -> web.Response:
    return errors(401, ("$", "unauthorized", message))


async def read_body(request: web.Request, limit: int) -> bytes | web.Response:
    """The raw body, or a 413 when it is over `limit` bytes (checked while reading, not trusted from headers)."""
    if request.content_length is not None and request.content_length > limit:
        return errors(413, ("$", "too_large", f"the body must be at most {limit} bytes"))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(16384):
        size += len(chunk)
        if size > limit:
            return errors(413, ("$", "too_large", f"the body must be at most {limit} bytes"))
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any | web.Response:
    """Parsed JSON, or a 422 naming the problem (hostile bodies too: see bot/safejson.py)."""
    try:
        return loads(body)
    except JsonProblem as problem:
        return errors(422, (problem.field, problem.code, str(problem)))


_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # not int(): it takes "²"-free Unicode digits, "1_0" and spaces
_SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")


def signature_problem(request: web.Request, body: bytes, secret: str) -> str | None:
    """None when `X-Timestamp`/`X-Signature` are present, well-formed and match the body (freshness aside)."""
    timestamp = request.headers.get("X-Timestamp", "")
    signature = request.headers.get("X-Signature", "")
    if not timestamp or not signature:
        return "X-Timestamp and X-Signature are required"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "X-Timestamp must be unix seconds"
    # Checked before the comparison: a malformed header is named as such (401), whatever bytes it carries.
    if not _SIGNATURE.fullmatch(signature):
        return "X-Signature must be sha256=<64 lowercase hex digits>"
    if not signature_ok(secret, timestamp, body, signature):
        return "X-Signature does not match"
    return None


def timestamp_problem(request: web.Request, clock: Clock, window: int) -> str | None:
    """None when the (well-formed) `X-Timestamp` is within `window` seconds of the bot's clock."""
    if abs(clock.now().timestamp() - int(request.headers["X-Timestamp"])) > window:
        return f"X-Timestamp is more than {window} s from the bot's clock"
    return None


def check_signature(request: web.Request, body: bytes, secret: str, clock: Clock, window: int) -> str | None:
    """None when `X-Timestamp`/`X-Signature` are right and fresh; else why not."""
    return signature_problem(request, body, secret) or timestamp_problem(request, clock, window)
