"""POST /v1/callbacks/decision: the assignment backend's signed decision."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from bot.http.common import (
    CLOCK,
    JOBS,
    SETTINGS,
    check_signature,
    errors,
    parse_json,
    read_body,
    unauthorized,
)

OUTCOMES = ("assigned", "refused", "extended")


async def post_decision(request: web.Request) -> web.Response:
    """Apply a decision to its dialog once; a repeated callback answers 200 and changes nothing."""
    settings = request.app[SETTINGS]
    body = await read_body(request, settings.max_body_bytes)
    if isinstance(body, web.Response):
        return body
    problem = check_signature(request, body, settings.backend_secret, request.app[CLOCK],
                              settings.event_clock_skew_seconds)
    if problem:
        return unauthorized(problem)
    data = parse_json(body)
    if isinstance(data, web.Response):
        return data
    if not isinstance(data, dict):
        return errors(422, ("$", "type", "the body must be a JSON object"))
    problems = []
    if not isinstance(data.get("application_id"), str) or not data["application_id"]:
        problems.append(("application_id", "required", "application_id must be a non-empty string"))
    if data.get("outcome") not in OUTCOMES:
        problems.append(("outcome", "invalid", "outcome must be one of " + ", ".join(OUTCOMES)))
    benefits = data.get("benefits") or []
    if not isinstance(benefits, list) or not all(
            isinstance(b, dict) and isinstance(b.get("amount"), int) for b in benefits):
        problems.append(("benefits", "invalid", "benefits must be a list of objects with an integer amount"))
    if data.get("decision_due") is not None:
        try:
            dt.date.fromisoformat(str(data["decision_due"]))
        except ValueError:
            problems.append(("decision_due", "invalid_date", "decision_due must be a date YYYY-MM-DD"))
    if problems:
        return errors(422, *problems)
    done = await request.app[JOBS].run("decision", data)
    if done is None:  # queued, no worker free to finish it in time: the backend tries again, with one effect
        return errors(503, ("$", "busy", "the decision is queued; call back again to learn its status"))
    if "dialog_id" not in done:
        return errors(404, ("application_id", "unknown_application", "no dialog has this application"))
    return web.json_response({"dialog_id": done["dialog_id"], "status": done["status"]},
                             status=200 if done["outcome"] == "already" else 202)
