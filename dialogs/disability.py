"""Disability established for the first time: a disabled child, or group I since childhood."""

from __future__ import annotations

from typing import Any

from bot.i18n import Money
from dialogs.service import ServiceSpec


def _monthly(benefits: list[dict[str, Any]]) -> dict[str, Any]:
    return {"monthly": Money(sum(int(b["amount"]) for b in benefits if b.get("period") == "monthly"))}


DISABLED_CHILD = ServiceSpec(
    name="disabled_child",
    consent_message="consent.ask.disabled_child",
    assigned_message="decision.assigned.disabled_child",
    assigned_params=_monthly,
    benefit="benefit.disabled_child",
)

GROUP1_SINCE_CHILDHOOD = ServiceSpec(
    name="group1_since_childhood",
    consent_message="consent.ask.group1_since_childhood",
    assigned_message="decision.assigned.group1_since_childhood",
    assigned_params=_monthly,
    benefit="benefit.group1_since_childhood",
)
