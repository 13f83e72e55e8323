"""POST /v1/events: signed registry events in, dialogs out."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp import web

from bot.engine import Engine
from bot.http.common import (
    CLOCK,
    ENGINE,
    JOBS,
    SETTINGS,
    errors,
    parse_json,
    read_body,
    run_or_queued,
    signature_problem,
    timestamp_problem,
    unauthorized,
)
from bot.intake import CancelEvent, parse_event
from bot.settings import Settings
from bot.store import dialog_shard
from bot.work import event_payload


def _answer(status: int, dialog_id: str, service: str, state: str) -> web.Response:
    return web.json_response({"dialog_id": dialog_id, "service": service, "status": state}, status=status)


async def _known(engine: Engine, data: Any) -> web.Response | str | None:
    """For an event_id seen before: the 200 answer, or the id its dialog is being created under; else None."""
    if not isinstance(data, dict) or not isinstance(data.get("event_id"), str):
        return None
    known = await engine.store.event_dialog(data["event_id"])
    if known is None:
        return None
    dialog = await engine.store.load(known)
    if dialog is None:
        return known  # its job is queued or was cut short: this post finishes it under the same id
    return _answer(200, dialog.dialog_id, dialog.service, dialog.status)


def _registry(request: web.Request, body: bytes, settings: Settings) -> tuple[str | None, str | None]:
    """(the registry whose secret signed the body, None) — the registry is None with one shared secret — or
    (None, why the signature is not right)."""
    if not settings.events_secrets:
        return None, signature_problem(request, body, settings.events_secret)
    problems = {name: signature_problem(request, body, secret) for name, secret in settings.events_secrets}
    signer = next((name for name, problem in problems.items() if problem is None), None)
    return (signer, None) if signer is not None else (None, next(iter(problems.values())))


def _same_shard(engine: Engine, dialog_id: str, msisdn: str) -> bool:
    """Whether a dialog id claimed by an earlier post can be finished for this post's phone (one slot)."""
    try:
        return dialog_shard(dialog_id) == engine.store.keys.shard_of(msisdn)
    except ValueError:
        return False


async def post_event(request: web.Request) -> web.Response:
    """Validate, deduplicate by event_id, and queue the event; answered once its dialog has started."""
    settings, engine, jobs = request.app[SETTINGS], request.app[ENGINE], request.app[JOBS]
    body = await read_body(request, settings.max_body_bytes)
    if isinstance(body, web.Response):
        return body
    registry, problem = _registry(request, body, settings)
    if problem:
        return unauthorized(problem)
    stale = timestamp_problem(request, request.app[CLOCK], settings.event_clock_skew_seconds)
    data = parse_json(body)
    # A known event_id answers 200 whatever the body now says: the first post is the record. A validly
    # signed re-post of it is never 401, not even an identical one replayed after the window (CONTRACT.md):
    # idempotency is the replay protection, so only events not seen before must be fresh.
    known = None if isinstance(data, web.Response) else await _known(engine, data)
    if isinstance(known, web.Response):
        return known
    if stale:
        return unauthorized(stale)
    if isinstance(data, web.Response):
        return data
    event, problems = parse_event(data)
    if event is None:
        return errors(422, *[(p.field, p.code, p.message) for p in problems])
    if isinstance(event, CancelEvent):
        done = await jobs.run("cancel", {"event_id": event.event_id, "cancels": event.cancels, "registry": registry})
        if done is None:
            return errors(503, ("$", "busy", "the correction is queued; post it again to learn its outcome"))
        if "dialog_id" not in done:
            return errors(404, ("cancels", "unknown_event", f"no event {event.cancels!r} is known"))
        if done["outcome"] == "other_registry":
            return errors(403, ("cancels", "other_registry", "only the registry that sent an event may cancel it"))
        return _answer(202 if done["outcome"] == "cancelled" else 200, done["dialog_id"], done["service"],
                       done["status"])
    dialog_id = known if known is not None and _same_shard(engine, known, event.msisdn) \
        else engine.store.new_dialog_id(event.msisdn)
    done = await run_or_queued(request, "event", event_payload(replace(event, registry=registry), dialog_id))
    if done is None:  # no worker finished it in time; it is queued under this id and will start
        return _answer(202, dialog_id, event.service, "queued")
    # 202 when this post made the dialog, even if a worker died and another finished it (it then saw it made)
    created = known is None and done["dialog_id"] == dialog_id
    return _answer(202 if created else 200, done["dialog_id"], done["service"], done["status"])
