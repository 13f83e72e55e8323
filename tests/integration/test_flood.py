"""A flood from one phone: acknowledged at most once, then ignored, and flagged — never a crash, never consent."""

from __future__ import annotations

from tests.conftest import Running
from tests.helpers import birth, render, texts

PHONE = "+77011118888"


async def test_a_flood_is_acknowledged_once_flagged_and_never_read_as_consent(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="ru")
    for i in range(10):
        await client.phone_says(PHONE, f"что {i}?")  # ten unclear replies: each re-prompted, within the limit
    replies_before = len(await texts(client, PHONE))
    for _ in range(30):
        assert await client.phone_says(PHONE, "1") == 202  # the flood: even "1" must not count now
    inbox = await texts(client, PHONE)
    assert inbox[replies_before:] == [render("flood.ack", "ru")]
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "awaiting_consent" and dialog["consent"] is None
    assert "flooding" in dialog["flags"]
    await client.advance(60)  # a new minute: the phone is heard again
    await client.phone_says(PHONE, "1")
    assert (await client.dialog(answer["dialog_id"]))["status"] == "awaiting_bank_account"


async def test_a_flood_from_a_phone_without_a_dialog_gets_one_answer(running: Running) -> None:
    for _ in range(25):
        assert await running.client.phone_says("+77011118889", "привет") == 202
    inbox = await texts(running.client, "+77011118889")
    assert inbox == [render("nodialog.info", "ru"), render("flood.ack", "ru")]
