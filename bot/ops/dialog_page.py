"""The console's dialog page: transcript, status timeline, details, operator log, and the actions."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.http.common import STORE
from bot.http.dialogs import dialog_view
from bot.ops.auth import Operator
from bot.ops.pages import events_url
from bot.ops.texts import label, t
from bot.ops.views import esc, flag_list, fragment, live_badge, local_date, local_time, page, status_pill
from dialogs.model import Dialog

NOTICES = {"resend": "action.resend_done", "resend_none": "action.resend_none", "close": "action.close_done",
           "resolve": "action.resolve_done", "note": "action.note_done", "required": "action.required",
           "csrf": "action.csrf"}
BAD_NOTICES = frozenset({"resend_none", "required", "csrf"})


async def dialog_page(request: web.Request, op: Operator) -> web.StreamResponse:
    """GET /ops/dialogs/{dialog_id}: everything said and decided, masked."""
    return await render_dialog(request, op)


async def render_dialog(request: web.Request, op: Operator, revealed: str = "") -> web.StreamResponse:
    """The dialog page (with the revealed personal data when an operator has just asked for them)."""
    store = request.app[STORE]
    dialog = await store.load(request.match_info["dialog_id"])
    if dialog is None:
        return page(op, t(op.lang, "dialog.not_found"), f'<h1>{esc(t(op.lang, "dialog.not_found"))}</h1>',
                    status=404)
    view = dialog_view(dialog)
    log = [r for r in await store.dialog_log(dialog.dialog_id) if r.get("type") == "operator"]
    evidence = _evidence(op.lang, await store.dialog_ledger(dialog.dialog_id))
    parts = (f'<div id="head" data-part>{_head(op.lang, view)}</div>'
             f'<div class="grid"><div id="transcript" data-part>{_transcript(op.lang, view)}</div>'
             f'<div>{_actions(op, dialog)}<div id="side" data-part>{_details(op.lang, view)}{evidence}'
             f'{_log(op.lang, log)}{_timeline(op.lang, view)}</div></div></div>')
    if request.query.get("fragment"):
        return fragment(parts)
    done = request.query.get("done", "")
    notice = (f'<p class="notice{" bad" if done in BAD_NOTICES else ""}" data-testid="notice">'
              f'{esc(t(op.lang, NOTICES[done]))}</p>') if done in NOTICES else ""
    body = f'<p><a href="/ops">← {esc(t(op.lang, "dialog.back"))}</a></p>{notice}{revealed}{parts}'
    return page(op, f'{t(op.lang, "dialog.title")} {dialog.dialog_id}', body, active="dialogs",
                events=await events_url(store, dialog.dialog_id), back=f"/ops/dialogs/{dialog.dialog_id}",
                queue_size=await store.size("attention"))


def _head(lang: str, v: dict[str, Any]) -> str:
    return (f'<div class="head"><h1>{esc(t(lang, "dialog.title"))} <span class="mono">{esc(v["dialog_id"])}</span>'
            f'</h1>{status_pill(lang, v["status"])}<span>{esc(label(lang, "service", v["service"]))}</span>'
            f'<span class="mono">{esc(v["msisdn"])}</span>{flag_list(lang, v["flags"])}{live_badge(lang)}</div>')


def _transcript(lang: str, v: dict[str, Any]) -> str:
    changes = v["history"]
    items: list[str] = []
    for index, line in enumerate(v["transcript"]):
        items += [_change(lang, h) for h in changes if h["after_message"] == index]
        who = t(lang, "dialog.citizen") if line["direction"] == "in" else t(lang, "dialog.bot")
        delivery = f' · {esc(label(lang, "delivery", line["status"]))}' if line.get("status") else ""
        items.append(f'<div class="msg {esc(line["direction"])}" data-testid="message"><div class="meta">'
                     f'<b>{esc(who)}</b><span>{esc(line["channel"])}</span><span>{local_time(line["at"])}</span>'
                     f'<span data-testid="delivery">{delivery.removeprefix(" · ")}</span></div>'
                     f'{esc(line["text"])}</div>')
    items += [_change(lang, h) for h in changes if h["after_message"] >= len(v["transcript"])]
    chat = "".join(items) or f'<p class="muted">{esc(t(lang, "dialog.no_messages"))}</p>'
    return f'<section class="card"><h2>{esc(t(lang, "dialog.transcript"))}</h2><div class="chat">{chat}</div></section>'


def _change(lang: str, h: dict[str, Any]) -> str:
    return (f'<div class="change">{local_time(h["at"])} · {esc(label(lang, "status", h["from"]))} → '
            f'{esc(label(lang, "status", h["to"]))} <span class="mono">({esc(h["trigger"])})</span></div>')


def _details(lang: str, v: dict[str, Any]) -> str:
    consent, bank, app, decision = v["consent"], v["bank_account"], v["application"], v["decision"]
    rows = [("dialog.event", esc(v["event_id"])), ("dialog.language", esc(v["language"] or "—")),
            ("dialog.created", local_time(v["created_at"], year=True)),
            ("dialog.offer_sent", local_time(v["offer_sent_at"], year=True)),
            ("dialog.expires", local_time(v["expires_at"], year=True)),
            ("dialog.consent", f'{local_time(consent["given_at"], year=True)} · {esc(consent["channel"])}'
             if consent else "—"),
            ("dialog.application_date", local_date(consent["application_date"]) if consent else "—")]
    if bank:
        source = t(lang, "dialog.on_record" if bank["source"] == "on_record" else "dialog.typed")
        rows.append(("dialog.bank_account", f'<span class="mono">{esc(bank["iban"])}</span><br>'
                                            f'{esc(bank["bank"] or "")} · {esc(source)}'))
    if app:
        extended = f' ({esc(t(lang, "dialog.extended"))})' if app.get("extended") else ""
        rows += [("dialog.application", f'<span class="mono">{esc(app["id"])}</span>'),
                 ("dialog.decision_due", f"<b>{local_date(app['decision_due'])}</b>{extended}")]
    if decision:
        reason = f' · {esc(decision["reason"])}' if decision.get("reason") else ""
        rows.append(("dialog.decision", f'{status_pill(lang, decision["outcome"])}{reason}'))
    if v["close_reason"]:
        rows.append(("dialog.reason", esc(v["close_reason"])))
    items = "".join(f"<dt>{esc(t(lang, k))}</dt><dd>{value}</dd>" for k, value in rows)
    return f'<section class="card"><h2>{esc(t(lang, "dialog.details"))}</h2><dl>{items}</dl></section>'


def _timeline(lang: str, v: dict[str, Any]) -> str:
    items = "".join(f'<li>{local_time(h["at"], year=True)} — {esc(label(lang, "status", h["to"]))}</li>'
                    for h in v["history"])
    return (f'<section class="card"><h2>{esc(t(lang, "dialog.timeline"))}</h2>'
            f'<ol class="timeline" data-testid="timeline">{items}</ol></section>')


def _evidence(lang: str, records: list[dict[str, Any]]) -> str:
    """The dialog's consent-ledger records: what proves each act (`proactive-bot ledger verify` checks them)."""
    items = "".join(
        f'<li data-act="{esc(r.get("act", ""))}">#{esc(r.get("seq", ""))} · {_when(r.get("at"))} · '
        f'<b>{esc(r.get("act", ""))}</b> · {esc(r.get("channel") or "—")} · '
        f'<span class="mono">{esc(r.get("message_id") or "—")}</span>'
        f'{" · " + esc(r["operator"]) if r.get("operator") else ""}<br>'
        f'<span class="mono">{esc(r.get("hash", ""))}</span></li>' for r in records
    ) or f'<li class="muted">{esc(t(lang, "dialog.no_evidence"))}</li>'
    return (f'<section class="card"><h2>{esc(t(lang, "dialog.evidence"))}</h2>'
            f'<ul class="log" data-testid="evidence">{items}</ul></section>')


def _when(at: Any) -> str:
    """A record's instant in Kazakhstan time; as written when it is not one (the page shows what the chain holds)."""
    try:
        return local_time(at, year=True)
    except (TypeError, ValueError):
        return esc(str(at))


def _log(lang: str, records: list[dict[str, Any]]) -> str:
    def line(r: dict[str, Any]) -> str:
        action = r.get("action", "")
        what = esc(label(lang, "op", action))
        detail = r.get("text") or r.get("reason")
        return (f'<li data-action="{esc(action)}">{local_time(r["at"])} · <b>{esc(r.get("operator", ""))}</b> {what}'
                f'{": " + esc(detail) if detail else ""}</li>')

    items = "".join(line(r) for r in reversed(records)) or f'<li class="muted">{esc(t(lang, "dialog.no_log"))}</li>'
    return (f'<section class="card"><h2>{esc(t(lang, "dialog.log"))}</h2>'
            f'<ul class="log" data-testid="log">{items}</ul></section>')


def _form(op: Operator, dialog: Dialog, action: str, inner: str, button: str, css: str = "secondary") -> str:
    return (f'<form method="post" action="/ops/dialogs/{esc(dialog.dialog_id)}/{action}">'
            f'<input type="hidden" name="csrf" value="{esc(op.csrf or "")}">{inner}'
            f'<div class="row"><button class="{css}" type="submit" data-testid="{action}">{esc(t(op.lang, button))}'
            '</button></div></form>')


def _actions(op: Operator, dialog: Dialog) -> str:
    lang = op.lang
    forms = [_form(op, dialog, "resend", "", "action.resend", "primary")] if dialog.awaiting else []
    forms.append(_form(op, dialog, "note", f'<textarea name="text" maxlength="2000" required placeholder="'
                                           f'{esc(t(lang, "action.note_text"))}"></textarea>', "action.note"))
    if not dialog.final or dialog.attention:
        button = "action.resolve" if dialog.final else "action.close"
        reason = (f'<textarea name="reason" maxlength="500" required placeholder="'
                  f'{esc(t(lang, "action.close_reason"))}"></textarea>')
        forms.append(_form(op, dialog, "close", reason, button, "danger"))
    forms.append(_form(op, dialog, "reveal", "", "action.reveal"))
    return f'<section class="card actions"><h2>{esc(t(lang, "actions.title"))}</h2>{"".join(forms)}</section>'


def revealed_card(lang: str, data: dict[str, Any]) -> str:
    """The unmasked personal data, shown once, after an explicit (and logged) request."""
    rows = [("reveal.msisdn", data["msisdn"]), ("reveal.recipient_iin", data["recipient_iin"]),
            ("reveal.subject_iins", ", ".join(data["subject_iins"])), ("reveal.iban", data["iban"] or "—")]
    items = "".join(f'<dt>{esc(t(lang, k))}</dt><dd class="mono">{esc(v)}</dd>' for k, v in rows)
    return (f'<section class="card revealed" data-testid="revealed"><h2>{esc(t(lang, "action.revealed"))}</h2>'
            f'<dl>{items}</dl></section>')
