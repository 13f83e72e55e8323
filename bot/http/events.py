"""POST /v1/events: signed registry events in, dialogs out."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.engine import Engine
from bot.http.common import (
    CLOCK,
    ENGINE,
    SETTINGS,
    errors,
    parse_json,
    read_body,
    signature_problem,
    timestamp_problem,
    unauthorized,
)
from bot.intake import CancelEvent, parse_event


def _answer(status: int, dialog_id: str, service: str, state: str) -> web.Response:
    return web.json_response({"dialog_id": dialog_id, "service": service, "status": state}, status=status)


async def _known(engine: Engine, data: Any) -> web.Response | None:
    """The 200 answer for an event_id seen before, else None."""
    if not isinstance(data, dict) or not isinstance(data.get("event_id"), str):
        return None
    known = await engine.store.event_dialog(data["event_id"])
    dialog = await engine.store.load(known) if known is not None else None
    if dialog is None:
        return None
    return _answer(200, dialog.dialog_id, dialog.service, dialog.status)


async def post_event(request: web.Request) -> web.Response:
    """Validate, deduplicate by event_id, create the dialog and send its first message."""
    settings, engine = request.app[SETTINGS], request.app[ENGINE]
    body = await read_body(request, settings.max_body_bytes)
    if isinstance(body, web.Response):
        return body
    problem = signature_problem(request, body, settings.events_secret)
    if problem:
        return unauthorized(problem)
    stale = timestamp_problem(request, request.app[CLOCK], settings.event_clock_skew_seconds)
    data = parse_json(body)
    # A known event_id answers 200 whatever the body now says: the first post is the record. A validly
    # signed re-post of it is never 401, not even an identical one replayed after the window (CONTRACT.md):
    # idempotency is the replay protection, so only events not seen before must be fresh.
    known = None if isinstance(data, web.Response) else await _known(engine, data)
    if known is not None:
        return known
    if stale:
        return unauthorized(stale)
    if isinstance(data, web.Response):
        return data
    event, problems = parse_event(data)
    if event is None:
        return errors(422, *[(p.field, p.code, p.message) for p in problems])
    if isinstance(event, CancelEvent):
        outcome, dialog = await engine.cancel(event.event_id, event.cancels)
        if dialog is None:
            return errors(404, ("cancels", "unknown_event", f"no event {event.cancels!r} is known"))
        return _answer(202 if outcome == "cancelled" else 200, dialog.dialog_id, dialog.service, dialog.status)
    created, dialog = await engine.intake(event)
    return _answer(202 if created else 200, dialog.dialog_id, dialog.service, dialog.status)
