"""What an operator can do to a dialog: resend the question, close it, add a note, reveal personal data.

The same actions serve the console's forms (a redirect back to the dialog page) and the JSON API.
Each one lands in the dialog log as a record of type "operator" with the operator's name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.http.common import ENGINE, SETTINGS, errors, parse_json, read_body
from bot.http.dialogs import dialog_view
from bot.metrics import METRICS
from bot.ops.auth import OPERATORS, Operator, csrf_ok, too_many
from bot.ops.dialog_page import render_dialog
from bot.ops.views import notice_page
from dialogs.model import Dialog

log = logging.getLogger("bot.ops")

ACTIONS = ("resend", "close", "note", "reveal")
LIMITS = {"note": 2000, "close": 500}


@dataclass(frozen=True)
class Outcome:
    """What an action did: `done` names the console notice; `dialog` is None when there is no such dialog."""

    done: str
    dialog: Dialog | None
    retry_after: int = 0  # seconds, when a reveal is over the operator's hourly limit


async def perform(request: web.Request, op: Operator, action: str, text: str) -> Outcome:
    """Carry out one action for `op` on the dialog named in the path."""
    engine, dialog_id = request.app[ENGINE], request.match_info["dialog_id"]
    text = text.strip()[:LIMITS.get(action, 0)]
    if action in LIMITS and not text:
        return Outcome("required", await engine.store.load(dialog_id))
    if action == "resend":
        dialog = await engine.operators.resend(dialog_id, op.name)
        return Outcome("resend", dialog) if dialog else Outcome("resend_none", await engine.store.load(dialog_id))
    if action == "close":
        before = await engine.store.load(dialog_id)
        dialog = await engine.operators.close(dialog_id, text, op.name)
        return Outcome("resolve" if before is not None and before.final else "close", dialog)
    if action == "note":
        return Outcome("note", await engine.operators.add_note(dialog_id, text, op.name))
    return await _reveal(request, op, dialog_id)


async def _reveal(request: web.Request, op: Operator, dialog_id: str) -> Outcome:
    """Personal data only for a named operator, and at most `ops_reveals_per_hour` times an hour each."""
    engine = request.app[ENGINE]
    dialog = await engine.store.load(dialog_id)
    if dialog is None:
        return Outcome("reveal", None)
    refused = request.app[METRICS].reveals_refused
    if not op.named:
        refused.labels("unnamed").inc()
        log.warning("ops reveal refused: no operator name (dialog %s)", dialog_id)
        return Outcome("unnamed", dialog)
    if wait := await request.app[OPERATORS].reveal_allowed(op.name):
        refused.labels("limited").inc()
        log.warning("ops reveal refused: operator %s is over the hourly limit (dialog %s)", op.name, dialog_id)
        return Outcome("reveal_limited", dialog, wait)
    return Outcome("reveal", await engine.operators.reveal(dialog_id, op.name))


def personal_data(d: Dialog) -> dict[str, Any]:
    """The unmasked personal data of a dialog (only ever answered to an explicit, logged reveal)."""
    return {"msisdn": d.msisdn, "recipient_iin": d.recipient_iin, "subject_iins": list(d.subject_iins),
            "iban": (d.bank_account or {}).get("iban") or d.bank_on_record}


async def form_action(request: web.Request, op: Operator) -> web.StreamResponse:
    """POST /ops/dialogs/{dialog_id}/{action} from the dialog page's forms."""
    action, dialog_id = request.match_info["action"], request.match_info["dialog_id"]
    form = await request.post()
    if action not in ACTIONS:
        raise web.HTTPNotFound()
    if not csrf_ok(op, _field(form.get("csrf"))):
        return notice_page(request, op, "action.csrf", status=403)
    outcome = await perform(request, op, action, _field(form.get("text") or form.get("reason")) or "")
    if outcome.dialog is None:
        return notice_page(request, op, "dialog.not_found", status=404, heading=True)
    if outcome.done == "reveal":
        return await render_dialog(request, op, personal_data(outcome.dialog))
    if outcome.done in ("reveal_limited", "unnamed"):
        answer = await render_dialog(request, op, done=outcome.done,
                                     status=429 if outcome.retry_after else 422)
        return too_many(outcome.retry_after, answer) if outcome.retry_after else answer
    raise web.HTTPSeeOther(f"/ops/dialogs/{dialog_id}?done={outcome.done}")


def _field(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _api_problem(action: str, done: str) -> web.Response | None:
    """The JSON error for an action that could not be done (None when it was done)."""
    if done == "resend_none":
        return errors(409, ("dialog_id", "not_waiting", "the dialog waits for no answer"))
    if done == "required":
        field = "reason" if action == "close" else "text"
        return errors(422, (field, "required", f"{field} is required"))
    if done == "unnamed":
        return errors(422, ("X-Operator", "required", "revealing personal data needs the operator's name"))
    return None


async def api_action(request: web.Request, op: Operator) -> web.StreamResponse:
    """POST /ops/api/dialogs/{dialog_id}/{action}: the same actions for scripts and other tools (JSON)."""
    action = request.match_info["action"]
    if action not in ACTIONS:
        return errors(404, ("action", "not_found", "action must be one of " + ", ".join(ACTIONS)))
    if not csrf_ok(op, request.headers.get("X-CSRF-Token")):
        return errors(403, ("X-CSRF-Token", "csrf", "a browser session must send its CSRF token"))
    raw = await read_body(request, request.app[SETTINGS].max_body_bytes) if request.can_read_body else b"{}"
    body = raw if isinstance(raw, web.Response) else parse_json(raw)
    if isinstance(body, web.Response):
        return body
    text = body.get("text") or body.get("reason") if isinstance(body, dict) else None
    outcome = await perform(request, op, action, text if isinstance(text, str) else "")
    if outcome.dialog is None:
        return errors(404, ("dialog_id", "not_found", "no such dialog"))
    if outcome.retry_after:
        return too_many(outcome.retry_after, errors(
            429, ("$", "rate_limited", f"over {request.app[SETTINGS].ops_reveals_per_hour} reveals an hour")))
    if (problem := _api_problem(action, outcome.done)) is not None:
        return problem
    if action == "reveal":
        return web.json_response(personal_data(outcome.dialog), headers={"Cache-Control": "no-store"})
    return web.json_response({"done": outcome.done, "dialog": dialog_view(outcome.dialog)},
                             status=201 if action == "note" else 200)
