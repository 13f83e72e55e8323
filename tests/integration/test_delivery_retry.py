"""A failed delivery is resent later, then given up on: `undeliverable`, or a flag, visible to operators.

The gateway mock loses SMS two ways: a phone switched off (`/mock/phones/{msisdn}/state`) or every delivery
lost while the phone can still send (`/mock/sms/faults`). Delivery reports are posted in the background, so
each step of the clock is followed by `gateway.flush()`. Resends come 600 s, 1 h and 4 h after each failure
plus up to 20 % jitter; every step below moves the clock past the latest instant a resend can be due.
The fixtures' clock starts on Monday 2026-11-23 at 10:00 Asia/Almaty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.channels.sms import untagged
from bot.clock import ALMATY, parse_instant
from bot.http.common import ENGINE
from bot.i18n import Money
from bot.settings import Settings
from dialogs.delivery import RESENT_WHILE
from dialogs.model import Dialog, dialog_id_of, resend_id
from dialogs.spec import MACHINES
from gateway_mocks.rates import load_rates
from gateway_mocks.registry import cancel_event
from gateway_mocks.settings import DEFAULT_RATES_PATH
from tests.conftest import Running
from tests.helpers import MOTHER_WITH_HALYK, birth, disabled_child, event_id, render

# Every test here fails deliveries on purpose (tests/conftest.py: FAKE_SMSC_DELIVERS_EVERYTHING).
pytestmark = pytest.mark.aggregator_only

PHONE = "+77011119001"
MONDAY = dt.date(2026, 11, 23)
JITTER = 1.2  # a resend is due at most 20 % after its delay
RATES = load_rates(DEFAULT_RATES_PATH)


# ---- helpers --------------------------------------------------------------------------------------------


def local(day: dt.date, hh: int, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=ALMATY)


def consent_ask(lang: str = "kk") -> str:
    return render("consent.ask.birth", lang, event_date=MONDAY, hours="72")


async def switch_phone(running: Running, on: bool, msisdn: str = PHONE) -> None:
    async with running.client.session.post(f"{running.system.url}/mock/phones/{msisdn.lstrip('+')}/state",
                                           json={"reachable": on}) as resp:
        assert resp.status == 200


async def lose_deliveries(running: Running, lose: bool = True) -> None:
    """Every SMS accepted from now on is reported failed (or, with False, delivered again)."""
    async with running.client.session.post(f"{running.system.url}/mock/sms/faults",
                                           json={"delivery_fail_rate": 1.0 if lose else 0.0}) as resp:
        assert resp.status == 200


async def step(running: Running, seconds: float) -> None:
    """Move the clock (due timers fire), then wait until every delivery report has been handled."""
    await running.system.gateway.flush()
    await running.client.advance(seconds)
    await running.system.gateway.flush()


async def through_resends(running: Running, count: int | None = None) -> None:
    """Step past each of the next `count` resends (all of them by default)."""
    delays = running.system.settings.delivery_retry_seconds
    for delay in delays[:count]:
        await step(running, delay * JITTER + 1)


async def report(running: Running, client_id: str, status: str) -> None:
    """Post a delivery report for a message the gateway took, as an aggregator repeating itself would."""
    wire_id, message_id = next((s["client_id"], s["message_id"]) for s in running.system.gateway.sent
                               if ours(running, s["client_id"]) == client_id)
    body = {"message_id": message_id, "client_id": wire_id, "status": status}
    assert (await running.client.post_delivery_report(body))[0] == 200


async def stored(running: Running, dialog_id: str) -> Dialog:
    dialog = await running.system.runner.app[ENGINE].store.load(dialog_id)
    assert dialog is not None
    return dialog


async def dialog_log(running: Running, dialog_id: str, kind: str) -> list[dict[str, Any]]:
    records = await running.system.runner.app[ENGINE].store.dialog_log(dialog_id)
    return [r for r in records if r["type"] == kind]


def ours(running: Running, wire_id: str) -> str:
    """Our client id from the one the gateway took, which carries its tag (README "Security")."""
    client_id = untagged(running.system.settings.sms_client_id_secret, wire_id)
    assert client_id is not None, wire_id
    return client_id


def sent_ids(running: Running, dialog_id: str) -> list[str]:
    """The client ids the gateway took for this dialog, in order."""
    ids = [ours(running, s["client_id"]) for s in running.system.gateway.sent]
    return [i for i in ids if dialog_id_of(i) == dialog_id]


def statuses(dialog: dict[str, Any]) -> list[str]:
    return [line["status"] for line in dialog["transcript"] if line["direction"] == "out"]


async def queue(running: Running, category: str) -> list[str]:
    headers = {"Authorization": "Bearer dev-operator", "X-Operator": "Dana"}
    async with running.client.session.get(f"{running.system.url}/ops/api/queue", headers=headers) as resp:
        assert resp.status == 200
        return [d["dialog_id"] for d in (await resp.json())[category]]


async def texts_of(running: Running, msisdn: str = PHONE) -> list[str]:
    return [m["text"] for m in await running.client.inbox(msisdn)]


# ---- the rules as data -------------------------------------------------------------------------------------


def test_every_state_a_resend_matters_in_can_give_up_on_the_phone() -> None:
    states = {state for during in RESENT_WHILE.values() for state in during}
    for service, machine in MACHINES.items():
        missing = {s for s in states if not machine.events["unreachable"].transitions.get(s)}
        assert not missing, (service, missing)


def test_a_resend_has_a_new_client_id_that_still_names_its_dialog() -> None:
    dialog_id = "d_0a1b-2c3d-4e5f-6a7b"
    first = f"{dialog_id}-12"
    assert resend_id(first, 2) == f"{dialog_id}-12-r2" != first
    assert dialog_id_of(first) == dialog_id_of(resend_id(first, 2)) == dialog_id


def test_the_backoff_is_configured_like_the_send_retries() -> None:
    assert Settings().delivery_retry_seconds == (600, 3600, 4 * 3600)
    assert Settings.from_env({"DELIVERY_RETRY_SECONDS": "60, 300,900"}).delivery_retry_seconds == (60, 300, 900)


# ---- 1. resent after the backoff, under a new client id --------------------------------------------------------


async def test_a_failed_consent_request_is_resent_after_the_backoff_and_reaches_the_phone_back_on(
        running: Running) -> None:
    client = running.client
    await switch_phone(running, False)
    _, answer, _ = await birth(client, msisdn=PHONE)
    dialog_id = answer["dialog_id"]
    await running.system.gateway.flush()
    dialog = await client.dialog(dialog_id)
    assert statuses(dialog) == ["failed"] and "delivery_failed" in dialog["flags"]
    [retry] = await dialog_log(running, dialog_id, "retry")
    assert retry["item"] == "delivery" and retry["attempt"] == 1 and retry["resend_id"].endswith("-1-r1")
    due = parse_instant(retry["due"])
    assert local(MONDAY, 10, 10) <= due <= local(MONDAY, 10, 12)

    await switch_phone(running, True)
    await step(running, 599)
    assert await texts_of(running) == []  # not before the backoff
    await step(running, 121)
    messages = await client.inbox(PHONE)
    assert [m["text"] for m in messages] == [consent_ask()]
    assert sent_ids(running, dialog_id) == [f"{dialog_id}-1", f"{dialog_id}-1-r1"]

    dialog = await client.dialog(dialog_id)
    assert statuses(dialog) == ["failed", "delivered"]  # the first send keeps its failure; the resend its own line
    assert dialog["status"] == "awaiting_consent" and "delivery_failed" not in dialog["flags"]
    assert dialog_id not in await queue(running, "undeliverable")
    # The 72 hours count from the send that reached the phone.
    arrived = parse_instant(messages[0]["at"])
    assert parse_instant(dialog["offer_sent_at"]) == arrived
    assert parse_instant(dialog["expires_at"]) == arrived + dt.timedelta(hours=72)
    assert await client.phone_says(PHONE, "1") == 202
    assert (await client.dialog(dialog_id))["status"] == "awaiting_bank_account"


# ---- 2. every resend of the open question failed: undeliverable, phone freed ------------------------------------


async def _phone_off(running: Running) -> None:
    await switch_phone(running, False)


async def _lose_after_consent(running: Running) -> None:
    await running.system.gateway.flush()
    await lose_deliveries(running)
    assert await running.client.phone_says(PHONE, "1") == 202  # consent: the account question is lost


@dataclass
class GivingUp:
    label: str
    language: str | None
    lose: Callable[[Running], Awaitable[None]]  # before the event, or once the offer is delivered
    before_event: bool
    consent: bool


GIVING_UP = [
    GivingUp("the language question never reaches a phone switched off for good", None, _phone_off, True, False),
    GivingUp("the consent request never reaches a phone switched off for good", "kk", _phone_off, True, False),
]


@pytest.mark.parametrize("case", GIVING_UP, ids=[c.label for c in GIVING_UP])
async def test_when_every_resend_of_the_open_question_fails_the_dialog_is_undeliverable_and_frees_the_phone(
        running: Running, case: GivingUp) -> None:
    client = running.client
    if case.before_event:
        await case.lose(running)
    _, answer, _ = await birth(client, msisdn=PHONE, language=case.language)
    dialog_id = answer["dialog_id"]
    if not case.before_event:
        await case.lose(running)
    status, second = await disabled_child(client, msisdn=PHONE, language="kk")
    assert status == 202 and second["status"] == "queued"
    await running.system.gateway.flush()
    waiting = (await client.dialog(dialog_id))["status"]

    await through_resends(running, 2)
    dialog = await client.dialog(dialog_id)
    assert dialog["status"] == waiting and statuses(dialog)[-3:] == ["failed"] * 3
    await through_resends(running)  # the third and last resend fails too

    dialog = await client.dialog(dialog_id)
    assert dialog["status"] == "undeliverable"
    assert statuses(dialog)[-4:] == ["failed", "failed", "failed", "undeliverable"]
    assert dialog["history"][-1]["to"] == "undeliverable" and dialog["history"][-1]["trigger"] == "unreachable"
    assert (dialog["consent"] is not None) == case.consent
    first = sent_ids(running, dialog_id)[-4]
    assert sent_ids(running, dialog_id)[-4:] == [first, *(resend_id(first, n) for n in (1, 2, 3))]
    # Each resend and the giving up are in the dialog log; the answer window's timers are gone.
    assert [r["attempt"] for r in await dialog_log(running, dialog_id, "retry")] == [1, 2, 3]
    [dead] = await dialog_log(running, dialog_id, "dead_letter")
    assert dead["item"] == "delivery" and dead["attempt"] == 4
    assert any(r["to"] == "undeliverable" for r in await dialog_log(running, dialog_id, "status"))
    assert not {"remind", "expire", "flag_no_account"} & set((await stored(running, dialog_id)).timers)
    assert dialog_id in await queue(running, "undeliverable")
    # The phone is free: the queued dialog has started.
    assert (await client.dialog(second["dialog_id"]))["status"] == "awaiting_consent"

    count = len(sent_ids(running, dialog_id))
    await step(running, 4 * 24 * 3600)  # no reminder, no expiry notice: nothing more for this dialog
    assert len(sent_ids(running, dialog_id)) == count
    assert (await client.dialog(dialog_id))["status"] == "undeliverable"



async def test_after_consent_a_lost_account_question_keeps_the_dialog_waiting_and_tells_operators(
        running: Running) -> None:
    """The consent is never given up: the dialog keeps waiting for the account, flagged for an operator."""
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    dialog_id = answer["dialog_id"]
    await _lose_after_consent(running)
    await through_resends(running, 3)
    dialog = await client.dialog(dialog_id)
    assert dialog["status"] == "awaiting_bank_account" and dialog["consent"]["application_date"] == "2026-11-23"
    assert "undeliverable_notice" in dialog["flags"] and statuses(dialog)[-1] == "undeliverable"
    assert dialog_id in await queue(running, "undeliverable")
    store = running.system.runner.app[ENGINE].store
    assert await store.phone_active(PHONE) == dialog_id  # the phone still belongs to it

# ---- 3. a notice after the consent or the decision: retried, then flagged; the status stands -------------------


async def _submitted(running: Running) -> str:
    _, answer, _ = await birth(running.client, msisdn=PHONE)
    assert await running.client.phone_says(PHONE, "1") == 202
    await running.client.advance(121)  # the account question read: a copy of "1" before that would be set aside
    assert await running.client.phone_says(PHONE, "1") == 202
    assert (await running.client.dialog(answer["dialog_id"]))["status"] == "submitted"
    return str(answer["dialog_id"])


async def _assigned(running: Running) -> str:
    dialog_id = await _submitted(running)
    await lose_deliveries(running)
    await step(running, 3600)  # the backend decides; the decision SMS is lost
    return dialog_id


async def _refused(running: Running) -> str:
    assert await running.client.script_backend(MOTHER_WITH_HALYK, "refused", "not_eligible") == 200
    return await _assigned(running)


async def _expired(running: Running, language: str | None = "kk") -> str:
    _, answer, _ = await birth(running.client, msisdn=PHONE, language=language)
    await step(running, 24 * 3600)  # the reminder reaches the phone
    await lose_deliveries(running)
    await step(running, 48 * 3600 + 1)  # the expiry notice does not
    return str(answer["dialog_id"])


async def _expired_in_both_languages(running: Running) -> str:
    return await _expired(running, language=None)  # language never chosen: the notice goes in kk and in ru


async def _cancelled(running: Running) -> str:
    _, answer, event = await birth(running.client, msisdn=PHONE)
    await running.system.gateway.flush()
    await lose_deliveries(running)
    correction = cancel_event(event_id(), cancels=event["event_id"],
                              registered_at=(await running.client.clock())["now"])
    assert (await running.client.post_event(correction))[0] == 202
    await running.system.gateway.flush()
    return str(answer["dialog_id"])


@dataclass
class Notice:
    label: str
    reach: Callable[[Running], Awaitable[str]]  # runs a dialog to the notice that is lost; its id
    status: str
    languages: int = 1  # SMS the notice is sent as (one per language when none was ever chosen)


NOTICES = [
    Notice("the benefit assigned", _assigned, "assigned"),
    Notice("the refusal", _refused, "refused"),
    Notice("the expiry notice", _expired, "expired"),
    Notice("the expiry notice in both languages: each resent", _expired_in_both_languages, "expired", 2),
    Notice("the registry's withdrawal", _cancelled, "cancelled"),
]


@pytest.mark.parametrize("case", NOTICES, ids=[c.label for c in NOTICES])
async def test_a_notice_every_resend_of_which_fails_is_flagged_and_the_status_stands(running: Running,
                                                                                    case: Notice) -> None:
    client = running.client
    dialog_id = await case.reach(running)
    before = await client.dialog(dialog_id)
    assert before["status"] == case.status and statuses(before)[-1] == "failed"
    await through_resends(running)
    dialog = await client.dialog(dialog_id)
    assert dialog["status"] == case.status
    assert dialog["consent"] == before["consent"] and dialog["decision"] == before["decision"]
    notice = statuses(dialog)[-4 * case.languages:]  # the notice's sends, the languages' interleaved
    assert sorted(notice) == ["failed"] * 3 * case.languages + ["undeliverable"] * case.languages
    assert "undeliverable_notice" in dialog["flags"]
    assert dialog_id in await queue(running, "undeliverable")
    assert sorted(r["attempt"] for r in await dialog_log(running, dialog_id, "retry")) == sorted([1, 2, 3] *
                                                                                              case.languages)


async def test_a_decision_notice_that_gets_through_on_a_resend_leaves_nothing_for_operators(
        running: Running) -> None:
    client = running.client
    dialog_id = await _assigned(running)
    await through_resends(running, 1)
    await lose_deliveries(running, False)
    await through_resends(running, 2)
    dialog = await client.dialog(dialog_id)
    assert dialog["status"] == "assigned" and statuses(dialog)[-3:] == ["failed", "failed", "delivered"]
    assert not {"delivery_failed", "undeliverable_notice"} & set(dialog["flags"])
    assert dialog_id not in await queue(running, "undeliverable")
    assigned = render("decision.assigned.birth", "kk", application_id=dialog["application"]["id"], children="1",
                      one_off=Money(RATES.amount("birth_one_off", 1)),
                      monthly=Money(RATES.amount("child_care_monthly", 1)))
    assert (await texts_of(running))[-1] == assigned


# ---- 4. gateways repeat reports: one effect each -----------------------------------------------------------------


@dataclass
class Reports:
    label: str
    before_resend: list[tuple[str, str]]  # (which send, status) posted again before the resend is due
    after_resend: list[tuple[str, str]]  # ... and after it went out
    statuses: list[str]
    inbox: int


REPORTS = [
    Reports("the same failure reported twice: one resend", [("first", "failed")], [],
            ["failed", "delivered"], 1),
    Reports("delivered after failed: no resend", [("first", "delivered")], [], ["delivered"], 0),
    Reports("a late failure after the resend got through: nothing more", [],
            [("first", "failed"), ("r1", "failed")], ["failed", "delivered"], 1),
    Reports("the resend's delivery reported twice", [], [("r1", "delivered")], ["failed", "delivered"], 1),
]


@pytest.mark.parametrize("case", REPORTS, ids=[c.label for c in REPORTS])
async def test_a_repeated_or_late_delivery_report_has_one_effect(running: Running, case: Reports) -> None:
    client = running.client
    await switch_phone(running, False)
    _, answer, _ = await birth(client, msisdn=PHONE)
    dialog_id = answer["dialog_id"]
    await running.system.gateway.flush()
    ids = {"first": f"{dialog_id}-1", "r1": f"{dialog_id}-1-r1"}
    for which, status in case.before_resend:
        await report(running, ids[which], status)
    await switch_phone(running, True)
    await through_resends(running, 1)
    for which, status in case.after_resend:
        await report(running, ids[which], status)
    await through_resends(running)

    dialog = await client.dialog(dialog_id)
    assert statuses(dialog) == case.statuses
    assert len(await client.inbox(PHONE)) == case.inbox
    assert len(await dialog_log(running, dialog_id, "retry")) == 1
    assert dialog["status"] == "awaiting_consent" and "delivery_failed" not in dialog["flags"]
    assert not [item for item in (await stored(running, dialog_id)).outbox if item.get("resend_of")]


# ---- 5. quiet hours hold a resend like any SMS nobody asked for -----------------------------------------------


@dataclass
class NightResend:
    label: str
    event_at: dt.datetime
    earliest: dt.datetime
    latest: dt.datetime


NIGHT_RESENDS = [
    NightResend("a failure at 20:45 is resent before 21:00", local(MONDAY, 20, 45), local(MONDAY, 20, 55),
                local(MONDAY, 20, 57)),
    NightResend("a failure at 20:55 is resent at 09:00", local(MONDAY, 20, 55), local(MONDAY + dt.timedelta(1), 9),
                local(MONDAY + dt.timedelta(1), 9)),
]


@pytest.mark.parametrize("case", NIGHT_RESENDS, ids=[c.label for c in NIGHT_RESENDS])
async def test_a_resend_due_at_night_waits_for_09(running: Running, case: NightResend) -> None:
    client = running.client
    assert (await client.set_clock(case.event_at.isoformat()))[0] == 200
    await switch_phone(running, False)
    _, answer, _ = await birth(client, msisdn=PHONE)
    await running.system.gateway.flush()
    await switch_phone(running, True)
    assert (await client.set_clock((case.earliest - dt.timedelta(seconds=1)).isoformat()))[0] == 200
    await running.system.gateway.flush()
    assert await client.inbox(PHONE) == []
    assert (await client.set_clock(case.latest.isoformat()))[0] == 200
    await running.system.gateway.flush()
    messages = await client.inbox(PHONE)
    assert [m["text"] for m in messages] == [consent_ask()]
    assert case.earliest <= parse_instant(messages[0]["at"]) <= case.latest
    assert statuses(await client.dialog(answer["dialog_id"])) == ["failed", "delivered"]


# ---- 6. an answer before the resends run out stops them ----------------------------------------------------------


async def _by_ussd_while_sms_is_lost(running: Running) -> None:
    await running.client.phone_answers(PHONE, "1", channel="ussd")


async def _by_sms_once_the_phone_is_back(running: Running) -> None:
    await through_resends(running, 1)  # the first resend fails too
    await switch_phone(running, True)
    await running.client.phone_answers(PHONE, "1")


@dataclass
class AnsweredMeanwhile:
    label: str
    lose: Callable[[Running], Awaitable[None]]
    answer: Callable[[Running], Awaitable[None]]
    channel: str
    consent_sends: int  # sends of the consent request the gateway took before the answer


ANSWERED_MEANWHILE = [
    AnsweredMeanwhile("consent over USSD while every SMS is lost", lose_deliveries, _by_ussd_while_sms_is_lost,
                      "ussd", 2),  # the USSD menu owes the request by SMS again: it is lost too
    AnsweredMeanwhile("consent by SMS after the phone came back", _phone_off, _by_sms_once_the_phone_is_back,
                      "sms", 2),
]


@pytest.mark.parametrize("case", ANSWERED_MEANWHILE, ids=[c.label for c in ANSWERED_MEANWHILE])
async def test_consent_before_the_resends_run_out_stops_the_resends_of_the_request(
        running: Running, case: AnsweredMeanwhile) -> None:
    client = running.client
    await case.lose(running)
    _, answer, _ = await birth(client, msisdn=PHONE)
    dialog_id = answer["dialog_id"]
    await running.system.gateway.flush()
    await case.answer(running)
    await running.system.gateway.flush()
    dialog = await client.dialog(dialog_id)
    assert dialog["status"] == "awaiting_bank_account" and dialog["consent"]["channel"] == case.channel
    consent_sends = len(sent_ids(running, dialog_id))
    assert consent_sends - (case.channel == "sms") == case.consent_sends  # (an SMS answer: bank.confirm too)
    assert not [item for item in (await stored(running, dialog_id)).outbox if item.get("resend_of")]

    await lose_deliveries(running, False)
    await through_resends(running)
    assert len(sent_ids(running, dialog_id)) == consent_sends  # nothing resent after the answer
    dialog = await client.dialog(dialog_id)
    assert dialog["status"] == "awaiting_bank_account"
    assert "withdrawn" not in statuses(dialog)  # a resend never sent has no line: the transcript is what was sent
