"""The shapes of a dialog's lists as stored: outbox items, transcript lines, status changes.

Plain dicts in memory and in Redis (`Dialog.to_json` writes them as they are; `from_json` takes them back
unchecked): these types only let mypy check the keys and values the code writes and reads. A key marked
`NotRequired` is written only in some cases (said beside it).

mypy checks a key written, read with `[]`, or given in a dict display; `.get("key")` and `"key" in` accept any
key (PEP 589), `.get` of one not declared here giving `object`: a typo there shows only where that value is used.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypeAlias, TypedDict

Direction: TypeAlias = Literal["in", "out"]
# A transcript line's `status`. An SMS: `held` (quiet hours) or `pending` when decided, then `sent`, `delivered`,
# `failed` (resent later), `undeliverable` (every resend failed), `withdrawn` (taken back before it went) or
# `not_shown` (a USSD screen whose session was gone). A citizen's message set aside (dialogs/answers.py,
# Verdict): `duplicate`, `late` or `closed`; an answer has none.
LineStatus: TypeAlias = Literal[
    "held", "pending", "sent", "delivered", "failed", "undeliverable", "withdrawn", "not_shown",
    "duplicate", "late", "closed",
]


class SmsItem(TypedDict):
    """A message to send (`kind` "sms", whatever its channel): written by `Conversation.say` and `_resend`."""

    kind: Literal["sms"]
    id: str  # the client message id, `<dialog id>-<n>` (a resend: `…-r<k>`); its transcript line's `message_id`
    msg: str | None  # the catalog id of its text (a USSD screen's own: `ussd.<id>`)
    text: str
    lang: str | None
    channel: str
    hold_until: str | None  # not before then (quiet hours, a resend's backoff)
    attempts: int  # failed sends so far
    retry_at: NotRequired[str]  # after a failed send: not before then
    resend_of: NotRequired[str]  # a resend after a failed delivery: the first send's id
    attempt: NotRequired[int]  # a resend: which one (1, 2, …)


class SubmitItem(TypedDict):
    """The application to submit to the backend (`kind` "submit"): written by `Conversation.request_submission`."""

    kind: Literal["submit"]
    id: str
    hold_until: None
    attempts: int
    retry_at: NotRequired[str]


# A `Dialog.outbox` entry: sent in order after each save (bot/outbox.py), taken out once done or given up.
OutboxItem: TypeAlias = SmsItem | SubmitItem


class BoundQuestion(TypedDict):
    """The question a set-aside message was typed or tapped on (its channel named it)."""

    dialog_id: str
    states: list[str]


class LateReading(TypedDict):
    """What a late message would have meant to the question it came after (the answer taken then)."""

    dialog_id: str
    question: str
    read_as: str


class TranscriptLine(TypedDict):
    """A `Dialog.transcript` entry: a message the bot decided to send (`out`) or one the citizen sent (`in`)."""

    at: str  # out: when decided (a resend: when sent); in: when taken
    direction: Direction
    channel: str
    text: str
    message_id: str  # out: our client id (SmsItem.id); in: the provider's id
    msg: NotRequired[str | None]  # out: the catalog id of its text
    status: NotRequired[LineStatus]  # out: always; in: only when set aside
    # out, once a channel took it:
    sent_at: NotRequired[str]
    provider_id: NotRequired[str]
    held_until: NotRequired[str]  # it was held until then (quiet hours, backoff): it could not leave before
    # out, a resend after a failed delivery (bot/outbox.py writes it when it goes out):
    resend_of: NotRequired[str]
    attempt: NotRequired[int]
    # in, set aside (bot/engine.py):
    question: NotRequired[BoundQuestion]
    duplicate_of: NotRequired[str]  # the provider's id of the message taken before
    after: NotRequired[LateReading]


# A `Dialog.history` entry: one change of the machine's state. `turn` is how many transcript lines there were when
# it happened (what it came after; Step.bound_transcript keeps it pointing there). Functional form: `from` is a
# keyword.
StatusChange = TypedDict("StatusChange", {
    "at": str,
    "from": str,
    "to": str,
    "trigger": str,
    "turn": int,
})
