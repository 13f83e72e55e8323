"""The console's dialog page: transcript, status timeline, details, operator log, and the actions."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.http.common import STORE
from bot.http.dialogs import dialog_view
from bot.ops.auth import Operator
from bot.ops.pages import events_url
from bot.ops.texts import t
from bot.ops.views import fragment, local_time, notice_page, page

NOTICES = {"resend": "action.resend_done", "resend_none": "action.resend_none", "close": "action.close_done",
           "resolve": "action.resolve_done", "note": "action.note_done", "required": "action.required",
           "csrf": "action.csrf", "reveal_limited": "action.reveal_limited", "unnamed": "action.unnamed"}
BAD_NOTICES = frozenset({"resend_none", "required", "csrf", "reveal_limited", "unnamed"})


async def dialog_page(request: web.Request, op: Operator) -> web.StreamResponse:
    """GET /ops/dialogs/{dialog_id}: everything said and decided, masked."""
    return await render_dialog(request, op)


async def render_dialog(request: web.Request, op: Operator, revealed: dict[str, Any] | None = None, *,
                        done: str = "", status: int = 200) -> web.StreamResponse:
    """The dialog page (with the revealed personal data when an operator has just asked for them)."""
    store = request.app[STORE]
    dialog = await store.load(request.match_info["dialog_id"])
    if dialog is None:
        return notice_page(request, op, "dialog.not_found", status=404, heading=True)
    log = [{"at": r["at"], "action": r.get("action", ""), "operator": r.get("operator", ""),
            "detail": r.get("text") or r.get("reason")}
           for r in reversed(await store.dialog_log(dialog.dialog_id)) if r.get("type") == "operator"]
    evidence = [_evidence(r) for r in await store.dialog_ledger(dialog.dialog_id)]
    context = {"lang": op.lang, "v": dialog_view(dialog), "log": log, "evidence": evidence,
               "awaiting": dialog.awaiting, "final": dialog.final, "attention": dialog.attention}
    if request.query.get("fragment"):
        return fragment(request, "dialog_parts.html", op=op, **context)
    done = done or request.query.get("done", "")
    return page(request, op, "dialog.html", title=f'{t(op.lang, "dialog.title")} {dialog.dialog_id}', status=status,
                active="dialogs", events=await events_url(store, dialog.dialog_id),
                back=f"/ops/dialogs/{dialog.dialog_id}", queue_size=await store.size("attention"),
                done=NOTICES.get(done, ""), done_bad=done in BAD_NOTICES, revealed=revealed_rows(revealed),
                **context)


def _evidence(record: dict[str, Any]) -> dict[str, Any]:
    """A consent-ledger record as the page shows it (`proactive-bot ledger verify` checks the chain itself)."""
    try:
        at = local_time(record.get("at"), year=True)
    except (TypeError, ValueError):
        at = str(record.get("at"))  # the page shows what the chain holds, even when it is not an instant
    return {"seq": record.get("seq", ""), "at": at, "act": record.get("act", ""),
            "channel": record.get("channel") or "—", "message_id": record.get("message_id") or "—",
            "operator": record.get("operator") or "", "hash": record.get("hash", "")}


def revealed_rows(data: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The unmasked personal data, shown once, after an explicit (and logged) request."""
    if data is None:
        return []
    return [("reveal.msisdn", data["msisdn"]), ("reveal.recipient_iin", data["recipient_iin"]),
            ("reveal.subject_iins", ", ".join(data["subject_iins"])), ("reveal.iban", data["iban"] or "—")]
