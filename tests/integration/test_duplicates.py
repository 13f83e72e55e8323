"""An answer belongs to a question the citizen could read: copies, late replies and stale taps are set aside.

Issue 12, item 1, and issue 11, item 3 (the Telegram side). Every path that could let one reply act on two
questions — SMS, USSD, Telegram, and two dialogs of one phone — with the simulated clock moved over HTTP.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.clock import parse_instant
from bot.http.common import STORE
from dialogs.model import iso
from tests.conftest import Running
from tests.helpers import MOTHER_WITH_HALYK, birth, render, texts

PHONE = "+77011112233"
USER = 501
EVENT_DAY = dt.date(2026, 11, 23)  # the fixtures' clock starts on this Kazakhstan day
WINDOW = 120  # DUPLICATE_WINDOW_SECONDS, the default


def consent_ask(lang: str) -> str:
    return render("consent.ask.birth", lang, event_date=EVENT_DAY, hours="72")


def inbound_lines(dialog: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(line["text"], line.get("status")) for line in dialog["transcript"] if line["direction"] == "in"]


async def gateway_posts(running: Running, body: dict[str, Any]) -> None:
    """The SMS aggregator posts a citizen's message itself (to choose its `received_at`)."""
    status, answer = await running.client.post_sms(body)
    assert status == 200, answer


# ---- SMS: one phone sends the same text twice ------------------------------------------------------------------


@dataclass
class Twice:
    label: str
    language: str | None  # None: the language question comes first
    text: str
    expect_status: str
    expect_consent: bool
    expect_language: str | None = None


TWICE = [
    Twice("'2' twice at the language question: Russian chosen, the offer NOT refused", None, "2",
          "awaiting_consent", False, "ru"),
    Twice("'1' twice at the language question: Kazakh chosen, NO consent", None, "1", "awaiting_consent", False,
          "kk"),
    Twice("consent '1' twice: consent given, the account on record NOT confirmed", "kk", "1",
          "awaiting_bank_account", True),
    Twice("'иә' twice: the copy of a yes-word does not confirm the account either", "kk", "иә",
          "awaiting_bank_account", True),
]


@pytest.mark.parametrize("case", TWICE, ids=[c.label for c in TWICE])
async def test_a_copy_a_second_later_never_answers_the_next_question(running: Running, case: Twice) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language=case.language)
    assert await client.phone_says(PHONE, case.text) == 202
    sent_before = len(await texts(client, PHONE))
    await client.advance(1)
    assert await client.phone_says(PHONE, case.text) == 202  # the copy: a new message id, a second later
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == case.expect_status
    assert (dialog["consent"] is not None) == case.expect_consent
    assert dialog["application"] is None  # nothing submitted: the account was not confirmed
    if case.expect_language:
        assert dialog["language"] == case.expect_language
    # Recorded as what it is, for operators (transcript and dialog log); the citizen is not written to again.
    assert inbound_lines(dialog)[-1] == (case.text, "duplicate")
    log = await running.system.runner.app[STORE].dialog_log(answer["dialog_id"])
    assert [r["delivery"] for r in log if r["type"] == "message" and r["direction"] == "in"][-1] == "duplicate"
    assert len(await texts(client, PHONE)) == sent_before
    assert "answer_set_aside" not in dialog["flags"]  # a double tap: nothing for an operator to do


async def test_the_same_key_a_minute_later_is_set_aside_but_shown_to_an_operator(running: Running) -> None:
    """Within the window a copy cannot be told from a quick reader's answer: set aside, never consent, and flagged
    so that an operator asks again (the citizen may believe they agreed)."""
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language=None)
    assert await client.phone_says(PHONE, "1") == 202  # Kazakh
    await client.advance(60)  # read the offer quickly
    assert await client.phone_says(PHONE, "1") == 202
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "awaiting_consent" and dialog["consent"] is None
    assert inbound_lines(dialog)[-1] == ("1", "duplicate") and "answer_set_aside" in dialog["flags"]


async def test_a_genuine_second_answer_after_the_window_is_an_answer(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language=None)
    assert await client.phone_says(PHONE, "2") == 202  # Russian
    await client.advance(WINDOW + 1)  # read the offer, thought about it
    assert await client.phone_says(PHONE, "2") == 202  # and refused it
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "declined" and dialog["language"] == "ru"
    assert inbound_lines(dialog) == [("2", None), ("2", None)]
    assert (await texts(client, PHONE))[-1] == render("declined.ack", "ru")


async def test_within_the_window_a_different_answer_is_an_answer(running: Running) -> None:
    """Only a copy is set aside: '2' (Russian) and then 'нет' read after the offer arrived refuses it."""
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language=None)
    assert await client.phone_says(PHONE, "2") == 202
    await client.advance(30)
    assert await client.phone_says(PHONE, "нет") == 202
    assert (await client.dialog(answer["dialog_id"]))["status"] == "declined"


# ---- SMS: a reply the gateway received before the question was sent -------------------------------------------


async def test_a_reply_received_before_the_question_was_sent_is_not_its_answer(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language=None)
    asked = parse_instant((await client.clock())["now"])
    await client.advance(60)
    assert await client.phone_says(PHONE, "2") == 202  # Russian: the offer is sent now, a minute after
    # The aggregator held a second message, received 30 s after the language question, and posts it only now:
    # whatever it says, it was written before the offer existed.
    await gateway_posts(running, {"message_id": "agg-late-1", "from": PHONE, "to": "1414", "text": "нет",
                                  "received_at": iso(asked + dt.timedelta(seconds=30))})
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "awaiting_consent" and dialog["consent"] is None
    assert inbound_lines(dialog)[-1] == ("нет", "late")
    # "нет" would refuse the offer open now: set aside all the same, and shown to an operator (were the gateway's
    # clock behind ours, it could be a real answer)
    assert "late_reply" in dialog["flags"]


async def test_a_late_reply_that_contradicts_the_answer_taken_is_shown_to_operators(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    asked = parse_instant((await client.clock())["now"])
    await client.advance(60)
    assert await client.phone_says(PHONE, "1") == 202  # consent; the account question is sent now
    sent = await texts(client, PHONE)
    await gateway_posts(running, {"message_id": "agg-late-2", "from": PHONE, "to": "1414", "text": "2",
                                  "received_at": iso(asked + dt.timedelta(seconds=50))})
    dialog = await client.dialog(answer["dialog_id"])
    # Not "another account" at the account question: it was sent before that question existed.
    assert dialog["status"] == "awaiting_bank_account" and dialog["consent"] is not None
    assert await texts(client, PHONE) == sent  # "2" there would have asked for another account
    assert inbound_lines(dialog)[-1] == ("2", "late")
    assert "late_reply" in dialog["flags"]  # a "2" after a "1" to the offer: a person should look


async def test_a_reply_received_when_the_question_was_sent_counts(running: Running) -> None:
    """Stamps have a second's resolution (and a gateway's clock may lag ours a little): not before it."""
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    now = (await client.clock())["now"]
    await gateway_posts(running, {"message_id": "agg-now", "from": PHONE, "to": "1414", "text": "2",
                                  "received_at": now})
    assert (await client.dialog(answer["dialog_id"]))["status"] == "declined"


# ---- two dialogs of one phone ----------------------------------------------------------------------------------


async def test_a_copy_of_the_refusal_that_ended_one_dialog_does_not_refuse_the_next(running: Running) -> None:
    client = running.client
    _, first, _ = await birth(client, msisdn=PHONE, language="kk")
    _, second, _ = await birth(client, msisdn=PHONE, language="kk")
    assert second["status"] == "queued"
    assert await client.phone_says(PHONE, "2") == 202  # A declined; B starts and asks
    await client.advance(1)
    assert await client.phone_says(PHONE, "2") == 202  # the double tap's copy
    a, b = await client.dialog(first["dialog_id"]), await client.dialog(second["dialog_id"])
    assert a["status"] == "declined"
    assert b["status"] == "awaiting_consent" and b["consent"] is None
    assert inbound_lines(b) == [("2", "duplicate")]
    assert (await texts(client, PHONE))[-1] == consent_ask("kk")  # B's offer is the newest SMS: nothing more


async def test_a_late_reply_held_by_the_gateway_does_not_answer_the_next_dialog(running: Running) -> None:
    client = running.client
    _, first, _ = await birth(client, msisdn=PHONE, language="kk")
    _, second, _ = await birth(client, msisdn=PHONE, language="kk")
    before = parse_instant((await client.clock())["now"])
    await client.advance(60)
    assert await client.phone_says(PHONE, "2") == 202  # A declined; B's offer sent now
    # Received half a minute before that, held by the aggregator, posted now: meant for A.
    await gateway_posts(running, {"message_id": "agg-late-3", "from": PHONE, "to": "1414", "text": "жоқ",
                                  "received_at": iso(before + dt.timedelta(seconds=30))})
    b = await client.dialog(second["dialog_id"])
    assert b["status"] == "awaiting_consent" and b["consent"] is None
    assert inbound_lines(b) == [("жоқ", "late")]
    assert (await client.dialog(first["dialog_id"]))["status"] == "declined"


async def test_a_copy_after_the_last_dialog_ended_gets_no_information_sms(running: Running) -> None:
    client = running.client
    _, first, _ = await birth(client, msisdn=PHONE, language="kk")
    assert await client.phone_says(PHONE, "2") == 202
    sent = await texts(client, PHONE)
    await client.advance(1)
    assert await client.phone_says(PHONE, "2") == 202
    assert await texts(client, PHONE) == sent  # no "you have no open offer" for a copy
    assert inbound_lines(await client.dialog(first["dialog_id"]))[-1] == ("2", "duplicate")


# ---- USSD ----------------------------------------------------------------------------------------------------


async def ussd_post(running: Running, session_id: str, text: str) -> str:
    body = {"sessionId": session_id, "serviceCode": "*1414#", "phoneNumber": PHONE, "text": text}
    status, text = await running.client.post_ussd(urlencode(body).encode())
    assert status == 200, text
    return text


async def test_ussd_a_double_input_in_one_post_answers_one_question(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language=None)
    assert (await ussd_post(running, "ussd-double-1", "")).startswith("CON")  # the language menu
    screen = await ussd_post(running, "ussd-double-1", "2*2")  # two inputs arrive together
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "awaiting_consent" and dialog["language"] == "ru" and dialog["consent"] is None
    assert inbound_lines(dialog)[-1] == ("2", "closed")
    assert screen.startswith("CON")  # the offer's screen: the citizen now reads it
    # The gateway repeating that post changes nothing either.
    await ussd_post(running, "ussd-double-1", "2*2")
    assert (await client.dialog(answer["dialog_id"]))["status"] == "awaiting_consent"


async def test_ussd_same_key_on_the_next_screen_is_an_answer(running: Running) -> None:
    """On USSD the citizen sees each screen before typing: '2' then '2' refuses (unlike a copied SMS)."""
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language=None)
    await client.ussd(PHONE, "*1414#")
    await client.ussd(PHONE, "2")
    status, _ = await client.ussd(PHONE, "2")  # typed on the offer's screen
    assert status == 200
    assert (await client.dialog(answer["dialog_id"]))["status"] == "declined"


async def test_ussd_an_input_on_a_screen_another_channel_answered_meanwhile_is_not_taken(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    await client.ussd(PHONE, "*1414#")  # the offer's screen
    assert await client.phone_says(PHONE, "1") == 202  # consent by SMS meanwhile: the account question
    await client.advance(WINDOW + 1)
    status, after = await client.ussd(PHONE, "1")  # typed on the offer's screen
    dialog = await client.dialog(answer["dialog_id"])
    assert status == 200 and dialog["status"] == "awaiting_bank_account" and dialog["application"] is None
    assert inbound_lines(dialog)[-1] == ("1", "closed")
    assert after["open"]  # the account question is shown now


# ---- Telegram --------------------------------------------------------------------------------------------------


async def bound_with_queued_next(running: Running) -> tuple[str, str]:
    """Dialog A offered in Telegram to USER, dialog B queued for the same phone; their ids."""
    client = running.client
    _, first, _ = await birth(client, msisdn=PHONE, language="kk")
    _, second, _ = await birth(client, msisdn=PHONE, language="kk", parent_iin=MOTHER_WITH_HALYK)
    assert second["status"] == "queued"
    await client.telegram_start(USER, "kk")
    await client.telegram_shares(USER, PHONE)
    return first["dialog_id"], second["dialog_id"]


async def consent_message(running: Running) -> dict[str, Any]:
    return [m for m in await running.client.telegram_messages(USER) if m["buttons"]][-1]


async def press(running: Running, message: dict[str, Any], action: str) -> dict[str, Any]:
    data = next(b["data"] for row in message["buttons"] for b in row if b["data"].startswith(action + ":"))
    status, answer = await running.client.telegram(USER, "press", {"data": data, "message_id": message["message_id"]})
    assert status == 200
    return dict(answer)


async def test_telegram_a_finished_dialogs_consent_button_is_closed_for_the_next(running: Running) -> None:
    a_id, b_id = await bound_with_queued_next(running)
    message = await consent_message(running)
    assert (await running.client.phone_says(PHONE, "2")) == 202  # A refused by SMS; B's offer goes by SMS only
    await running.client.advance(WINDOW + 1)
    answer = await press(running, message, "consent:1")  # the old button on A's message
    assert answer["answers"] == [{"text": render("telegram.stale_button", "kk"), "at": answer["answers"][0]["at"]}]
    assert answer["replies"] == []
    b = await running.client.dialog(b_id)
    assert b["status"] == "awaiting_consent" and b["consent"] is None
    assert (await running.client.dialog(a_id))["status"] == "declined"


async def test_telegram_a_double_tap_refuses_one_dialog_not_the_next(running: Running) -> None:
    a_id, b_id = await bound_with_queued_next(running)
    message = await consent_message(running)
    first = await press(running, message, "consent:2")
    second = await press(running, message, "consent:2")  # the same button, a moment later
    assert first["answers"][0]["text"] is None
    assert second["answers"][0]["text"] == render("telegram.stale_button", "kk")
    assert (await running.client.dialog(a_id))["status"] == "declined"
    b = await running.client.dialog(b_id)
    assert b["status"] == "awaiting_consent" and b["consent"] is None


async def test_telegram_a_double_tap_on_consent_does_not_confirm_the_account(running: Running) -> None:
    a_id, _ = await bound_with_queued_next(running)
    message = await consent_message(running)
    await press(running, message, "consent:1")
    again = await press(running, message, "consent:1")
    assert again["answers"][0]["text"] == render("telegram.stale_button", "kk")
    a = await running.client.dialog(a_id)
    assert a["status"] == "awaiting_bank_account" and a["consent"] is not None and a["application"] is None


async def test_telegram_a_resent_text_is_a_copy(running: Running) -> None:
    a_id, b_id = await bound_with_queued_next(running)
    await running.client.telegram_says(USER, "2")
    await running.client.advance(1)
    await running.client.telegram_says(USER, "2")
    assert (await running.client.dialog(a_id))["status"] == "declined"
    b = await running.client.dialog(b_id)
    assert b["status"] == "awaiting_consent" and inbound_lines(b) == [("2", "duplicate")]
