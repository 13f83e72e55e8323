"""A citizen's reply to the dialog waiting on their phone, decided without I/O.

The engine reads, under the phone's lock and in one round trip, whether the message was seen, the phone's active
dialog and the answer last taken from the phone (bot/store/snapshot.py); `dialogs/answers.py` judges whether the
message answers the open question at all. `decide_reply` then changes the dialog (its transcript, its state
through the machine, the messages it queues in its outbox) and says what else the commit must keep; the engine
commits that, fenced by the lock, and sends what the outbox holds. So the whole of what a reply means can be
tested with a dialog in memory (tests/unit/test_decide_reply.py), no Redis and no HTTP.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol, cast

from dialogs.answers import ACTS, DELIBERATE_GAP, Question, Taken, Verdict, received_instant, taken_now
from dialogs.conversation import Conversation
from dialogs.interpret import interpret
from dialogs.model import Dialog, from_iso, iso
from dialogs.records import LineStatus


class Words(Protocol):
    """A citizen's message as a decision sees it (bot.channels.base.Inbound is one)."""

    @property
    def channel(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def provider_message_id(self) -> str: ...

    @property
    def received_at(self) -> dt.datetime | None: ...

    @property
    def question(self) -> Question | None: ...


@dataclass(frozen=True)
class ReplyDecision:
    """What a reply did: its verdict, the machine's trigger it was read as, the answer to keep beside the phone."""

    verdict: Verdict
    trigger: str | None  # None: set aside, the dialog's state untouched
    taken: Taken | None  # the answer taken (the duplicate rule's memory); None when none was

    @property
    def acted(self) -> bool:
        """The machine moved or spoke: the step's effects (its outbox) are carried out after the commit."""
        return self.trigger is not None


def record_inbound(dialog: Dialog, words: Words, now: dt.datetime) -> None:
    """The message on the dialog's transcript, whatever it turns out to be."""
    dialog.transcript.append({"at": iso(now), "direction": "in", "channel": words.channel, "text": words.text,
                              "message_id": words.provider_message_id})


def decide_reply(conversation: Conversation, words: Words, verdict: Verdict, taken: Taken | None) -> ReplyDecision:
    """Apply a message to the dialog that waits on its phone (`conversation`), as `verdict` judged it."""
    dialog, ctx = conversation.dialog, conversation.ctx
    record_inbound(dialog, words, ctx.now)
    if verdict is not Verdict.ANSWER:
        set_aside(dialog, words, verdict, taken, ctx.now)
        return ReplyDecision(verdict, None, None)
    dialog.last_channel = words.channel
    if dialog.expires_at and ctx.now > from_iso(dialog.expires_at) and conversation.fire("expire"):
        # The expiry timer had not fired yet; the answer came too late all the same, and is told so at once.
        ctx.proactive = False
        return ReplyDecision(verdict, "expire", None)
    question = dialog.state
    trigger, kwargs = interpret(question, words.text)
    conversation.fire(trigger, **kwargs)
    remembered = taken_now(dialog, channel=words.channel, text=words.text, message_id=words.provider_message_id,
                           question=question, trigger=trigger, received=received_instant(words.received_at, ctx.now))
    return ReplyDecision(verdict, trigger, remembered)


def set_aside(dialog: Dialog, words: Words, verdict: Verdict, taken: Taken | None, now: dt.datetime) -> None:
    """A message that is no answer (its line, the last of the transcript, is marked as what it is; nothing else
    changes but flags for an operator).

    What it would have done to the question open now decides the flags: an act set aside is shown to an operator
    when it may be the citizen's own answer (a copy long after the first, or a late reply) rather than a double
    tap; a late reply meaning something else than the answer taken to the question it came after (a "2" after a
    "1") may be the citizen's second thought.
    """
    line = dialog.transcript[-1]
    line["status"] = cast(LineStatus, str(verdict))  # duplicate, late or closed: never an answer
    if words.question is not None:
        line["question"] = {"dialog_id": words.question.dialog_id, "states": sorted(words.question.states)}
    acts_now = interpret(dialog.state, words.text)[0] in ACTS
    if verdict is Verdict.DUPLICATE and taken is not None:
        line["duplicate_of"] = taken.message_id
        gap = received_instant(words.received_at, now) - taken.at
        if acts_now and taken.question != dialog.state and gap >= DELIBERATE_GAP:
            dialog.flag("answer_set_aside")
    if verdict is not Verdict.LATE:
        return
    if acts_now:
        dialog.flag("late_reply")  # a gateway's clock behind ours must not hide a real answer unseen
    if taken is None:
        return
    meaning, _ = interpret(taken.question, words.text)
    line["after"] = {"dialog_id": taken.dialog_id, "question": taken.question, "read_as": meaning}
    if meaning in ACTS and meaning != taken.trigger:
        dialog.flag("late_reply")
