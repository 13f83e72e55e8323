"""USSD inputs and Telegram messages go through the work queue as an SMS does ("Every channel one shape"): each is an
`inbound` job, kept in Redis once the gateway has its answer and done by whichever worker takes it; the USSD screen
and a tap's verdict are that job's result, whichever process ran the step.

The system the gateways post to only queues here (`serve` with `WORKER_CONCURRENCY=0`); the work is done by another
bot beside it, as a `proactive-bot worker` process would: its own engine, channels, queue and workers, on the same
Redis and the same (simulated) time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bot.app import create_app
from bot.clock import SimClock
from bot.http.common import ENGINE, JOBS
from tests.conftest import Running, start_running, stop_running
from tests.helpers import birth, render

pytestmark = pytest.mark.integration  # two bots share one store: a real Redis (the embedded one lives in one)

PHONE, TG_PHONE = "+77011112233", "+77015556677"
USER = 501
TODAY = "2026-11-23"  # the fixtures' clock starts on this Kazakhstan day
HALYK = {"bank": "Halyk Bank", "iban": "KZ** **** **** **** 2345"}  # MOTHER_WITH_HALYK's account, as shown


@pytest.fixture
async def front() -> AsyncIterator[Running]:
    """The bot the gateways post to: it answers them and queues the work, and does none of it itself."""
    running, prefix = await start_running("redis", worker_concurrency=0)
    try:
        yield running
    finally:
        await stop_running(running, prefix)


class _Following:
    """The simulated time as another process reads it: the front's clock fires the timers, not this one."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock

    def now(self) -> dt.datetime:
        return self.clock.now()


@contextlib.asynccontextmanager
async def worker_process(front: Running) -> AsyncIterator[web.Application]:
    """Another bot beside the front, doing its queued work (no HTTP listener, no timers of its own)."""
    settings = front.system.settings.with_(worker_concurrency=4, poll_timers=False)
    app = create_app(settings, redis=front.redis, clock=_Following(front.system.clock))
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        yield app
    finally:
        await runner.cleanup()


def steps_only_elsewhere(front: Running) -> None:
    """Make sure no dialog step runs in the front's process: every answer must come from the other bot."""

    async def not_here(*args: Any) -> Any:
        raise AssertionError("a citizen's message was taken in the process the gateway posted to")

    front.system.runner.app[ENGINE].inbound = not_here  # type: ignore[method-assign]


async def consented(running: Running, dialog_id: str) -> dict[str, Any]:
    """The dialog once its consent is recorded (a worker is taking it meanwhile)."""
    for _ in range(200):
        dialog = await running.client.dialog(dialog_id)
        if dialog["consent"] is not None:
            return dialog
        await asyncio.sleep(0.05)
    raise AssertionError(f"no consent on {dialog_id}")


async def test_a_ussd_input_and_a_telegram_tap_are_kept_on_the_queue_until_a_worker_takes_them(front: Running) -> None:
    client = front.client
    async with worker_process(front):
        _, on_ussd, _ = await birth(client, msisdn=PHONE)
        _, on_telegram, _ = await birth(client, msisdn=TG_PHONE)
        await client.telegram_start(USER)
        assert (await client.telegram_shares(USER, TG_PHONE))[0] == 200
        assert (await client.ussd(PHONE, "*1414#"))[1]["open"]
    # No worker now (all stopped or busy): the gateways get their answer all the same, after a short wait.
    jobs = front.system.runner.app[JOBS]
    jobs.wait_seconds = 0.5
    status, screen = await client.ussd(PHONE, "1")
    assert status == 200 and (screen["screen"], screen["open"]) == (render("ussd.queued", "kk"), False)
    status, tap = await client.telegram_presses(USER, "consent:1")
    assert status == 200 and [a["text"] for a in tap["answers"]] == [None] and tap["replies"] == []

    # Both are on the work queue in Redis, as an SMS would be.
    entries = await front.redis.xrange(jobs.keys.jobs())
    queued = [(fields[b"kind"].decode(), json.loads(fields[b"payload"])) for _, fields in entries]
    assert [(kind, p["channel"], p["msisdn"], p["text"]) for kind, p in queued] == [
        ("inbound", "ussd", PHONE, "1"), ("inbound", "telegram", TG_PHONE, "1")]
    assert (await client.dialog(on_ussd["dialog_id"]))["consent"] is None
    assert (await client.dialog(on_telegram["dialog_id"]))["consent"] is None

    async with worker_process(front):  # a worker again: it takes them
        by_ussd = await consented(front, on_ussd["dialog_id"])
        by_telegram = await consented(front, on_telegram["dialog_id"])
        assert await front.redis.xlen(jobs.keys.jobs()) == 0
    assert (by_ussd["consent"]["channel"], by_ussd["consent"]["application_date"]) == ("ussd", TODAY)
    assert (by_telegram["consent"]["channel"], by_telegram["consent"]["application_date"]) == ("telegram", TODAY)
    # The USSD session had ended: the next screen was shown to nobody, and the transcript says so.
    shown = [line for line in by_ussd["transcript"] if line["direction"] == "out" and line["channel"] == "ussd"]
    assert (shown[-1]["text"], shown[-1]["status"]) == (render("ussd.bank.confirm", "kk", **HALYK), "not_shown")
    # Telegram can be written to at any time: the next question reached the chat when the job was done.
    bank = render("bank.confirm", "kk", application_date=dt.date(2026, 11, 23), **HALYK)
    assert (await client.telegram_messages(USER))[-1]["text"] == bank
    # The next dial shows where the dialog stands.
    status, again = await client.ussd(PHONE, "*1414#")
    assert status == 200 and (again["screen"], again["open"]) == (render("ussd.bank.confirm", "kk", **HALYK), True)


async def test_the_ussd_screen_is_the_result_of_a_step_another_process_ran(front: Running) -> None:
    client = front.client
    async with worker_process(front):
        _, dialog, _ = await birth(client, msisdn=PHONE)
        status, dialled = await client.ussd(PHONE, "*1414#")
        assert status == 200 and dialled["open"]
        steps_only_elsewhere(front)
        status, screen = await client.ussd(PHONE, "1")
    assert status == 200
    assert (screen["screen"], screen["open"]) == (render("ussd.bank.confirm", "kk", **HALYK), True)
    after = await client.dialog(dialog["dialog_id"])
    assert (after["status"], after["consent"]["channel"]) == ("awaiting_bank_account", "ussd")
    shown = [line for line in after["transcript"] if line["direction"] == "out" and line["channel"] == "ussd"]
    assert (shown[-1]["text"], shown[-1]["status"]) == (screen["screen"], "sent")


async def test_a_taps_verdict_comes_back_from_the_worker_that_judged_it(front: Running) -> None:
    """A double tap on the language button: the worker finds the second a copy, and the tap gets the pop-up."""
    client = front.client
    async with worker_process(front):
        _, dialog, _ = await birth(client, msisdn=TG_PHONE)
        await client.telegram_start(USER)
        assert (await client.telegram_shares(USER, TG_PHONE))[0] == 200
        asked = [m for m in await client.telegram_messages(USER) if m["buttons"]][-1]
        switch = next(b["data"] for row in asked["buttons"] for b in row if b["data"].startswith("lang:ru:"))
        steps_only_elsewhere(front)
        taps = [await client.telegram(USER, "press", {"data": switch, "message_id": asked["message_id"]})
                for _ in range(2)]
    assert [status for status, _ in taps] == [200, 200]
    first, second = (answer for _, answer in taps)
    assert [a["text"] for a in first["answers"]] == [None] and len(first["replies"]) == 1
    assert [a["text"] for a in second["answers"]] == [render("telegram.stale_button", "ru")]
    assert second["replies"] == []
    after = await client.dialog(dialog["dialog_id"])
    assert (after["status"], after["language"]) == ("awaiting_consent", "ru")
    assert [line.get("status") for line in after["transcript"] if line["direction"] == "in"][-1] == "duplicate"
