"""Live updates (server-sent events) and the Prometheus metrics, over HTTP."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.channels.base import Channel, Outbound, Receipt, SendError, SendFailure
from bot.http.common import ENGINE
from tests.conftest import Running
from tests.helpers import birth

AUTH = {"Authorization": "Bearer dev-operator"}


async def _events(running: Running, path: str, wanted: int) -> list[dict[str, Any]]:
    """Read `wanted` events from an open stream (bounded by a timeout, never by sleeping)."""
    found: list[dict[str, Any]] = []
    async with running.client.session.get(f"{running.system.url}{path}", headers=AUTH) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
        async for raw in resp.content:
            line = raw.decode().strip()
            if line.startswith("data: "):
                found.append(json.loads(line[6:]))
                if len(found) == wanted:
                    return found
    return found


async def test_the_event_stream_pushes_each_dialog_log_record_from_where_the_page_was_rendered(
        running: Running) -> None:
    store = running.system.runner.app[ENGINE].store
    since = await store.feed_last_id()
    _, first, _ = await birth(running.client, msisdn="+77011114001")
    _, second, _ = await birth(running.client, msisdn="+77011114002")
    everything = await asyncio.wait_for(_events(running, f"/ops/events?since={since}", 2), timeout=10)
    assert everything[0]["dialog_id"] == first["dialog_id"] and everything[0]["type"] == "status"
    assert set(everything[0]) <= {"dialog_id", "type", "status", "to", "at"}  # nothing personal in the stream
    one = await asyncio.wait_for(_events(running, f"/ops/events?since={since}&dialog={second['dialog_id']}", 1),
                                 timeout=10)
    assert one[0]["dialog_id"] == second["dialog_id"]


async def test_a_stream_opened_before_the_change_sees_it(running: Running) -> None:
    async with running.client.session.get(f"{running.system.url}/ops/events", headers=AUTH) as resp:
        assert (await asyncio.wait_for(resp.content.readline(), timeout=10)).startswith(b"retry:")  # it listens
        _, answer, _ = await birth(running.client, msisdn="+77011114003")
        while not (line := await asyncio.wait_for(resp.content.readline(), timeout=10)).startswith(b"data: "):
            pass
    assert json.loads(line[6:])["dialog_id"] == answer["dialog_id"]


async def _metrics(running: Running) -> dict[str, float]:
    async with running.client.session.get(f"{running.system.url}/metrics") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()) if k != "le")
            if "le" not in sample.labels:
                values[f"{sample.name}{{{labels}}}"] = sample.value
    return values


async def test_metrics_count_dialogs_messages_timers_and_requests(running: Running) -> None:
    client = running.client
    await birth(client, msisdn="+77011114004")
    await birth(client, msisdn="+77011114005")
    await client.phone_says("+77011114005", "1")
    await client.advance(25 * 3600)  # the first family's reminder fires
    await running.system.gateway.flush()
    m = await _metrics(running)
    assert m["proactive_bot_dialogs{status=awaiting_consent}"] == 1
    assert m["proactive_bot_dialogs{status=awaiting_bank_account}"] == 1
    assert m["proactive_bot_messages_total{channel=sms,direction=out}"] == 5  # 2 offers, a confirm, 2 reminders
    assert m["proactive_bot_messages_total{channel=sms,direction=in}"] == 1
    assert m["proactive_bot_timer_lag_seconds_count{kind=remind}"] >= 1
    assert m["proactive_bot_status_changes_total{status=awaiting_bank_account}"] == 1
    assert m["proactive_bot_http_request_duration_seconds_count{method=POST,route=/v1/events,status=202}"] == 2


@pytest.mark.aggregator_only
async def test_metrics_count_failed_deliveries(running: Running) -> None:
    async with running.client.session.post(f"{running.system.url}/mock/phones/77011114006/state",
                                           json={"reachable": False}) as resp:
        assert resp.status == 200
    await birth(running.client, msisdn="+77011114006")
    await running.system.gateway.flush()
    m = await _metrics(running)
    assert m["proactive_bot_send_failures_total{channel=sms}"] == 1
    assert m["proactive_bot_dialogs_needing_attention{}"] == 1


class FlakyChannel:
    """A channel whose first `failures` sends fail to connect; it records what it was asked."""

    def __init__(self, inner: Channel, failures: int) -> None:
        self.inner, self.failures, self.name = inner, failures, inner.name
        self.asked: list[str] = []

    async def send(self, message: Outbound) -> Receipt:
        self.asked.append(message.client_id)
        if len(self.asked) <= self.failures:
            raise SendError(SendFailure.CONNECTION, "connection refused")
        return await self.inner.send(message)


async def test_metrics_and_the_log_count_retries(running: Running) -> None:
    engine = running.system.runner.app[ENGINE]
    flaky = FlakyChannel(engine.sms, failures=1)
    engine.sms = engine.channels["sms"] = flaky
    _, answer, _ = await birth(running.client, msisdn="+77011114007")
    assert (await _metrics(running))["proactive_bot_retries_total{item=sms}"] == 1
    await running.client.advance(300)
    assert len(flaky.asked) == 2 and len(await running.client.inbox("+77011114007")) == 1
    log = await engine.store.dialog_log(answer["dialog_id"])
    retry = next(r for r in log if r["type"] == "retry")
    assert retry["attempt"] == 1 and retry["error"] == "connection" and retry["item"] == "sms"
