"""GET /v1/dialogs and /v1/dialogs/{id}: what operators see of a dialog, with personal data masked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.http.common import STORE, errors
from dialogs.model import PUBLIC_STATUS, SERVICES, Dialog
from domain.masking import mask_iban, mask_msisdn, scrub, scrub_all
from domain.phone import PhoneError, parse_msisdn

PUBLIC_STATUSES = frozenset({
    "queued", "awaiting_language", "awaiting_consent", "awaiting_bank_account", "submitted", "assigned",
    "refused", "declined", "expired", "opted_out", "undeliverable", "already_applied", "duplicate", "cancelled",
    "closed",
})
MAX_SCAN = 5000
# None when a request carries the operator's Bearer token, else its 401 or 429: the console's check
# (bot.ops.auth.bearer_refusal), given by create_app. bot.ops imports this module, so this one cannot import it.
BearerCheck = Callable[[web.Request, str], Awaitable[web.StreamResponse | None]]
OPERATOR_BEARER = web.AppKey[BearerCheck]("operator_bearer")


def dialog_view(d: Dialog) -> dict[str, Any]:
    """The operator's view of a dialog (CONTRACT.md), every personal datum masked."""
    bank = None
    if d.bank_account:
        bank = {**d.bank_account, "iban": mask_iban(d.bank_account["iban"])}
    return {
        "dialog_id": d.dialog_id, "event_id": d.event_id, "service": d.service, "status": d.status,
        "language": d.language, "msisdn": mask_msisdn(d.msisdn), "created_at": d.created_at,
        "offer_sent_at": d.offer_sent_at, "expires_at": d.expires_at,
        # The backend's decision names each person by IIN (`benefits[].person_iin`): shown masked at any depth.
        "consent": scrub_all(d.consent), "bank_account": bank, "application": scrub_all(d.application),
        "decision": scrub_all(d.decision),
        "flags": list(d.flags), "duplicate_of": d.duplicate_of, "cancelled_by": d.cancelled_by,
        "close_reason": d.close_reason,
        "transcript": [
            {"at": e["at"], "direction": e["direction"], "channel": e["channel"], "text": scrub(e["text"]),
             **({"status": e["status"]} if "status" in e else {})}
            for e in d.transcript
        ],
        "history": [{"at": h["at"], "from": PUBLIC_STATUS.get(h["from"], h["from"]),
                     "to": PUBLIC_STATUS.get(h["to"], h["to"]), "trigger": h["trigger"],
                     "after_message": h.get("turn", 0)} for h in d.history
                    if PUBLIC_STATUS.get(h["from"], h["from"]) != PUBLIC_STATUS.get(h["to"], h["to"])],
    }


async def _refused(request: web.Request) -> web.StreamResponse | None:
    """The operator Bearer token, failures counted and throttled like the console's (bot/ops/auth.py)."""
    return await request.app[OPERATOR_BEARER](request, "Authorization: Bearer <OPERATOR_TOKEN> is required")


async def get_dialog(request: web.Request) -> web.StreamResponse:
    if (refused := await _refused(request)) is not None:
        return refused
    dialog = await request.app[STORE].load(request.match_info["dialog_id"])
    if dialog is None:
        return errors(404, ("dialog_id", "not_found", "no such dialog"))
    return web.json_response(dialog_view(dialog))


async def list_dialogs(request: web.Request) -> web.StreamResponse:
    """Newest first, filtered by phone, status and service; `next` is an opaque cursor."""
    if (refused := await _refused(request)) is not None:
        return refused
    q = request.query
    problems: list[tuple[str, str, str]] = []
    msisdn = None
    if q.get("msisdn"):
        try:
            msisdn = parse_msisdn(q["msisdn"]).e164
        except PhoneError as error:
            problems.append(("msisdn", error.code, f"msisdn: {error}"))
    status, service = q.get("status") or None, q.get("service") or None  # empty means no filter
    if status and status not in PUBLIC_STATUSES:
        problems.append(("status", "invalid", "unknown status"))
    if service and service not in SERVICES:
        problems.append(("service", "invalid", "service must be one of " + ", ".join(SERVICES)))
    try:
        limit = int(q.get("limit") or "50")
        offset = int(q.get("cursor") or "0")
        if not 1 <= limit <= 200 or offset < 0:
            raise ValueError
    except ValueError:
        problems.append(("limit", "invalid", "limit must be 1-200 and cursor a value from `next`"))
        limit, offset = 50, 0
    if problems:
        return errors(422, *problems)
    store = request.app[STORE]
    found: list[Dialog] = []
    scanned = 0
    while len(found) < limit and scanned < MAX_SCAN:
        ids = await store.list_ids(msisdn, offset, limit)
        if not ids:
            offset = -1
            break
        by_id = {d.dialog_id: d for d in await store.load_many(ids)}
        for dialog_id in ids:
            offset += 1
            scanned += 1
            dialog = by_id.get(dialog_id)
            if dialog is None:
                continue
            if (status is None or dialog.status == status) and (service is None or dialog.service == service):
                found.append(dialog)
                if len(found) == limit:
                    break
    next_cursor = str(offset) if offset >= 0 and (await store.list_ids(msisdn, offset, 1)) else None
    return web.json_response({"dialogs": [dialog_view(d) for d in found], "next": next_cursor})
