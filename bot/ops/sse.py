"""GET /ops/events: the dialog log's live feed as server-sent events, for the console's live updates."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from bot.http.common import STORE
from bot.ops.auth import Operator
from bot.store import Store

CLOSING = web.AppKey("ops_closing", asyncio.Event)
BLOCK_MS = 15_000  # a keep-alive comment at least this often: proxies keep the stream open, gone clients show
_STREAM_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")
FIELDS = ("dialog_id", "type", "status", "to", "at")  # enough to know what to refresh; nothing personal


async def events(request: web.Request, op: Operator) -> web.StreamResponse:
    """Stream feed records (optionally of one dialog) from `since` or the browser's Last-Event-ID."""
    store, closing = request.app[STORE], request.app[CLOSING]
    after = request.headers.get("Last-Event-ID") or request.query.get("since") or ""
    if not _STREAM_ID.fullmatch(after):
        after = await store.feed_last_id()
    only = request.query.get("dialog")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    await response.write(b"retry: 2000\n\n")
    with contextlib.suppress(ConnectionResetError, RedisError):
        while (batch := await _next(store, after, closing)) is not None:
            if not batch:
                await response.write(b": keep-alive\n\n")
            for entry_id, record in batch:
                after = entry_id
                if only is None or record.get("dialog_id") == only:
                    await response.write(_event(entry_id, record))
    return response


async def _next(store: Store, after: str, closing: asyncio.Event) -> list[tuple[str, dict[str, Any]]] | None:
    """The next records ([] after a quiet spell), or None once the app is shutting down."""
    read = asyncio.ensure_future(store.read_feed(after, block_ms=BLOCK_MS))
    stop = asyncio.ensure_future(closing.wait())
    done, pending = await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return read.result() if read in done and not closing.is_set() else None


def _event(entry_id: str, record: dict[str, Any]) -> bytes:
    data = json.dumps({k: record[k] for k in FIELDS if k in record}, ensure_ascii=False)
    return f"id: {entry_id}\nevent: log\ndata: {data}\n\n".encode()


def setup_streams(app: web.Application) -> None:
    """Open streams end when the app shuts down (else the server would wait for them)."""
    app[CLOSING] = asyncio.Event()

    async def close_streams(app: web.Application) -> None:
        app[CLOSING].set()

    app.on_shutdown.append(close_streams)
