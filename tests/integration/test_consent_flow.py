"""The consent dialog end to end over HTTP: events in, simulated phones answering, SMS out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from bot.i18n import Ref
from tests.conftest import Running
from tests.helpers import FATHER_NO_ACCOUNT, MOTHER_WITH_HALYK, VALID_IBAN, birth, render, texts

PHONE = "+77011112233"
EVENT_DAY = dt.date(2026, 11, 23)  # the fixtures' clock starts on this Kazakhstan day


@dataclass
class Case:
    label: str
    replies: list[str]
    expect_status: str
    language: str = "kk"
    parent: str = MOTHER_WITH_HALYK
    consent: bool = False
    last_message: tuple[str, dict[str, str]] | None = None
    flags: list[str] = field(default_factory=list)


CASES = [
    Case("kk: parent agrees with 'иә'", ["иә"], "awaiting_bank_account", consent=True),
    Case("kk: parent agrees with '1'", ["1"], "awaiting_bank_account", consent=True),
    Case("ru: parent agrees with 'Да!'", ["Да!"], "awaiting_bank_account", language="ru", consent=True),
    Case("kk: full-width digit １ agrees", ["１"], "awaiting_bank_account", consent=True),
    Case("kk: 'жоқ' refuses, told how to still apply", ["жоқ"], "declined", last_message=("declined.ack", {})),
    Case("ru: '2' refuses", ["2"], "declined", language="ru", last_message=("declined.ack", {})),
    Case("ru: 'нет' refuses", ["нет"], "declined", language="ru"),
    Case("kk: an unclear reply re-prompts and keeps waiting", ["мүмкін"], "awaiting_consent",
         last_message=("consent.reprompt", {})),
    Case("ru: a question is not consent", ["да?"], "awaiting_consent", language="ru",
         last_message=("consent.reprompt", {})),
    Case("kk: an IBAN sent before consenting is not consent", [VALID_IBAN], "awaiting_consent"),
    Case("ru: 'да нет' is not consent", ["да нет"], "awaiting_consent", language="ru"),
    Case("kk: three unclear replies flag the dialog and it keeps waiting", ["?", "мм", "не"],
         "awaiting_consent", flags=["unclear_replies"]),
    Case("ru: 'кто это?' is answered: 1414, no codes, what to reply", ["кто это?"], "awaiting_consent",
         language="ru", last_message=("question.who", {"reply": Ref("question.reply.consent")})),
    Case("kk: 'алаяқтар ма?' is answered the same way", ["алаяқтар ма?"], "awaiting_consent",
         last_message=("question.who", {"reply": Ref("question.reply.consent")})),
    Case("ru: refusing the calls in a longer message does not decline", ["я отказываюсь от звонков, но пособие "
         "оформите"], "awaiting_consent", language="ru", last_message=("consent.reprompt", {})),
    Case("ru: '-1' is not consent", ["-1"], "awaiting_consent", language="ru"),
    Case("ru: 'lf' (да on a Latin keyboard) agrees", ["lf"], "awaiting_bank_account", language="ru", consent=True),
    Case("kk: 'iä' in the 2021 Latin alphabet agrees", ["iä, kelısemın"], "awaiting_bank_account", consent=True),
    Case("kk: STOP opts out, acknowledged once", ["STOP"], "opted_out", last_message=("optout.ack", {})),
    Case("ru: СТОП opts out", ["стоп"], "opted_out", language="ru"),
    Case("no account on record: consent asks for an IBAN", ["1"], "awaiting_bank_account",
         parent=FATHER_NO_ACCOUNT, consent=True,
         last_message=("bank.ask", {"application_date": "2026-11-23"})),
]


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
async def test_consent_replies(running: Running, case: Case) -> None:
    client = running.client
    status, answer, _ = await birth(client, msisdn=PHONE, parent_iin=case.parent, language=case.language)
    assert status == 202 and answer["status"] == "awaiting_consent"
    for reply in case.replies:
        assert await client.phone_says(PHONE, reply) == 202
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == case.expect_status
    assert (dialog["consent"] is not None) == case.consent
    if case.consent:
        assert dialog["consent"]["application_date"] == "2026-11-23"
        assert dialog["consent"]["channel"] == "sms"
    for flag in case.flags:
        assert flag in dialog["flags"]
    if case.last_message:
        msg, params = case.last_message
        rendered = {k: dt.date.fromisoformat(v) if k.endswith("date") else v for k, v in params.items()}
        assert (await texts(client, PHONE))[-1] == render(msg, case.language, **rendered)


async def test_first_sms_is_the_consent_request_in_the_recipients_language(running: Running) -> None:
    _, answer, _ = await birth(running.client, msisdn=PHONE, language="ru")
    inbox = await running.client.inbox(PHONE)
    assert [m["text"] for m in inbox] == [render("consent.ask.birth", "ru", event_date=EVENT_DAY, hours="72")]
    assert inbox[0]["encoding"] == "UCS2" and 1 <= inbox[0]["segments"] <= 3
    assert answer["service"] == "birth"


async def test_unknown_language_is_asked_first_then_the_offer_follows(running: Running) -> None:
    _, answer, _ = await birth(running.client, msisdn=PHONE, language=None)
    assert answer["status"] == "awaiting_language"
    assert await texts(running.client, PHONE) == [render("language.ask", "kk")]
    await running.client.phone_says(PHONE, "2")
    dialog = await running.client.dialog(answer["dialog_id"])
    assert dialog["status"] == "awaiting_consent" and dialog["language"] == "ru"
    assert (await texts(running.client, PHONE))[-1] == render("consent.ask.birth", "ru", event_date=EVENT_DAY,
                                                              hours="72")


async def test_language_keyword_switches_and_repeats_the_question(running: Running) -> None:
    _, answer, _ = await birth(running.client, msisdn=PHONE, language="kk")
    await running.client.phone_says(PHONE, "RU")
    dialog = await running.client.dialog(answer["dialog_id"])
    assert dialog["language"] == "ru" and dialog["status"] == "awaiting_consent"
    assert (await texts(running.client, PHONE))[-1] == render("consent.ask.birth", "ru", event_date=EVENT_DAY,
                                                              hours="72")


async def test_opted_out_phone_gets_silence_afterwards(running: Running) -> None:
    await birth(running.client, msisdn=PHONE)
    await running.client.phone_says(PHONE, "ТОҚТА")
    count = len(await texts(running.client, PHONE))
    await running.client.phone_says(PHONE, "1")
    await running.client.phone_says(PHONE, "иә")
    assert len(await texts(running.client, PHONE)) == count


async def test_birth_end_to_end_assigned(running: Running) -> None:
    """A mother agrees, confirms the account on record, and gets the decision by SMS."""
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    await client.phone_says(PHONE, "иә")
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["bank_account"] == {"iban": "KZ** **** **** **** 2345", "bank": "Halyk Bank",
                                      "source": "on_record"}
    await client.phone_says(PHONE, "1")
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "submitted"
    application = dialog["application"]
    assert application["decision_due"] == "2026-12-02"  # 7 working days after Mon 23 Nov 2026
    assert (await texts(client, PHONE))[-1] == render(
        "application.submitted", "kk", application_id=application["id"],
        application_date=EVENT_DAY, decision_due=dt.date(2026, 12, 2))
    await client.advance(2 * 3600)
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "assigned"
    assert dialog["decision"]["outcome"] == "assigned"
    assert "₸" in (await texts(client, PHONE))[-1]
    assert dialog["consent"]["application_date"] == "2026-11-23"  # never changes


async def test_typed_iban_lower_case_with_spaces_is_taken(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="ru")
    await client.phone_says(PHONE, "да")
    await client.phone_says(PHONE, "2")
    assert (await texts(client, PHONE))[-1] == render("bank.ask_other", "ru")
    await client.phone_says(PHONE, "kz64 965k zt00 0003 1234")
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "submitted"
    assert dialog["bank_account"] == {"iban": "KZ** **** **** **** 1234", "bank": "ForteBank", "source": "typed"}


async def test_iban_typed_instead_of_1_or_2_is_the_new_account(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    await client.phone_says(PHONE, "1")
    await client.phone_says(PHONE, "KZ64-965К-ZT00-0003-1234")  # Cyrillic К, dashes
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "submitted" and dialog["bank_account"]["source"] == "typed"


IBAN_MISTAKES = [
    ("not Kazakh", "DE89370400440532013000", "bank.error.not_kz", {}),
    ("too short", "KZ64965KZT000003123", "bank.error.length", {"length": "19"}),
    ("check digits wrong", "KZ65965KZT0000031234", "bank.error.checksum", {}),
    ("unknown bank code", "KZ86125KZT5004100100", "bank.error.unknown_bank", {"bank_code": "125"}),
]


@pytest.mark.parametrize(("label", "typed", "msg", "params"), IBAN_MISTAKES, ids=[m[0] for m in IBAN_MISTAKES])
async def test_each_iban_mistake_gets_its_own_message(running: Running, label: str, typed: str, msg: str,
                                                      params: dict[str, str]) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, parent_iin=FATHER_NO_ACCOUNT, language="ru")
    await client.phone_says(PHONE, "1")
    await client.phone_says(PHONE, typed)
    assert (await texts(client, PHONE))[-1] == render(msg, "ru", **params)
    assert (await client.dialog(answer["dialog_id"]))["status"] == "awaiting_bank_account"


async def test_three_bad_ibans_flag_the_dialog(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, parent_iin=FATHER_NO_ACCOUNT, language="kk")
    await client.phone_says(PHONE, "1")
    for typed in ("KZ65965KZT0000031234", "KZ64965KZT00000312", "KZ65965KZT0000031234"):
        await client.phone_says(PHONE, typed)
    dialog = await client.dialog(answer["dialog_id"])
    assert "bank_account_errors" in dialog["flags"]
    assert (await texts(client, PHONE))[-1] == render("bank.too_many_errors", "kk")
    await client.phone_says(PHONE, VALID_IBAN)
    assert (await client.dialog(answer["dialog_id"]))["status"] == "submitted"


async def test_questions_are_answered_and_never_count_as_unclear(running: Running) -> None:
    """Checking who writes is right: four questions, four answers, no operator flag, the offer still open."""
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    for question in ("бұл кім?", "кто это?", "алаяқтар ма?", "is this a scam?"):
        assert await client.phone_says(PHONE, question) == 202
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "awaiting_consent" and "unclear_replies" not in dialog["flags"]
    answered = render("question.who", "kk", reply=Ref("question.reply.consent"))
    assert (await texts(client, PHONE))[1:] == [answered] * 4
    assert await client.phone_says(PHONE, "иә") == 202
    assert (await client.dialog(answer["dialog_id"]))["consent"] is not None
