"""The state databases behind the e-government gateway: accounts on record, benefits, addresses, flags."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from .common import (
    FieldErrors,
    check_iin,
    error_response,
    iban_valid,
    json_object,
    json_response,
)

SERVICES = ("birth", "disabled_child", "group1_since_childhood")
BENEFIT_STATES = ("applied", "assigned", "paid")
# A later state never goes back: "paid" stays "paid" when the backend assigns the same benefit again.
_STATE_RANK = {state: rank for rank, state in enumerate(BENEFIT_STATES)}


class EgovRegistry:
    """Person records by IIN; what the bot and the assignment backend read through the gateway."""

    def __init__(self) -> None:
        self.persons: dict[str, dict[str, Any]] = {}

    def get(self, iin: str) -> dict[str, Any] | None:
        """A copy of the record for this IIN, or None when nothing is on record."""
        record = self.persons.get(iin)
        return copy.deepcopy(record) if record is not None else None

    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Validate a record, replace whatever was held for its IIN, return it with defaults filled in."""
        record = parse_person(body)
        self.persons[record["iin"]] = record
        return copy.deepcopy(record)

    def seed(self, fixtures: Iterable[dict[str, Any]]) -> None:
        for fixture in fixtures:
            self.put(fixture)

    def lists_benefit(self, applicant_iin: str, service: str, person_iin: str) -> bool:
        """True when the applicant's record shows this service for this person applied, assigned or paid."""
        record = self.persons.get(applicant_iin)
        return record is not None and any(
            b["service"] == service and b["person_iin"] == person_iin for b in record["benefits"]
        )

    def record_benefit(self, applicant_iin: str, service: str, person_iin: str, state: str) -> None:
        """Note a decision in the applicant's record, as the real databases would after assignment."""
        record = self.persons.setdefault(applicant_iin, parse_person({"iin": applicant_iin}))
        for benefit in record["benefits"]:
            if benefit["service"] == service and benefit["person_iin"] == person_iin:
                if _STATE_RANK[state] > _STATE_RANK[benefit["state"]]:
                    benefit["state"] = state
                return
        record["benefits"].append({"service": service, "person_iin": person_iin, "state": state})

    # HTTP ----------------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/egov/persons", self.handle_list),
            web.get("/egov/persons/{iin}", self.handle_get),
            web.post("/egov/persons", self.handle_put),
        ]

    async def handle_list(self, request: web.Request) -> web.Response:
        return json_response({"persons": [self.persons[iin] for iin in sorted(self.persons)]})

    async def handle_get(self, request: web.Request) -> web.Response:
        errors = FieldErrors()
        iin = check_iin(request.match_info["iin"], "iin", errors)
        errors.raise_if_any()
        record = self.get(iin)
        if record is None:
            return error_response(404, "not_found")
        return json_response(record)

    async def handle_put(self, request: web.Request) -> web.Response:
        return json_response(self.put(await json_object(request)), status=201)


def parse_person(body: dict[str, Any]) -> dict[str, Any]:
    """A complete person record from a request body (unknown keys dropped), or a 422 listing every problem."""
    errors = FieldErrors()
    iin = check_iin(body.get("iin"), "iin", errors)
    record: dict[str, Any] = {
        "iin": iin,
        "bank_account": _bank_account(body.get("bank_account"), errors),
        "benefits": _benefits(body.get("benefits", []), errors),
        "address": _address(body.get("address"), errors),
        "children_before": _count(body, "children_before", errors),
        "caregiver_changes_this_year": _count(body, "caregiver_changes_this_year", errors),
        "has_social_assistant": body.get("has_social_assistant", False),
    }
    if not isinstance(record["has_social_assistant"], bool):
        errors.add("has_social_assistant", "type", "has_social_assistant must be true or false")
    errors.raise_if_any()
    return record


def _bank_account(value: Any, errors: FieldErrors) -> str | None:
    if value is None:
        return None
    compact = value.replace(" ", "").upper() if isinstance(value, str) else ""
    if not iban_valid(compact):
        errors.add("bank_account", "invalid_iban", "bank_account must be an IBAN with valid check digits")
    return compact


def _benefits(value: Any, errors: FieldErrors) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        errors.add("benefits", "type", "benefits must be a list")
        return []
    benefits = []
    for i, item in enumerate(value):
        path = f"benefits[{i}]"
        if not isinstance(item, dict):
            errors.add(path, "type", f"{path} must be an object")
            continue
        for name, allowed in (("service", SERVICES), ("state", BENEFIT_STATES)):
            if item.get(name) not in allowed:
                errors.add(f"{path}.{name}", "invalid_choice", f"{name} must be one of {', '.join(allowed)}")
        person_iin = check_iin(item.get("person_iin"), f"{path}.person_iin", errors)
        service, state = item.get("service"), item.get("state")
        benefits.append({"service": service, "person_iin": person_iin, "state": state})
    return benefits


def _address(value: Any, errors: FieldErrors) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add("address", "type", "address must be an object with region and district, or null")
        return None
    for name in ("region", "district"):
        part = value.get(name)
        if not isinstance(part, str) or not part.strip():
            errors.add(f"address.{name}", "required", f"address.{name} must be a non-empty string")
    return {"region": str(value.get("region")), "district": str(value.get("district"))}


def _count(body: dict[str, Any], name: str, errors: FieldErrors) -> int:
    value = body.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        errors.add(name, "invalid_count", f"{name} must be a whole number from 0 to 100")
        return 0
    return value
