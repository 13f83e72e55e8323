"""The rules (issue 3) and the timers (issue 2), end to end over HTTP on the simulated clock.

The answer window and its reminder, quiet hours, one conversation per phone, decisions and their
deadlines, every service's outcome, replies from phones without a dialog, and timers that survive a
restart. The fixtures' clock starts on Monday 2026-11-23 at 10:00 Asia/Almaty (05:00 UTC).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from bot.backends.assignment import sign
from bot.clock import ALMATY, parse_instant
from bot.devclient import DevClient
from bot.devserver import start_dev
from bot.i18n import Money
from bot.settings import Settings
from domain.iin import iin_birth_date
from domain.workdays import add_working_days, is_working_day
from gateway_mocks.rates import load_rates
from gateway_mocks.registry import cancel_event, child_iin, disability_event
from gateway_mocks.settings import DEFAULT_RATES_PATH
from tests.conftest import Running, start_running, stop_running
from tests.helpers import (
    FATHER_FORTE,
    MOTHER_WITH_HALYK,
    VALID_IBAN,
    birth,
    disabled_child,
    event_id,
    render,
    texts,
)

PHONE = "+77011112233"
MONDAY = dt.date(2026, 11, 23)
HALYK_MASKED = "KZ** **** **** **** 2345"
HELP_LINES = ("1414", "8 800 080 7777")
READING_SECONDS = Settings().duplicate_window_seconds + 1  # a person who reads the question before answering
RATES = load_rates(DEFAULT_RATES_PATH)


# ---- helpers (this file's own; tests/helpers.py is shared and left alone) ---------------------------


def local(day: dt.date, hh: int, mm: int = 0, ss: int = 0) -> dt.datetime:
    """An instant given in Kazakhstan time."""
    return dt.datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=ALMATY)


def day(n: int) -> dt.date:
    """The n-th day after the fixtures' Monday (0 = Monday 23 November 2026)."""
    return MONDAY + dt.timedelta(days=n)


async def move_to(client: DevClient, instant: dt.datetime) -> None:
    """Move the simulated clock (every due timer fires on the way)."""
    status, answer = await client.set_clock(instant.isoformat())
    assert status == 200, answer


async def now(client: DevClient) -> dt.datetime:
    return parse_instant((await client.clock())["now"])


async def inbox(client: DevClient, msisdn: str = PHONE) -> list[dict[str, Any]]:
    return await client.inbox(msisdn)


def arrived_at(message: dict[str, Any]) -> dt.datetime:
    return parse_instant(message["at"])


def consent_ask(service: str = "birth", lang: str = "kk", event_date: dt.date = MONDAY) -> str:
    return render(f"consent.ask.{service}", lang, event_date=event_date, hours="72")


def bank_confirm(application_date: dt.date, lang: str = "kk") -> str:
    return render("bank.confirm", lang, application_date=application_date, bank="Halyk Bank", iban=HALYK_MASKED)


def first_child_assigned(application_id: str, lang: str = "kk") -> str:
    """The assigned SMS for a single first child (any seeded parent but the mother of three)."""
    return render("decision.assigned.birth", lang, application_id=application_id, children="1",
                  one_off=Money(RATES.amount("birth_one_off", 1)),
                  monthly=Money(RATES.amount("child_care_monthly", 1)))


async def say(client: DevClient, text: str, msisdn: str = PHONE) -> None:
    assert await client.phone_says(msisdn, text) == 202


async def say_after_reading(client: DevClient, text: str, msisdn: str = PHONE) -> None:
    """Answer the next question with the key just sent to the last one: a person reads it first, and a copy
    within DUPLICATE_WINDOW_SECONDS would be set aside (dialogs/answers.py)."""
    await client.advance(READING_SECONDS)
    await say(client, text, msisdn)


async def post_decision(running: Running, payload: dict[str, Any] | bytes) -> tuple[int, Any]:
    """Post a decision callback as the backend would, signed now with BACKEND_SECRET."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    ts = str(await running.client.now_ts())
    headers = {"Content-Type": "application/json", "X-Timestamp": ts,
               "X-Signature": sign(running.system.settings.backend_secret, ts, body)}
    async with running.client.session.post(f"{running.system.url}/v1/callbacks/decision", data=body,
                                           headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


def stop_deciding(running: Running, dialog_id: str) -> None:
    """The backend never decides this application (as when a case is stuck at the provider)."""
    application = running.system.backend.applications[dialog_id]  # keyed by the bot's client_id
    application.due = None


async def submit_birth(client: DevClient, *, language: str = "kk", parent_iin: str = MOTHER_WITH_HALYK,
                       msisdn: str = PHONE, **kwargs: Any) -> dict[str, Any]:
    """A birth event, consent and the account on record confirmed: the dialog as submitted."""
    status, answer, _ = await birth(client, msisdn=msisdn, parent_iin=parent_iin, language=language, **kwargs)
    assert status == 202 and answer["status"] == "awaiting_consent", answer
    await say(client, "1", msisdn)
    await say_after_reading(client, "1", msisdn)
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "submitted" and dialog["application"] is not None, dialog["status"]
    return dialog


async def group1_event(client: DevClient, *, carer: str, person: str, msisdn: str = PHONE,
                       language: str | None = "ru") -> tuple[int, dict[str, Any]]:
    """Group I disability since childhood established today for an adult `person`, cared for by `carer`."""
    today = (await now(client)).astimezone(ALMATY).date()
    event = disability_event(event_id("mse"), recipient_iin=carer, msisdn=msisdn, language=language,
                             registered_at=(await client.clock())["now"], person_iin=person,
                             birth_date=iin_birth_date(person), group=1, since_childhood=True,
                             established_on=today)
    return await client.post_event(event)


# ---- 1. the answer window: reminder at 24 h, expiry at 72 h, the window's last second -------------------


async def test_one_reminder_after_24_hours_then_expiry_after_72_hours(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["offer_sent_at"] == "2026-11-23T05:00:00Z"
    assert dialog["expires_at"] == "2026-11-26T05:00:00Z"  # 72 h after the offer
    reminder = render("consent.reminder", "kk", deadline=local(day(3), 10))

    await client.advance(24 * 3600 - 1)
    assert await texts(client, PHONE) == [consent_ask()]
    await client.advance(1)
    messages = await inbox(client)
    assert [m["text"] for m in messages] == [consent_ask(), reminder]
    assert arrived_at(messages[1]) == local(day(1), 10)

    await move_to(client, local(day(3), 10))  # the window's last second: still open
    assert (await client.dialog(answer["dialog_id"]))["status"] == "awaiting_consent"
    assert await texts(client, PHONE) == [consent_ask(), reminder]

    await client.advance(1)
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "expired" and dialog["consent"] is None
    assert await texts(client, PHONE) == [consent_ask(), reminder, render("expired.notice", "kk")]

    await client.advance(7 * 86400)  # nothing more: no second reminder, no second notice
    assert (await texts(client, PHONE)).count(reminder) == 1
    assert len(await texts(client, PHONE)) == 3


@dataclass
class WindowEdge:
    label: str
    reply_after_seconds: int
    status: str
    consent: bool
    last_messages: list[tuple[str, dict[str, Any]]]


WINDOW_EDGES = [
    WindowEdge("consent at exactly T+72h:00:00 counts", 72 * 3600, "awaiting_bank_account", True,
               [("bank.confirm", {"application_date": day(3), "bank": "Halyk Bank", "iban": HALYK_MASKED})]),
    WindowEdge("a reply at T+72h+1s gets offer.lapsed and no consent", 72 * 3600 + 1, "expired", False,
               [("expired.notice", {}), ("offer.lapsed", {})]),
]


@pytest.mark.parametrize("case", WINDOW_EDGES, ids=[c.label for c in WINDOW_EDGES])
async def test_the_answer_window_includes_its_last_second_and_no_more(running: Running, case: WindowEdge) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    await client.advance(case.reply_after_seconds)
    await say(client, "1")
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == case.status
    assert (dialog["consent"] is not None) == case.consent
    if case.consent:
        assert dialog["consent"]["given_at"] == "2026-11-26T05:00:00Z"
        assert dialog["consent"]["application_date"] == "2026-11-26"
    expected = [render(msg, "kk", **params) for msg, params in case.last_messages]
    assert (await texts(client, PHONE))[-len(expected):] == expected


async def test_late_replies_get_offer_lapsed_at_most_once_per_kazakhstan_day(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    await client.advance(72 * 3600 + 1)  # expired Thursday 10:00:01
    lapsed = render("offer.lapsed", "kk")
    replies = [  # (when, Kazakhstan time, how many offer.lapsed SMS the phone has afterwards)
        (local(day(3), 11), 1),
        (local(day(3), 20), 1),      # same day: silence
        (local(day(3), 23, 30), 1),  # same Kazakhstan day (18:30 UTC)
        (local(day(4), 0, 30), 2),   # next Kazakhstan day, though the same UTC day (19:30 UTC)
        (local(day(4), 12), 2),
        (local(day(6), 10), 3),      # a later day again
    ]
    for when, count in replies:
        await move_to(client, when)
        await say(client, "1")
        assert (await texts(client, PHONE)).count(lapsed) == count, when
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "expired" and dialog["consent"] is None
    assert render("nodialog.info", "kk") not in await texts(client, PHONE)


# ---- 2. the application date is the Kazakhstan day of the consent --------------------------------------------


async def test_consent_at_0030_dates_the_application_by_the_local_day_and_stores_utc(running: Running) -> None:
    client = running.client
    await move_to(client, local(day(0), 20))
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    assert await texts(client, PHONE) == [consent_ask()]
    await move_to(client, local(day(1), 0, 30))
    await say(client, "1")
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["consent"] == {"given_at": "2026-11-23T19:30:00Z", "application_date": "2026-11-24",
                                 "channel": "sms"}
    messages = await inbox(client)
    assert messages[-1]["text"] == bank_confirm(day(1))  # answered at once, in the night
    assert arrived_at(messages[-1]) == local(day(1), 0, 30)
    await say_after_reading(client, "1")
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["application"]["decision_due"] == add_working_days(day(1), 7).isoformat() == "2026-12-03"
    assert dialog["consent"]["application_date"] == "2026-11-24"


# ---- 3. quiet hours ------------------------------------------------------------------------------------------


@dataclass
class EventTime:
    label: str
    at: dt.datetime
    offer_at: dt.datetime


EVENT_TIMES = [
    EventTime("20:59:59 is sent at once", local(day(0), 20, 59, 59), local(day(0), 20, 59, 59)),
    EventTime("21:00 waits for 09:00", local(day(0), 21), local(day(1), 9)),
    EventTime("22:00 waits for 09:00", local(day(0), 22), local(day(1), 9)),
    EventTime("00:00 waits for 09:00 the same day", local(day(1), 0), local(day(1), 9)),
    EventTime("08:59:59 waits for 09:00", local(day(1), 8, 59, 59), local(day(1), 9)),
    EventTime("09:00 is sent at once", local(day(1), 9), local(day(1), 9)),
]


@pytest.mark.parametrize("case", EVENT_TIMES, ids=[c.label for c in EVENT_TIMES])
async def test_event_in_quiet_hours_is_queued_and_the_window_counts_from_the_send(running: Running,
                                                                                 case: EventTime) -> None:
    client = running.client
    await move_to(client, case.at)
    status, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    assert status == 202
    held = case.offer_at > case.at
    assert answer["status"] == ("queued" if held else "awaiting_consent")
    if held:
        assert await inbox(client) == []
        assert (await client.dialog(answer["dialog_id"]))["status"] == "queued"
        await move_to(client, case.offer_at - dt.timedelta(seconds=1))
        assert await inbox(client) == []
        await move_to(client, case.offer_at)
    messages = await inbox(client)
    assert [m["text"] for m in messages] == [consent_ask(event_date=case.at.date())]
    assert arrived_at(messages[0]) == case.offer_at
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "awaiting_consent"
    assert parse_instant(dialog["offer_sent_at"]) == case.offer_at
    assert parse_instant(dialog["expires_at"]) == case.offer_at + dt.timedelta(hours=72)
    # 72 h after the event the offer still stands when it was held; it ends 72 h after the send.
    await move_to(client, case.offer_at + dt.timedelta(hours=72))
    assert (await client.dialog(answer["dialog_id"]))["status"] == "awaiting_consent"
    await client.advance(1)
    assert (await client.dialog(answer["dialog_id"]))["status"] == "expired"


async def test_reply_at_23_is_answered_at_once_and_a_night_decision_waits_for_09(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    await move_to(client, local(day(0), 23))
    await say(client, "1")
    messages = await inbox(client)
    assert messages[-1]["text"] == bank_confirm(day(0)) and arrived_at(messages[-1]) == local(day(0), 23)
    await move_to(client, local(day(0), 23, 3))  # read the account question (a copy within 2 min is set aside)
    await say(client, "1")
    dialog = await client.dialog(answer["dialog_id"])
    application = dialog["application"]
    # Consent at 23:00 is after working hours: registered on Tuesday, 7 working days after it (the
    # application date stays Monday's).
    submitted = render("application.submitted", "kk", application_id=application["id"],
                       application_date=day(0), decision_due=dt.date(2026, 12, 3))
    assert (await texts(client, PHONE))[-1] == submitted

    await move_to(client, local(day(1), 8, 59, 59))  # the backend decided at 00:03
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "assigned"
    assert (await texts(client, PHONE))[-1] == submitted  # the result is held through the night
    await move_to(client, local(day(1), 9))
    messages = await inbox(client)
    assert messages[-1]["text"] == first_child_assigned(application["id"])
    assert arrived_at(messages[-1]) == local(day(1), 9)
    assert len(messages) == 4  # offer, bank.confirm, application.submitted, assigned


@dataclass
class NightReminder:
    label: str
    language: str | None
    night_reply: str
    reminder: Callable[[], str]


NIGHT_REMINDERS = [
    NightReminder("consent reminder after a language chosen at 23:00", None, "1",
                  lambda: render("consent.reminder", "kk", deadline=local(day(3), 23))),
    NightReminder("bank reminder after a consent at 23:00", "kk", "1", lambda: bank_confirm(day(0))),
]


@pytest.mark.parametrize("case", NIGHT_REMINDERS, ids=[c.label for c in NIGHT_REMINDERS])
async def test_a_reminder_due_at_night_is_held_until_09(running: Running, case: NightReminder) -> None:
    client = running.client
    await move_to(client, local(day(0), 20))
    await birth(client, msisdn=PHONE, language=case.language)
    await move_to(client, local(day(0), 23))
    await say(client, case.night_reply)  # answered at once: the next question goes out at 23:00
    count = len(await inbox(client))
    await move_to(client, local(day(1), 23))  # the reminder is due now...
    await move_to(client, local(day(2), 8, 59, 59))
    assert len(await inbox(client)) == count  # ...but held through the night
    await move_to(client, local(day(2), 9))
    messages = await inbox(client)
    assert len(messages) == count + 1
    assert messages[-1]["text"] == case.reminder() and arrived_at(messages[-1]) == local(day(2), 9)


@dataclass
class Superseded:
    label: str
    morning_reply: str
    status: str


SUPERSEDED = [
    Superseded("consent given before the held reminder goes out", "1", "awaiting_bank_account"),
    Superseded("STOP before the held reminder goes out", "STOP", "opted_out"),
    Superseded("a refusal before the held reminder goes out", "2", "declined"),
]


@pytest.mark.parametrize("case", SUPERSEDED, ids=[c.label for c in SUPERSEDED])
async def test_a_held_reminder_is_dropped_once_the_question_is_answered(running: Running,
                                                                        case: Superseded) -> None:
    """A reminder held for the night must not ask, at 09:00, a question answered at 07:00."""
    client = running.client
    await move_to(client, local(day(0), 20))
    _, answer, _ = await birth(client, msisdn=PHONE, language=None)
    await move_to(client, local(day(0), 23))
    await say(client, "1")  # Kazakh; the consent request goes out at once, so its reminder falls at 23:00
    await move_to(client, local(day(2), 7))  # the reminder is held for 09:00
    await say(client, case.morning_reply)
    count = len(await inbox(client))
    await move_to(client, local(day(2), 12))
    assert len(await inbox(client)) == count
    assert render("consent.reminder", "kk", deadline=local(day(3), 23)) not in await texts(client, PHONE)
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == case.status
    assert not any(e.get("status") == "held" for e in dialog["transcript"])


# ---- 4. one conversation per phone ---------------------------------------------------------------------------

SecondEvent = Callable[[DevClient], Awaitable[tuple[int, dict[str, Any]]]]


async def _second_birth(client: DevClient) -> tuple[int, dict[str, Any]]:
    status, answer, _ = await birth(client, msisdn=PHONE, parent_iin=MOTHER_WITH_HALYK, language="kk")
    return status, answer


async def _second_disabled_child(client: DevClient) -> tuple[int, dict[str, Any]]:
    return await disabled_child(client, msisdn="8 701 111 22 33", language="kk", recipient_iin=FATHER_FORTE)


@dataclass
class Second:
    label: str
    post: SecondEvent
    service: str


SECONDS = [
    Second("another child's birth, same mother", _second_birth, "birth"),
    Second("a disabled-child event for the father on the same phone", _second_disabled_child, "disabled_child"),
]


@pytest.mark.parametrize("second", SECONDS, ids=[s.label for s in SECONDS])
async def test_second_dialog_waits_and_replies_never_reach_the_wrong_dialog(running: Running,
                                                                           second: Second) -> None:
    client = running.client
    _, first, _ = await birth(client, msisdn=PHONE, language="kk")
    status, queued = await second.post(client)
    assert status == 202 and queued["status"] == "queued" and queued["service"] == second.service
    assert await texts(client, PHONE) == [consent_ask()]  # nothing for the second one

    await say(client, "1")  # consent: for the first
    b = await client.dialog(queued["dialog_id"])
    assert b["status"] == "queued" and b["consent"] is None and b["transcript"] == []
    a = await client.dialog(first["dialog_id"])
    assert a["status"] == "awaiting_bank_account"
    first_consent = a["consent"]

    await say_after_reading(client, "1")  # confirms the first one's account: it is submitted, the phone is free
    a = await client.dialog(first["dialog_id"])
    assert a["status"] == "submitted" and a["bank_account"]["source"] == "on_record"
    assert (await texts(client, PHONE))[-1] == consent_ask(second.service)
    assert (await client.dialog(queued["dialog_id"]))["status"] == "awaiting_consent"

    await move_to(client, local(day(0), 10, 30))
    await say(client, "1")  # goes to the second dialog, never to the first
    b = await client.dialog(queued["dialog_id"])
    assert b["status"] == "awaiting_bank_account"
    assert b["consent"]["given_at"] == "2026-11-23T05:30:00Z"
    a = await client.dialog(first["dialog_id"])
    assert a["consent"] == first_consent and a["consent"]["given_at"] == "2026-11-23T05:00:00Z"
    assert a["status"] == "submitted"  # the backend decides at 11:00
    assert not [e for e in a["transcript"] if e["direction"] == "in" and e["at"] >= "2026-11-23T05:30:00Z"]


@dataclass
class Leave:
    label: str
    status: str
    leave: Callable[[Running, dict[str, Any]], Awaitable[None]]


async def _confirm(running: Running, first: dict[str, Any]) -> None:
    await say(running.client, "1")
    await say_after_reading(running.client, "1")


async def _decline(running: Running, first: dict[str, Any]) -> None:
    await say(running.client, "2")


async def _stop(running: Running, first: dict[str, Any]) -> None:
    await say(running.client, "STOP")


async def _expire(running: Running, first: dict[str, Any]) -> None:
    await running.client.advance(72 * 3600 + 1)


async def _cancel(running: Running, first: dict[str, Any]) -> None:
    correction = cancel_event(event_id(), cancels=first["event_id"],
                              registered_at=(await running.client.clock())["now"])
    status, answer = await running.client.post_event(correction)
    assert status == 202 and answer["status"] == "cancelled"


LEAVES = [
    Leave("submitted", "submitted", _confirm),
    Leave("declined", "declined", _decline),
    Leave("opted_out", "opted_out", _stop),
    Leave("expired", "expired", _expire),
    Leave("cancelled by the registry", "cancelled", _cancel),
]


@pytest.mark.parametrize("leave", LEAVES, ids=[c.label for c in LEAVES])
async def test_the_queued_dialog_starts_when_the_first_stops_waiting(running: Running, leave: Leave) -> None:
    client = running.client
    _, first, event = await birth(client, msisdn=PHONE, language="kk")
    _, second, _ = await birth(client, msisdn=PHONE, language="kk")
    assert second["status"] == "queued"
    await leave.leave(running, {**first, "event_id": event["event_id"]})
    a = await client.dialog(first["dialog_id"])
    assert a["status"] == leave.status
    assert (await texts(client, PHONE))[-1] == consent_ask()  # the second offer, the phone's newest SMS
    b = await client.dialog(second["dialog_id"])
    assert b["status"] == "awaiting_consent" and len(b["transcript"]) == 1
    replies_before = [e for e in a["transcript"] if e["direction"] == "in"]

    await say_after_reading(client, "1")  # for the second dialog only
    b = await client.dialog(second["dialog_id"])
    assert b["status"] == "awaiting_bank_account" and b["consent"] is not None
    after = await client.dialog(first["dialog_id"])
    assert after["status"] == leave.status and after["consent"] == a["consent"]
    assert [e for e in after["transcript"] if e["direction"] == "in"] == replies_before
    assert render("offer.lapsed", "kk") not in await texts(client, PHONE)


async def test_a_phone_freed_at_night_gets_the_next_offer_at_09(running: Running) -> None:
    client = running.client
    _, first, _ = await birth(client, msisdn=PHONE, language="kk")
    _, second, _ = await birth(client, msisdn=PHONE, language="kk")
    await move_to(client, local(day(0), 23))
    await say(client, "2")  # the first is declined at night: its acknowledgement goes at once
    assert (await client.dialog(first["dialog_id"]))["status"] == "declined"
    assert await texts(client, PHONE) == [consent_ask(), render("declined.ack", "kk")]
    assert (await client.dialog(second["dialog_id"]))["status"] == "queued"
    await move_to(client, local(day(0), 23, 30))
    await say(client, "1")  # nothing is asked yet: this is no one's consent
    b = await client.dialog(second["dialog_id"])
    assert b["status"] == "queued" and b["consent"] is None
    await move_to(client, local(day(1), 8, 59, 59))
    assert consent_ask() not in (await texts(client, PHONE))[1:]
    await move_to(client, local(day(1), 9))
    messages = await inbox(client)
    assert messages[-1]["text"] == consent_ask() and arrived_at(messages[-1]) == local(day(1), 9)
    b = await client.dialog(second["dialog_id"])
    assert b["status"] == "awaiting_consent" and b["consent"] is None
    assert parse_instant(b["expires_at"]) == local(day(4), 9)
    assert (await client.dialog(first["dialog_id"]))["status"] == "declined"


async def test_an_offer_expiring_at_night_is_told_before_the_next_offer_at_09(running: Running) -> None:
    """Both wait for 09:00; the phone hears that the old offer ended before it hears the new one."""
    client = running.client
    await move_to(client, local(day(0), 20))
    _, first, _ = await birth(client, msisdn=PHONE, language=None)
    _, second, _ = await birth(client, msisdn=PHONE, language="kk")
    assert second["status"] == "queued"
    await move_to(client, local(day(0), 23))
    await say(client, "1")  # Kazakh: the consent request goes out now, so its window ends at 23:00 on day 3
    await move_to(client, local(day(3), 23, 0, 1))
    assert (await client.dialog(first["dialog_id"]))["status"] == "expired"
    assert (await client.dialog(second["dialog_id"]))["status"] == "queued"
    count = len(await inbox(client))
    await move_to(client, local(day(4), 9))
    messages = await inbox(client)
    assert [m["text"] for m in messages[count:]] == [render("expired.notice", "kk"), consent_ask()]
    assert all(arrived_at(m) == local(day(4), 9) for m in messages[count:])


async def test_cancelling_a_queued_dialog_removes_it_from_the_queue(running: Running) -> None:
    client = running.client
    await birth(client, msisdn=PHONE, language="kk")
    _, second, second_event = await birth(client, msisdn=PHONE, language="kk")
    assert second["status"] == "queued"
    correction = cancel_event(event_id(), cancels=second_event["event_id"], registered_at=(await client.clock())["now"])
    status, answer = await client.post_event(correction)
    assert (status, answer["status"], answer["dialog_id"]) == (202, "cancelled", second["dialog_id"])
    assert await texts(client, PHONE) == [consent_ask()]  # the phone never heard of it: no notice owed
    await say(client, "2")  # the first ends...
    await client.advance(4 * 86400)
    assert await texts(client, PHONE) == [consent_ask(), render("declined.ack", "kk")]  # ...nothing follows
    assert (await client.dialog(second["dialog_id"]))["status"] == "cancelled"
    status, _ = await client.post_event(correction)
    assert status == 200


# ---- 5. decisions ------------------------------------------------------------------------------------------


@dataclass
class Refusal:
    label: str
    reason: str
    language: str = "kk"


REFUSALS = [
    Refusal("unreliable data (kk)", "unreliable_data"),
    Refusal("requirements not met (ru)", "not_eligible", "ru"),
    Refusal("incomplete documents (ru)", "incomplete_documents", "ru"),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[c.label for c in REFUSALS])
async def test_scripted_refusal_gives_the_reason_and_both_help_lines(running: Running, case: Refusal) -> None:
    client = running.client
    assert await client.script_backend(MOTHER_WITH_HALYK, "refused", case.reason) == 200
    dialog = await submit_birth(client, language=case.language)
    await client.advance(3600)
    dialog = await client.dialog(dialog["dialog_id"])
    assert dialog["status"] == "refused"
    assert dialog["decision"]["outcome"] == "refused" and dialog["decision"]["reason"] == case.reason
    sms = (await texts(client, PHONE))[-1]
    assert sms == render("decision.refused", case.language, application_id=dialog["application"]["id"],
                         reason=render(f"refusal.{case.reason}", case.language),
                         benefit=render("benefit.birth", case.language))  # what was refused
    assert render(f"refusal.{case.reason}", case.language) in sms
    for line in HELP_LINES:
        assert line in sms


async def _assert_refused_duplicate(running: Running, dialog_id: str) -> None:
    dialog = await running.client.dialog(dialog_id)
    assert dialog["status"] == "refused" and dialog["decision"]["reason"] == "already_assigned"
    sms = (await texts(running.client, PHONE))[-1]
    assert render("refusal.already_assigned", "kk") in sms
    for line in HELP_LINES:
        assert line in sms


async def test_backend_refuses_a_benefit_claimed_elsewhere_after_the_offer(running: Running) -> None:
    """The state databases show the benefit assigned (e.g. at an office) after the offer went out."""
    client = running.client
    child = child_iin(MONDAY - dt.timedelta(days=1))
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk", child_iins=[child])
    assert await client.egov_person({"iin": MOTHER_WITH_HALYK, "bank_account": "KZ03601KZT0000412345",
                                     "benefits": [{"service": "birth", "person_iin": child,
                                                   "state": "assigned"}]}) == 201
    await say(client, "1")
    await say_after_reading(client, "1")
    await client.advance(3600)
    await _assert_refused_duplicate(running, answer["dialog_id"])


async def test_backend_refuses_a_second_application_for_the_same_child(running: Running) -> None:
    """A corrected event after a cancelled, already submitted one: the backend's duplicate rule refuses it."""
    client = running.client
    child = child_iin(MONDAY - dt.timedelta(days=1))
    first = await submit_birth(client, child_iins=[child])
    # While the first event stands, the bot itself refuses a second dialog for the same child...
    status, dup, _ = await birth(client, msisdn=PHONE, language="kk", child_iins=[child])
    assert (status, dup["status"]) == (202, "duplicate")
    correction = cancel_event(event_id(), cancels=first["event_id"], registered_at=(await client.clock())["now"])
    assert (await client.post_event(correction))[0] == 202
    # ...a registry correction withdraws it (the application already sits at the backend), and the
    # corrected event for the same child starts a new dialog and a second application.
    status, again, _ = await birth(client, msisdn=PHONE, language="kk", child_iins=[child])
    assert status == 202 and again["status"] == "awaiting_consent"
    await say_after_reading(client, "1")
    await say_after_reading(client, "1")
    second = await client.dialog(again["dialog_id"])
    assert second["status"] == "submitted"
    await client.advance(2 * 3600)  # the backend assigns the first application, refuses the second
    applications = running.system.backend.applications
    assert applications[first["dialog_id"]].status == "assigned"
    assert (await client.dialog(first["dialog_id"]))["status"] == "cancelled"
    await _assert_refused_duplicate(running, second["dialog_id"])


async def test_extension_moves_decision_due_keeps_submitted_then_assigned(running: Running) -> None:
    client = running.client
    await client.script_backend(MOTHER_WITH_HALYK, "extended", "inter_agency_check")
    dialog = await submit_birth(client, language="ru")
    application_id = dialog["application"]["id"]
    assert dialog["application"]["decision_due"] == "2026-12-02"
    await client.advance(3600)
    dialog = await client.dialog(dialog["dialog_id"])
    assert dialog["status"] == "submitted" and dialog["decision"] is None
    due = MONDAY + dt.timedelta(days=30)
    assert dialog["application"]["decision_due"] == due.isoformat() == "2026-12-23"
    sms = (await texts(client, PHONE))[-1]
    assert sms == render("decision.extended", "ru", application_id=application_id, decision_due=due,
                         reason=render("extension.inter_agency_check", "ru"))
    assert "23.12.2026" in sms
    await client.advance(3600)
    dialog = await client.dialog(dialog["dialog_id"])
    assert dialog["status"] == "assigned" and dialog["application"]["decision_due"] == "2026-12-23"
    assert "₸" in (await texts(client, PHONE))[-1]


@dataclass
class Extension:
    label: str
    backend_due: str | None
    expect_due: dt.date


EXTENSIONS = [
    Extension("no date from the backend: application date + 30 days", None, dt.date(2026, 12, 23)),
    Extension("the backend's date wins", "2027-01-11", dt.date(2027, 1, 11)),
]


@pytest.mark.parametrize("case", EXTENSIONS, ids=[c.label for c in EXTENSIONS])
async def test_extension_due_date_is_the_backends_or_30_days(running: Running, case: Extension) -> None:
    client = running.client
    dialog = await submit_birth(client, language="kk")
    stop_deciding(running, dialog["dialog_id"])
    payload = {"application_id": dialog["application"]["id"], "client_id": dialog["dialog_id"],
               "outcome": "extended", "benefits": [], "reason": "more_documents",
               "decision_due": case.backend_due}
    status, answer = await post_decision(running, payload)
    assert status == 202 and answer["status"] == "submitted"
    dialog = await client.dialog(dialog["dialog_id"])
    assert dialog["application"]["decision_due"] == case.expect_due.isoformat()
    assert (await texts(client, PHONE))[-1] == render(
        "decision.extended", "kk", application_id=dialog["application"]["id"], decision_due=case.expect_due,
        reason=render("extension.more_documents", "kk"))


@pytest.mark.parametrize("outcome", ["assigned", "refused", "extended"])
async def test_a_repeated_callback_has_one_effect(running: Running, outcome: str) -> None:
    client = running.client
    if outcome != "assigned":
        await client.script_backend(MOTHER_WITH_HALYK, outcome)
    dialog = await submit_birth(client)
    await client.advance(3600)
    callbacks = running.system.backend.callbacks
    assert [c.payload["outcome"] for c in callbacks] == [outcome] and callbacks[0].ok
    await running.system.gateway.flush()  # delivery reports still in flight would change the transcript below
    before = await client.dialog(dialog["dialog_id"])
    sms_before = await texts(client, PHONE)
    for _ in range(2):
        status, answer = await post_decision(running, callbacks[0].body)  # the same body, freshly signed
        assert status == 200 and answer["dialog_id"] == dialog["dialog_id"]
    after = await client.dialog(dialog["dialog_id"])
    assert await texts(client, PHONE) == sms_before
    for key in ("status", "decision", "application", "flags", "transcript"):
        assert after[key] == before[key], key


async def test_callback_for_an_unknown_application_is_404(running: Running) -> None:
    status, _ = await post_decision(running, {"application_id": "PB-2026-9999999", "outcome": "assigned",
                                              "benefits": [], "reason": None, "decision_due": None})
    assert status == 404


# ---- 6. decision deadlines --------------------------------------------------------------------------------


async def test_no_decision_by_the_due_date_flags_the_dialog(running: Running) -> None:
    client = running.client
    dialog = await submit_birth(client)
    stop_deciding(running, dialog["dialog_id"])
    due = dt.date.fromisoformat(dialog["application"]["decision_due"])
    assert due == dt.date(2026, 12, 2)
    await move_to(client, local(due, 23, 59, 59))
    assert "decision_overdue" not in (await client.dialog(dialog["dialog_id"]))["flags"]
    count = len(await texts(client, PHONE))
    await move_to(client, local(due + dt.timedelta(days=1), 0))
    dialog = await client.dialog(dialog["dialog_id"])
    assert "decision_overdue" in dialog["flags"] and dialog["status"] == "submitted"
    assert len(await texts(client, PHONE)) == count  # a flag for operators, not an SMS
    # A late decision still counts, and clears the flag.
    callback = {"application_id": dialog["application"]["id"], "client_id": dialog["dialog_id"],
                "outcome": "assigned", "benefits": [{"kind": "birth_one_off", "amount": 164350,
                                                     "period": "one_off", "person_iin": "x"}],
                "reason": None, "decision_due": None}
    assert (await post_decision(running, callback))[0] == 202
    dialog = await client.dialog(dialog["dialog_id"])
    assert dialog["status"] == "assigned" and "decision_overdue" not in dialog["flags"]


async def test_an_extension_moves_the_overdue_deadline(running: Running) -> None:
    client = running.client
    dialog = await submit_birth(client)
    stop_deciding(running, dialog["dialog_id"])
    payload = {"application_id": dialog["application"]["id"], "client_id": dialog["dialog_id"],
               "outcome": "extended", "benefits": [], "reason": None, "decision_due": None}
    assert (await post_decision(running, payload))[0] == 202
    await move_to(client, local(dt.date(2026, 12, 23), 23, 59, 59))  # long past the first due date
    assert "decision_overdue" not in (await client.dialog(dialog["dialog_id"]))["flags"]
    await move_to(client, local(dt.date(2026, 12, 24), 0))
    assert "decision_overdue" in (await client.dialog(dialog["dialog_id"]))["flags"]


async def test_decision_due_skips_independence_day(running: Running) -> None:
    client = running.client
    application_day = dt.date(2026, 12, 14)  # a Monday; 16 December is Independence Day
    assert not is_working_day(dt.date(2026, 12, 16))
    await move_to(client, local(application_day, 10))
    dialog = await submit_birth(client)
    assert dialog["consent"]["application_date"] == "2026-12-14"
    due = dialog["application"]["decision_due"]
    # 15 (1), 16 holiday, 17 (2) — a working day in the library's calendar since 2022 —, 18 (3),
    # 19-20 weekend, 21 (4), 22 (5), 23 (6), 24 (7).
    assert is_working_day(dt.date(2026, 12, 17))
    assert due == add_working_days(application_day, 7).isoformat() == "2026-12-24"
    stop_deciding(running, dialog["dialog_id"])
    await move_to(client, local(dt.date(2026, 12, 25), 0))
    assert "decision_overdue" in (await client.dialog(dialog["dialog_id"]))["flags"]


# ---- 7. every service end to end -------------------------------------------------------------------------------


@dataclass
class ServiceCase:
    label: str
    service: str
    carer: str
    person: str | None  # None: a disabled child (a fresh IIN)
    outcome: str
    reason: str | None = None
    monthly_kind: str = ""
    has_account: bool = True


SERVICE_CASES = [
    ServiceCase("disabled_child: father with ForteBank, assigned", "disabled_child", "850505315614", None,
                "assigned", monthly_kind="disabled_child_monthly"),
    ServiceCase("group1: caregiver and person in Astana, Yesil, assigned", "group1_since_childhood",
                "720808483418", "061010583424", "assigned", monthly_kind="group1_care_monthly"),
    ServiceCase("group1: caregiver changed 3 times this year, refused", "group1_since_childhood",
                "700605453111", "030120553120", "refused", "caregiver_changed"),
    ServiceCase("group1: person has a social assistant, refused (typed IBAN)", "group1_since_childhood",
                "680303361217", "010707661224", "refused", "social_assistant", has_account=False),
    ServiceCase("group1: different districts, refused", "group1_since_childhood", "751201472311",
                "040515572324", "refused", "different_district"),
]


@pytest.mark.parametrize("case", SERVICE_CASES, ids=[c.label for c in SERVICE_CASES])
async def test_each_service_end_to_end(running: Running, case: ServiceCase) -> None:
    client = running.client
    if case.person is None:
        status, answer = await disabled_child(client, msisdn=PHONE, language="ru", recipient_iin=case.carer)
    else:
        status, answer = await group1_event(client, carer=case.carer, person=case.person)
    assert status == 202 and answer["service"] == case.service and answer["status"] == "awaiting_consent"
    assert await texts(client, PHONE) == [consent_ask(case.service, "ru")]
    await say(client, "1")
    await say_after_reading(client, "1" if case.has_account else VALID_IBAN)
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "submitted"
    assert dialog["bank_account"]["source"] == ("on_record" if case.has_account else "typed")
    await client.advance(3600)
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == case.outcome
    application_id = dialog["application"]["id"]
    sms = (await texts(client, PHONE))[-1]
    if case.outcome == "assigned":
        monthly = RATES.amount(case.monthly_kind)
        assert [b["amount"] for b in dialog["decision"]["benefits"]] == [monthly]
        assert sms == render(f"decision.assigned.{case.service}", "ru", application_id=application_id,
                             monthly=Money(monthly))
    else:
        assert dialog["decision"]["reason"] == case.reason
        assert render(f"refusal.{case.reason}", "ru") in sms
        for line in HELP_LINES:
            assert line in sms


def test_disability_amounts_come_from_the_rate_table() -> None:
    # 1.61 subsistence minimums of 50 851 ₸, rounded up; 1.4 for group I care.
    assert RATES.amount("disabled_child_monthly") == 81871
    assert RATES.amount("group1_care_monthly") == 71192


async def test_twins_for_a_mother_of_three_one_dialog_one_application_4th_and_5th_rates(running: Running) -> None:
    client = running.client
    status, answer, event = await birth(client, msisdn=PHONE, parent_iin="871125494512", language="kk",
                                        children=2)
    assert status == 202 and answer["status"] == "awaiting_consent"
    # Twins are addressed as children.
    assert await texts(client, PHONE) == [render("consent.ask.birth.twins", "kk", event_date=day(0), hours="72")]
    twins = [c["iin"] for c in event["children"]]
    await say(client, "1")
    await say_after_reading(client, "1")
    await client.advance(3600)
    code, listed = await client.dialogs(msisdn=PHONE)
    assert code == 200 and [d["dialog_id"] for d in listed["dialogs"]] == [answer["dialog_id"]]
    applications = list(running.system.backend.applications.values())
    assert len(applications) == 1 and applications[0].person_iins == twins
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "assigned"
    # A benefit per child: the one-off and the monthly one, the twins as her 4th and 5th child. The
    # operator's view masks IINs, so which child is which is read from the backend's own callback.
    benefits = dialog["decision"]["benefits"]
    assert sorted((b["kind"], b["birth_order"]) for b in benefits) == [
        ("birth_one_off", 4), ("birth_one_off", 5), ("child_care_monthly", 4), ("child_care_monthly", 5)]
    [callback] = running.system.backend.callbacks
    assert callback.payload["benefits"] == [
        {**b, "person_iin": iin}
        for b, iin in zip(benefits, [*twins, *twins], strict=True)]
    by_child = {iin: sorted((b["kind"], b["birth_order"], b["amount"]) for b in callback.payload["benefits"]
                            if b["person_iin"] == iin) for iin in twins}
    assert by_child == {
        twins[0]: [("birth_one_off", 4, RATES.amount("birth_one_off", 4)),
                   ("child_care_monthly", 4, RATES.amount("child_care_monthly", 4))],
        twins[1]: [("birth_one_off", 5, RATES.amount("birth_one_off", 5)),
                   ("child_care_monthly", 5, RATES.amount("child_care_monthly", 5))],
    }
    one_off = RATES.amount("birth_one_off", 4) + RATES.amount("birth_one_off", 5)
    monthly = RATES.amount("child_care_monthly", 4) + RATES.amount("child_care_monthly", 5)
    assert (one_off, monthly) == (2 * 63 * 4325, 2 * 38493)  # 63 MCI each; 8.90 MCI rounded up, each
    assert (await texts(client, PHONE))[-1] == render(
        "decision.assigned.birth", "kk", application_id=dialog["application"]["id"], children="2",
        one_off=Money(one_off), monthly=Money(monthly))


# ---- 8. replies from phones without a dialog --------------------------------------------------------------------


async def test_a_phone_without_a_dialog_gets_one_info_sms_per_kazakhstan_day_and_never_consents(
        running: Running) -> None:
    client = running.client
    stranger = "+77019998877"
    info = render("nodialog.info", "kk")
    replies = [  # (when, Kazakhstan time, text, how many info SMS afterwards)
        (local(day(0), 10), "1", 1),
        (local(day(0), 10, 5), "иә", 1),
        (local(day(0), 23, 30), "1", 1),   # same Kazakhstan day
        (local(day(1), 0, 30), "1", 2),    # next Kazakhstan day (still 23 November in UTC)
        (local(day(1), 15), "да", 2),
    ]
    for when, text, count in replies:
        await move_to(client, when)
        await say(client, text, stranger)
        assert await texts(client, stranger) == [info] * count, when
    _, answer, _ = await birth(client, msisdn=stranger, language="kk")
    assert answer["status"] == "awaiting_consent"
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["consent"] is None and [e["direction"] for e in dialog["transcript"]] == ["out"]


async def test_a_phone_whose_dialog_ended_gets_info_once_a_day_not_a_consent(running: Running) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE, language="kk")
    await say(client, "2")
    for _ in range(3):
        await say(client, "1")
    info = render("nodialog.info", "kk")
    assert (await texts(client, PHONE)).count(info) == 1
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "declined" and dialog["consent"] is None


# ---- 9. timers survive a restart -----------------------------------------------------------------------------


async def test_timers_and_dialogs_survive_a_restart() -> None:
    first, prefix = await start_running("redis")
    try:
        _, answer, _ = await birth(first.client, msisdn=PHONE, language="kk")
        await first.client.advance(3600)
        at = first.system.clock.now()
    finally:
        await first.client.session.close()
        await first.system.stop()
    # A new process on the same Redis and prefix, its clock at the same instant; fresh mocks.
    system = await start_dev(port=0, clock_start=at, redis=first.redis, settings=Settings(key_prefix=prefix))
    second = Running(system, DevClient(aiohttp.ClientSession(), system.url), first.redis)
    try:
        client = second.client
        assert (await client.dialog(answer["dialog_id"]))["status"] == "awaiting_consent"
        await client.advance(23 * 3600)
        assert await texts(client, PHONE) == [render("consent.reminder", "kk", deadline=local(day(3), 10))]
        await client.advance(48 * 3600 + 1)
        dialog = await client.dialog(answer["dialog_id"])
        assert dialog["status"] == "expired"
        assert (await texts(client, PHONE))[-1] == render("expired.notice", "kk")
    finally:
        await stop_running(second, prefix)


async def test_a_restart_in_quiet_hours_still_sends_the_held_offer_at_09() -> None:
    first, prefix = await start_running("redis", start=local(day(0), 22))
    try:
        _, answer, _ = await birth(first.client, msisdn=PHONE, language="kk")
        assert answer["status"] == "queued"
        at = first.system.clock.now()
    finally:
        await first.client.session.close()
        await first.system.stop()
    system = await start_dev(port=0, clock_start=at, redis=first.redis, settings=Settings(key_prefix=prefix))
    second = Running(system, DevClient(aiohttp.ClientSession(), system.url), first.redis)
    try:
        await move_to(second.client, local(day(1), 9))
        messages = await inbox(second.client)
        assert [m["text"] for m in messages] == [consent_ask()]
        assert arrived_at(messages[0]) == local(day(1), 9)
    finally:
        await stop_running(second, prefix)

