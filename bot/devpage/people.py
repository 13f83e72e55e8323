"""Who the dev page can start a case for, and the registry event each button sends (built, not yet signed).

The seeded people are the e-government mock's fixtures (gateway_mocks/fixtures.py), each with a phone of
their own; a new person is written to the mock first (`POST /mock/egov/persons`) and then has events like them.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass
from typing import Any

from schwifty.checksum import ISO7064_mod97_10

from bot.clock import almaty_date, parse_instant
from domain.iin import iin_birth_date
from gateway_mocks.registry import birth_event, child_iin, disability_event

KINDS = ("birth", "disability")
HOME = {"region": "Astana", "district": "Yesil"}
ELSEWHERE = {"region": "Almaty region", "district": "Talgar"}
_MOD97 = ISO7064_mod97_10()


@dataclass(frozen=True)
class Person:
    """A seeded e-government person: their phone, the language the registry knows, whom they care for."""

    key: str  # names the texts who.<key> and shows.<key>
    iin: str
    msisdn: str
    language: str | None
    cared_for: str | None = None  # a group I person's IIN: "establish a disability" is that person's
    child: str | None = None  # a seeded child's IIN: "register a birth" is that child's


PEOPLE = (
    Person("mother_halyk", "920412412349", "+77015550101", "kk"),
    Person("father_no_account", "880930324560", "+77015550102", "ru"),
    Person("mother_applied", "950214437899", "+77015550103", "ru", child="261110640428"),
    Person("mother_of_three", "871125494512", "+77015550104", "kk"),
    Person("father_forte", "850505315614", "+77015550105", "ru"),
    Person("caregiver_astana", "720808483418", "+77015550106", "kk", cared_for="061010583424"),
    Person("guardian_changes", "700605453111", "+77015550107", "ru", cared_for="030120553120"),
    Person("caregiver_assistant", "680303361217", "+77015550108", "ru", cared_for="010707661224"),
    Person("caregiver_almaty", "751201472311", "+77015550109", "kk", cared_for="040515572324"),
)
BY_KEY = {p.key: p for p in PEOPLE}


@dataclass(frozen=True)
class NewPerson:
    """What the dev page's form says about someone the e-government mock does not know yet."""

    msisdn: str
    language: str | None
    account: bool = True
    twins: bool = False
    group1: bool = False  # else the disability is a child's (group 3)
    since_childhood: bool = True
    first: bool = True
    social_assistant: bool = False
    caregiver_changes: bool = False
    other_district: bool = False


def event_id(registry: str) -> str:
    """A fresh event id (random, so that a dev system restarted on the same Redis never repeats one)."""
    return f"{registry}-dev-{secrets.token_hex(6)}"


def registry_of(kind: str) -> str:
    """Who sends this kind of event: the civil registry (ZAGS) or the medical-social expertise (MSE)."""
    return "zags" if kind == "birth" else "mse"


def dev_iban(rng: random.Random) -> str:
    """A fresh Halyk Bank IBAN with right check digits."""
    bban = f"601KZT{rng.randrange(10**10):010d}"
    return f"KZ{_MOD97.compute([bban, 'KZ'])}{bban}"


def _sex(rng: random.Random) -> str:
    return rng.choice(("M", "F"))


def seeded_event(person: Person, kind: str, now: str, rng: random.Random) -> dict[str, Any]:
    """The event a registry would send now for a seeded person: their child's birth, or a disability."""
    today = almaty_date(parse_instant(now))
    if kind == "birth":
        if person.child is not None:
            children = [(person.child, iin_birth_date(person.child))]
        else:
            born = today - dt.timedelta(days=1)
            children = [(child_iin(born, _sex(rng)), born)]
        return birth_event(event_id("zags"), parent_iin=person.iin, msisdn=person.msisdn, language=person.language,
                           registered_at=now, children=children)
    if person.cared_for is not None:
        return disability_event(event_id("mse"), recipient_iin=person.iin, msisdn=person.msisdn,
                                language=person.language, registered_at=now, person_iin=person.cared_for,
                                birth_date=iin_birth_date(person.cared_for), group=1, since_childhood=True,
                                established_on=today)
    return _disabled_child(person.iin, person.msisdn, person.language, now, today, rng)


def _disabled_child(recipient: str, msisdn: str, language: str | None, now: str, today: dt.date,
                    rng: random.Random) -> dict[str, Any]:
    born = today.replace(year=today.year - 8, day=min(today.day, 28))
    return disability_event(event_id("mse"), recipient_iin=recipient, msisdn=msisdn, language=language,
                            registered_at=now, person_iin=child_iin(born, _sex(rng)), birth_date=born, group=3,
                            since_childhood=False, established_on=today)


def new_person_case(new: NewPerson, kind: str, now: str,
                    rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """What the e-government mock must hold first (records for `POST /mock/egov/persons`), and the event."""
    today = almaty_date(parse_instant(now))
    recipient = child_iin(dt.date(1985, 1, 1) + dt.timedelta(days=rng.randrange(5000)), _sex(rng))
    records: list[dict[str, Any]] = [{"iin": recipient, "bank_account": dev_iban(rng) if new.account else None,
                                      "address": HOME}]
    if kind == "birth":
        born = today - dt.timedelta(days=1)
        children = [(child_iin(born, _sex(rng)), born) for _ in range(2 if new.twins else 1)]
        return records, birth_event(event_id("zags"), parent_iin=recipient, msisdn=new.msisdn,
                                    language=new.language, registered_at=now, children=children)
    if not new.group1:
        return records, _disabled_child(recipient, new.msisdn, new.language, now, today, rng)
    born = today.replace(year=today.year - 20 - rng.randrange(15), day=min(today.day, 28))
    person = child_iin(born, _sex(rng))
    records.append({"iin": person, "address": ELSEWHERE if new.other_district else HOME,
                    "has_social_assistant": new.social_assistant,
                    "caregiver_changes_this_year": 3 if new.caregiver_changes else 0})
    return records, disability_event(event_id("mse"), recipient_iin=recipient, msisdn=new.msisdn,
                                     language=new.language, registered_at=now, person_iin=person, birth_date=born,
                                     group=1, since_childhood=new.since_childhood, established_on=today,
                                     first=new.first)
