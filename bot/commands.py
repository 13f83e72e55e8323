"""Every way into the engine, as a typed command: `Engine.run(command)` runs each of them.

A registry's event or correction, a citizen's message on any channel, a gateway's delivery report, the assignment
backend's decision, a due timer, an operator's resend or close: each arrives (over HTTP, from the job queue, from
the console) as one of these values, and one function takes it from there (bot/engine.py `Engine.run`): the
phone's lock, the reads, the decision, one commit fenced by the lock's token, then the effects. A command whose
commit found its lock lost (bot/fencing.py) is run again from the start, once, before the loss is reported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from bot.channels.base import DeliveryReport, Inbound
from dialogs.answers import Verdict
from dialogs.model import Dialog


@dataclass(frozen=True)
class NewEvent:
    """A validated registry event, ready to become a dialog."""

    event_id: str
    service: str
    msisdn: str
    mobile: bool
    recipient_iin: str
    language: str | None
    subject_iins: list[str]
    event_date: dt.date
    registered_at: dt.datetime
    registry: str | None = None  # which registry signed it, when each has its own secret (EVENTS_SECRETS)


@dataclass(frozen=True)
class Intake:
    """Make the dialog of a new event; `dialog_id` is the one chosen when the event was accepted."""

    event: NewEvent
    dialog_id: str | None = None


@dataclass(frozen=True)
class Cancel:
    """A registry withdraws the event `cancels` (its correction's own id is `event_id`)."""

    event_id: str
    cancels: str
    registry: str | None = None


@dataclass(frozen=True)
class Reply:
    """A citizen's message, on any channel."""

    message: Inbound


@dataclass(frozen=True)
class Report:
    """A gateway's delivery report for an SMS we sent."""

    report: DeliveryReport


@dataclass(frozen=True)
class BackendDecision:
    """The assignment backend's decision on an application (its callback's validated body)."""

    payload: dict[str, Any]


@dataclass(frozen=True)
class TimerDue:
    """A dialog's timer: "start", or "due" for every other timer of it that is due now."""

    dialog_id: str
    kind: str


@dataclass(frozen=True)
class Repeat:
    """Say again what the phone's open dialog waits for, on `channel` (a USSD dial, a Telegram binding, an
    operator's resend); `proactive` when nobody on the phone asked (quiet hours hold it then)."""

    msisdn: str
    channel: str
    note: dict[str, Any] | None = None
    proactive: bool = False


@dataclass(frozen=True)
class Close:
    """An operator closes a dialog with a reason (an open one goes to `closed`; a final one is marked resolved)."""

    dialog_id: str
    reason: str
    operator: str


Command = Intake | Cancel | Reply | Report | BackendDecision | TimerDue | Repeat | Close


@dataclass(frozen=True)
class Outcome:
    """What a command did: a word for callers that answer with it (created, cancelled, applied, already,
    unknown, other_registry), the dialog as it stands, and for a reply its verdict."""

    word: str | None = None
    dialog: Dialog | None = None
    verdict: Verdict | None = None
