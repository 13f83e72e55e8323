"""What an application to the assignment backend is: its fields, their checks, and decision records."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from yarl import URL

from .common import FieldErrors, check_iin, iban_valid, iso, required_str
from .egov import SERVICES

OUTCOMES = ("assigned", "refused", "extended")
REFUSAL_REASONS = (
    "unreliable_data", "not_eligible", "already_assigned", "incomplete_documents",
    "caregiver_changed", "social_assistant", "different_district",
)  # fmt: skip
EXTENSION_REASONS = ("more_documents", "inter_agency_check")
DEFAULT_REASON = {"refused": "not_eligible", "extended": "more_documents"}
MAX_PERSONS = 10
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass
class Script:
    """A decision forced for every application that names this IIN."""

    outcome: str
    reason: str | None


@dataclass
class Application:
    """One accepted application and where its decision stands."""

    application_id: str
    client_id: str
    service: str
    applicant_iin: str
    person_iins: list[str]
    application_date: dt.date
    iban: str
    callback_url: str
    seq: int
    accepted_at: dt.datetime
    due: dt.datetime | None  # when the next decision step fires; None once decided for good
    status: str = "pending"  # pending → (extended →) assigned | refused
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "application_id": self.application_id, "client_id": self.client_id, "service": self.service,
            "applicant_iin": self.applicant_iin, "person_iins": self.person_iins,
            "application_date": self.application_date.isoformat(), "iban": self.iban,
            "callback_url": self.callback_url, "accepted_at": iso(self.accepted_at),
            "status": self.status, "reason": self.reason,
        }  # fmt: skip


@dataclass
class SentCallback:
    """One attempt to deliver a decision: what was posted, and what the bot answered."""

    application_id: str
    url: str
    payload: dict[str, Any]
    body: bytes
    headers: dict[str, str]
    attempt: int
    http_status: int | None  # None when the bot could not be reached
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


def parse_application(body: dict[str, Any]) -> dict[str, Any]:
    """The fields of an application, or a 422 listing every problem with the body."""
    errors = FieldErrors()
    client_id = required_str(body, "client_id", errors, max_len=128)
    service = body.get("service")
    if service not in SERVICES:
        errors.add("service", "invalid_choice", f"service must be one of {', '.join(SERVICES)}")
    applicant_iin = check_iin(body.get("applicant_iin"), "applicant_iin", errors)
    persons = body.get("person_iins")
    limit = MAX_PERSONS if service == "birth" else 1
    if not isinstance(persons, list) or not 1 <= len(persons) <= limit:
        errors.add("person_iins", "length", f"person_iins must list 1 to {limit} IINs for this service")
        persons = []
    person_iins = [check_iin(p, f"person_iins[{i}]", errors) for i, p in enumerate(persons)]
    if len(set(person_iins)) != len(person_iins):
        errors.add("person_iins", "duplicate", "person_iins must not repeat an IIN")
    raw_date = body.get("application_date")
    application_date = dt.date.min
    try:
        if not isinstance(raw_date, str) or not _DATE_RE.fullmatch(raw_date):
            raise ValueError
        application_date = dt.date.fromisoformat(raw_date)
    except ValueError:
        errors.add("application_date", "invalid_date", "application_date must be a real date, YYYY-MM-DD")
    iban = required_str(body, "iban", errors, max_len=64).replace(" ", "").upper()
    if iban and not iban_valid(iban):
        errors.add("iban", "invalid_iban", "iban must be an IBAN with valid check digits")
    callback_url = required_str(body, "callback_url", errors, max_len=2048)
    if callback_url and not _is_http_url(callback_url):
        errors.add("callback_url", "invalid_url", "callback_url must be an absolute http(s) URL")
    errors.raise_if_any()
    return {
        "client_id": client_id, "service": service, "applicant_iin": applicant_iin,
        "person_iins": person_iins, "application_date": application_date, "iban": iban,
        "callback_url": callback_url,
    }  # fmt: skip


def parse_script(body: dict[str, Any]) -> tuple[str, str, str | None]:
    """(iin, outcome, reason) from a `POST /assignment/script` body, or a 422 listing every problem."""
    errors = FieldErrors()
    iin = check_iin(body.get("iin"), "iin", errors)
    outcome, reason = body.get("outcome"), body.get("reason")
    allowed = {"assigned": (), "refused": REFUSAL_REASONS, "extended": EXTENSION_REASONS}
    if not isinstance(outcome, str) or outcome not in allowed:
        errors.add("outcome", "invalid_choice", f"outcome must be one of {', '.join(OUTCOMES)}")
    elif reason is not None and reason not in allowed[outcome]:
        choices = ", ".join(allowed[outcome]) or "null only"
        errors.add("reason", "invalid_choice", f"reason for {outcome} must be {choices}")
    errors.raise_if_any()
    return iin, str(outcome), reason


def _is_http_url(text: str) -> bool:
    try:
        url = URL(text)
    except ValueError:
        return False
    return url.scheme in ("http", "https") and bool(url.host)
