"""Birth of a child: birth benefit (one-off, per child) and child-care benefit (monthly), one consent."""

from __future__ import annotations

from typing import Any

from bot.i18n import Money
from dialogs.service import ServiceSpec


def _assigned(benefits: list[dict[str, Any]]) -> dict[str, Any]:
    one_off = [b for b in benefits if b.get("period") == "one_off"]
    monthly = [b for b in benefits if b.get("period") == "monthly"]
    children = {b.get("person_iin") for b in benefits}
    return {
        "children": str(len(children)),
        "one_off": Money(sum(int(b["amount"]) for b in one_off)),
        "monthly": Money(sum(int(b["amount"]) for b in monthly)),
    }


def _assigned_variant(params: dict[str, Any]) -> str:
    """Leave out what was not assigned: "child care — 0 ₸ a month" is not news."""
    if not params["monthly"].amount:
        return "decision.assigned.birth.one_off"
    if not params["one_off"].amount:
        return "decision.assigned.birth.monthly"
    return "decision.assigned.birth"


def _consent_variant(children: list[str]) -> str:
    """Twins are addressed as children: "рождение Ваших детей", "балаларыңыздың тууы"."""
    return "consent.ask.birth.twins" if len(children) > 1 else "consent.ask.birth"


SPEC = ServiceSpec(
    name="birth",
    consent_message="consent.ask.birth",
    assigned_message="decision.assigned.birth",
    assigned_params=_assigned,
    benefit="benefit.birth",
    assigned_variant=_assigned_variant,
    consent_variant=_consent_variant,
)
