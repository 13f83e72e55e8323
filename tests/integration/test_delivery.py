"""Delivery reports reach the transcript; a phone that cannot be reached is visible to operators."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.channels.sms import untagged
from bot.http.common import ENGINE
from tests.conftest import Running
from tests.helpers import birth


async def test_delivered_report_marks_the_transcript_line(running: Running) -> None:
    _, answer, _ = await birth(running.client, msisdn="+77011110001")
    await running.system.gateway.flush()
    dialog = await running.client.dialog(answer["dialog_id"])
    assert [line["status"] for line in dialog["transcript"]] == ["delivered"]
    assert "delivery_failed" not in dialog["flags"]


@pytest.mark.aggregator_only
async def test_failed_report_flags_the_dialog(running: Running) -> None:
    async with running.client.session.post(f"{running.system.url}/mock/phones/77011110002/state",
                                           json={"reachable": False}) as resp:
        assert resp.status == 200
    _, answer, _ = await birth(running.client, msisdn="+77011110002")
    await running.system.gateway.flush()
    dialog = await running.client.dialog(answer["dialog_id"])
    assert dialog["transcript"][0]["status"] == "failed"
    assert "delivery_failed" in dialog["flags"]
    assert await running.client.inbox("+77011110002") == []


async def test_a_gateway_retrying_the_same_inbound_message_has_one_effect(running: Running) -> None:
    _, answer, _ = await birth(running.client, msisdn="+77011110003")
    body = {"message_id": "aggregator-42", "from": "+77011110003", "to": "1414", "text": "?"}
    for _ in range(3):
        assert (await running.client.post_sms(body))[0] == 200
    dialog = await running.client.dialog(answer["dialog_id"])
    assert [line["direction"] for line in dialog["transcript"]] == ["out", "in", "out"]


class CountsReportSteps:
    """Wraps Engine.delivery_report to count the reports that took a whole step."""

    def __init__(self, engine: Any) -> None:
        self.steps = 0
        self._inner = engine.delivery_report
        engine.delivery_report = self

    async def __call__(self, report: Any) -> None:
        self.steps += 1
        await self._inner(report)


@pytest.mark.aggregator_only
async def test_a_delivered_report_is_taken_without_a_step_and_once(running: Running) -> None:
    counter = CountsReportSteps(running.system.runner.app[ENGINE])
    _, answer, _ = await birth(running.client, msisdn="+77011110004")
    await running.system.gateway.flush()
    [sent] = [s for s in running.system.gateway.sent if s["to"] == "+77011110004"]
    body = {"message_id": sent["message_id"], "client_id": sent["client_id"], "status": "delivered"}
    assert (await running.client.post_delivery_report(body))[0] == 200  # the gateway repeats itself
    assert counter.steps == 0
    dialog = await running.client.dialog(answer["dialog_id"])
    assert [line["status"] for line in dialog["transcript"]] == ["delivered"]
    store = running.system.runner.app[ENGINE].store
    records = [r for r in await store.dialog_log(answer["dialog_id"]) if r.get("delivery") == "delivered"]
    assert len(records) == 1 and records[0]["msisdn"] == "+7701***0004"
    # The next step writes the report into the dialog itself and clears what waited beside it.
    assert await running.client.phone_says("+77011110004", "?") == 202
    waiting = await running.redis.hkeys(store.keys.deliveries(answer["dialog_id"]))
    ours = untagged(running.system.settings.sms_client_id_secret, sent["client_id"])
    assert ours is not None and ours.encode() not in waiting  # (the re-prompt's report waits for the step after)
    stored = await store.load(answer["dialog_id"])
    assert stored is not None and stored.transcript[0]["status"] == "delivered"


@pytest.mark.aggregator_only
async def test_after_a_failed_delivery_reports_take_a_step_again(running: Running) -> None:
    counter = CountsReportSteps(running.system.runner.app[ENGINE])
    async with running.client.session.post(f"{running.system.url}/mock/phones/77011110005/state",
                                           json={"reachable": False}) as resp:
        assert resp.status == 200
    _, answer, _ = await birth(running.client, msisdn="+77011110005")
    await running.system.gateway.flush()
    assert counter.steps == 1  # the failure: a step, which schedules the resend
    store = running.system.runner.app[ENGINE].store
    assert await store.record_delivery(f"{answer['dialog_id']}-1", dt.datetime(2026, 11, 23, tzinfo=dt.UTC)) is False


async def test_a_reply_to_a_phone_a_dead_worker_locked_is_kept_and_answered_later() -> None:
    from tests.conftest import start_running, stop_running

    running, prefix = await start_running("redis", phone_lock_seconds=0.5, job_claim_idle_seconds=0.3)
    try:
        _, answer, _ = await birth(running.client, msisdn="+77011110006")
        store = running.system.runner.app[ENGINE].store
        # A worker took the phone's lock and was killed: the lock lapses after PHONE_LOCK_SECONDS.
        assert await store.redis.set(store.keys.phone_lock("+77011110006"), "dead-worker", px=1500)
        body = {"message_id": "agg-locked-1", "from": "+77011110006", "to": "1414", "text": "1"}
        assert await running.client.post_sms(body) == (200, {"accepted": True, "queued": True})
        inbox = await running.system.gateway.wait_for("+77011110006", 2, 15)  # the account question, later
        assert len(inbox) == 2
        assert (await running.client.dialog(answer["dialog_id"]))["status"] == "awaiting_bank_account"
    finally:
        await stop_running(running, prefix)
