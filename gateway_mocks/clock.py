"""The simulated clock over HTTP: read it, move it forwards, and every timer due on the way fires."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, NoReturn

from aiohttp import web

from bot.clock import ClockMovedBackwards, SimClock, parse_instant

from .common import error_response, iso, json_object, json_response, unprocessable

# A year: far enough for any scenario, near enough that a typo (seconds for milliseconds) is caught.
MAX_ADVANCE_SECONDS = 366 * 24 * 3600


class ClockApi:
    """`GET /clock` and `POST /clock` over one SimClock."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/clock", self.get), web.post("/clock", self.move)]

    async def get(self, request: web.Request) -> web.Response:
        return json_response({"now": iso(self.clock.now())})

    async def move(self, request: web.Request) -> web.Response:
        target = _target(await json_object(request), self.clock.now())
        try:
            now = await self.clock.move_to(target)
        except ClockMovedBackwards as exc:
            return error_response(409, "clock_moved_backwards", message=str(exc), now=iso(self.clock.now()))
        return json_response({"now": iso(now)})


def _target(body: dict[str, Any], now: dt.datetime) -> dt.datetime:
    """The instant a `POST /clock` body asks for, or a 422 saying what is wrong with it."""
    if ("now" in body) == ("advance_seconds" in body):
        _fail("now", "exactly_one", "give either now or advance_seconds, not both or neither")
    if "now" in body:
        value = body["now"]
        if not isinstance(value, str):
            _fail("now", "type", "now must be an ISO 8601 string with an offset")
        try:
            return parse_instant(value)
        except ValueError as exc:
            _fail("now", "invalid_instant", f"now must be ISO 8601 with an offset: {exc}")
    seconds = body["advance_seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        _fail("advance_seconds", "type", "advance_seconds must be a number of seconds")
    if seconds > MAX_ADVANCE_SECONDS:
        _fail("advance_seconds", "too_large", f"advance_seconds may be at most {MAX_ADVANCE_SECONDS}")
    # A negative advance is a move backwards: SimClock refuses it with 409 like an earlier `now`.
    return now + dt.timedelta(seconds=seconds)


def _fail(field: str, code: str, message: str) -> NoReturn:
    raise unprocessable([{"field": field, "code": code, "message": message}])
