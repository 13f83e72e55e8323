"""Simulated citizens: who gets an offer, how they answer (Kazakh or Russian, fast, late, unclear, never)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from domain.iin import make_iin
from gateway_mocks.registry import birth_event, disability_event

MINUTE, HOUR = 60, 3600
_OPERATORS = ("701", "702", "705", "707", "747", "771", "775", "777", "778")
_BANKS = ("601", "722", "965", "856", "998")

YES = {"kk": ("1", "иә", "Иә", "келісемін", "1 иә", "ia"), "ru": ("1", "да", "Да", "Да, согласна", "согласен")}
NO = {"kk": ("2", "жоқ", "келіспеймін"), "ru": ("2", "нет", "отказываюсь", "Нет, не надо")}
UNCLEAR = {"kk": ("бұл не?", "ок", "түсінбедім", "кім жазып тұр?"), "ru": ("что это?", "ок", "не понял", "это кто?")}
STOP = ("STOP", "стоп", "тоқта")
LANGUAGE_WORDS = {"kk": ("KZ", "қаз", "қазақша"), "ru": ("RU", "рус", "на русском")}


def iban(bank: str, account: int) -> str:
    """A Kazakhstan IBAN with correct mod-97 check digits: KZkk bbb KZT nnnnnnnnnn."""
    bban = f"{bank}KZT{account:010d}"
    digits = "".join(str(int(c, 36)) for c in bban + "KZ00")
    return f"KZ{98 - int(digits) % 97:02d}{bban}"


def typed(account: str, rng: random.Random) -> str:
    """An IBAN as a person types it: spaced in fours, sometimes lower case."""
    spaced = " ".join(account[i:i + 4] for i in range(0, len(account), 4))
    return spaced.lower() if rng.random() < 0.3 else spaced


def mistyped(account: str, rng: random.Random) -> str:
    """One of the mistakes the bot explains: a wrong digit, a missing digit, not KZ, an unknown bank."""
    kind = rng.choice(("digit", "short", "country", "bank"))
    if kind == "digit":
        i = rng.randrange(10, len(account))
        return account[:i] + str((int(account[i]) + 1) % 10) + account[i + 1:]
    if kind == "short":
        return account[:-1]
    if kind == "country":
        return "RU" + account[2:]
    return iban("123", int(account[-10:]))


@dataclass(frozen=True)
class Persona:
    """A way of answering: how likely, which replies after which delays, and the status it should end in."""

    name: str
    weight: float
    outcome: str
    account_on_record: bool | None = None  # True: the bench registers one; None: either, at random


PERSONAS = (
    Persona("prompt_yes", 30, "assigned"),
    Persona("late_yes", 15, "assigned"),
    Persona("after_reminder", 8, "assigned"),
    Persona("unclear_then_yes", 8, "assigned"),
    Persona("iban_typo", 8, "assigned", account_on_record=False),
    Persona("other_account", 4, "assigned", account_on_record=True),
    Persona("refuses", 7, "declined"),
    Persona("silent", 12, "expired"),
    Persona("stop", 2, "opted_out"),
    Persona("backend_refused", 3, "refused"),
    Persona("language_unknown", 3, "assigned"),
)


@dataclass
class Citizen:
    """One offer: the event that starts it, the replies the phone will send, and the status it must reach."""

    index: int
    persona: str
    msisdn: str
    language: str | None
    parent_iin: str
    account: str | None  # on record in the simulated e-government databases
    event: dict[str, Any]
    replies: list[tuple[int, str]]  # (seconds after the bot's previous message, text)
    expected: str
    at: float = 0.0  # when the event is sent, seconds since the start of the simulation
    dialog_id: str | None = None
    done: list[str] = field(default_factory=list)  # replies sent so far


class IinSource:
    """Fresh valid IINs: never the same one twice in a run (a repeated child would be a duplicate)."""

    def __init__(self) -> None:
        self._next: dict[tuple[dt.date, str], int] = {}
        self._issued: set[str] = set()

    def take(self, born: dt.date, sex: str) -> str:
        while True:
            serial = self._next.get((born, sex), 0)
            if serial > 9999:
                raise ValueError(f"no serials left for {born} {sex}")
            self._next[(born, sex)] = serial + 1
            iin = make_iin(born, sex, serial)
            if iin not in self._issued:
                self._issued.add(iin)
                return iin


def _replies(persona: str, lang: str, rng: random.Random, account: str | None, fresh: str) -> list[tuple[int, str]]:
    """The replies a persona sends, each with its delay after the bot's previous message."""
    yes, soon = rng.choice(YES[lang]), rng.randint(1, 30) * MINUTE

    def bank(delay: int) -> list[tuple[int, str]]:
        return [(delay, "1")] if account else [(delay, typed(fresh, rng))]

    if persona == "prompt_yes" or persona == "backend_refused":
        return [(soon, yes), *bank(rng.randint(1, 10) * MINUTE)]
    if persona == "late_yes":
        return [(rng.randint(2, 20) * HOUR, yes), *bank(rng.randint(5, 90) * MINUTE)]
    if persona == "after_reminder":
        return [(rng.randint(26, 60) * HOUR, yes), *bank(rng.randint(1, 30) * MINUTE)]
    if persona == "unclear_then_yes":
        return [(soon, rng.choice(UNCLEAR[lang])), (rng.randint(2, 40) * MINUTE, yes), *bank(5 * MINUTE)]
    if persona == "iban_typo":
        return [(soon, yes), (rng.randint(3, 20) * MINUTE, typed(mistyped(fresh, rng), rng)),
                (rng.randint(2, 15) * MINUTE, typed(fresh, rng))]
    if persona == "other_account":
        return [(soon, yes), (rng.randint(1, 10) * MINUTE, "2"), (rng.randint(5, 30) * MINUTE, typed(fresh, rng))]
    if persona == "refuses":
        return [(rng.randint(1, 600) * MINUTE, rng.choice(NO[lang]))]
    if persona == "stop":
        return [(rng.randint(1, 120) * MINUTE, rng.choice(STOP))]
    if persona == "language_unknown":
        return [(soon, rng.choice(LANGUAGE_WORDS[lang])), (rng.randint(1, 30) * MINUTE, yes),
                *bank(rng.randint(1, 10) * MINUTE)]
    return []  # silent


def population(size: int, *, run: str, start: dt.datetime, daily: int, seed: int = 7,
               personas: tuple[Persona, ...] = PERSONAS) -> list[Citizen]:
    """`size` citizens with events spread `daily` a day over 09:00-19:00 Kazakhstan time, from `start`."""
    rng = random.Random(seed)
    iins = IinSource()
    weights = [p.weight for p in personas]
    people: list[Citizen] = []
    for i in range(size):
        persona = rng.choices(personas, weights)[0]
        day, slot = divmod(i, daily)
        at = day * 24 * HOUR + slot * (10 * HOUR / daily)
        when = start + dt.timedelta(seconds=at)
        lang = "kk" if rng.random() < 0.6 else "ru"
        msisdn = f"+7{_OPERATORS[i % len(_OPERATORS)]}{i // len(_OPERATORS):07d}"
        parent = iins.take(dt.date(1975, 1, 1) + dt.timedelta(days=i % 10000), rng.choice("MF"))
        on_record = persona.account_on_record if persona.account_on_record is not None else rng.random() < 0.6
        account = iban(rng.choice(_BANKS), 2 * i + 1) if on_record else None
        fresh = iban(rng.choice(_BANKS), 2 * i + 2)
        event_lang = None if persona.name == "language_unknown" else lang
        event = _event(i, run, rng, iins, parent, msisdn, event_lang, when)
        people.append(Citizen(i, persona.name, msisdn, lang, parent, account, event,
                              _replies(persona.name, lang, rng, account, fresh), persona.outcome, at=at))
    return people


def _event(i: int, run: str, rng: random.Random, iins: IinSource, parent: str, msisdn: str,
           language: str | None, when: dt.datetime) -> dict[str, Any]:
    """A birth registration (twins now and then) or, for one in twelve, a child's disability."""
    registered = when.isoformat()
    today = when.date()
    if rng.random() < 1 / 12:
        born = today - dt.timedelta(days=365 * rng.randint(1, 16) + rng.randint(0, 364))
        return disability_event(f"mse-{run}-{i}", recipient_iin=parent, msisdn=msisdn, language=language,
                                registered_at=registered, person_iin=iins.take(born, rng.choice("MF")),
                                birth_date=born, group=rng.choice((1, 2, 3)), since_childhood=False,
                                established_on=today - dt.timedelta(days=1))
    born = today - dt.timedelta(days=rng.randint(1, 30))
    twins = 2 if rng.random() < 0.02 else 1
    children = [(iins.take(born, rng.choice("MF")), born) for _ in range(twins)]
    return birth_event(f"zags-{run}-{i}", parent_iin=parent, msisdn=msisdn, language=language,
                       registered_at=registered, children=children)
