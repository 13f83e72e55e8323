"""POST /v1/events: signed registry events in, dialogs out."""

from __future__ import annotations

from aiohttp import web

from bot.http.common import (
    CLOCK,
    ENGINE,
    SETTINGS,
    check_signature,
    errors,
    parse_json,
    read_body,
    unauthorized,
)
from bot.intake import CancelEvent, parse_event


def _answer(status: int, dialog_id: str, service: str, state: str) -> web.Response:
    return web.json_response({"dialog_id": dialog_id, "service": service, "status": state}, status=status)


async def post_event(request: web.Request) -> web.Response:
    """Validate, deduplicate by event_id, create the dialog and send its first message."""
    settings, engine = request.app[SETTINGS], request.app[ENGINE]
    body = await read_body(request, settings.max_body_bytes)
    if isinstance(body, web.Response):
        return body
    problem = check_signature(request, body, settings.events_secret, request.app[CLOCK],
                              settings.event_clock_skew_seconds)
    if problem:
        return unauthorized(problem)
    data = parse_json(body)
    if isinstance(data, web.Response):
        return data
    # A known event_id answers 200 whatever the body now says: the first post is the record.
    if isinstance(data, dict) and isinstance(data.get("event_id"), str):
        known = await engine.store.event_dialog(data["event_id"])
        if known is not None:
            dialog = await engine.store.load(known)
            if dialog is not None:
                return _answer(200, dialog.dialog_id, dialog.service, dialog.status)
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
