"""Whether a citizen's message is an answer to the question now open, or a copy, a late or a stale one.

A reply counts only as an answer to a question the citizen could have read (CONTRACT.md, "Who may speak for
a citizen"). Three rules, decided here without I/O:

- **closed**: a message its channel binds to a question (a Telegram button, a USSD input typed on a screen)
  acts only while that very question of that very dialog is open;
- **duplicate**: the same normalised text on the same channel as the message last taken from the phone,
  received within the duplicate window of it (a double tap, a resend after a network hiccup), is never an
  answer to the next question — nor, for a bound message, a second answer to the same one;
- **late**: a message the gateway received before the open question can have left us (by more than the
  clocks may disagree) can at most answer an earlier question, never this one.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from dialogs.model import Dialog, from_iso, iso
from dialogs.records import TranscriptLine
from dialogs.replies import normalise


class Verdict(enum.StrEnum):
    """What a message is to the dialog it reached."""

    ANSWER = "answer"
    DUPLICATE = "duplicate"
    LATE = "late"
    CLOSED = "closed"


@dataclass(frozen=True)
class Question:
    """The question a message was typed or tapped on, when its channel knows: a dialog, in one of these states."""

    dialog_id: str
    states: frozenset[str]


@dataclass(frozen=True)
class Taken:
    """The message last taken as an answer from a phone, kept beside the phone for the duplicate rule."""

    channel: str
    text: str  # copy_key: normalised (dialogs/replies.py)
    at: dt.datetime  # when the gateway received it
    message_id: str
    dialog_id: str
    question: str  # the state it answered
    trigger: str  # what it was read as

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "text": self.text, "at": iso(self.at), "message_id": self.message_id,
                "dialog_id": self.dialog_id,
                "question": self.question, "trigger": self.trigger}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Taken:
        return cls(str(data["channel"]), str(data["text"]), from_iso(str(data["at"])), str(data["message_id"]),
                   str(data["dialog_id"]), str(data["question"]), str(data["trigger"]))


@dataclass(frozen=True)
class Rules:
    """The two numbers the rules need (Settings: DUPLICATE_WINDOW_SECONDS, REPLY_CLOCK_SKEW_SECONDS)."""

    duplicate_window: dt.timedelta
    clock_skew: dt.timedelta


def received_instant(received_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """When the message reached the gateway, on the second; never later than now (a gateway clock running
    ahead cannot place a message after the moment we hold it). Without a stamp: now."""
    stamp = now if received_at is None else min(received_at, now)
    return stamp.astimezone(dt.UTC).replace(microsecond=0)


def question_sent_at(dialog: Dialog) -> dt.datetime | None:
    """The earliest instant the open question can have left us: of the messages said since the dialog entered
    its state that a channel took (`sent_at`) or may have taken (`pending`), the first one's decision (`at`),
    or the end of its quiet-hours hold (`held_until`). None while none can have gone (held, withdrawn, failed),
    so nothing can answer it yet.

    A lower bound, not `sent_at`: that is written after the gateway took the message (later still when a worker
    died in between and the timer sent it again), and a reply the citizen wrote after reading the question must
    never be set aside.
    """
    turn = dialog.history[-1].get("turn", 0) if dialog.history else 0
    left = [max(from_iso(line["at"]), from_iso(line.get("held_until") or line["at"]))
            for line in dialog.transcript[turn:] if line["direction"] == "out" and _may_have_left(line)]
    return min(left) if left else None


def _may_have_left(line: TranscriptLine) -> bool:
    """Taken by a channel; or `pending` (being sent, or sent by a worker killed before it could write so) or
    `delivered` (its delivery report came before we wrote `sent_at`)."""
    return bool(line.get("sent_at")) or line.get("status") in ("pending", "sent", "delivered")


def judge(dialog: Dialog | None, *, channel: str, text: str, received: dt.datetime, question: Question | None,
          taken: Taken | None, rules: Rules) -> Verdict:
    """Decide what a message is to `dialog`, the phone's dialog waiting for an answer (None: nothing waits)."""
    if question is not None:
        if dialog is None or dialog.dialog_id != question.dialog_id or dialog.state not in question.states:
            return Verdict.CLOSED
        if _repeats(taken, channel, text, received, rules) and taken is not None \
                and (taken.dialog_id, taken.question) == (dialog.dialog_id, dialog.state):
            return Verdict.DUPLICATE  # a double tap on a question that stayed open (a language switch)
        return Verdict.ANSWER
    if _repeats(taken, channel, text, received, rules):
        return Verdict.DUPLICATE
    if dialog is not None:
        sent = question_sent_at(dialog)
        if sent is None or received < sent - rules.clock_skew:
            return Verdict.LATE
    return Verdict.ANSWER


def copy_key(text: str) -> str:
    """What two copies of one message share: its normalised words, or (none: "?", an emoji) the text itself."""
    return normalise(text) or text.strip()


def _repeats(taken: Taken | None, channel: str, text: str, received: dt.datetime, rules: Rules) -> bool:
    return (taken is not None and taken.channel == channel and taken.text == copy_key(text)
            and abs(received - taken.at) <= rules.duplicate_window)


def taken_now(dialog: Dialog, *, channel: str, text: str, message_id: str, received: dt.datetime, question: str,
              trigger: str) -> Taken:
    """The record a message leaves once taken as an answer to `question` of `dialog`."""
    return Taken(channel, copy_key(text), received, message_id, dialog.dialog_id, question, trigger)


# Double taps and a handset's resends come within seconds of the first; the same key sent this long after it, to a
# question opened since, may be the citizen's own answer to it: still set aside (it cannot be told apart), but
# flagged `answer_set_aside` so that an operator asks again (README, "An answer belongs to a question…").
DELIBERATE_GAP = dt.timedelta(seconds=10)

# Triggers by which a reply would have acted on its question: a late one meaning one of these, and not what
# was taken, is shown to operators (it may be the citizen's second thought).
ACTS = frozenset({"agree", "decline", "choose_language", "confirm_account", "other_account", "give_account",
                  "opt_out"})
