"""The console's list pages: dialogs (filters, search, counters) and the queue of what needs a person."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.clock import almaty_date
from bot.http.common import CLOCK, JOBS, STORE
from bot.http.dialogs import PUBLIC_STATUSES
from bot.ops import queries
from bot.ops.auth import Operator
from bot.ops.texts import JOB_KINDS, t
from bot.ops.views import fragment, page
from bot.store import Store
from dialogs.model import ATTENTION, SERVICES

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
    cursor, limit_problem = queries.parse_cursor(request.query.get("cursor"))
    if limit_problem:
        problems.append("cursor")
    dialogs, next_cursor = await queries.find(store, filters, cursor) if not problems else ([], None)
    counts = await queries.counters(store, almaty_date(request.app[CLOCK].now()))
    query = {k: v for k, v in request.query.items() if k not in ("cursor", "fragment")}
    context: dict[str, Any] = {"lang": op.lang, "counts": counts, "statuses": STATUS_ORDER,
               "summaries": [queries.summary(d) for d in dialogs],
               "first_url": "/ops?" + urlencode(query) if cursor else "",
               "older_url": "/ops?" + urlencode({**query, "cursor": next_cursor}) if next_cursor is not None else ""}
    if request.query.get("fragment"):
        return fragment(request, "list_parts.html", **context)
    return page(request, op, "list.html", title=t(op.lang, "nav.dialogs"), status=422 if problems else 200,
                active="dialogs", events=await events_url(store), queue_size=counts["attention"],
                back=request.path_qs, filters=filters, services=SERVICES,
                public_statuses=tuple(s for s in STATUS_ORDER if s in PUBLIC_STATUSES),
                problems=[_PROBLEM[p] for p in problems if p in _PROBLEM], **context)


QUEUE_NOTICES = {"replayed": "jobs.replayed", "replay_gone": "jobs.replay_gone", "replay_failed": "jobs.replay_failed",
                 "csrf": "action.csrf"}
# selects cannot send a bad value
_PROBLEM = {"search": "filter.bad_search", "date": "filter.bad_date", "cursor": "filter.bad_cursor"}


async def queue_page(request: web.Request, op: Operator) -> web.StreamResponse:
    """GET /ops/queue: unclear replies, undeliverable phones, dead letters, overdue decisions, STOP after consent."""
    store = request.app[STORE]
    groups = await queries.queue(store)
    done = request.query.get("done", "")
    context: dict[str, Any] = {"lang": op.lang, "csrf": op.csrf or "", "job_kinds": JOB_KINDS,
               "groups": [(c, [queries.summary(d) for d in groups[c]]) for c in ATTENTION],
               "letters": await request.app[JOBS].dead_letters(),
               "done": QUEUE_NOTICES.get(done, ""), "done_bad": done != "replayed"}
    if request.query.get("fragment"):
        return fragment(request, "queue_parts.html", **context)
    return page(request, op, "queue.html", title=t(op.lang, "nav.queue"), active="queue",
                events=await events_url(store), queue_size=await store.size("attention"), back="/ops/queue",
                **context)
