"""The work queue: every event, message, report, decision, timer and notice is a Redis Streams entry until done.

An HTTP handler validates what arrived, adds it to the stream and waits for its result; any number of
workers (in `serve`, in `dev`, and `proactive-bot worker` processes) read the stream as consumers of one
group, each entry going to one of them. An entry is acknowledged (and deleted) only after its work is
committed, so a worker that dies mid-way leaves it pending, and another worker takes it over once it has
been idle `claim_idle_seconds`. The work is idempotent (inbound ids marked in the step's own transaction,
events by event_id, decisions by state, timers by their due instant), so doing it again finishes what the
dead worker began and repeats nothing. An entry delivered `max_deliveries` times without success moves to
the dead letters, which operators see and can replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError, ResponseError

from bot.clock import Clock
from bot.store import Keys
from domain.masking import scrub, scrub_all

# In a job's payload: until when (unix time) the request that queued it waits for its result, for work whose effect
# is shown in that result (a USSD screen). A replay drops it: nobody waits for a replay.
WAITS_UNTIL = "screen_until"

log = logging.getLogger("bot.jobs")

GROUP = "workers"
# Jobs carrying a citizen's own words: when one fails for a reason other than a busy phone or a Redis outage,
# trying it again in silence for minutes would leave the citizen unanswered; it goes to operators at once.
CITIZEN_WORDS = frozenset({"inbound"})
Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
T = TypeVar("T")
_JOB_TIME: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar("job_time", default=None)


class JobClock:
    """The clock work reads: inside a job, the instant the job was accepted; elsewhere the base clock.

    So a reply is decided at the moment it reached us, however long it waited in the stream or whichever
    worker took it (a consent's date is the day it arrived), and workers in other processes share the
    simulated clock of `dev` and the benchmark.
    """

    def __init__(self, base: Clock) -> None:
        self.base = base

    def now(self) -> dt.datetime:
        return _JOB_TIME.get() or self.base.now()


class JobFailed(Exception):
    """A job's work raised; `code` is `busy` (its phone's lock held), `store_unavailable` (Redis), `internal`, or
    what the work itself raised this for (`unavailable`: a gateway it needs refused it for now, bot/work.py's
    notices): the entry stays pending and is done again; or `dead_letter`: a citizen's words that failed, moved
    to the dead letters at once (kept there for an operator's replay)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Entry:
    """One stream entry as read: its stream id and fields."""

    entry_id: str
    kind: str
    job: str
    at: dt.datetime
    origin: str
    payload: dict[str, Any]

    @classmethod
    def parse(cls, entry_id: Any, fields: Any) -> Entry:
        f = _fields(fields)
        return cls(_text(entry_id), f.get("kind", ""), f.get("job", ""),
                   dt.datetime.fromtimestamp(float(f.get("at") or 0), dt.UTC), f.get("origin", ""),
                   json.loads(f.get("payload") or "{}"))


class JobQueue:
    """Adds jobs to the stream and waits for their results: its own process's directly, others' by a list."""

    def __init__(self, redis: Redis, keys: Keys, clock: Clock, *, wait_seconds: float = 25.0) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self.wait_seconds = wait_seconds
        self.origin = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        # The embedded store (fakeredis) lives in this process only, and its blocking commands ignore a
        # cancel: there, workers poll and are woken by `added` instead of blocking in Redis.
        self.embedded = type(redis).__module__.startswith("fakeredis")
        self.added = asyncio.Event()
        self.stopping = asyncio.Event()  # set at shutdown: every loop here ends (see `until_stopped`)

    async def ensure_group(self) -> None:
        """Create the stream and the consumer group if they are not there yet."""
        try:
            await self.redis.xgroup_create(self.keys.jobs(), GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def add(self, kind: str, payload: dict[str, Any], *, at: dt.datetime | None = None) -> None:
        """Put a job on the stream; it is durable once this returns. Nobody waits for its result."""
        await self._add(kind, payload, at, job=secrets.token_hex(8), origin="")

    async def run(self, kind: str, payload: dict[str, Any], *, at: dt.datetime | None = None,
                  wait_seconds: float | None = None) -> dict[str, Any] | None:
        """Add a job and wait for its result (`wait_seconds`, else the queue's); None when no worker finished it in
        time (it stays queued).

        Raises JobFailed when its work raised (it stays pending and will be tried again).
        """
        job = secrets.token_hex(8)
        return await self._wait(job, self._add(kind, payload, at, job=job, origin=self.origin), wait_seconds)

    async def run_or_queued(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """`run` for work that came from outside (a webhook, a gateway's post): its result, or None when it is
        queued: not done in time, or waiting for a phone a dead worker locked, or failed and kept in the dead
        letters for an operator. Either way what arrived is kept, so the sender need not post it again.
        Raises RedisError when it could not be queued, and JobFailed when its work raised otherwise (Redis
        trouble in the worker; `internal` only for work other than a citizen's words): it stays pending."""
        try:
            return await self.run(kind, payload)
        except JobFailed as error:
            if error.code in ("busy", "dead_letter"):
                return None
            raise

    async def _wait(self, job: str, adding: Awaitable[None],
                    wait_seconds: float | None = None) -> dict[str, Any] | None:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[job] = future  # before the add: another process may finish it before we return
        try:
            await adding
            return await asyncio.wait_for(asyncio.shield(future),
                                          self.wait_seconds if wait_seconds is None else wait_seconds)
        except TimeoutError:
            return None
        finally:
            self._waiting.pop(job, None)

    async def _add(self, kind: str, payload: dict[str, Any], at: dt.datetime | None, *, job: str,
                   origin: str) -> None:
        fields = {"kind": kind, "job": job, "at": repr((at or self.clock.now()).timestamp()), "origin": origin,
                  "payload": json.dumps(payload, ensure_ascii=False)}
        await self.redis.xadd(self.keys.jobs(), fields)  # type: ignore[arg-type]
        self.added.set()

    def resolve(self, job: str, result: dict[str, Any] | None, error: JobFailed | None = None) -> bool:
        """Hand a finished job's result to whoever here waits for it; False when nobody does."""
        future = self._waiting.pop(job, None)
        if future is None or future.done():
            return False
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result or {})
        return True

    async def until_stopped(self, work: Awaitable[T]) -> T | None:
        """`work`'s result, or None when the queue stops first.

        Loops here end by this flag, not by cancelling their task: a cancel that lands inside redis-py's
        connection pool can be swallowed, and the loop would then run on.
        """
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self.stopping.wait())
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if task.done():
            return task.result()
        task.cancel()
        # A blocking read that ignores the cancel still ends by its own timeout.
        await asyncio.wait({task}, timeout=10)
        return None

    async def pause(self, seconds: float) -> None:
        """Wait a while, or until the queue stops (a real clock, or Redis coming back, cannot be awaited)."""
        await self.until_stopped(asyncio.sleep(seconds))

    async def listen(self) -> None:
        """Results that other processes' workers finished for this one (until the queue stops)."""
        key = self.keys.job_done(self.origin)
        while not self.stopping.is_set():
            try:
                # Shorter than redis-py's socket timeout (5 s), which would cut a longer block off as an error.
                found = await self.until_stopped(self.redis.blpop([key], timeout=2))
            except RedisError as error:
                log.warning("job results: Redis unavailable (%s); will retry", type(error).__name__)
                await self.pause(1)
                continue
            if found is None:
                continue
            message = json.loads(found[1])
            failure = JobFailed(message["error"]["code"], message["error"]["message"]) if "error" in message else None
            self.resolve(message["job"], message.get("result"), failure)

    # ---- dead letters ----------------------------------------------------------------------------

    async def dead_letters(self, count: int = 100) -> list[dict[str, Any]]:
        """The newest dead letters, newest first, with personal data masked."""
        found: Any = await self.redis.xrevrange(self.keys.dead_letters(), count=count)
        out = []
        for entry_id, fields in found:
            f = _fields(fields)
            out.append({"id": _text(entry_id), "kind": f.get("kind"), "error": scrub(f.get("error", "")),
                        "deliveries": int(f.get("deliveries") or 0), "dead_at": f.get("dead_at"),
                        "accepted_at": _iso(float(f.get("at") or 0)),
                        "payload": scrub_all(json.loads(f.get("payload") or "{}"))})
        return out

    async def replay(self, dead_id: str) -> dict[str, Any] | None:
        """Put a dead letter back on the stream (one transaction) and wait for it like `run`.

        Returns None when there is no such letter, or {"done": False} when no worker finished it in time.
        A reply keeps the instant it reached us (its consent's date); other work is done as of now. No request
        waits for a replay's result: the payload's WAITS_UNTIL, if any, is dropped (a USSD screen it shows is
        then recorded as not shown, not as sent to a session that ended long ago).
        """
        f = await _entry(self.redis, self.keys.dead_letters(), dead_id)
        if f is None:
            return None
        payload = json.loads(f.get("payload") or "{}")
        if isinstance(payload, dict) and payload.pop(WAITS_UNTIL, None) is not None:
            f["payload"] = json.dumps(payload, ensure_ascii=False)
        at = f["at"] if f.get("kind") == "inbound" else repr(self.clock.now().timestamp())
        job = secrets.token_hex(8)

        async def move() -> None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.xadd(self.keys.jobs(), {"kind": f["kind"], "job": job, "at": at, "origin": self.origin,
                                             "payload": f["payload"]})
                pipe.xdel(self.keys.dead_letters(), dead_id)
                await pipe.execute()
            self.added.set()

        result = await self._wait(job, move())
        return {"done": False} if result is None else {"done": True, "result": result}


class Worker:
    """One consumer of the group: reads entries, runs them (up to `concurrency` at once), acknowledges them,
    takes over entries left pending by dead consumers, and dead-letters entries that keep failing.

    While an entry runs, its idle time is reset every third of `claim_idle_seconds` (XCLAIM JUSTID, which
    does not count a delivery), so only a stopped worker's entries go idle. An entry is given up only when
    it has been delivered `max_deliveries` times and is older than `dead_letter_after_seconds`: work that
    fails for a while (Redis restarting, a lock left by a killed worker) is not mistaken for poison.
    """

    def __init__(self, queue: JobQueue, handlers: dict[str, Handler], *, concurrency: int = 16,
                 claim_idle_seconds: float = 30.0, max_deliveries: int = 5, dead_letter_after_seconds: float = 600,
                 block_ms: int = 2000) -> None:
        self.queue = queue
        self.redis = queue.redis
        self.keys = queue.keys
        self.handlers = handlers
        self.name = f"{queue.origin}-w{secrets.token_hex(2)}"
        self.concurrency = concurrency
        self.claim_idle_ms = int(claim_idle_seconds * 1000)
        self.max_deliveries = max_deliveries
        self.dead_letter_after_ms = int(dead_letter_after_seconds * 1000)
        self.block_ms = max(1, min(block_ms, self.claim_idle_ms // 3))  # so that reclaiming is on time
        self._running: dict[str, asyncio.Task[None]] = {}  # by stream entry id
        self.done = 0  # entries finished by this worker (tests and the benchmark read it)

    async def run(self) -> None:
        """Until the queue stops; Redis outages are waited out. Then the entries in hand finish."""
        loop = asyncio.get_running_loop()
        stopping = self.queue.stopping
        next_reclaim = 0.0
        while not stopping.is_set():
            try:
                await self.queue.ensure_group()
                while not stopping.is_set():
                    free = self.concurrency - len(self._running)
                    if loop.time() >= next_reclaim:
                        next_reclaim = loop.time() + self.claim_idle_ms / 3000
                        await self._heartbeat()
                        for entry in await self._reclaim(free) if free > 0 else []:
                            self._start(entry)
                        continue
                    if free <= 0:
                        await asyncio.wait(self._running.values(), timeout=self.block_ms / 1000,
                                           return_when=asyncio.FIRST_COMPLETED)
                        continue
                    for entry in await self.queue.until_stopped(self._read(free)) or []:
                        self._start(entry)
            except RedisError as error:
                log.warning("worker %s: Redis unavailable (%s); will retry", self.name, type(error).__name__)
                await self.queue.pause(1)
        if self._running:
            await asyncio.wait(self._running.values())  # acknowledged, or left pending for another worker

    async def _read(self, count: int) -> list[Entry]:
        if self.queue.embedded:
            self.queue.added.clear()
            found: Any = await self.redis.xreadgroup(GROUP, self.name, {self.keys.jobs(): ">"}, count=count)
            if not found:
                added = asyncio.ensure_future(self.queue.added.wait())
                await asyncio.wait({added, *self._running.values()}, timeout=self.block_ms / 1000,
                                   return_when=asyncio.FIRST_COMPLETED)
                added.cancel()
        else:
            # A blocking read does not block the event loop: the jobs in hand go on meanwhile, and a new
            # entry (from this process or another) wakes it at once.
            found = await self.redis.xreadgroup(GROUP, self.name, {self.keys.jobs(): ">"}, count=count,
                                                block=self.block_ms)
        return [Entry.parse(i, f) for i, f in found[0][1]] if found else []

    async def _reclaim(self, count: int) -> list[Entry]:
        """Entries idle longer than claim_idle in other consumers' hands (or ours, from before a restart)."""
        pending = await self.redis.xpending_range(self.keys.jobs(), GROUP, min="-", max="+",
                                                  count=count + len(self._running), idle=self.claim_idle_ms)
        retry: list[str] = []
        now_ms = time.time() * 1000
        for item in pending:
            entry_id = _text(item["message_id"])
            if entry_id in self._running:
                continue  # ours, still running (its heartbeat is late)
            age_ms = now_ms - int(entry_id.partition("-")[0])  # a stream id starts with its creation in ms
            if int(item["times_delivered"]) >= self.max_deliveries and age_ms >= self.dead_letter_after_ms:
                await self._dead_letter(entry_id, int(item["times_delivered"]))
            elif len(retry) < count:
                retry.append(entry_id)
        if not retry:
            return []
        claimed: Any = await self.redis.xclaim(self.keys.jobs(), GROUP, self.name, self.claim_idle_ms,
                                               list[Any](retry))
        entries = [Entry.parse(i, f) for i, f in claimed if f]
        for entry in entries:
            log.warning("worker %s: took over %s entry %s left pending by a stopped worker", self.name,
                        entry.kind, entry.entry_id)
        return entries

    async def _dead_letter(self, entry_id: str, deliveries: int) -> None:
        fields = await _entry(self.redis, self.keys.jobs(), entry_id)
        error = await self.redis.hget(self.keys.job_errors(), entry_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            if fields is not None:
                letter: dict[Any, Any] = {
                    **fields, "error": _text(error) if error else "the worker stopped while running it",
                    "deliveries": str(deliveries), "dead_at": _iso(self.queue.clock.now().timestamp())}
                pipe.xadd(self.keys.dead_letters(), letter)
            pipe.xack(self.keys.jobs(), GROUP, entry_id)
            pipe.xdel(self.keys.jobs(), entry_id)
            pipe.hdel(self.keys.job_errors(), entry_id)
            await pipe.execute()
        kind = (fields or {}).get("kind", "?")
        log.error("job %s (%s) failed %d times: moved to the dead letters", entry_id, kind, deliveries)

    async def _dead_letter_now(self, entry: Entry, message: str) -> None:
        """Give a failed entry to the operators now, with its error; tell whoever waits for it."""
        try:
            await self.redis.hset(self.keys.job_errors(), entry.entry_id, message)
            pending = await self.redis.xpending_range(self.keys.jobs(), GROUP, min=entry.entry_id,
                                                      max=entry.entry_id, count=1)
            await self._dead_letter(entry.entry_id, int(pending[0]["times_delivered"]) if pending else 1)
        except RedisError as error:
            # Not moved: it stays pending and is dead-lettered (or done) on a later delivery.
            await self._failed(entry, JobFailed("store_unavailable", type(error).__name__))
            return
        failed = JobFailed("dead_letter", message)
        if not self.queue.resolve(entry.job, None, failed):
            with contextlib.suppress(RedisError):
                async with self.redis.pipeline(transaction=True) as pipe:
                    self._tell_origin(pipe, entry, {"job": entry.job,
                                                    "error": {"code": failed.code, "message": message}})
                    await pipe.execute()

    async def _heartbeat(self) -> None:
        """Reset the idle time of the entries this worker is running, so that no other worker takes them."""
        if self._running:
            await self.redis.xclaim(self.keys.jobs(), GROUP, self.name, 0, list[Any](self._running),
                                    justid=True)

    def _start(self, entry: Entry) -> None:
        if entry.entry_id in self._running:
            return
        task = asyncio.get_running_loop().create_task(self._handle(entry))
        self._running[entry.entry_id] = task
        task.add_done_callback(lambda _: self._running.pop(entry.entry_id, None))

    async def _handle(self, entry: Entry) -> None:
        _JOB_TIME.set(entry.at)  # this task's own context: the job is decided as of its acceptance
        handler = self.handlers.get(entry.kind)
        try:
            if handler is None:
                raise ValueError(f"no handler for job kind {entry.kind!r}")
            result = await handler(entry.payload)
        except LockError:
            # The phone's lock is still held, by a worker that died with it (it lapses): done again later.
            log.warning("job %s (%s): its phone is locked; it stays pending", entry.entry_id, entry.kind)
            await self._failed(entry, JobFailed("busy", "the phone's lock is held; the work stays queued"))
            return
        except RedisError as error:
            await self._failed(entry, JobFailed("store_unavailable", type(error).__name__))
            return
        except JobFailed as error:
            # The work says it cannot be done now (a gateway refusing for the moment): no bug, no traceback; done
            # again once idle, and dead-lettered like any entry if it keeps failing.
            log.warning("job %s (%s) not done now (%s: %s); it stays pending and will be tried again",
                        entry.entry_id, entry.kind, error.code, error)
            await self._failed(entry, error)
            return
        except Exception as error:
            message = f"{type(error).__name__}: {error}"[:500]
            if entry.kind in CITIZEN_WORDS:
                log.exception("job %s (%s) failed: a citizen's message, moved to the dead letters at once",
                              entry.entry_id, entry.kind)
                await self._dead_letter_now(entry, message)
                return
            log.exception("job %s (%s) failed; it stays pending and will be tried again", entry.entry_id,
                          entry.kind)
            await self._failed(entry, JobFailed("internal", message))
            return
        try:
            await self._ack(entry, result)
        except RedisError as error:
            # The work is committed; the entry will be done again, finding nothing left to do.
            log.warning("job %s done but not acknowledged (%s)", entry.entry_id, type(error).__name__)
        self.done += 1
        self.queue.resolve(entry.job, result)

    async def _ack(self, entry: Entry, result: dict[str, Any]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.keys.jobs(), GROUP, entry.entry_id)
            pipe.xdel(self.keys.jobs(), entry.entry_id)
            pipe.hdel(self.keys.job_errors(), entry.entry_id)
            self._tell_origin(pipe, entry, {"job": entry.job, "result": result})
            await pipe.execute()

    async def _failed(self, entry: Entry, error: JobFailed) -> None:
        if not self.queue.resolve(entry.job, None, error):
            with contextlib.suppress(RedisError):
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.hset(self.keys.job_errors(), entry.entry_id, str(error))
                    self._tell_origin(pipe, entry, {"job": entry.job,
                                                    "error": {"code": error.code, "message": str(error)}})
                    await pipe.execute()
            return
        with contextlib.suppress(RedisError):
            await self.redis.hset(self.keys.job_errors(), entry.entry_id, str(error))

    def _tell_origin(self, pipe: Any, entry: Entry, message: dict[str, Any]) -> None:
        """Another process waits for this job: push its result onto that process's list."""
        if entry.origin and entry.origin != self.queue.origin:
            key = self.keys.job_done(entry.origin)
            pipe.rpush(key, json.dumps(message, ensure_ascii=False))
            pipe.expire(key, 120)


async def _entry(redis: Redis, key: str, entry_id: str) -> dict[str, str] | None:
    """One stream entry's fields, or None when it is not (or no longer) there."""
    found: Any = await redis.xrange(key, entry_id, entry_id)
    return _fields(found[0][1]) if found else None


def _fields(raw: Any) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
