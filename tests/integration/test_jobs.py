"""The work queue itself: one worker per entry, dead workers' entries taken over, dead letters, results."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.devserver import embedded_redis
from bot.jobs import GROUP, JobClock, JobFailed, JobQueue, Worker
from bot.store import Keys
from tests.conftest import REDIS_URL

START = dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)


@dataclass
class Bench:
    redis: Redis
    keys: Keys
    clock: SimClock

    def queue(self, **kwargs: Any) -> JobQueue:
        return JobQueue(self.redis, self.keys, self.clock, **kwargs)


@contextlib.asynccontextmanager
async def _bench(store: str) -> AsyncIterator[Bench]:
    redis = Redis.from_url(REDIS_URL) if store == "redis" else embedded_redis()
    prefix = f"pbtest:{uuid.uuid4().hex[:10]}"
    try:
        yield Bench(redis, Keys(prefix), SimClock(START))
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


@pytest.fixture(params=["redis", "fakeredis"])
async def bench(request: pytest.FixtureRequest) -> AsyncIterator[Bench]:
    """The queue on real Redis and on the embedded store (which polls instead of blocking)."""
    if request.param == "redis":
        request.applymarker(pytest.mark.integration)
    async with _bench(request.param) as b:
        yield b


@pytest.fixture
async def real_bench() -> AsyncIterator[Bench]:
    """Real Redis only: shared by several processes (the embedded store lives in one)."""
    async with _bench("redis") as b:
        yield b


@contextlib.asynccontextmanager
async def working(worker: Worker) -> AsyncIterator[Worker]:
    """A worker running in the background, stopped (its jobs in hand finished) on exit."""
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.queue.stopping.set()
        await task


def recorder(calls: list[dict[str, Any]], fail: Callable[[], bool] = lambda: False,
             seen: asyncio.Event | None = None) -> Callable[[dict[str, Any]], Any]:
    async def handle(payload: dict[str, Any]) -> dict[str, Any]:
        calls.append(payload)
        if seen is not None:
            seen.set()
        if fail():
            raise ValueError("the work failed")
        return {"echo": payload["n"]}
    return handle


async def pending(bench: Bench) -> int:
    summary: Any = await bench.redis.xpending(bench.keys.jobs(), GROUP)
    return int(summary["pending"])


async def test_a_job_is_done_once_and_its_result_comes_back(bench: Bench) -> None:
    calls: list[dict[str, Any]] = []
    queue = bench.queue()
    async with working(Worker(queue, {"echo": recorder(calls)}, block_ms=100)):
        assert await queue.run("echo", {"n": 1}) == {"echo": 1}
        assert await queue.run("echo", {"n": 2}) == {"echo": 2}
    assert calls == [{"n": 1}, {"n": 2}]
    assert await bench.redis.xlen(bench.keys.jobs()) == 0  # acknowledged and deleted
    assert await pending(bench) == 0


async def test_an_entry_left_by_a_dead_worker_is_taken_over_and_done_once(bench: Bench) -> None:
    queue = bench.queue()
    await queue.ensure_group()
    await queue.add("echo", {"n": 7})
    # A worker reads the entry and dies before acknowledging it.
    taken: Any = await bench.redis.xreadgroup(GROUP, "dead-worker", {bench.keys.jobs(): ">"}, count=1)
    assert len(taken[0][1]) == 1
    calls: list[dict[str, Any]] = []
    seen = asyncio.Event()
    async with working(Worker(queue, {"echo": recorder(calls, seen=seen)}, claim_idle_seconds=0.2,
                              block_ms=50)):
        await asyncio.wait_for(seen.wait(), 10)
    assert calls == [{"n": 7}]
    assert await pending(bench) == 0 and await bench.redis.xlen(bench.keys.jobs()) == 0


async def test_an_entry_that_keeps_failing_is_dead_lettered_then_replayed(bench: Bench) -> None:
    queue = bench.queue()
    calls: list[dict[str, Any]] = []
    failing = [True]
    worker = Worker(queue, {"echo": recorder(calls, fail=lambda: failing[0])}, claim_idle_seconds=0.1,
                    max_deliveries=3, dead_letter_after_seconds=0, block_ms=50)
    async with working(worker):
        with pytest.raises(JobFailed) as failed:
            await queue.run("echo", {"n": 3, "msisdn": "+77011234567", "iin": "900315400017"})
        assert failed.value.code == "internal"
        assert await bench.redis.xread({bench.keys.dead_letters(): "0-0"}, block=10_000)  # dead-lettered
    assert len(calls) == 3  # delivered three times, then given up
    [letter] = await queue.dead_letters()
    assert letter["kind"] == "echo" and letter["deliveries"] == 3 and "the work failed" in letter["error"]
    assert letter["payload"]["msisdn"] == "+7701***4567" and letter["payload"]["iin"] == "9003******17"
    assert await pending(bench) == 0 and await bench.redis.xlen(bench.keys.jobs()) == 0

    failing[0] = False  # the bug is fixed: an operator replays the letter
    queue.stopping.clear()
    async with working(Worker(queue, {"echo": recorder(calls)}, block_ms=50)):
        assert await queue.replay(letter["id"]) == {"done": True, "result": {"echo": 3}}
    assert calls[-1]["n"] == 3 and await queue.dead_letters() == []
    assert await queue.replay(letter["id"]) is None


@pytest.mark.integration
async def test_a_result_finished_by_another_process_reaches_the_one_waiting(real_bench: Bench) -> None:
    bench = real_bench
    front = bench.queue()  # like `serve` with WORKER_CONCURRENCY=0: it queues, others work
    back = bench.queue()   # like a `proactive-bot worker` process
    assert front.origin != back.origin
    listener = asyncio.create_task(front.listen())
    calls: list[dict[str, Any]] = []
    try:
        async with working(Worker(back, {"echo": recorder(calls)}, block_ms=100)):
            assert await front.run("echo", {"n": 5}) == {"echo": 5}
    finally:
        front.stopping.set()
        await listener
    assert calls == [{"n": 5}]


async def test_no_worker_in_time_answers_none_and_the_job_stays_queued(bench: Bench) -> None:
    queue = bench.queue(wait_seconds=0.05)
    await queue.ensure_group()
    assert await queue.run("echo", {"n": 9}) is None
    assert await bench.redis.xlen(bench.keys.jobs()) == 1
    calls: list[dict[str, Any]] = []
    seen = asyncio.Event()
    async with working(Worker(queue, {"echo": recorder(calls, seen=seen)}, block_ms=50)):
        await asyncio.wait_for(seen.wait(), 10)
    assert calls == [{"n": 9}]


async def test_work_is_decided_as_of_the_instant_the_job_was_accepted(bench: Bench) -> None:
    queue = bench.queue()
    clock = JobClock(bench.clock)
    seen: list[dt.datetime] = []

    async def handle(payload: dict[str, Any]) -> dict[str, Any]:
        seen.append(clock.now())
        return {}

    accepted = bench.clock.now()
    await queue.ensure_group()
    await queue.add("when", {})
    await bench.clock.advance(3600)  # the job waits an hour in the stream (workers down)
    async with working(Worker(queue, {"when": handle}, block_ms=50)):
        await queue.run("when", {})
    assert seen == [accepted, accepted + dt.timedelta(hours=1)]
    assert clock.now() == bench.clock.now()  # outside a job: the clock itself


async def test_work_waiting_for_a_locked_phone_fails_as_busy_and_stays_queued(bench: Bench) -> None:
    from redis.exceptions import LockError

    attempts: list[dict[str, Any]] = []
    done_again = asyncio.Event()

    async def locked(payload: dict[str, Any]) -> dict[str, Any]:
        attempts.append(payload)
        if len(attempts) == 1:
            raise LockError("held by a worker that died")
        done_again.set()
        return {"done": True}

    queue = bench.queue()
    async with working(Worker(queue, {"reply": locked}, claim_idle_seconds=0.1, block_ms=50)):
        with pytest.raises(JobFailed) as failed:
            await queue.run("reply", {"n": 1})
        assert failed.value.code == "busy"
        # The entry stayed pending: taken over once idle, done the second time.
        await asyncio.wait_for(done_again.wait(), 10)
    assert len(attempts) == 2 and await pending(bench) == 0


async def test_work_that_says_it_cannot_be_done_now_stays_queued_with_its_reason(bench: Bench) -> None:
    attempts: list[dict[str, Any]] = []
    done_again = asyncio.Event()

    async def gateway_down_once(payload: dict[str, Any]) -> dict[str, Any]:
        attempts.append(payload)
        if len(attempts) == 1:
            raise JobFailed("unavailable", "flood.ack to +7701***4567: bad_status: 503")
        done_again.set()
        return {"sent": True}

    queue = bench.queue()
    # Not a citizen's words: it stays queued (never the dead letters at once) and is done again once idle.
    async with working(Worker(queue, {"notice": gateway_down_once}, claim_idle_seconds=0.1, block_ms=50)):
        with pytest.raises(JobFailed) as failed:
            await queue.run("notice", {"n": 1})
        assert failed.value.code == "unavailable" and "bad_status" in str(failed.value)
        await asyncio.wait_for(done_again.wait(), 10)
    assert len(attempts) == 2 and await pending(bench) == 0 and await queue.dead_letters() == []
