"""Each service's dialog as data, and its state machine, built once at import and shared by every dialog."""

from __future__ import annotations

from typing import Any

from transitions import Machine

from dialogs import bank_account, consent, decision
from dialogs.birth import SPEC as BIRTH
from dialogs.disability import DISABLED_CHILD, GROUP1_SINCE_CHILDHOOD
from dialogs.service import ServiceSpec

INITIAL = "new"


def machine_states(spec: ServiceSpec) -> list[dict[str, Any]]:
    """A service's states: the shared parts' (consent, bank account, decision), then its own."""
    return [*consent.STATES, *bank_account.STATES, *decision.STATES, *spec.states]


def machine_transitions(spec: ServiceSpec) -> list[dict[str, Any]]:
    """A service's transitions in the order the machine tries them: the shared parts', then its own."""
    return [*consent.TRANSITIONS, *bank_account.TRANSITIONS, *decision.TRANSITIONS, *spec.transitions]


def build_machine(spec: ServiceSpec) -> Machine:
    """One machine for one service; models are passed to its events per message, never added to it.

    docs/states.md draws it from the same lists (dialogs/diagram.py)."""
    return Machine(
        model=None,
        states=machine_states(spec),
        transitions=machine_transitions(spec),
        initial=INITIAL,
        auto_transitions=False,
        send_event=True,
    )


SERVICES: dict[str, ServiceSpec] = {s.name: s for s in (BIRTH, DISABLED_CHILD, GROUP1_SINCE_CHILDHOOD)}
MACHINES: dict[str, Machine] = {name: build_machine(spec) for name, spec in SERVICES.items()}
