"""Telegram taps act on their own question (issue 11, item 3): each attack is made, and nothing changes.

Telegram delivers whatever `callback_data` a client sends, so a tap is only as good as the question it names.
Forged taps are delivered through the Bot API mock as Telegram would deliver them (with the secret header).
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.telegram_buttons import CALLBACK_DATA_MAX_BYTES, tapped
from bot.http.common import STORE
from tests.conftest import Running
from tests.helpers import birth, render

PHONE, OTHER_PHONE = "+77011112233", "+77015556677"
USER, OTHER_USER, STRANGER = 501, 502, 777
STALE = render("telegram.stale_button", "kk")


async def bound(running: Running, user: int, phone: str) -> str:
    """A birth offer to `phone` (asked in Telegram once `user` shares it); the dialog id."""
    _, answer, _ = await birth(running.client, msisdn=phone, language="kk")
    await running.client.telegram_start(user, "kk")
    await running.client.telegram_shares(user, phone)
    # The offer's delivery report is in before anything is compared (it comes back through Kannel in its own time).
    await running.system.gateway.flush()
    return str(answer["dialog_id"])


async def forged_tap(running: Running, user: int, data: str) -> dict[str, Any]:
    """`user` taps the newest message with buttons, but the client sends `data` as the button's."""
    api = running.system.telegram
    who = api.user(user)
    message = [m for m in who.messages if m["buttons"]][-1]
    response = await api.deliver(who, api.press_update(who, message, data))
    assert response.status == 200, response.text
    return {"answers": list(who.answers)}


async def snapshot(running: Running, dialog_id: str) -> Any:
    return (await running.system.runner.app[STORE].load(dialog_id)).to_json()


def data_of(message: dict[str, Any], action: str) -> str:
    return next(b["data"] for row in message["buttons"] for b in row if b["data"].startswith(action + ":"))


@pytest.mark.parametrize("label,forge", [
    ("a button of before buttons named their question", lambda mine, other: "consent:1"),
    ("this dialog's consent bound to another dialog id", lambda mine, other: f"consent:1:{other}:C"),
    ("an account button bound to the consent question", lambda mine, other: f"bank:1:{mine}:C"),
    ("a consent button bound to the language question", lambda mine, other: f"consent:1:{mine}:L"),
    ("an unknown question code", lambda mine, other: f"consent:1:{mine}:X"),
    ("extra fields", lambda mine, other: f"consent:1:{mine}:C:C"),
    ("garbage", lambda mine, other: "\u202e" + "9" * 60),
])
async def test_a_forged_tap_answers_closed_and_changes_nothing(running: Running, label: str, forge: Any) -> None:
    mine = await bound(running, USER, PHONE)
    other = await bound(running, OTHER_USER, OTHER_PHONE)
    before = (await snapshot(running, mine), await snapshot(running, other))
    result = await forged_tap(running, USER, forge(mine, other))
    assert result["answers"][-1]["text"] == STALE, label
    assert (await snapshot(running, mine), await snapshot(running, other)) == before, label


async def test_an_old_dialogs_button_cannot_consent_for_the_phones_next_dialog(running: Running) -> None:
    """The issue's attack: consent:1 on a finished dialog's message, while the next offer went only by SMS."""
    first = await bound(running, USER, PHONE)
    _, second, _ = await birth(running.client, msisdn=PHONE, language="kk")
    old = [m for m in await running.client.telegram_messages(USER) if m["buttons"]][-1]
    assert await running.client.phone_says(PHONE, "2") == 202  # the first refused by SMS; the second asks by SMS
    await running.client.advance(600)
    await running.system.gateway.flush()
    before = await snapshot(running, second["dialog_id"])
    status, answer = await running.client.telegram(USER, "press", {"data": data_of(old, "consent:1"),
                                                                   "message_id": old["message_id"]})
    assert status == 200 and answer["answers"][-1]["text"] == STALE and answer["replies"] == []
    assert await snapshot(running, second["dialog_id"]) == before
    assert (await running.client.dialog(first))["status"] == "declined"


async def test_a_tap_naming_another_phones_dialog_acts_on_neither(running: Running) -> None:
    mine = await bound(running, USER, PHONE)
    other = await bound(running, OTHER_USER, OTHER_PHONE)
    their_message = [m for m in await running.client.telegram_messages(OTHER_USER) if m["buttons"]][-1]
    before = (await snapshot(running, mine), await snapshot(running, other))
    result = await forged_tap(running, USER, data_of(their_message, "consent:1"))
    assert result["answers"][-1]["text"] == STALE
    assert (await snapshot(running, mine), await snapshot(running, other)) == before


async def test_an_unbound_user_is_rate_limited_like_a_phone(running: Running) -> None:
    limit = running.system.settings.inbound_per_minute
    replies = 0
    for _ in range(limit + 5):
        status, answer = await running.client.telegram_says(STRANGER, "1")
        assert status == 200
        replies += len(answer["replies"])
    assert replies == limit  # "share your phone first" at most INBOUND_PER_MINUTE times a minute
    await running.client.advance(60)
    status, answer = await running.client.telegram_says(STRANGER, "1")
    assert len(answer["replies"]) == 1  # the next minute, answered again


def test_every_button_fits_telegrams_64_bytes() -> None:
    longest = "d_ffff-ffff-ffff-ffff"
    for data in (f"consent:1:{longest}:C", f"bank:2:{longest}:B", f"lang:ru:{longest}:T"):
        assert len(data.encode()) <= CALLBACK_DATA_MAX_BYTES
        assert tapped(data) is not None
