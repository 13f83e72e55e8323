"""Each service's dialog as data, and its state machine, built once at import and shared by every dialog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from transitions import Machine

from dialogs import bank_account, consent, decision


@dataclass(frozen=True)
class ServiceSpec:
    """What differs between the proactive services: texts, and how a decision reads."""

    name: str
    consent_message: str
    assigned_message: str
    # Builds the assigned SMS's placeholders from the backend's benefit lines.
    assigned_params: Callable[[list[dict[str, Any]]], dict[str, Any]]
    # The catalog phrase naming the benefit ("пособия по уходу"), for a refusal to say what was refused.
    benefit: str = ""
    # The assigned SMS for these placeholders when it differs (a birth with only the one-off benefit).
    assigned_variant: Callable[[dict[str, Any]], str] | None = None
    # The consent request for these subjects' IINs when it differs (twins are addressed as children).
    consent_variant: Callable[[list[str]], str] | None = None
    states: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)


def build_machine(spec: ServiceSpec) -> Machine:
    """One machine for one service; models are passed to its events per message, never added to it."""
    return Machine(
        model=None,
        states=[*consent.STATES, *bank_account.STATES, *decision.STATES, *spec.states],
        transitions=[*consent.TRANSITIONS, *bank_account.TRANSITIONS, *decision.TRANSITIONS, *spec.transitions],
        initial="new",
        auto_transitions=False,
        send_event=True,
    )


def _services() -> dict[str, ServiceSpec]:
    from dialogs.birth import SPEC as BIRTH
    from dialogs.disability import DISABLED_CHILD, GROUP1_SINCE_CHILDHOOD

    return {s.name: s for s in (BIRTH, DISABLED_CHILD, GROUP1_SINCE_CHILDHOOD)}


SERVICES: dict[str, ServiceSpec] = _services()
MACHINES: dict[str, Machine] = {name: build_machine(spec) for name, spec in SERVICES.items()}
