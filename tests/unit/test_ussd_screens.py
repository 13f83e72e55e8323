"""USSD screens fit one screen with worst-case values, and the adapter reads and writes the gateway's format."""

from __future__ import annotations

import pytest

from bot.all_messages import MESSAGES
from bot.channels.base import InboundFormatError
from bot.channels.ussd import (
    SCREEN_LIMIT,
    SHOWN_IN_BOTH_LANGUAGES,
    Screen,
    Shown,
    UssdChannel,
    UssdRequest,
    screen_fits,
)
from bot.http.ussd import compose
from bot.i18n import LANGUAGES, Translator
from bot.messages import SMS_MESSAGES
from domain.sms_length import length_units
from tests.unit.test_catalogs import worst_text

# Read through the registry of every channel's messages.
USSD_IDS = sorted(msg_id for msg_id in MESSAGES if msg_id.startswith("ussd."))
# Every message a step answering a USSD input can say (dialogs/conversation.py, bot/engine.py); each needs
# a screen of its own, or the gateway would cut an SMS-length text.
SAID_ON_USSD = [
    "language.ask", "language.reprompt", "consent.ask.birth", "consent.ask.birth.twins", "consent.ask.disabled_child",
    "consent.ask.group1_since_childhood", "consent.reprompt", "bank.confirm", "bank.ask", "bank.ask_other",
    "bank.confirm_reprompt", "bank.error.characters", "bank.error.not_kz", "bank.error.length",
    "bank.error.checksum", "bank.error.unknown_bank", "bank.error.card", "bank.too_many_errors",
    "application.submitted", "question.who",
    "declined.ack", "optout.ack", "expired.notice", "offer.lapsed", "nodialog.info",
]  # fmt: skip
MENUS = [
    "ussd.language.ask", "ussd.language.reprompt", "ussd.consent.ask.birth", "ussd.consent.ask.birth.twins",
    "ussd.consent.ask.disabled_child",
    "ussd.consent.ask.group1_since_childhood", "ussd.consent.reprompt", "ussd.bank.confirm",
    "ussd.bank.confirm_reprompt", "ussd.resume", "ussd.resume.bilingual",
]  # fmt: skip


@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator()


def test_ussd_ids_are_registered_and_prefixed() -> None:
    assert len(USSD_IDS) == len(SAID_ON_USSD) + 5  # and the screens of its own: info, resume (2), accepted, queued
    assert set(SHOWN_IN_BOTH_LANGUAGES) <= set(USSD_IDS)


@pytest.mark.parametrize("msg_id", SAID_ON_USSD)
def test_every_message_a_ussd_step_can_say_has_a_screen(msg_id: str) -> None:
    assert msg_id in SMS_MESSAGES
    assert f"ussd.{msg_id}" in MESSAGES


@pytest.mark.parametrize("msg_id", USSD_IDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_ussd_screen_fits_with_worst_case_values(
    lang: str, msg_id: str, translator: Translator, record_property: pytest.RecordProperty
) -> None:
    text = worst_text(translator, msg_id, lang)
    record_property("length", length_units(text))
    assert screen_fits(text), (
        f"{lang} {msg_id}: {length_units(text)} UCS-2 characters, one USSD screen holds {SCREEN_LIMIT}: {text!r}"
    )


@pytest.mark.parametrize("msg_id", SHOWN_IN_BOTH_LANGUAGES)
def test_screens_said_before_a_language_is_chosen_fit_in_both_languages(msg_id: str, translator: Translator) -> None:
    text = compose([Shown(msg_id, lang, worst_text(translator, msg_id, lang)) for lang in LANGUAGES])
    assert text is not None and screen_fits(text), f"{msg_id}: {length_units(text or '')} characters: {text!r}"


@pytest.mark.parametrize("msg_id", MENUS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_questions_are_numbered_menus(lang: str, msg_id: str, translator: Translator) -> None:
    lines = worst_text(translator, msg_id, lang).split("\n")
    assert [line[:3] for line in lines[-2:]] == ["1. ", "2. "], lines


def test_the_limit_is_80_ucs2_or_182_gsm7_characters() -> None:
    assert screen_fits("Ә" * 80) and not screen_fits("Ә" * 81)
    assert screen_fits("a" * 182) and not screen_fits("a" * 183)
    assert not screen_fits("a" * 80 + "\n" + "ә")  # one Kazakh letter makes the whole screen UCS-2


# ---- the adapter: the gateway's wire format -------------------------------------------------------------------

FORM = "application/x-www-form-urlencoded"
PARSED = [
    ("a new session: empty text", FORM, b"sessionId=S1&serviceCode=%2A1414%23&phoneNumber=%2B77011112233&text=",
     UssdRequest("S1", "*1414#", "+77011112233", ())),
    ("text missing counts as a new session", FORM, b"sessionId=S1&serviceCode=*1414%23&phoneNumber=87011112233",
     UssdRequest("S1", "*1414#", "+77011112233", ())),
    ("inputs joined by *", FORM, b"sessionId=S1&serviceCode=*1414%23&phoneNumber=%2B77011112233&text=1*2*KZ64",
     UssdRequest("S1", "*1414#", "+77011112233", ("1", "2", "KZ64"))),
    ("an empty input keeps its place", FORM, b"sessionId=S1&serviceCode=*1414%23&phoneNumber=77011112233&text=1*",
     UssdRequest("S1", "*1414#", "+77011112233", ("1", ""))),
    ("JSON", "application/json",
     b'{"sessionId": "S2", "serviceCode": "*1414#", "phoneNumber": "+77011112233", "text": "2"}',
     UssdRequest("S2", "*1414#", "+77011112233", ("2",))),
]


@pytest.mark.parametrize(("label", "content_type", "body", "expected"), PARSED, ids=[p[0] for p in PARSED])
def test_parse(label: str, content_type: str, body: bytes, expected: UssdRequest) -> None:
    assert UssdChannel().parse(body, content_type) == expected


REFUSED = [
    ("JSON that is not an object", "application/json", b"[1]", "$"),
    ("broken JSON", "application/json", b"{", "$"),
    ("a number for phoneNumber", "application/json", b'{"sessionId": "S", "serviceCode": "x", "phoneNumber": 7}',
     "phoneNumber"),
    ("no serviceCode", FORM, b"sessionId=S&phoneNumber=%2B77011112233", "serviceCode"),
    ("a blank sessionId", FORM, b"sessionId=+&serviceCode=x&phoneNumber=%2B77011112233", "sessionId"),
    ("letters for a phone", FORM, b"sessionId=S&serviceCode=x&phoneNumber=abc", "phoneNumber"),
    ("text over 1000 characters", FORM, b"sessionId=S&serviceCode=x&phoneNumber=%2B77011112233&text=" + b"1" * 1001,
     "text"),
]


@pytest.mark.parametrize(("label", "content_type", "body", "field"), REFUSED, ids=[r[0] for r in REFUSED])
def test_parse_refuses(label: str, content_type: str, body: bytes, field: str) -> None:
    with pytest.raises(InboundFormatError) as refused:
        UssdChannel().parse(body, content_type)
    assert refused.value.field == field


def test_render_continues_or_ends() -> None:
    channel = UssdChannel()
    assert channel.render(Screen("1. Иә\n2. Жоқ", True)) == "CON 1. Иә\n2. Жоқ"
    assert channel.render(Screen("Рахмет", False)) == "END Рахмет"


def test_compose_shows_the_last_message_of_a_step() -> None:
    error = Shown("ussd.bank.error.checksum", "kk", "error")
    flagged = Shown("ussd.bank.too_many_errors", "kk", "call 1414")
    assert compose([]) is None
    assert compose([error, flagged]) == "call 1414"
    assert compose([Shown("ussd.optout.ack", "kk", "kk"), Shown("ussd.optout.ack", "ru", "ru")]) == "kk\nru"
