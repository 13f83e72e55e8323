"""USSD end to end over HTTP: a phone dials *1414# through the gateway mock, answers, is cut off, resumes."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.clock import ALMATY
from tests.conftest import Running
from tests.helpers import FATHER_NO_ACCOUNT, MOTHER_WITH_HALYK, VALID_IBAN, birth, disabled_child, render, texts

PHONE = "+77011112233"
DIAL = "*1414#"
EVENT_DAY = dt.date(2026, 11, 23)  # the fixtures' clock starts on this Kazakhstan day
BAD_IBANS = ["KZ65965KZT0000031234", "KZ64965KZT00000312", "DE89370400440532013000"]  # checksum, length, not KZ
HALYK = {"bank": "Halyk Bank", "iban": "KZ** **** **** **** 2345"}  # MOTHER_WITH_HALYK's account, as shown
Dialog = dict[str, Any]


def screen(msg_id: str, lang: str, **params: Any) -> Callable[[Dialog], str]:
    """The screen a USSD step shows for `msg_id`, given the dialog it belongs to."""
    return lambda _: render(msg_id, lang, **params)


def submitted(lang: str) -> Callable[[Dialog], str]:
    return lambda d: render("ussd.application.submitted", lang, application_id=d["application"]["id"],
                            application_date=EVENT_DAY, decision_due=dt.date(2026, 12, 2))


def both(msg_id: str) -> Callable[[Dialog], str]:
    """A message said while no language is chosen: Kazakh, then Russian, on one screen."""
    return lambda _: render(msg_id, "kk") + "\n" + render(msg_id, "ru")


async def dial(running: Running, msisdn: str = PHONE) -> dict[str, Any]:
    status, answer = await running.client.ussd(msisdn, DIAL)
    assert status == 200, answer
    return dict(answer)


async def press(running: Running, entry: str, msisdn: str = PHONE) -> dict[str, Any]:
    status, answer = await running.client.ussd(msisdn, entry)
    assert status == 200, answer
    return dict(answer)


# ---- one session: dial, answer, see the next screen -------------------------------------------------------


@dataclass
class Case:
    label: str
    inputs: list[str]  # typed after dialling *1414#
    expect_screen: Callable[[Dialog], str]
    expect_open: bool
    expect_status: str
    language: str | None = "kk"
    parent: str = MOTHER_WITH_HALYK
    consent_channel: str | None = None
    flags: list[str] = field(default_factory=list)


CASES = [
    Case("kk: dialling shows the consent question as a menu", [],
         screen("ussd.consent.ask.birth", "kk", event_date=EVENT_DAY), True, "awaiting_consent"),
    Case("ru: dialling shows the consent question in Russian", [],
         screen("ussd.consent.ask.birth", "ru", event_date=EVENT_DAY), True, "awaiting_consent", language="ru"),
    Case("kk: 1 agrees; the bank question follows on the same session", ["1"],
         screen("ussd.bank.confirm", "kk", **HALYK), True, "awaiting_bank_account", consent_channel="ussd"),
    Case("ru: 1 agrees and 1 confirms the account: END with the application", ["1", "1"],
         submitted("ru"), False, "submitted", language="ru", consent_channel="ussd"),
    Case("kk: 1 agrees and 2 asks for another account", ["1", "2"],
         screen("ussd.bank.ask_other", "kk"), True, "awaiting_bank_account", consent_channel="ussd"),
    Case("ru: an IBAN typed at the confirm question is the new account", ["1", VALID_IBAN],
         submitted("ru"), False, "submitted", language="ru", consent_channel="ussd"),
    Case("no account on record: consent asks for an IBAN", ["1"],
         screen("ussd.bank.ask", "kk", application_date=EVENT_DAY), True, "awaiting_bank_account",
         parent=FATHER_NO_ACCOUNT, consent_channel="ussd"),
    Case("ru: a typed IBAN with a typo gets its own screen", ["1", "KZ65965KZT0000031234"],
         screen("ussd.bank.error.checksum", "ru"), True, "awaiting_bank_account", language="ru",
         parent=FATHER_NO_ACCOUNT, consent_channel="ussd"),
    Case("kk: three bad IBANs: the last screen says call 1414, and it waits", ["1", *BAD_IBANS],
         screen("ussd.bank.too_many_errors", "kk"), True, "awaiting_bank_account", parent=FATHER_NO_ACCOUNT,
         consent_channel="ussd", flags=["bank_account_errors"]),
    Case("kk: a valid IBAN after one mistake submits", ["1", "KZ64965KZT000003123", VALID_IBAN],
         submitted("kk"), False, "submitted", parent=FATHER_NO_ACCOUNT, consent_channel="ussd"),
    Case("kk: 2 refuses: END with where to apply", ["2"],
         screen("ussd.declined.ack", "kk"), False, "declined"),
    Case("kk: wrong input re-prompts and the session goes on", ["5"],
         screen("ussd.consent.reprompt", "kk"), True, "awaiting_consent"),
    Case("ru: wrong input at the account question re-prompts with the account", ["1", "7"],
         screen("ussd.bank.confirm_reprompt", "ru", **HALYK), True, "awaiting_bank_account", language="ru",
         consent_channel="ussd"),
    Case("kk: 'бұл кім?' gets who we are, and the session goes on", ["бұл кім?"],
         screen("ussd.question.who", "kk"), True, "awaiting_consent"),
    Case("ru: a card number for the IBAN: the card screen", ["1", "4400 4301 2345 6789"],
         screen("ussd.bank.error.card", "ru"), True, "awaiting_bank_account", language="ru",
         parent=FATHER_NO_ACCOUNT, consent_channel="ussd"),
    Case("ru: STOP opts out: END", ["STOP"], screen("ussd.optout.ack", "ru"), False, "opted_out", language="ru"),
    Case("kk: RU switches the language and repeats the question in Russian", ["RU"],
         screen("ussd.consent.ask.birth", "ru", event_date=EVENT_DAY), True, "awaiting_consent"),
    Case("language unknown: dialling asks the language in both", [],
         screen("ussd.language.ask", "kk"), True, "awaiting_language", language=None),
    Case("language unknown: 2 chooses Russian and the offer follows", ["2"],
         screen("ussd.consent.ask.birth", "ru", event_date=EVENT_DAY), True, "awaiting_consent", language=None),
    Case("language unknown: a wrong digit re-prompts in both", ["7"],
         screen("ussd.language.reprompt", "kk"), True, "awaiting_language", language=None),
    Case("language unknown: STOP is acknowledged in Kazakh and Russian on one screen", ["STOP"],
         both("ussd.optout.ack"), False, "opted_out", language=None),
]


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
async def test_ussd_session(running: Running, case: Case) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, parent_iin=case.parent, language=case.language)
    shown = await dial(running)
    for entry in case.inputs:
        assert shown["open"], f"the session closed before {entry!r}: {shown}"
        shown = await press(running, entry)
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == case.expect_status
    assert shown["screen"] == case.expect_screen(dialog)
    assert shown["open"] is case.expect_open
    assert (dialog["consent"] or {}).get("channel") == case.consent_channel
    for flag in case.flags:
        assert flag in dialog["flags"]
    ussd_lines = [line for line in dialog["transcript"] if line["channel"] == "ussd"]
    assert len([line for line in ussd_lines if line["direction"] == "in"]) == len(case.inputs)  # IBANs masked
    assert ussd_lines[-1]["direction"] == "out"


async def test_disabled_child_offer_on_ussd(running: Running) -> None:
    await disabled_child(running.client, msisdn=PHONE, language="ru")
    shown = await dial(running)
    assert shown["screen"] == render("ussd.consent.ask.disabled_child", "ru", event_date=EVENT_DAY)


async def test_no_open_dialog_shows_information_and_ends(running: Running) -> None:
    shown = await dial(running, "+77770001122")
    assert shown == {"session_id": shown["session_id"], "screen": render("ussd.info", "kk"), "open": False}
    assert await texts(running.client, "+77770001122") == []


async def test_a_queued_dialog_is_never_offered_on_ussd(running: Running) -> None:
    """At 22:00 the offer waits for 09:00: a dial before then shows information, not the held offer."""
    client = running.client
    status, _ = await client.set_clock(dt.datetime(2026, 11, 23, 22, 0, tzinfo=ALMATY).isoformat())
    assert status == 200
    _, answer, _ = await birth(client, msisdn=PHONE)
    assert answer["status"] == "queued"
    shown = await dial(running)
    assert shown["screen"] == render("ussd.info", "kk") and shown["open"] is False
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "queued" and dialog["transcript"] == []
    assert await texts(client, PHONE) == []


async def test_a_dialog_queued_behind_another_is_not_shown(running: Running) -> None:
    client = running.client
    await birth(client, msisdn=PHONE, language="kk")
    _, second = await disabled_child(client, msisdn=PHONE, language="ru")
    assert second["status"] == "queued"
    shown = await dial(running)
    assert shown["screen"] == render("ussd.consent.ask.birth", "kk", event_date=EVENT_DAY)
    assert (await client.dialog(second["dialog_id"]))["transcript"] == []


async def test_shortcut_dial_shows_the_question_before_taking_any_answer(running: Running) -> None:
    """*1414*1# must not consent: nobody has read the offer yet."""
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE)
    shown = await press(running, "*1414*1#")
    assert shown["screen"] == render("ussd.consent.ask.birth", "kk", event_date=EVENT_DAY)
    assert (await client.dialog(answer["dialog_id"]))["consent"] is None
    assert (await press(running, "1"))["screen"] == render("ussd.bank.confirm", "kk", **HALYK)


# ---- across channels ----------------------------------------------------------------------------------------


async def test_consent_by_ussd_account_by_sms_decision_by_sms(running: Running) -> None:
    """The phone agrees on USSD, hangs up, confirms the account by SMS, and the decision comes by SMS."""
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    offer = render("consent.ask.birth", "kk", event_date=EVENT_DAY, hours="72")
    await dial(running)
    assert (await press(running, "1"))["screen"] == render("ussd.bank.confirm", "kk", **HALYK)
    await client.ussd_cut(PHONE)
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["consent"]["channel"] == "ussd" and dialog["consent"]["application_date"] == "2026-11-23"
    # The law names SMS: the consent request is on the phone by SMS too (sent again when USSD showed it).
    assert set(await texts(client, PHONE)) == {offer}
    assert await client.phone_says(PHONE, "1") == 202
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "submitted"
    assert (await texts(client, PHONE))[-1] == render(
        "application.submitted", "kk", application_id=dialog["application"]["id"], application_date=EVENT_DAY,
        decision_due=dt.date(2026, 12, 2))
    await client.advance(2 * 3600)
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "assigned"
    last = (await client.inbox(PHONE))[-1]
    assert "₸" in last["text"] and last["text"] == dialog["transcript"][-1]["text"]
    assert dialog["transcript"][-1]["channel"] == "sms"
    assert [line["channel"] for line in dialog["transcript"] if line["direction"] == "in"] == ["ussd", "sms"]


async def test_consent_by_sms_account_by_ussd(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="ru")
    assert await client.phone_says(PHONE, "да") == 202
    assert (await dial(running))["screen"] == render("ussd.bank.confirm", "ru", **HALYK)
    shown = await press(running, "1")
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["consent"]["channel"] == "sms" and dialog["status"] == "submitted"
    assert shown == {"session_id": shown["session_id"], "screen": submitted("ru")(dialog), "open": False}


async def test_phone_answers_on_any_channel(running: Running) -> None:
    """The simulated phone's one call for tests: it dials USSD by itself when no session is open."""
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    assert await client.phone_answers(PHONE, "1", channel="ussd") == render("ussd.bank.confirm", "kk", **HALYK)
    assert await client.phone_answers(PHONE, "1", channel="sms") is None
    assert (await client.dialog(answer["dialog_id"]))["status"] == "submitted"


# ---- cut off and resumed --------------------------------------------------------------------------------------


async def _cut_at_the_account_reprompt(running: Running, language: str | None = "kk") -> str:
    """Agree, answer the account question wrongly, and lose the network; the screen it stopped at."""
    await birth(running.client, msisdn=PHONE, language=language)
    await dial(running)
    if language is None:
        await press(running, "1")
    await press(running, "1")
    stopped = (await press(running, "9"))["screen"]
    assert await running.client.ussd_cut(PHONE) is not None
    return str(stopped)


async def test_cut_off_then_continue_shows_the_screen_it_stopped_at(running: Running) -> None:
    stopped = await _cut_at_the_account_reprompt(running)
    assert stopped == render("ussd.bank.confirm_reprompt", "kk", **HALYK)
    shown = await dial(running)
    assert shown["screen"] == render("ussd.resume", "kk") and shown["open"]
    assert (await press(running, "1"))["screen"] == stopped
    assert (await press(running, "1"))["open"] is False  # confirmed: END with the application


async def test_cut_off_then_start_again_shows_the_full_question(running: Running) -> None:
    await _cut_at_the_account_reprompt(running)
    await dial(running)
    shown = await press(running, "2")
    assert shown["screen"] == render("ussd.bank.confirm", "kk", **HALYK) and shown["open"]


async def test_a_wrong_choice_at_the_resume_menu_shows_it_again(running: Running) -> None:
    await _cut_at_the_account_reprompt(running)
    await dial(running)
    assert (await press(running, "3"))["screen"] == render("ussd.resume", "kk")
    assert (await press(running, "１"))["screen"] == render("ussd.bank.confirm_reprompt", "kk", **HALYK)


async def test_cut_off_in_russian_resumes_in_russian(running: Running) -> None:
    await _cut_at_the_account_reprompt(running, language="ru")
    assert (await dial(running))["screen"] == render("ussd.resume", "ru")


async def test_cut_off_before_a_language_is_chosen_resumes_in_both(running: Running) -> None:
    await birth(running.client, msisdn=PHONE, language=None)
    await dial(running)
    await press(running, "9")
    await running.client.ussd_cut(PHONE)
    assert (await dial(running))["screen"] == render("ussd.resume.bilingual", "kk")
    assert (await press(running, "1"))["screen"] == render("ussd.language.reprompt", "kk")


async def test_an_idle_session_timed_out_by_the_network_resumes(running: Running) -> None:
    client = running.client
    await birth(client, msisdn=PHONE)
    await dial(running)
    await client.advance(4 * 60)  # the network closes a session idle for more than 3 minutes
    status, answer = await client.ussd(PHONE, "1")
    assert status == 409 and answer["error"] == "session_timed_out"
    assert (await dial(running))["screen"] == render("ussd.resume", "kk")


@dataclass
class Fresh:
    label: str
    meanwhile: Callable[[Running], Any]
    expect_screen: Callable[[Dialog], str]


async def _sms_other_account(running: Running) -> None:
    await running.client.phone_says(PHONE, "2")


async def _half_an_hour(running: Running) -> None:
    await running.client.advance(31 * 60)


FRESH = [
    Fresh("the dialog moved on by SMS meanwhile: its new question, no menu", _sms_other_account,
          screen("ussd.bank.ask_other", "kk")),
    Fresh("more than 30 minutes later: the question again, no menu", _half_an_hour,
          screen("ussd.bank.confirm", "kk", **HALYK)),
]


@pytest.mark.parametrize("case", FRESH, ids=[c.label for c in FRESH])
async def test_no_resume_menu_when_there_is_nothing_to_resume(running: Running, case: Fresh) -> None:
    await _cut_at_the_account_reprompt(running)
    await case.meanwhile(running)
    shown = await dial(running)
    assert shown["screen"] == case.expect_screen({}) and shown["open"]


async def test_a_session_that_ended_is_not_offered_again(running: Running) -> None:
    client = running.client
    await birth(client, msisdn=PHONE)
    await dial(running)
    assert (await press(running, "2"))["open"] is False
    assert (await dial(running))["screen"] == render("ussd.info", "kk")


# ---- the gateway's side of the callback ---------------------------------------------------------------------


async def _post(running: Running, data: bytes, content_type: str) -> tuple[int, str]:
    return await running.client.post_ussd(data, content_type)


async def test_a_repeated_post_shows_the_same_screen_and_counts_once(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    form = {"sessionId": "gw-retry-1", "serviceCode": DIAL, "phoneNumber": "87011112233"}
    await _post(running, urlencode({**form, "text": ""}).encode(), "application/x-www-form-urlencoded")
    first = await _post(running, urlencode({**form, "text": "5"}).encode(), "application/x-www-form-urlencoded")
    again = await _post(running, urlencode({**form, "text": "5"}).encode(), "application/x-www-form-urlencoded")
    assert first == again == (200, "CON " + render("ussd.consent.reprompt", "kk"))
    dialog = await client.dialog(answer["dialog_id"])
    assert [line["text"] for line in dialog["transcript"] if line["direction"] == "in"] == ["5"]


async def test_the_callback_takes_json_too(running: Running) -> None:
    await birth(running.client, msisdn=PHONE, language="ru")
    body = b'{"sessionId": "gw-json-1", "serviceCode": "*1414#", "phoneNumber": "+77011112233", "text": ""}'
    status, text = await _post(running, body, "application/json")
    assert (status, text) == (200, "CON " + render("ussd.consent.ask.birth", "ru", event_date=EVENT_DAY))


BAD_POSTS = [
    ("no sessionId", b"serviceCode=%2A1414%23&phoneNumber=%2B77011112233&text=", "sessionId"),
    ("no phone number", b"sessionId=s1&serviceCode=%2A1414%23&text=", "phoneNumber"),
    ("a Russian phone number", b"sessionId=s1&serviceCode=%2A1414%23&phoneNumber=%2B79161234567", "phoneNumber"),
    ("not UTF-8", b"sessionId=\xff&serviceCode=x", "$"),
]


@pytest.mark.parametrize(("label", "body", "field_name"), BAD_POSTS, ids=[b[0] for b in BAD_POSTS])
async def test_a_malformed_post_is_a_422_naming_the_field(running: Running, label: str, body: bytes,
                                                          field_name: str) -> None:
    status, text = await running.client.post_ussd(body)
    assert status == 422
    errors = json.loads(text)["errors"]
    assert [e["field"] for e in errors] == [field_name]


async def test_no_bot_log_line_of_a_ussd_session_names_the_phone(running: Running,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await _cut_at_the_account_reprompt(running)
    await dial(running)
    await press(running, "1")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith(("bot", "dialogs"))]
    assert any("USSD" in line for line in lines)
    assert not [line for line in lines if "7011112233" in line]
