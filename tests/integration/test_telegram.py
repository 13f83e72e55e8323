"""Telegram end to end: real python-telegram-bot in the bot, the Bot API mock, simulated users and phones."""

from __future__ import annotations

import datetime as dt
import io
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.base import SendFailure
from bot.channels.telegram import SECRET_HEADER, WEBHOOK_PATH, failure_for
from bot.channels.telegram_buttons import question_of
from bot.http.common import STORE
from bot.logs import setup_logging
from bot.settings import Settings
from tests.conftest import Running, start_running, stop_running
from tests.helpers import VALID_IBAN, birth, render, texts

PHONE = "+77011112233"
OTHER_PHONE = "+77015556677"
USER, STRANGER = 501, 777
EVENT_DAY = dt.date(2026, 11, 23)  # the fixtures' clock starts on this Kazakhstan day
DECISION_DELAY = 3600  # the assignment mock decides an hour after submission


def consent_ask(lang: str) -> str:
    return render("consent.ask.birth", lang, event_date=EVENT_DAY, hours="72")


def buttons(message: dict[str, Any]) -> list[list[str]]:
    """What each button does (`consent:1`), without the dialog and question it is bound to."""
    return [[":".join(button["data"].split(":")[:2]) for button in row] for row in message["buttons"]]


async def bound(running: Running, *, language: str | None = "kk", phone: str = PHONE) -> str:
    """A birth offer to `phone`, and USER bound to it in Telegram; the dialog id."""
    _, answer, _ = await birth(running.client, msisdn=phone, language=language)
    await running.client.telegram_start(USER)
    status, _ = await running.client.telegram_shares(USER, phone)
    assert status == 200
    return str(answer["dialog_id"])


# ---- the webhook's secret token ---------------------------------------------------------------------------------


def start_update(update_id: int) -> dict[str, Any]:
    user = {"id": USER, "is_bot": False, "first_name": "A"}
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": 1795000000, "chat": {"id": USER, "type": "private"}, "from": user,
        "text": "/start", "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}


SECRET_CASES = [
    ("a wrong secret token is refused", {SECRET_HEADER: "not-the-secret"}),
    ("a missing secret token is refused", {}),
    ("the secret of another bot, differing in case, is refused", {SECRET_HEADER: "DEV-TELEGRAM-SECRET"}),
]


@pytest.mark.parametrize(("label", "headers"), SECRET_CASES, ids=[c[0] for c in SECRET_CASES])
async def test_webhook_refuses_a_wrong_secret_and_nothing_happens(running: Running, label: str,
                                                                  headers: dict[str, str]) -> None:
    client = running.client
    async with client.session.post(f"{client.url}{WEBHOOK_PATH}", json=start_update(90001), headers=headers) as r:
        assert r.status == 401
        body = await r.json()
    assert body["errors"][0]["code"] == "unauthorized"
    assert await client.telegram_messages(USER) == []


async def test_updates_sent_by_the_mock_with_a_wrong_secret_change_nothing(running: Running) -> None:
    client = running.client
    dialog_id = await bound(running)
    seen = len(await client.telegram_messages(USER))
    status, body = await client.telegram(USER, "text", {"text": "1", "secret_token": "wrong"})
    assert (status, body["status"]) == (502, 401)
    assert len(await client.telegram_messages(USER)) == seen
    assert (await client.dialog(dialog_id))["consent"] is None


async def test_the_right_secret_but_no_update_is_a_422(running: Running) -> None:
    client = running.client
    headers = {SECRET_HEADER: "dev-telegram-secret"}
    async with client.session.post(f"{client.url}{WEBHOOK_PATH}", json={"hello": 1}, headers=headers) as r:
        assert r.status == 422
        assert (await r.json())["errors"][0]["field"] == "$"


# ---- /start and binding ----------------------------------------------------------------------------------------


START_CASES = [
    ("no known app language: the prompt is in Kazakh then Russian", "", ["kk", "ru"]),
    ("a Kazakh app: the prompt in Kazakh", "kk", ["kk"]),
    ("a Russian app (ru-RU): the prompt in Russian", "ru-RU", ["ru"]),
]


@pytest.mark.parametrize(("label", "language_code", "languages"), START_CASES, ids=[c[0] for c in START_CASES])
async def test_start_asks_for_the_phone_with_a_contact_button(running: Running, label: str, language_code: str,
                                                              languages: list[str]) -> None:
    status, answer = await running.client.telegram_start(USER, language_code)
    assert status == 200
    (reply,) = answer["replies"]
    assert reply["text"] == "\n\n".join(render("telegram.share_phone", lang) for lang in languages)
    (row,) = reply["keyboard"]
    assert [key["request_contact"] for key in row] == [True]
    assert row[0]["text"] == " / ".join(render("telegram.button.share_phone", lang) for lang in languages)


@dataclass
class BindCase:
    label: str
    shared: str  # the number on the contact card
    owner: int | None = USER  # whose Telegram account the card belongs to (None: a card with no account)
    offer_to: str = PHONE  # where the registry sent the offer
    expect_reply: str = "telegram.bound"
    expect_bound: bool = True


BIND_CASES = [
    BindCase("own contact with a waiting dialog: bound", "77011112233"),
    BindCase("own contact written +7…: bound", "+77011112233"),
    BindCase("someone else's contact: refused, nothing bound", "77011112233", owner=STRANGER,
             expect_reply="telegram.contact_foreign", expect_bound=False),
    BindCase("a card with no Telegram account behind it: refused", "77011112233", owner=None,
             expect_reply="telegram.contact_foreign", expect_bound=False),
    BindCase("own number, but no dialog waits on it: refused", "77015556677",
             expect_reply="telegram.contact_unknown", expect_bound=False),
    BindCase("a Russian +7 9xx number: refused", "79161234567", expect_reply="telegram.contact_unknown",
             expect_bound=False),
]


@pytest.mark.parametrize("case", BIND_CASES, ids=[c.label for c in BIND_CASES])
async def test_a_shared_contact_binds_only_the_owners_own_waiting_phone(running: Running, case: BindCase) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=case.offer_to, language="kk")
    await client.telegram_start(USER, "kk")
    body = {"phone_number": case.shared, "user_id": case.owner}
    status, shared = await client.telegram(USER, "contact", body)
    assert status == 200
    assert shared["replies"][0]["text"] == render(case.expect_reply, "kk")
    # Bound or not, shown by what a typed "1" does next: consent, or a request to share the phone first.
    _, typed = await client.telegram_says(USER, "1")
    dialog = await client.dialog(answer["dialog_id"])
    if case.expect_bound:
        assert shared["replies"][-1]["text"] == consent_ask("kk")
        assert buttons(shared["replies"][-1]) == [["consent:1", "consent:2"], ["lang:ru"]]
        assert dialog["consent"]["channel"] == "telegram"
    else:
        assert dialog["consent"] is None
        assert typed["replies"][0]["text"] == render("telegram.not_bound", "kk")
        assert typed["replies"][0]["keyboard"][0][0]["request_contact"] is True


async def test_binding_is_in_the_dialog_log(running: Running) -> None:
    dialog_id = await bound(running)
    records = await running.system.runner.app[STORE].dialog_log(dialog_id)
    assert [r["msisdn"] for r in records if r["type"] == "channel" and r.get("action") == "telegram_bound"] == [
        "+7701***2233"]


# ---- answering in Telegram --------------------------------------------------------------------------------------


@dataclass
class AnswerCase:
    label: str
    actions: list[tuple[str, str]]  # ("press", callback data) or ("text", typed)
    expect_status: str
    language: str = "kk"
    expect_last: tuple[str, str] | None = None  # (message id, language) of the last Telegram message
    expect_buttons: list[list[str]] | None = None
    consent: bool = False
    bank_source: str | None = None


ANSWER_CASES = [
    AnswerCase("button 1 agrees: consent recorded with channel telegram", [("press", "consent:1")],
               "awaiting_bank_account", consent=True, expect_last=("bank.confirm", "kk"),
               expect_buttons=[["bank:1", "bank:2"], ["lang:ru"]]),
    AnswerCase("typed 'иә' agrees", [("text", "иә")], "awaiting_bank_account", consent=True),
    AnswerCase("ru: typed 'Да' agrees", [("text", "Да")], "awaiting_bank_account", language="ru", consent=True),
    AnswerCase("button 2 refuses", [("press", "consent:2")], "declined", expect_last=("declined.ack", "kk"),
               expect_buttons=[]),
    AnswerCase("the language button repeats the question in Russian, with Russian buttons", [("press", "lang:ru")],
               "awaiting_consent", expect_last=("consent.ask.birth", "ru"),
               expect_buttons=[["consent:1", "consent:2"], ["lang:kk"]]),
    AnswerCase("typed 'RU' switches the language too", [("text", "RU")], "awaiting_consent",
               expect_last=("consent.ask.birth", "ru")),
    AnswerCase("an unclear typed answer re-prompts with the consent buttons", [("text", "мүмкін")],
               "awaiting_consent", expect_last=("consent.reprompt", "kk"),
               expect_buttons=[["consent:1", "consent:2"], ["lang:ru"]]),
    AnswerCase("the account on record confirmed by button", [("press", "consent:1"), ("press", "bank:1")],
               "submitted", consent=True, bank_source="on_record"),
    AnswerCase("another account: typed IBAN after button 2", [("press", "consent:1"), ("press", "bank:2"),
                                                             ("text", VALID_IBAN)],
               "submitted", consent=True, bank_source="typed"),
    AnswerCase("the IBAN prompt offers only the language switch", [("press", "consent:1"), ("press", "bank:2")],
               "awaiting_bank_account", consent=True, expect_last=("bank.ask_other", "kk"),
               expect_buttons=[["lang:ru"]]),
]


@pytest.mark.parametrize("case", ANSWER_CASES, ids=[c.label for c in ANSWER_CASES])
async def test_answers_in_telegram(running: Running, case: AnswerCase) -> None:
    client = running.client
    dialog_id = await bound(running, language=case.language)
    for kind, value in case.actions:
        status, _ = await (client.telegram_presses(USER, value) if kind == "press" else
                           client.telegram_says(USER, value))
        assert status == 200, (kind, value)
    dialog = await client.dialog(dialog_id)
    assert dialog["status"] == case.expect_status
    assert (dialog["consent"] is not None) == case.consent
    if case.consent:
        assert dialog["consent"]["channel"] == "telegram"
        assert dialog["consent"]["application_date"] == "2026-11-23"
    if case.bank_source:
        assert dialog["bank_account"]["source"] == case.bank_source
    last = (await client.telegram_messages(USER))[-1]
    if case.expect_last:
        msg_id, lang = case.expect_last
        if msg_id == "consent.ask.birth":
            assert last["text"] == consent_ask(lang)
        elif msg_id == "bank.confirm":
            assert last["text"] == render(msg_id, lang, application_date=EVENT_DAY, bank="Halyk Bank",
                                          iban="KZ** **** **** **** 2345")
        else:
            assert last["text"] == render(msg_id, lang)
    if case.expect_buttons is not None:
        assert buttons(last) == case.expect_buttons
    assert all(line["channel"] in ("sms", "telegram") for line in dialog["transcript"])
    assert [line["channel"] for line in dialog["transcript"] if line["direction"] == "in"] == (
        ["telegram"] * len(case.actions))


async def test_an_unknown_language_is_chosen_by_button(running: Running) -> None:
    client = running.client
    dialog_id = await bound(running, language=None)
    messages = await client.telegram_messages(USER)
    assert messages[-2]["text"] == "\n\n".join(render("telegram.bound", lang) for lang in ("kk", "ru"))
    assert messages[-1]["text"] == render("language.ask", "kk")
    assert buttons(messages[-1]) == [["lang:kk", "lang:ru"]]
    assert [b["text"] for b in messages[-1]["buttons"][0]] == [render("telegram.button.language", "kk"),
                                                                 render("telegram.button.language", "ru")]
    await client.telegram_presses(USER, "lang:ru")
    dialog = await client.dialog(dialog_id)
    assert (dialog["status"], dialog["language"]) == ("awaiting_consent", "ru")
    assert (await client.telegram_messages(USER))[-1]["text"] == consent_ask("ru")
    assert (await texts(client, PHONE))[-1] == consent_ask("ru")  # a consent request: by SMS as well


QUESTION_CASES = [
    ("consent.ask.disabled_child", "consent"), ("consent.ask.group1_since_childhood", "consent"),
    ("consent.reminder", "consent"), ("bank.confirm_reprompt", "bank"), ("bank.error.checksum", "typed"),
    ("bank.too_many_errors", "typed"), ("language.reprompt", "language"), ("decision.refused", None),
    ("application.submitted", None), ("optout.ack", None), (None, None),
]


@pytest.mark.parametrize(("msg_id", "question"), QUESTION_CASES, ids=[str(c[0]) for c in QUESTION_CASES])
def test_which_messages_carry_which_buttons(msg_id: str | None, question: str | None) -> None:
    assert question_of(msg_id) == question


async def test_a_stale_button_answers_nothing_but_a_pop_up(running: Running) -> None:
    """'1' agrees at the consent question and confirms the account at the next: an old button must not."""
    client = running.client
    dialog_id = await bound(running)
    consent_message = (await client.telegram_messages(USER))[-1]
    await client.telegram_presses(USER, "consent:1")
    status, answer = await client.telegram(USER, "press", {"data": consent_message["buttons"][0][0]["data"],
                                                           "message_id": consent_message["message_id"]})
    assert status == 200
    assert answer["answers"][0]["text"] == render("telegram.stale_button", "kk")
    assert answer["replies"] == []
    assert (await client.dialog(dialog_id))["status"] == "awaiting_bank_account"


# ---- across channels --------------------------------------------------------------------------------------------


async def test_the_decision_arrives_in_telegram_and_by_sms(running: Running) -> None:
    client = running.client
    dialog_id = await bound(running)
    await client.telegram_presses(USER, "consent:1")
    await client.telegram_presses(USER, "bank:1")
    await client.advance(DECISION_DELAY + 60)
    dialog = await client.dialog(dialog_id)
    assert dialog["status"] == "assigned"
    decision = next(line["text"] for line in dialog["transcript"] if line["direction"] == "out"
                    and line["channel"] == "telegram" and "₸" in line["text"])
    assert (await client.telegram_messages(USER))[-1]["text"] == decision
    assert (await texts(client, PHONE))[-1] == decision  # the law names SMS: the decision goes there too
    # Between the two, only Telegram carried the dialog: the bank question and the submission.
    sms = await texts(client, PHONE)
    assert not any("KZ** " in text for text in sms)


async def test_the_consent_request_goes_by_sms_once_however_often_telegram_shows_it(running: Running) -> None:
    client = running.client
    await bound(running)
    await client.telegram_presses(USER, "lang:ru")  # the question again, in Russian
    in_telegram = [m["text"] for m in await client.telegram_messages(USER) if m["text"] in
                   (consent_ask("kk"), consent_ask("ru"))]
    assert in_telegram == [consent_ask("kk"), consent_ask("ru")]
    # The law's SMS copy of the offer is owed once: it went out first, so showing it again in Telegram
    # (or in another language) does not send the same offer to the phone a second time.
    assert await texts(client, PHONE) == [consent_ask("kk")]


async def test_a_prompt_follows_the_channel_of_the_last_answer(running: Running) -> None:
    client = running.client
    dialog_id = await bound(running, language="ru")
    sms_before = len(await texts(client, PHONE))
    await client.telegram_presses(USER, "consent:1")  # answered in Telegram: the account question comes there
    tg = await client.telegram_messages(USER)
    assert tg[-1]["text"] == render("bank.confirm", "ru", application_date=EVENT_DAY, bank="Halyk Bank",
                                    iban="KZ** **** **** **** 2345")
    assert len(await texts(client, PHONE)) == sms_before
    await client.phone_says(PHONE, "2")  # answered by SMS: the next prompt comes by SMS, not Telegram
    assert (await texts(client, PHONE))[-1] == render("bank.ask_other", "ru")
    assert len(await client.telegram_messages(USER)) == len(tg)
    await client.telegram_says(USER, VALID_IBAN)  # back in Telegram
    dialog = await client.dialog(dialog_id)
    assert dialog["status"] == "submitted"
    assert (await client.telegram_messages(USER))[-1]["text"] == render(
        "application.submitted", "ru", application_id=dialog["application"]["id"], application_date=EVENT_DAY,
        decision_due=dt.date(2026, 12, 2))
    channels = [(line["direction"], line["channel"]) for line in dialog["transcript"]]
    assert ("in", "sms") in channels and ("in", "telegram") in channels and ("out", "telegram") in channels
    records = await running.system.runner.app[STORE].dialog_log(dialog_id)
    logged = [(r["direction"], r["channel"]) for r in records if r["type"] == "message"]
    assert ("in", "sms") in logged and ("in", "telegram") in logged and ("out", "telegram") in logged


async def test_a_blocked_bot_fails_without_retry_and_the_decision_still_goes_by_sms(running: Running) -> None:
    client = running.client
    dialog_id = await bound(running)
    await client.telegram_presses(USER, "consent:1")
    await client.telegram_presses(USER, "bank:1")
    seen = len(await client.telegram_messages(USER))
    status, _ = await client.telegram(USER, "state", {"blocked": True})
    assert status == 200
    await client.advance(DECISION_DELAY + 60)
    dialog = await client.dialog(dialog_id)
    assert dialog["status"] == "assigned" and "send_failed" in dialog["flags"]
    assert "₸" in (await texts(client, PHONE))[-1]
    assert len(await client.telegram_messages(USER)) == seen
    failed = [line for line in dialog["transcript"] if line["channel"] == "telegram" and line.get("status") == "failed"]
    assert failed


async def bot_api_down(running: Running, down: bool) -> None:
    async with running.client.session.post(f"{running.client.url}/mock/telegram/state", json={"down": down}) as r:
        assert r.status == 200


async def test_a_bot_api_outage_is_retried_until_the_message_arrives(running: Running) -> None:
    client = running.client
    dialog_id = await bound(running)
    await client.telegram_presses(USER, "consent:1")
    await client.telegram_presses(USER, "bank:1")
    seen = len(await client.telegram_messages(USER))
    await bot_api_down(running, True)
    await client.advance(DECISION_DELAY + 60)
    assert "₸" in (await texts(client, PHONE))[-1]  # the SMS copy does not wait for Telegram
    assert len(await client.telegram_messages(USER)) == seen
    await bot_api_down(running, False)
    await client.advance(15 * 60)  # the engine's backoff: 30 s, then 2 min, 10 min…
    dialog = await client.dialog(dialog_id)
    assert "send_failed" not in dialog["flags"]
    decision = [line for line in dialog["transcript"] if line["channel"] == "telegram" and "₸" in line["text"]]
    assert [line["status"] for line in decision] == ["sent"]
    assert (await client.telegram_messages(USER))[-1]["text"] == decision[0]["text"]


async def test_a_tap_during_an_outage_is_taken_and_telegram_is_asked_to_redeliver(running: Running) -> None:
    client = running.client
    dialog_id = await bound(running)
    await bot_api_down(running, True)
    status, body = await client.telegram_presses(USER, "consent:1")
    assert (status, body["status"]) == (502, 503)
    assert (await client.dialog(dialog_id))["consent"]["channel"] == "telegram"


# ---- Bot API errors, and secrets in logs ------------------------------------------------------------------------


def _flood_control() -> RetryAfter:
    with warnings.catch_warnings():  # PTB 22 warns about its own int-to-timedelta change while building it
        warnings.simplefilter("ignore")
        return RetryAfter(dt.timedelta(seconds=5))


def _network_error_from_httpx() -> NetworkError:
    error = NetworkError("httpx.ConnectError: refused")
    error.__cause__ = httpx.ConnectError("refused")
    return error


FAILURE_CASES: list[tuple[str, TelegramError, SendFailure]] = [
    ("timeout: retried", TimedOut(), SendFailure.CONNECTION),
    ("connection refused: retried", _network_error_from_httpx(), SendFailure.CONNECTION),
    ("flood control: retried later", _flood_control(), SendFailure.BAD_STATUS),
    ("a 5xx from the Bot API: retried", NetworkError("Bad Gateway (502)"), SendFailure.BAD_STATUS),
    ("chat not found: not retried", BadRequest("Bad Request: chat not found"), SendFailure.BAD_CONTENT),
    ("the citizen blocked the bot: not retried", Forbidden("Forbidden: bot was blocked"), SendFailure.BAD_CONTENT),
    ("chat moved to a supergroup: not retried", ChatMigrated(42), SendFailure.BAD_CONTENT),
    ("a wrong token: our configuration", InvalidToken(), SendFailure.BAD_CONFIG),
]


@pytest.mark.parametrize(("label", "error", "failure"), FAILURE_CASES, ids=[c[0] for c in FAILURE_CASES])
def test_bot_api_errors_map_to_send_failures(label: str, error: TelegramError, failure: SendFailure) -> None:
    assert failure_for(error) is failure
    assert failure.retryable == ("retried" in label and "not retried" not in label)


@pytest.fixture
def debug_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    setup_logging("DEBUG", stream)
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


async def test_no_log_line_carries_the_bot_token_or_the_secret(running: Running, debug_logs: io.StringIO) -> None:
    client = running.client
    await bound(running)
    await client.telegram_presses(USER, "consent:1")
    await client.telegram(USER, "text", {"text": "1", "secret_token": "wrong"})
    # Only the mock's own access lines name its /bot<token>/ paths, as Telegram's servers would log them.
    lines = [line for line in debug_logs.getvalue().splitlines()
             if not ("aiohttp.access" in line and "/mock/telegram/bot" in line)]
    assert any("telegram" in line for line in lines)
    for secret in ("dev-token", "dev-telegram-secret"):
        assert not [line for line in lines if secret in line], secret


# ---- configuration ----------------------------------------------------------------------------------------------


ENV_CASES = [
    ("serve without TELEGRAM_TOKEN: Telegram is off", {}, None, "https://api.telegram.org"),
    ("a token and its secret: on, against the real Bot API", {"TELEGRAM_TOKEN": "123:abc", "TELEGRAM_SECRET": "s-1"},
     "123:abc", "https://api.telegram.org"),
    ("a local Bot API server", {"TELEGRAM_TOKEN": "123:abc", "TELEGRAM_SECRET": "s-1",
                                "TELEGRAM_API_URL": "http://tg-api:8081/"}, "123:abc", "http://tg-api:8081"),
]


@pytest.mark.parametrize(("label", "env", "token", "api_url"), ENV_CASES, ids=[c[0] for c in ENV_CASES])
def test_telegram_settings_from_the_environment(label: str, env: dict[str, str], token: str | None,
                                                api_url: str) -> None:
    settings = Settings.from_env(env)
    assert (settings.telegram_token, settings.telegram_api_url) == (token, api_url)
    if token:
        assert settings.telegram_secret == env["TELEGRAM_SECRET"]


def test_a_token_without_a_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="TELEGRAM_SECRET"):
        Settings.from_env({"TELEGRAM_TOKEN": "123:abc"})


async def test_without_a_token_there_is_no_webhook() -> None:
    run, prefix = await start_running("fakeredis", telegram_token=None)
    try:
        client = run.client
        async with client.session.post(f"{client.url}{WEBHOOK_PATH}", json=start_update(1),
                                       headers={SECRET_HEADER: "dev-telegram-secret"}) as resp:
            assert resp.status == 404
        status, body = await client.telegram_start(USER)
        assert (status, body["status"]) == (502, 404)
    finally:
        await stop_running(run, prefix)
