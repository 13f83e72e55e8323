"""POST /v1/callbacks/decision: the assignment backend's signed decision."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from aiohttp import web

from bot.clock import parse_instant
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
EXTERNAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")  # the backend's application numbers
DIALOG_ID = re.compile(r"d_[0-9a-f]{4}(?:-[0-9a-f]{4}){3}")  # our client_id: the dialog's id (Store.new_dialog_id)
REASON = re.compile(r"[a-z0-9_]{1,64}")  # a code; one we have no words for gets a generic text and a flag
MAX_AMOUNT = 1_000_000_000  # tenge: far above any benefit, far below what breaks formatting
MAX_BENEFITS = 20


def _amount_ok(benefit: Any) -> bool:
    amount = benefit.get("amount") if isinstance(benefit, dict) else None
    return isinstance(amount, int) and not isinstance(amount, bool) and 0 < amount <= MAX_AMOUNT


def problems_of(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every problem of a decision callback's body, by field."""
    problems = []
    application_id = data.get("application_id")
    if not isinstance(application_id, str) or not EXTERNAL_ID.fullmatch(application_id):
        problems.append(("application_id", "required" if not application_id else "invalid",
                         "application_id must be 1-128 of A-Z a-z 0-9 . _ : / -"))
    client_id = data.get("client_id")
    if client_id is not None and (not isinstance(client_id, str) or not DIALOG_ID.fullmatch(client_id)):
        problems.append(("client_id", "invalid", "client_id must be the dialog id the application was sent with"))
    if data.get("outcome") not in OUTCOMES:
        problems.append(("outcome", "invalid", "outcome must be one of " + ", ".join(OUTCOMES)))
    benefits = data.get("benefits") or []
    if not isinstance(benefits, list) or len(benefits) > MAX_BENEFITS or not all(map(_amount_ok, benefits)):
        problems.append(("benefits", "invalid", f"benefits must be a list of at most {MAX_BENEFITS} objects, each "
                         f"with an integer amount from 1 to {MAX_AMOUNT}"))
    reason = data.get("reason")
    if reason is not None and (not isinstance(reason, str) or not REASON.fullmatch(reason)):
        problems.append(("reason", "invalid", "reason must be a code of 1-64 of a-z 0-9 _"))
    decided_at = data.get("decided_at")
    if decided_at is not None:
        try:
            if not isinstance(decided_at, str) or len(decided_at) > 40:
                raise ValueError
            parse_instant(decided_at)
        except ValueError:
            problems.append(("decided_at", "invalid", "decided_at must be an ISO 8601 instant with its offset"))
    if data.get("decision_due") is not None:
        due = data["decision_due"]
        try:
            if not isinstance(due, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", due):
                raise ValueError
            dt.date.fromisoformat(due)
        except ValueError:
            problems.append(("decision_due", "invalid_date", "decision_due must be a date YYYY-MM-DD"))
    return problems


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
    problems = problems_of(data)
    if problems:
        return errors(422, *problems)
    done = await request.app[JOBS].run("decision", data)
    if done is None:  # queued, no worker free to finish it in time: the backend tries again, with one effect
        return errors(503, ("$", "busy", "the decision is queued; call back again to learn its status"))
    if "dialog_id" not in done:
        return errors(404, ("application_id", "unknown_application", "no dialog has this application"))
    return web.json_response({"dialog_id": done["dialog_id"], "status": done["status"]},
                             status=200 if done["outcome"] == "already" else 202)
