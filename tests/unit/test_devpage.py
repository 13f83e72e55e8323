"""The dev page's pieces without I/O: the events its buttons send, and a phone's threads as the page shows them."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

import pytest

from bot.commands import NewEvent
from bot.devpage.people import PEOPLE, NewPerson, dev_iban, new_person_case, seeded_event
from bot.devpage.phone import PhoneMemory, Said, sms_thread, telegram_chat, telegram_user, ussd_sessions
from bot.intake import parse_event
from domain.iban import normalise_iban
from domain.masking import scrub
from gateway_mocks.fixtures import FIXTURES

NOW = "2026-11-23T10:00:00+05:00"
SEEDED = {f["iin"] for f in FIXTURES}


def intake(event: dict[str, Any]) -> NewEvent:
    """The bot's own reading of the event (bot/intake.py): valid, and which service it asks for."""
    parsed, errors = parse_event(event)
    assert not errors and isinstance(parsed, NewEvent), errors
    return parsed


@pytest.mark.parametrize("person", PEOPLE, ids=[p.key for p in PEOPLE])
def test_every_seeded_person_is_in_the_egov_mock_and_both_buttons_send_an_event_the_bot_takes(person: Any) -> None:
    assert person.iin in SEEDED and (person.cared_for is None or person.cared_for in SEEDED)
    birth = intake(seeded_event(person, "birth", NOW, random.Random(1)))
    assert birth.service == "birth" and birth.msisdn == person.msisdn and birth.recipient_iin == person.iin
    assert birth.subject_iins == ([person.child] if person.child else birth.subject_iins)
    disability = intake(seeded_event(person, "disability", NOW, random.Random(1)))
    assert disability.service == ("group1_since_childhood" if person.cared_for else "disabled_child")
    assert person.cared_for in (None, disability.subject_iins[0])


@dataclass
class Case:
    label: str
    person: NewPerson
    kind: str
    service: str | None  # None: the bot refuses the event (no proactive service)
    children: int = 1
    records: int = 1  # what the e-government mock must learn first


NEW = "+77075550001"
CASES = [
    Case("a birth, language unknown, no account", NewPerson(NEW, None, account=False), "birth", "birth"),
    Case("twins are one event with two children", NewPerson(NEW, "kk", twins=True), "birth", "birth", children=2),
    Case("a child's disability", NewPerson(NEW, "ru"), "disability", "disabled_child"),
    Case("group I since childhood, first established", NewPerson(NEW, "kk", group1=True), "disability",
         "group1_since_childhood", records=2),
    Case("group I, not since childhood: no proactive service", NewPerson(NEW, "kk", group1=True,
                                                                         since_childhood=False),
         "disability", None, records=2),
    Case("group I, not the first time: no proactive service", NewPerson(NEW, "kk", group1=True, first=False),
         "disability", None, records=2),
]


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_a_new_person_is_written_to_egov_then_sent_as_a_registry_would(case: Case) -> None:
    records, event = new_person_case(case.person, case.kind, NOW, random.Random(7))
    assert len(records) == case.records and records[0]["iin"] == event["recipient"]["iin"]
    assert (records[0]["bank_account"] is not None) == case.person.account
    parsed, errors = parse_event(event)
    if case.service is None:
        assert [e.code for e in errors] == ["no_proactive_service"]
        return
    assert not errors and isinstance(parsed, NewEvent) and parsed.service == case.service
    assert parsed.language == case.person.language and len(parsed.subject_iins) == case.children


def test_group_i_flags_reach_the_egov_record_of_the_person_cared_for() -> None:
    person = NewPerson(NEW, "ru", group1=True, social_assistant=True, caregiver_changes=True, other_district=True)
    records, event = new_person_case(person, "disability", NOW, random.Random(3))
    cared = records[1]
    assert cared["iin"] == event["person"]["iin"] and cared["has_social_assistant"] is True
    assert cared["caregiver_changes_this_year"] == 3 and cared["address"] != records[0]["address"]


def test_dev_ibans_are_valid_and_fresh() -> None:
    rng = random.Random(5)
    ibans = {dev_iban(rng) for _ in range(50)}
    assert len(ibans) == 50 and all(normalise_iban(i) == i for i in ibans)


def test_a_phones_telegram_user_is_stable_and_never_looks_like_a_phone_or_an_iin() -> None:
    users = [telegram_user(f"+7701555{n:04d}") for n in range(200)]
    assert users == [telegram_user(f"+7701555{n:04d}") for n in range(200)] and len(set(users)) == 200
    assert all(scrub(f"user {u}") == f"user {u}" for u in users)


def sms(n: int) -> dict[str, Any]:
    return {"id": f"m{n}", "text": f"bot {n}", "encoding": "UCS2", "segments": 2, "at": NOW}


def test_the_sms_thread_puts_each_reply_where_it_was_sent() -> None:
    memory = PhoneMemory(NEW, sms=[Said(1, "иә", NOW), Said(2, "1", NOW), Said(2, "again", NOW)])
    thread = sms_thread([sms(0), sms(1), sms(2)], memory)
    assert [m["text"] for m in thread] == ["bot 0", "иә", "bot 1", "1", "again", "bot 2"]
    assert [m["mine"] for m in thread] == [False, True, False, True, True, False]
    assert sms_thread([], PhoneMemory(NEW, sms=[Said(0, "hello", NOW)]))[0]["text"] == "hello"


def test_the_telegram_chat_keeps_the_reply_keyboard_the_bot_left_open() -> None:
    ask = {"message_id": 1, "text": "share", "buttons": [], "remove_keyboard": False, "at": NOW,
           "keyboard": [[{"text": "Share my number", "request_contact": True}]]}
    bound = {"message_id": 2, "text": "thanks", "buttons": [], "keyboard": [], "remove_keyboard": True, "at": NOW}
    memory = PhoneMemory(NEW, telegram=[Said(0, "/start", NOW, "start")])
    chat, keyboard = telegram_chat([ask], memory)
    assert [m.get("kind") for m in chat] == ["start", None] and keyboard == ask["keyboard"]
    memory.telegram.append(Said(1, NEW, NOW, "contact"))
    chat, keyboard = telegram_chat([ask, bound], memory)
    assert [m.get("kind") for m in chat] == ["start", None, "contact", None] and keyboard == []


def step(session: str, text: str, is_open: bool, at: str = NOW) -> dict[str, Any]:
    return {"session_id": session, "input": "1", "screen": text, "open": is_open, "at": at}


def test_ussd_sessions_say_how_each_ended() -> None:
    now = dt.datetime.fromisoformat(NOW)
    memory = PhoneMemory(NEW, cuts={"s2"})
    later = (now + dt.timedelta(seconds=200)).isoformat()
    history = [step("s1", "a", True), step("s1", "b", False), step("s2", "c", True), step("s3", "d", True),
               step("s4", "e", True)]
    assert [(s.session_id, s.state) for s in ussd_sessions(history, memory, now)] == [
        ("s1", "ended"), ("s2", "cut"), ("s3", "dropped"), ("s4", "open")]
    assert ussd_sessions(history, memory, dt.datetime.fromisoformat(later))[-1].state == "dropped"  # timed out
