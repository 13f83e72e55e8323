"""Each service's dialog as data, and its state machine, built once at import and shared by every dialog."""

from __future__ import annotations

from transitions import Machine

from dialogs import bank_account, consent, decision
from dialogs.birth import SPEC as BIRTH
from dialogs.disability import DISABLED_CHILD, GROUP1_SINCE_CHILDHOOD
from dialogs.service import ServiceSpec


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


SERVICES: dict[str, ServiceSpec] = {s.name: s for s in (BIRTH, DISABLED_CHILD, GROUP1_SINCE_CHILDHOOD)}
MACHINES: dict[str, Machine] = {name: build_machine(spec) for name, spec in SERVICES.items()}
