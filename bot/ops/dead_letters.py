"""Dead letters in the console: work that failed every delivery, masked, and an operator's replay of it."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot.http.common import JOBS, errors
from bot.jobs import JobFailed
from bot.ops.auth import Operator, csrf_ok
from bot.store import STREAM_ID

log = logging.getLogger("bot.ops")


async def api_list(request: web.Request, op: Operator) -> web.StreamResponse:
    """GET /ops/api/dead-letters: newest first, personal data masked."""
    return web.json_response({"dead_letters": await request.app[JOBS].dead_letters()})


async def _replay(request: web.Request, op: Operator) -> dict[str, Any] | None:
    """Replay the letter in the path and wait for it: None when there is no such letter.

    Raises JobFailed when it fails again (it is then tried again and may come back as a dead letter).
    """
    entry_id = request.match_info["entry_id"]
    if not STREAM_ID.fullmatch(entry_id):
        return None
    log.warning("operator %s replays dead letter %s", op.name, entry_id)
    return await request.app[JOBS].replay(entry_id)


async def api_replay(request: web.Request, op: Operator) -> web.StreamResponse:
    """POST /ops/api/dead-letters/{entry_id}/replay: put the work back on the queue."""
    if not csrf_ok(op, request.headers.get("X-CSRF-Token")):
        return errors(403, ("X-CSRF-Token", "csrf", "a browser session must send its CSRF token"))
    try:
        outcome = await _replay(request, op)
    except JobFailed as error:
        return errors(409, ("entry_id", "failed_again", f"it failed again and stays queued: {error}"))
    if outcome is None:
        return errors(404, ("entry_id", "not_found", "no such dead letter"))
    return web.json_response({"replayed": request.match_info["entry_id"], "operator": op.name, **outcome})


async def form_replay(request: web.Request, op: Operator) -> web.StreamResponse:
    """POST /ops/dead-letters/{entry_id}/replay from the queue page."""
    form = await request.post()
    csrf = form.get("csrf")
    if not csrf_ok(op, csrf if isinstance(csrf, str) else None):
        raise web.HTTPSeeOther("/ops/queue?done=csrf")
    try:
        outcome = await _replay(request, op)
    except JobFailed:
        raise web.HTTPSeeOther("/ops/queue?done=replay_failed") from None
    raise web.HTTPSeeOther(f"/ops/queue?done={'replayed' if outcome else 'replay_gone'}")
