"""The dialog record: what is stored in Redis for one proactive offer, and how it serialises."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from dialogs.records import OutboxItem, StatusChange, TranscriptLine

# Machine states that the public API shows under another name.
PUBLIC_STATUS = {
    "new": "queued",
    "confirming_bank_account": "awaiting_bank_account",
}
# States in which the dialog waits for the citizen's answer (and so holds the phone).
AWAITING = frozenset({"awaiting_language", "awaiting_consent", "confirming_bank_account", "awaiting_bank_account"})
FINAL = frozenset({
    "assigned", "refused", "declined", "expired", "opted_out", "undeliverable", "already_applied",
    "duplicate", "cancelled", "closed",
})
# What needs a person (the console's queue): each category, and the flags or status that put a dialog in it.
ATTENTION = {
    # `unknown_reason`: the backend gave a reason the bot has no words for; the citizen got a generic one.
    # `late_reply`: a reply written before the question it reached, contradicting the answer taken or acting on the
    # open question; `answer_set_aside`: the same key again, seconds to minutes later, to a new question (answers.py).
    "unclear": ("unclear_replies", "bank_account_errors", "no_bank_account", "unknown_reason",
                "account_on_record_unusable", "benefits_on_record_unreadable", "egov_record_unreadable", "late_reply",
                "answer_set_aside"),
    # `undeliverable_notice`: every resend of a notice failed after the consent or decision was recorded.
    "undeliverable": ("undeliverable", "delivery_failed", "undeliverable_notice"),
    "dead_letter": ("send_failed", "submission_failed"),
    "overdue": ("decision_overdue",),
    "opted_out": ("opted_out_after_consent",),
}
SERVICES = ("birth", "disabled_child", "group1_since_childhood")


def resend_id(message_id: str, attempt: int) -> str:
    """The client id of a message's `attempt`-th resend: a new one, or the gateway drops it as a repeat."""
    return f"{message_id}-r{attempt}"


def dialog_id_of(client_id: str) -> str:
    """The dialog a client message id belongs to: `<dialog id>-<n>`, or a resend of one, `<…>-<n>-r<k>`."""
    head, _, tail = client_id.rpartition("-")
    if tail[:1] == "r" and tail[1:].isdigit():
        head = head.rpartition("-")[0]
    return head


def iso(instant: dt.datetime) -> str:
    """An instant as stored: UTC, seconds precision, 'Z'."""
    return instant.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def from_iso(text: str) -> dt.datetime:
    """Parse an instant written by `iso`."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Dialog:
    """One proactive offer to one recipient, from the event to the decision."""

    dialog_id: str
    event_id: str
    service: str
    msisdn: str
    recipient_iin: str
    subject_iins: list[str]
    event_date: str
    registered_at: str
    created_at: str
    state: str = "new"
    language: str | None = None
    mobile: bool = True
    bank_on_record: str | None = None
    consent: dict[str, Any] | None = None
    bank_account: dict[str, Any] | None = None
    application: dict[str, Any] | None = None
    decision: dict[str, Any] | None = None
    flags: list[str] = field(default_factory=list)
    unclear_replies: int = 0
    bank_errors: int = 0
    offer_sent_at: str | None = None
    expires_at: str | None = None
    duplicate_of: str | None = None
    cancelled_by: str | None = None
    registry: str | None = None  # the registry that sent the event, when each signs with its own secret
    close_reason: str | None = None
    last_channel: str = "sms"
    timers: dict[str, str] = field(default_factory=dict)
    outbox: list[OutboxItem] = field(default_factory=list)
    transcript: list[TranscriptLine] = field(default_factory=list)
    history: list[StatusChange] = field(default_factory=list)
    seq: int = 0
    resolved: list[str] = field(default_factory=list)  # flags (and "undeliverable") an operator has dealt with
    # Not stored: the delivery reports taken without a step (bot/store/deliveries.py, record_delivery) that loading
    # merged into the transcript; the next save writes them into the dialog and clears them.
    reported: list[str] = field(default_factory=list, compare=False, repr=False)

    @property
    def status(self) -> str:
        """The public status (CONTRACT.md)."""
        return PUBLIC_STATUS.get(self.state, self.state)

    @property
    def awaiting(self) -> bool:
        """True while the dialog waits for the citizen's answer."""
        return self.state in AWAITING

    @property
    def final(self) -> bool:
        """True once nothing more will happen."""
        return self.state in FINAL

    def next_id(self) -> str:
        """A client message id unique within the dialog and stable across retries."""
        self.seq += 1
        return f"{self.dialog_id}-{self.seq}"

    def merge_reported(self, delivered: list[str]) -> None:
        """Mark the SMS with these client ids delivered (reports taken without a step), to be saved."""
        ids = set(delivered)
        matched = set()
        for line in self.transcript:
            if line.get("message_id") in ids:
                matched.add(line["message_id"])
                if line.get("status") in ("pending", "sent"):
                    line["status"] = "delivered"
        # A report for a line not written yet stays beside the dialog until it is.
        self.reported = [i for i in delivered if i in matched]

    @property
    def needs_report_steps(self) -> bool:
        """True once an SMS of this dialog failed: its delivery reports then take a whole step (resends)."""
        return any(line.get("status") in ("failed", "undeliverable") or "resend_of" in line
                   for line in self.transcript) or any("resend_of" in item for item in self.outbox)

    def flag(self, name: str) -> None:
        """Raise a flag for operators (once)."""
        if name not in self.flags:
            self.flags.append(name)
            if name in self.resolved:
                self.resolved.remove(name)  # raised anew: it needs a person again

    @property
    def attention(self) -> list[str]:
        """The queue categories (ATTENTION) this dialog is in: raised and not yet dealt with by an operator."""
        open_marks = {*self.flags, *(("undeliverable",) if self.state == "undeliverable" else ())}
        open_marks -= set(self.resolved)
        return [category for category, marks in ATTENTION.items() if open_marks & set(marks)]

    def to_json(self) -> str:
        """The stored form."""
        # Not dataclasses.asdict: it deep-copies the whole transcript first (11 % of a step's CPU in the bench).
        # The fields are JSON values already, so the instance's own dict serialises to the same bytes.
        return json.dumps({k: v for k, v in self.__dict__.items() if k != "reported"}, ensure_ascii=False,
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Dialog:
        """Load the stored form, ignoring fields that a newer version may have added."""
        data = json.loads(raw)
        names = _STORED
        return cls(**{k: v for k, v in data.items() if k in names})


_STORED = frozenset(f.name for f in dataclasses.fields(Dialog)) - {"reported"}
