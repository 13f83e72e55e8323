"""Registry events: validate every field, list every problem, and choose the proactive service."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from bot.clock import almaty_date, parse_instant
from bot.commands import NewEvent
from domain.iin import IinError, iin_birth_date, validate_iin
from domain.phone import PhoneError, parse_msisdn

EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # fullmatch: "$" would let a trailing newline through
MAX_CHILDREN = 10
ADULT_AGE = 18


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, by JSON path."""

    field: str
    code: str
    message: str


@dataclass(frozen=True)
class CancelEvent:
    """A registry correction that withdraws an earlier event."""

    event_id: str
    cancels: str


class _Checker:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, field: str, code: str, message: str) -> None:
        self.errors.append(FieldError(field, code, message))

    def string(self, data: dict[str, Any], key: str, path: str, *, max_len: int = 256) -> str | None:
        value = data.get(key)
        if value is None:
            self.fail(path, "required", f"{path} is required")
            return None
        if not isinstance(value, str):
            self.fail(path, "type", f"{path} must be a string")
            return None
        if len(value) > max_len:
            self.fail(path, "too_long", f"{path} must be at most {max_len} characters")
            return None
        return value

    def obj(self, data: dict[str, Any], key: str, path: str) -> dict[str, Any] | None:
        value = data.get(key)
        if not isinstance(value, dict):
            self.fail(path, "required" if value is None else "type", f"{path} must be an object")
            return None
        return value

    def date(self, data: dict[str, Any], key: str, path: str) -> dt.date | None:
        text = self.string(data, key, path, max_len=10)
        if text is None:
            return None
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError
            return dt.date.fromisoformat(text)
        except ValueError:
            self.fail(path, "invalid_date", f"{path} must be a date YYYY-MM-DD")
            return None

    def instant(self, data: dict[str, Any], key: str, path: str) -> dt.datetime | None:
        text = self.string(data, key, path, max_len=40)
        if text is None:
            return None
        try:
            return parse_instant(text)
        except ValueError:
            self.fail(path, "invalid_datetime", f"{path} must be ISO 8601 with a UTC offset")
            return None

    def iin(self, data: dict[str, Any], key: str, path: str, birth_date: dt.date | None = None) -> str | None:
        text = self.string(data, key, path, max_len=32)
        if text is None:
            return None
        try:
            validate_iin(text)
        except IinError as error:
            self.fail(path, f"iin_{error.code}", f"{path}: {error}")
            return None
        if birth_date is not None and iin_birth_date(text) != birth_date:
            self.fail(path, "iin_birth_date_mismatch", f"{path} encodes {iin_birth_date(text)}, not {birth_date}")
        return text

    def boolean(self, data: dict[str, Any], key: str, path: str) -> bool | None:
        value = data.get(key)
        if not isinstance(value, bool):
            self.fail(path, "required" if value is None else "type", f"{path} must be true or false")
            return None
        return value


def _age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def parse_event(data: Any) -> tuple[NewEvent | CancelEvent | None, list[FieldError]]:
    """A posted event as a NewEvent or CancelEvent, or every problem found in it."""
    c = _Checker()
    if not isinstance(data, dict):
        return None, [FieldError("$", "type", "the body must be a JSON object")]
    event_id = c.string(data, "event_id", "event_id", max_len=128)
    if event_id is not None and not EVENT_ID.fullmatch(event_id):
        c.fail("event_id", "invalid", "event_id may hold only A-Z a-z 0-9 . _ : - (1 to 128 characters)")
    kind = data.get("type")
    if kind not in ("birth", "disability", "cancel"):
        c.fail("type", "invalid", "type must be 'birth', 'disability' or 'cancel'")
        return None, c.errors
    registered_at = c.instant(data, "registered_at", "registered_at")
    if kind == "cancel":
        cancels = c.string(data, "cancels", "cancels", max_len=128)
        if cancels is not None and not EVENT_ID.fullmatch(cancels):
            c.fail("cancels", "invalid", "cancels is an event_id: A-Z a-z 0-9 . _ : - (1 to 128 characters)")
            cancels = None
        if c.errors or event_id is None or cancels is None:
            return None, c.errors
        return CancelEvent(event_id, cancels), []

    recipient = c.obj(data, "recipient", "recipient")
    recipient_iin = msisdn = None
    mobile = True
    language: str | None = None
    if recipient is not None:
        recipient_iin = c.iin(recipient, "iin", "recipient.iin")
        raw_phone = c.string(recipient, "msisdn", "recipient.msisdn", max_len=32)
        if raw_phone is not None:
            try:
                number = parse_msisdn(raw_phone)
                msisdn, mobile = number.e164, number.mobile
            except PhoneError as error:
                c.fail("recipient.msisdn", error.code, f"recipient.msisdn: {error}")
        language = recipient.get("language")
        if language not in ("kk", "ru", None):
            c.fail("recipient.language", "invalid", "recipient.language must be 'kk', 'ru' or null")

    subjects: list[str] = []
    event_date: dt.date | None = None
    service: str | None = None
    if kind == "birth":
        children = data.get("children")
        if not isinstance(children, list) or not 1 <= len(children) <= MAX_CHILDREN:
            c.fail("children", "invalid", f"children must be a list of 1 to {MAX_CHILDREN} children")
            children = []
        for i, child in enumerate(children):
            path = f"children[{i}]"
            if not isinstance(child, dict):
                c.fail(path, "type", f"{path} must be an object")
                continue
            birth_date = c.date(child, "birth_date", f"{path}.birth_date")
            iin = c.iin(child, "iin", f"{path}.iin", birth_date)
            if iin is not None:
                if iin in subjects:
                    c.fail(f"{path}.iin", "duplicate", f"{path}.iin appears twice in this event")
                subjects.append(iin)
        # The offer names the day the birth was registered (what the parent did), in Kazakhstan time.
        event_date = almaty_date(registered_at) if registered_at else None
        service = "birth"
    else:
        person = c.obj(data, "person", "person")
        if person is not None:
            birth_date = c.date(person, "birth_date", "person.birth_date")
            iin = c.iin(person, "iin", "person.iin", birth_date)
            group = person.get("disability_group")
            if not isinstance(group, int) or isinstance(group, bool) or group not in (1, 2, 3):
                c.fail("person.disability_group", "invalid", "person.disability_group must be 1, 2 or 3")
                group = None
            since_childhood = c.boolean(person, "since_childhood", "person.since_childhood")
            first = c.boolean(person, "first_established", "person.first_established")
            established = c.date(person, "established_on", "person.established_on")
            if iin is not None:
                subjects.append(iin)
            event_date = established
            if None not in (birth_date, group, since_childhood, first, established):
                assert birth_date is not None and established is not None
                if established < birth_date:
                    c.fail("person.established_on", "before_birth", "person.established_on is before birth")
                age = _age_on(birth_date, established)
                if first and age < ADULT_AGE:
                    service = "disabled_child"
                elif first and group == 1 and since_childhood and age >= ADULT_AGE:
                    service = "group1_since_childhood"
                else:
                    c.fail("type", "no_proactive_service",
                           "no proactive service for this disability (it must be established for the first "
                           "time, for a child, or group I since childhood for an adult)")
    if c.errors:
        return None, c.errors
    assert event_id and recipient_iin and msisdn and registered_at and event_date and service
    return NewEvent(event_id=event_id, service=service, msisdn=msisdn, mobile=mobile,
                    recipient_iin=recipient_iin, language=language, subject_iins=subjects,
                    event_date=event_date, registered_at=registered_at), []
