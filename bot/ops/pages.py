"""The console's list pages: dialogs (filters, search, counters) and the queue of what needs a person."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.clock import almaty_date
from bot.http.common import CLOCK, JOBS, STORE
from bot.http.dialogs import PUBLIC_STATUSES
from bot.ops import dead_letters, queries
from bot.ops.auth import Operator
from bot.ops.texts import label, t
from bot.ops.views import esc, flag_list, fragment, live_badge, local_date, local_time, page, status_pill
from bot.store import Store
from dialogs.model import ATTENTION, SERVICES, Dialog

STATUS_ORDER = ("queued", "awaiting_language", "awaiting_consent", "awaiting_bank_account", "submitted",
                "assigned", "refused", "declined", "expired", "opted_out", "undeliverable", "already_applied",
                "duplicate", "cancelled", "closed")


async def events_url(store: Store, dialog_id: str | None = None) -> str:
    """The live stream a page listens to, starting where the page was rendered (nothing in between is lost)."""
    query = {"since": await store.feed_last_id(), **({"dialog": dialog_id} if dialog_id else {})}
    return "/ops/events?" + urlencode(query)


async def list_page(request: web.Request, op: Operator) -> web.StreamResponse:
    """GET /ops: counters, filters and one page of dialogs."""
    store = request.app[STORE]
    filters, problems = queries.parse_filters(request.query)
    cursor = int(request.query["cursor"]) if request.query.get("cursor", "").isdigit() else 0
    dialogs, next_cursor = await queries.find(store, filters, cursor) if not problems else ([], None)
    counts = await queries.counters(store, almaty_date(request.app[CLOCK].now()))
    parts = (f'<div id="counters" data-part>{_counters(op.lang, counts)}</div>'
             f'<div id="rows" data-part>{_table(op.lang, dialogs, request, next_cursor, cursor)}</div>')
    if request.query.get("fragment"):
        return fragment(parts)
    notice = "".join(f'<p class="notice bad">{esc(t(op.lang, _PROBLEM[p]))}</p>' for p in problems if p in _PROBLEM)
    body = f"{notice}{_filter_form(op.lang, filters)}{parts}"
    return page(op, t(op.lang, "nav.dialogs"), body, active="dialogs", events=await events_url(store),
                queue_size=counts["attention"], back=request.path_qs)


QUEUE_NOTICES = {"replayed": "jobs.replayed", "replay_gone": "jobs.replay_gone", "replay_failed": "jobs.replay_failed",
                 "csrf": "action.csrf"}
_PROBLEM = {"search": "filter.bad_search", "date": "filter.bad_date"}  # selects cannot send a bad value


def _counters(lang: str, c: dict[str, Any]) -> str:
    def box(n: int, text_id: str, alert: bool = False, testid: str = "") -> str:
        return (f'<div class="counter{" alert" if alert and n else ""}" data-testid="{testid}"><div class="n">{n}'
                f'</div><div class="l">{esc(t(lang, text_id))}</div></div>')

    chips = "".join(f'{status_pill(lang, s)} <b>{c["by_status"][s]}</b>' for s in STATUS_ORDER if s in c["by_status"])
    return ('<div class="counters">'
            f'{box(c["new"], "counters.new", testid="count-new")}'
            f'{box(c["consents"], "counters.consents", testid="count-consents")}'
            f'{box(c["overdue"], "counters.overdue", True, "count-overdue")}'
            f'{box(c["attention"], "counters.attention", True, "count-attention")}'
            f'<div class="counter"><div class="l">{esc(t(lang, "counters.by_status"))} · '
            f'{esc(local_date(c["date"]))}</div><div class="chips">{chips or "—"}</div></div></div>')


def _options(lang: str, kind: str, values: tuple[str, ...] | frozenset[str], chosen: str) -> str:
    items = [f'<option value="">{esc(t(lang, "filter.any"))}</option>']
    items += [f'<option value="{v}"{" selected" if v == chosen else ""}>{esc(label(lang, kind, v))}</option>'
              for v in values]
    return "".join(items)


def _date_field(lang: str, name: str, day: dt.date | None) -> str:
    value = day.strftime("%d.%m.%Y") if day else ""
    return (f'<label>{esc(t(lang, "filter." + name))}<input type="text" class="date" name="{name}" value="{value}" '
            f'placeholder="{esc(t(lang, "filter.date_hint"))}" inputmode="numeric" maxlength="10"></label>')


def _filter_form(lang: str, f: queries.Filters) -> str:
    def check(name: str, on: bool, text_id: str) -> str:
        return (f'<label class="check"><input type="checkbox" name="{name}" value="1"{" checked" if on else ""}>'
                f'{esc(t(lang, text_id))}</label>')

    statuses = tuple(s for s in STATUS_ORDER if s in PUBLIC_STATUSES)
    return (
        '<form class="card filters" method="get" action="/ops">'
        f'<label>{esc(t(lang, "filter.search"))}<input type="search" name="search" value="{esc(f.search)}" '
        f'autocomplete="off"></label>'
        f'<label>{esc(t(lang, "filter.service"))}<select name="service">'
        f'{_options(lang, "service", SERVICES, f.service)}</select></label>'
        f'<label>{esc(t(lang, "filter.status"))}<select name="status">'
        f'{_options(lang, "status", statuses, f.status)}</select></label>'
        f'{_date_field(lang, "from", f.date_from)}{_date_field(lang, "to", f.date_to)}'
        f'<div class="checks">{check("flagged", f.flagged, "filter.flagged")}'
        f'{check("overdue", f.overdue, "filter.overdue")}</div>'
        f'<div class="buttons"><button class="primary" type="submit">{esc(t(lang, "filter.apply"))}</button>'
        f'<a class="secondary" href="/ops">{esc(t(lang, "filter.reset"))}</a></div></form>')


def _row(lang: str, d: Dialog) -> str:
    s = queries.summary(d)
    last = s["last_message"]
    last_text = f'{"←" if last["direction"] == "in" else "→"} {last["text"]}' if last else ""
    return (f'<tr data-dialog-id="{esc(d.dialog_id)}" data-status="{esc(d.status)}">'
            f'<td class="when">{local_time(d.created_at)}</td>'
            f'<td class="mono"><a href="/ops/dialogs/{esc(d.dialog_id)}">{esc(s["msisdn"])}</a></td>'
            f'<td>{esc(label(lang, "service", d.service))}</td><td>{status_pill(lang, d.status)}</td>'
            f'<td>{flag_list(lang, d.flags)}</td><td>{local_date(s["application_date"])}</td>'
            f'<td>{local_date(s["decision_due"])}</td><td class="last">{esc(last_text)}</td></tr>')


def _heads(lang: str) -> str:
    return "<thead><tr>" + "".join(f"<th>{esc(t(lang, h))}</th>" for h in (
        "list.created", "list.phone", "list.service", "list.status", "list.flags", "list.application_date",
        "list.decision_due", "list.last")) + "</tr></thead>"


def _table(lang: str, dialogs: list[Dialog], request: web.Request, next_cursor: int | None, cursor: int) -> str:
    rows = "".join(_row(lang, d) for d in dialogs) or (
        f'<tr><td colspan="8" class="muted">{esc(t(lang, "list.empty"))}</td></tr>')
    query = {k: v for k, v in request.query.items() if k not in ("cursor", "fragment")}
    pager = []
    if cursor:
        pager.append(f'<a href="/ops?{esc(urlencode(query))}">{esc(t(lang, "list.first"))}</a>')
    if next_cursor is not None:
        pager.append(f'<a href="/ops?{esc(urlencode({**query, "cursor": next_cursor}))}">'
                     f'{esc(t(lang, "list.older"))} →</a>')
    return (f'<div class="card">{live_badge(lang)}<table data-testid="dialogs">{_heads(lang)}'
            f'<tbody>{rows}</tbody></table><div class="pager">{"".join(pager)}</div></div>')


async def queue_page(request: web.Request, op: Operator) -> web.StreamResponse:
    """GET /ops/queue: unclear replies, undeliverable phones, dead letters, overdue decisions, STOP after consent."""
    store = request.app[STORE]
    groups = await queries.queue(store)
    sections = "".join(_queue_section(op.lang, category, groups[category]) for category in ATTENTION)
    sections += dead_letters.section(op, await request.app[JOBS].dead_letters())
    done = request.query.get("done", "")
    notice = (f'<p class="notice{" bad" if done != "replayed" else ""}" data-testid="notice">'
              f'{esc(t(op.lang, QUEUE_NOTICES[done]))}</p>') if done in QUEUE_NOTICES else ""
    parts = f'<div id="queue" data-part>{notice}{sections}</div>'
    if request.query.get("fragment"):
        return fragment(parts)
    body = f'<div class="head"><h1>{esc(t(op.lang, "queue.title"))}</h1>{live_badge(op.lang)}</div>{parts}'
    size = await store.size("attention")
    return page(op, t(op.lang, "nav.queue"), body, active="queue", events=await events_url(store),
                queue_size=size, back="/ops/queue")


def _queue_section(lang: str, category: str, dialogs: list[Dialog]) -> str:
    rows = "".join(_row(lang, d) for d in dialogs) or (
        f'<tr><td colspan="8" class="muted">{esc(t(lang, "queue.empty"))}</td></tr>')
    return (f'<section class="card queue" data-category="{category}"><h2>{esc(t(lang, "queue." + category))}'
            f'<span class="badge">{len(dialogs)}</span></h2><table>{_heads(lang)}<tbody>{rows}</tbody></table>'
            '</section>')
