"""Delivery reports reach the transcript; a phone that cannot be reached is visible to operators."""

from __future__ import annotations

from tests.conftest import Running
from tests.helpers import birth


async def test_delivered_report_marks_the_transcript_line(running: Running) -> None:
    _, answer, _ = await birth(running.client, msisdn="+77011110001")
    await running.system.gateway.flush()
    dialog = await running.client.dialog(answer["dialog_id"])
    assert [line["status"] for line in dialog["transcript"]] == ["delivered"]
    assert "delivery_failed" not in dialog["flags"]


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
        async with running.client.session.post(f"{running.system.url}/v1/inbound/sms", json=body) as resp:
            assert resp.status == 200
    dialog = await running.client.dialog(answer["dialog_id"])
    assert [line["direction"] for line in dialog["transcript"]] == ["out", "in", "out"]
