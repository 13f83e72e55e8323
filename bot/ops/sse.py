"""GET /ops/events: the dialog log's live feed as server-sent events, for the console's live updates.

One feed reader per process (one Redis connection blocked in XREAD on the live feed) hands each batch to every
open stream through an in-process queue, so open streams cost no Redis connections. Streams are capped per
operator and per process, and each re-checks its session (logout, a new operator token, idle timeout) at least
every `ops_stream_recheck_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from bot.http.common import SETTINGS, STORE, errors
from bot.ops.auth import OPERATORS, Operator
from bot.store import STREAM_ID, Store

log = logging.getLogger("bot.ops")
BLOCK_MS = 15_000  # a keep-alive comment at least this often: proxies keep the stream open, gone clients show
RETRY_SECONDS = 2.0  # the reader's pause after Redis failed
START_SECONDS = 10.0  # how long a new stream waits for the reader to find its place in the feed
QUEUE_BATCHES = 256  # a stream this far behind is closed (its browser reconnects from its Last-Event-ID)
FIELDS = ("dialog_id", "type", "status", "to", "at")  # enough to know what to refresh; nothing personal
Batch = list[tuple[str, dict[str, Any]]]


def _order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(eq=False)
class Listener:
    """One open stream: the batches the reader hands it (None: the stream must end)."""

    operator: str
    session: str | None
    queue: asyncio.Queue[Batch | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_BATCHES))
    dropped: bool = False  # fell too far behind: it ends once it has written what it holds

    def end(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


class FeedHub:
    """The process's one reader of the live feed, and the streams it feeds."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.listeners: set[Listener] = set()
        self.per_operator: Counter[str] = Counter()
        self.position = ""  # the id of the last record the reader has handed out
        self.reads = 0  # XREAD calls made (tests compare it with the number of streams)
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self.closing = asyncio.Event()

    async def join(self, listener: Listener) -> str:
        """Add a stream; the reader starts with the first one. Returns the reader's position (it hands out
        every record after it)."""
        self.listeners.add(listener)
        self.per_operator[listener.operator] += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._read())
        try:
            await asyncio.wait_for(self._started.wait(), START_SECONDS)
        except TimeoutError:
            raise RedisError("the live feed's reader has not started") from None
        return self.position

    def leave(self, listener: Listener) -> None:
        if listener in self.listeners:
            self.listeners.discard(listener)
            self.per_operator[listener.operator] -= 1
            if self.per_operator[listener.operator] <= 0:
                del self.per_operator[listener.operator]

    def end_session(self, session_id: str) -> None:
        """Close every stream of a session now (its operator signed out here)."""
        for listener in list(self.listeners):
            if listener.session == session_id:
                listener.end()

    async def _read(self) -> None:
        while not self.closing.is_set():
            try:
                if not self._started.is_set():
                    self.position = await self.store.feed_last_id()
                    self._started.set()
                self.reads += 1
                batch = await self._next()
            except Exception as error:  # the reader must outlive any one failure: every stream depends on it
                if isinstance(error, RedisError):
                    log.warning("live feed: Redis unavailable (%s); will retry", type(error).__name__)
                else:
                    log.exception("live feed: reading failed; will retry")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.closing.wait(), RETRY_SECONDS)
                continue
            if batch is None:
                break
            if batch:
                self.position = batch[-1][0]
            for listener in list(self.listeners):
                try:
                    listener.queue.put_nowait(batch)
                except asyncio.QueueFull:  # a stream that cannot keep up ends; the browser reconnects
                    self.leave(listener)
                    listener.dropped = True
        for listener in list(self.listeners):
            listener.end()

    async def _next(self) -> Batch | None:
        """The next records ([] after a quiet spell), or None once the app is shutting down."""
        read = asyncio.ensure_future(self.store.read_feed(self.position, block_ms=BLOCK_MS))
        stop = asyncio.ensure_future(self.closing.wait())
        done, pending = await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return read.result() if read in done and not self.closing.is_set() else None

    async def stop(self) -> None:
        self.closing.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


HUB = web.AppKey("ops_feed_hub", FeedHub)


def _too_many(what: str) -> web.Response:
    response = errors(429, ("$", "too_many_streams", f"too many open live streams {what}; close one"))
    response.headers["Retry-After"] = "30"
    return response


async def events(request: web.Request, op: Operator) -> web.StreamResponse:
    """Stream feed records (optionally of one dialog) from `since` or the browser's Last-Event-ID."""
    settings, hub, store = request.app[SETTINGS], request.app[HUB], request.app[STORE]
    if len(hub.listeners) >= settings.ops_streams_per_process:
        return _too_many("on this server")
    if hub.per_operator[op.name] >= settings.ops_streams_per_operator:
        return _too_many(f"for operator {op.name}")
    after = request.headers.get("Last-Event-ID") or request.query.get("since") or ""
    only = request.query.get("dialog")
    listener = Listener(op.name, op.session)
    try:
        position = await hub.join(listener)
        if not STREAM_ID.fullmatch(after) or _order(after) > _order(position):
            after = position
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        await response.write(b"retry: 2000\n\n")
        with contextlib.suppress(ConnectionResetError, RedisError):
            after = await _catch_up(store, response, after, position, only)
            await _follow(request, response, listener, op, after, only)
    finally:
        hub.leave(listener)
    return response


async def _catch_up(store: Store, response: web.StreamResponse, after: str, position: str, only: str | None) -> str:
    """What was written between `after` and where the reader stood when this stream joined (read once, no wait)."""
    while _order(after) < _order(position):
        batch = await store.read_feed(after, count=500)
        if not batch:
            break
        for entry_id, record in batch:
            if _order(entry_id) > _order(position):
                return after
            after = entry_id
            await _send(response, entry_id, record, only)
    return after


async def _follow(request: web.Request, response: web.StreamResponse, listener: Listener, op: Operator,
                  after: str, only: str | None) -> None:
    """Hand on what the reader reads; keep the stream alive; end it when the session is gone."""
    loop = asyncio.get_running_loop()
    recheck_every = request.app[SETTINGS].ops_stream_recheck_seconds
    recheck_at = loop.time() + recheck_every
    while True:
        wait = max(0.0, min(BLOCK_MS / 1000, recheck_at - loop.time()))
        try:
            batch = await asyncio.wait_for(listener.queue.get(), wait)
        except TimeoutError:
            batch = []
        if batch is None:
            return
        if listener.dropped and listener.queue.empty():
            return
        if not batch:
            await response.write(b": keep-alive\n\n")
        fresh = [(entry_id, record) for entry_id, record in batch if _order(entry_id) > _order(after)]
        if fresh:
            after = fresh[-1][0]
            if chunk := b"".join(_event(entry_id, record, only) for entry_id, record in fresh):
                await response.write(chunk)  # one write per batch, however many records it holds
        if loop.time() >= recheck_at:
            if op.session is not None and await request.app[OPERATORS].find(op.session, touch=False) is None:
                return  # signed out, a new operator token, or idle too long
            recheck_at = loop.time() + recheck_every


async def _send(response: web.StreamResponse, entry_id: str, record: dict[str, Any], only: str | None) -> None:
    if chunk := _event(entry_id, record, only):
        await response.write(chunk)


def _event(entry_id: str, record: dict[str, Any], only: str | None) -> bytes:
    """One server-sent event for a feed record (b"" for another dialog's record when the stream wants one)."""
    if only is not None and record.get("dialog_id") != only:
        return b""
    data = json.dumps({k: record[k] for k in FIELDS if k in record}, ensure_ascii=False)
    return f"id: {entry_id}\nevent: log\ndata: {data}\n\n".encode()


def end_session_streams(app: web.Application, session_id: str) -> None:
    """Close this process's streams of a session at once (other processes notice at their next re-check)."""
    app[HUB].end_session(session_id)


def setup_streams(app: web.Application) -> None:
    """The feed reader starts with the first stream; open streams end when the app shuts down."""

    async def start(app: web.Application) -> None:
        app[HUB] = FeedHub(app[STORE])

    async def close_streams(app: web.Application) -> None:
        if HUB in app:
            await app[HUB].stop()

    app.on_startup.append(start)
    app.on_shutdown.append(close_streams)
