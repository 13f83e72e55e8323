"""The console's JSON API under /ops/api: the same lists, queue and counters the pages show, masked."""

from __future__ import annotations

from aiohttp import web

from bot.clock import almaty_date
from bot.http.common import CLOCK, STORE, errors
from bot.http.dialogs import dialog_view
from bot.ops import queries
from bot.ops.auth import Operator

_PROBLEMS = {"search": "not a phone number or a 12-digit IIN", "date": "dates are YYYY-MM-DD",
             "service": "unknown service", "status": "unknown status"}


async def list_dialogs(request: web.Request, op: Operator) -> web.StreamResponse:
    """GET /ops/api/dialogs: filtered, newest first, `next` is the cursor of the next page."""
    filters, problems = queries.parse_filters(request.query)
    cursor, bad_cursor = queries.parse_cursor(request.query.get("cursor"))
    limit, bad_limit = queries.parse_cursor(request.query.get("limit") or str(queries.PAGE_SIZE))
    if bad_cursor or bad_limit or not 1 <= limit <= 200:
        problems.append("limit")
        cursor, limit = 0, queries.PAGE_SIZE
    if problems:
        return errors(422, *((p, "invalid", _PROBLEMS.get(p, "limit is 1-200, cursor from `next`")) for p in problems))
    dialogs, next_cursor = await queries.find(request.app[STORE], filters, cursor, limit)
    return web.json_response({"dialogs": [queries.summary(d) for d in dialogs],
                              "next": str(next_cursor) if next_cursor is not None else None})


async def get_dialog(request: web.Request, op: Operator) -> web.StreamResponse:
    """GET /ops/api/dialogs/{dialog_id}: the operator view and the dialog log."""
    store = request.app[STORE]
    dialog = await store.load(request.match_info["dialog_id"])
    if dialog is None:
        return errors(404, ("dialog_id", "not_found", "no such dialog"))
    return web.json_response({"dialog": dialog_view(dialog), "attention": dialog.attention,
                              "log": await store.dialog_log(dialog.dialog_id)})


async def get_queue(request: web.Request, op: Operator) -> web.StreamResponse:
    """GET /ops/api/queue: what needs a person, by category."""
    groups = await queries.queue(request.app[STORE])
    return web.json_response({c: [queries.summary(d) for d in dialogs] for c, dialogs in groups.items()})


async def get_counters(request: web.Request, op: Operator) -> web.StreamResponse:
    """GET /ops/api/counters: today's numbers (Kazakhstan day) and overdue decisions now."""
    today = almaty_date(request.app[CLOCK].now())
    return web.json_response(await queries.counters(request.app[STORE], today))
