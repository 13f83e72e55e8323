"""The dialog log: one structured record per status change and per message, kept per dialog and fed live."""

from __future__ import annotations

import json

from bot.http.common import STORE
from bot.packing import unpack_line
from tests.conftest import Running
from tests.helpers import birth


async def test_every_turn_and_message_is_logged_with_the_phone_masked(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn="+77011113344")
    await client.phone_says("+77011113344", "1")
    store = running.system.runner.app[STORE]
    records = await store.dialog_log(answer["dialog_id"])
    kinds = [(r["type"], r.get("direction") or r.get("to")) for r in records]
    assert kinds[:2] == [("status", "awaiting_consent"), ("message", "out")]
    assert ("message", "in") in kinds and ("status", "awaiting_bank_account") in kinds
    assert all(r["msisdn"] == "+7701***3344" and r["dialog_id"] == answer["dialog_id"] for r in records)
    consent_ask = next(r for r in records if r["type"] == "message" and r["direction"] == "out")
    assert consent_ask["msg"] == "consent.ask.birth" and consent_ask["channel"] == "sms"
    assert "text" not in consent_ask  # the log names messages; their text stays in the dialog
    await running.system.gateway.flush()
    deliveries = [r["delivery"] for r in await store.dialog_log(answer["dialog_id"]) if r["type"] == "message"]
    assert "delivered" in deliveries
    feed = await running.redis.xrange(store.keys.log_feed())
    fed = [json.loads(unpack_line(fields[b"record"])) for _, fields in feed]
    assert {r["dialog_id"] for r in fed} == {answer["dialog_id"]}
    assert len(fed) == len(await store.dialog_log(answer["dialog_id"]))


async def test_repeat_question_resends_the_current_question_on_the_asked_channel(running: Running) -> None:
    client = running.client
    await birth(client, msisdn="+77011113355", language="ru")
    engine = running.system.runner.app
    from bot.http.common import ENGINE

    dialog = await engine[ENGINE].repeat_question("+77011113355", "sms", note={"type": "operator",
                                                                                  "action": "resend"})
    assert dialog is not None
    inbox = [m["text"] for m in await client.inbox("+77011113355")]
    assert len(inbox) == 2 and inbox[0] == inbox[1]
    assert await engine[ENGINE].repeat_question("+77011119999", "sms") is None
