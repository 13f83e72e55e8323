"""The load: events, phones answering and the clock moving, over HTTP only, with bounded concurrency."""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.citizens import Citizen
from bot.devclient import DevClient

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=120)


@dataclass
class Tally:
    """What the load saw: latencies by kind (seconds), errors by cause, time spent moving the clock."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    clock_moves: int = 0
    clock_seconds: float = 0.0

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)


class Driver:
    """One HTTP client for a running system: posts events, sends SMS from phones, moves the clock."""

    def __init__(self, session: aiohttp.ClientSession, url: str, start: dt.datetime) -> None:
        self.client = DevClient(session, url)
        self.session = session
        self.url = url
        self.start = start
        self.sim = 0.0  # seconds the simulated clock has moved since `start`
        self.tally = Tally()

    @property
    def timestamp(self) -> int:
        """The bot's clock as unix seconds: events are signed with it (the bench is what moves it)."""
        return int(self.start.timestamp() + self.sim)

    async def _timed(self, kind: str, call: Awaitable[Any]) -> Any | None:
        """Await one request and tally its latency; None (and an error tallied) when it failed or was not 202."""
        began = time.perf_counter()
        try:
            answer = await call
        except (aiohttp.ClientError, TimeoutError) as error:
            self.tally.errors[f"{kind}: {type(error).__name__}"] += 1
            return None
        self.tally.add(kind, time.perf_counter() - began)
        status = answer[0] if isinstance(answer, tuple) else answer
        if status != 202:
            self.tally.errors[f"{kind}: HTTP {status}"] += 1
            return None
        return answer

    async def event(self, citizen: Citizen, kind: str = "event") -> bool:
        """Post the citizen's event; True when it was accepted (202) and a dialog made."""
        answer = await self._timed(kind, self.client.post_event(citizen.event, timestamp=self.timestamp))
        if answer is None:
            return False
        citizen.dialog_id = answer[1]["dialog_id"]
        return True

    async def reply(self, citizen: Citizen, text: str, kind: str = "reply") -> bool:
        """The citizen's phone sends `text` to 1414; True once the bot has answered (202)."""
        if await self._timed(kind, self.client.phone_says(citizen.msisdn, text)) is None:
            return False
        citizen.done.append(text)
        return True

    async def advance_to(self, sim_seconds: float) -> None:
        """Move the simulated clock to `sim_seconds` after the start; every timer due on the way fires."""
        step = sim_seconds - self.sim
        if step <= 0:
            return
        began = time.perf_counter()
        async with self.session.post(f"{self.url}/mock/clock", json={"advance_seconds": step},
                                     timeout=aiohttp.ClientTimeout(total=None)) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"the clock did not move: HTTP {resp.status}")
        self.tally.clock_moves += 1
        self.tally.clock_seconds += time.perf_counter() - began
        self.sim = sim_seconds

    async def setup_world(self, citizens: list[Citizen], concurrency: int) -> None:
        """Put accounts on record in the simulated e-government databases, and script backend refusals."""
        async def one(citizen: Citizen) -> None:
            if citizen.account is not None:
                await self.client.egov_person({"iin": citizen.parent_iin, "bank_account": citizen.account})
            if citizen.persona == "backend_refused":
                await self.client.script_backend(citizen.parent_iin, "refused", "not_eligible")

        await bounded(concurrency, [one(c) for c in citizens])


async def bounded(concurrency: int, jobs: list[Awaitable[Any]]) -> list[Any]:
    """Run the awaitables with at most `concurrency` in flight; their results in order."""
    gate = asyncio.Semaphore(concurrency)

    async def run(job: Awaitable[Any]) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(run(j) for j in jobs))


async def intake_burst(driver: Driver, citizens: list[Citizen], concurrency: int) -> float:
    """Post every event as fast as `concurrency` allows (closed loop); the wall time it took."""
    began = time.perf_counter()
    await bounded(concurrency, [driver.event(c, "burst_event") for c in citizens])
    return time.perf_counter() - began


@dataclass
class Level:
    """One step of the reply ladder: offered rate, achieved rate, latencies, and whether it kept up."""

    offered: float
    achieved: float
    sent: int
    latency: dict[str, Any]
    kept_up: bool


async def reply_level(driver: Driver, scripts: list[tuple[Citizen, list[str]]], rate: float, seconds: float,
                      max_in_flight: int, summarise: Callable[[list[float]], dict[str, Any]]) -> Level:
    """Open loop: start one reply every 1/rate seconds for `seconds`, whatever the answers' pace."""
    # Replies go round-robin over the citizens, one script line each round, so a phone's next line comes a
    # whole round after its last; a line still in flight for that phone is awaited first (order is kept).
    lines = [(c, s[round_]) for round_ in range(max(len(s) for _, s in scripts))
             for c, s in scripts if round_ < len(s)][: int(rate * seconds)]
    last: dict[str, asyncio.Task[bool]] = {}
    tasks: list[asyncio.Task[bool]] = []
    kind = f"reply@{rate:g}"
    began = time.perf_counter()
    overloaded = False

    async def send(citizen: Citizen, text: str, before: asyncio.Task[bool] | None) -> bool:
        if before is not None:
            await before
        return await driver.reply(citizen, text, kind)

    for i, (citizen, text) in enumerate(lines):
        # Pacing, not waiting: an open-loop generator starts request i at began + i/rate.
        delay = began + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if sum(not t.done() for t in tasks[-max_in_flight * 2:]) >= max_in_flight:
            overloaded = True
            break
        task = asyncio.create_task(send(citizen, text, last.get(citizen.msisdn)))
        last[citizen.msisdn] = task
        tasks.append(task)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    samples = driver.tally.latencies.get(kind, [])
    return Level(offered=rate, achieved=len(tasks) / elapsed if elapsed else 0.0, sent=len(tasks),
                 latency=summarise(samples), kept_up=not overloaded and len(tasks) / elapsed >= 0.9 * rate)


async def replay(driver: Driver, citizens: list[Citizen], *, tick: float, concurrency: int, tail: float,
                 deadline: float) -> bool:
    """Play every citizen on the simulated clock, `tick` seconds at a time; False if the deadline stopped it."""
    # The clock stands at the start of a tick while that tick's events and replies are sent (concurrently,
    # at most `concurrency` at once); a citizen whose next reply falls in the same tick sends it at once,
    # unless it repeats the last one (then at the next tick).
    # Then the clock jumps to the next tick that has something to do, firing every timer on the way.
    due: list[tuple[float, int]] = [(c.at, c.index) for c in citizens]
    heapq.heapify(due)
    gate = asyncio.Semaphore(concurrency)
    by_index = {c.index: c for c in citizens}

    async def play(citizen: Citizen, at: float, end: float) -> None:
        while True:
            async with gate:
                if citizen.dialog_id is None:
                    ok = await driver.event(citizen)
                else:
                    ok = await driver.reply(citizen, citizen.replies[len(citizen.done)][1])
            if not ok or len(citizen.done) >= len(citizen.replies):
                return
            at += citizen.replies[len(citizen.done)][0]
            # The same key again (the offer's "1", then the account's) waits for the clock to move: sent at
            # the same instant it would be a copy (DUPLICATE_WINDOW_SECONDS) and set aside, as a double tap is.
            again = bool(citizen.done) and citizen.replies[len(citizen.done)][1] == citizen.done[-1]
            if at >= end or again:
                heapq.heappush(due, (max(at, end), citizen.index))
                return

    last = max((c.at for c in citizens), default=0.0)
    while due:
        if time.perf_counter() > deadline:
            return False
        start = due[0][0] // tick * tick
        await driver.advance_to(start)
        end = start + tick
        batch = []
        while due and due[0][0] < end:
            at, index = heapq.heappop(due)
            batch.append(play(by_index[index], at, end))
        await asyncio.gather(*batch)
    await driver.advance_to(max(driver.sim, last) + tail)
    return True


async def verify(driver: Driver, citizens: list[Citizen], concurrency: int) -> dict[str, Any]:
    """Every dialog over the operators' API and every phone's inbox: statuses as expected, no SMS lost."""
    statuses: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    lost = 0

    async def check(citizen: Citizen) -> None:
        nonlocal lost
        if citizen.dialog_id is None:
            wrong[f"{citizen.persona}: no dialog"] += 1
            return
        dialog = await driver.client.dialog(citizen.dialog_id)
        inbox = await driver.client.inbox(citizen.msisdn)
        statuses[dialog["status"]] += 1
        if dialog["status"] != citizen.expected:
            wrong[f"{citizen.persona}: {dialog['status']} (expected {citizen.expected})"] += 1
        sent = sum(1 for line in dialog["transcript"]
                   if line["direction"] == "out" and line.get("status") in ("sent", "delivered"))
        if sent != len(inbox):
            lost += abs(sent - len(inbox))

    await bounded(concurrency, [check(c) for c in citizens])
    return {"statuses": dict(statuses), "unexpected": dict(wrong), "sms_mismatch": lost,
            "ok": not wrong and lost == 0}
