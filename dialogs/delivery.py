"""Failed deliveries: which SMS are worth sending again, and what a report decided (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dialogs import bank_account, consent, decision
from dialogs.model import Dialog
from dialogs.records import SmsItem, TranscriptLine

RESENT_WHILE: dict[str, frozenset[str]] = {
    msg: frozenset(states)
    for msg, states in {**consent.RESENT_WHILE, **bank_account.RESENT_WHILE, **decision.RESENT_WHILE}.items()
}
# A copy of a message that is still on its way to the phone (it has its own resends if it fails).
IN_FLIGHT = frozenset({"pending", "held", "sent"})


@dataclass
class Redelivery:
    """What a delivery report decided: records for the dialog log, and what the engine must carry out."""

    records: list[dict[str, Any]] = field(default_factory=list)
    gave_up: bool = False  # every resend failed and the message still mattered: trigger `unreachable`
    outbox_changed: bool = False  # a resend queued or withdrawn: the outbox and its timer need settling


def matters(msg: str | None, state: str) -> bool:
    """Whether catalog message `msg` is still worth resending while the dialog is in `state`."""
    if msg is None:
        return False
    states = RESENT_WHILE.get(msg)
    if states is None:
        states = next((s for prefix, s in RESENT_WHILE.items() if prefix.endswith(".") and msg.startswith(prefix)),
                      frozenset())
    return state in states


def root_of(line: TranscriptLine) -> str:
    """The message a transcript line is a resend of (itself when it is the first send)."""
    return str(line.get("resend_of") or line["message_id"])


def worth_resending(dialog: Dialog, root: str) -> bool:
    """Whether the citizen still needs message `root`, so that a resend of it is worth making."""
    lines = dialog.transcript
    start = next((i for i, e in enumerate(lines) if e.get("message_id") == root and e["direction"] == "out"), None)
    if start is None or not matters(lines[start].get("msg"), dialog.state):
        return False  # answered, ended, or never worth a resend (an acknowledgement, information)
    first = lines[start]
    sent = {e["message_id"]: e for e in lines if e["direction"] == "out" and "resend_of" not in e}
    for i, line in enumerate(lines):
        if line["direction"] != "out" or line["channel"] != "sms":
            continue
        if line.get("message_id") == root or line.get("resend_of") == root:
            if line.get("status") == "delivered":
                return False  # one of its own sends got through after all
            continue
        if not matters(line.get("msg"), dialog.state):
            continue
        if line.get("status") == "delivered":
            return False  # the citizen has this question (or notice) from another SMS
        # A newer copy on its way has resends of its own; the other-language twin sent with it (or a resend of
        # that twin) is not a copy in a language the citizen reads, so it does not count.
        origin = sent.get(root_of(line), line)
        twin = origin.get("msg") == first.get("msg") and origin["at"] == first["at"]
        if i > start and line.get("status") in IN_FLIGHT and not twin:
            return False
    return True


def resend_line(item: SmsItem, at: str) -> TranscriptLine:
    """The transcript line of a resend, written when it goes out: each send its own line, at its own time."""
    return {"at": at, "direction": "out", "channel": "sms", "text": item["text"], "message_id": item["id"],
            "msg": item.get("msg"), "status": "pending", "resend_of": item["resend_of"],
            "attempt": item["attempt"]}
