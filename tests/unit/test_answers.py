"""What a message is to the dialog it reached (dialogs/answers.py), as a case table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from dialogs.answers import Question, Rules, Taken, Verdict, judge, question_sent_at, received_instant
from dialogs.model import Dialog, iso

T0 = dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)
RULES = Rules(dt.timedelta(seconds=120), dt.timedelta(0))


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def dialog(state: str = "awaiting_consent", sent: float | None = 0, dialog_id: str = "d_a") -> Dialog:
    """A dialog that entered `state` at T0 and sent its question, held until `sent` seconds later (None: not
    sent yet)."""
    d = Dialog(dialog_id=dialog_id, event_id="e", service="birth", msisdn="+77011112233", recipient_iin="1",
               subject_iins=[], event_date="2026-11-22", registered_at=iso(T0), created_at=iso(T0), state=state)
    d.transcript.append({"at": iso(T0), "direction": "in", "channel": "sms", "text": "2", "message_id": "m1"})
    d.history.append({"at": iso(T0), "from": "awaiting_language", "to": state, "trigger": "choose_language",
                      "turn": 1})
    line = {"at": iso(T0), "direction": "out", "channel": "sms", "text": "?", "message_id": "d_a-2",
            "status": "held" if sent is None else "sent"}
    if sent is not None:
        line["sent_at"] = iso(at(sent + 3))  # written once the gateway took it, a little later
        if sent:
            line["held_until"] = iso(at(sent))
    d.transcript.append(line)
    return d


def taken(text: str = "2", seconds: float = 0, channel: str = "sms", dialog_id: str = "d_a",
          question: str = "awaiting_language") -> Taken:
    return Taken(channel, text, at(seconds), "m1", dialog_id, question, "choose_language")


@dataclass
class Case:
    label: str
    dialog: Dialog | None
    text: str
    received: float
    expect: Verdict
    taken: Taken | None = None
    channel: str = "sms"
    question: Question | None = None


CASES = [
    Case("a copy a second later is a duplicate", dialog(), "2", 1, Verdict.DUPLICATE, taken()),
    Case("a copy spelled differently is still a copy", dialog(), " 2 ", 1, Verdict.DUPLICATE, taken()),
    Case("a copy after the window is an answer", dialog(), "2", 121, Verdict.ANSWER, taken()),
    Case("the window's last second is still in it", dialog(), "2", 120, Verdict.DUPLICATE, taken()),
    Case("another text within the window is an answer", dialog(), "нет", 5, Verdict.ANSWER, taken()),
    Case("the same text on another channel is no copy", dialog(), "2", 5, Verdict.ANSWER, taken(),
         channel="telegram"),
    Case("'?' then '??' are two messages", dialog(), "??", 5, Verdict.ANSWER, taken("?")),
    Case("received before the question was sent: late", dialog(sent=10), "нет", 9, Verdict.LATE, taken()),
    Case("received in the send's own second: an answer", dialog(sent=10), "нет", 10, Verdict.ANSWER, taken()),
    Case("the question still held: nothing can answer it", dialog(sent=None), "1", 50, Verdict.LATE),
    Case("a copy reaching the phone's next dialog", dialog(dialog_id="d_b"), "2", 1, Verdict.DUPLICATE,
         taken(question="awaiting_consent")),
    Case("with no dialog waiting, a copy is still a copy", None, "2", 1, Verdict.DUPLICATE, taken()),
    Case("with no dialog waiting, another text is for the polite answer", None, "2", 1, Verdict.ANSWER),
    Case("a tap on the open question", dialog(), "1", 1, Verdict.ANSWER, taken("1"), "telegram",
         Question("d_a", frozenset({"awaiting_consent"}))),
    Case("a tap on an earlier question", dialog(), "1", 1, Verdict.CLOSED, None, "telegram",
         Question("d_a", frozenset({"awaiting_language"}))),
    Case("a tap on another dialog's question", dialog(), "1", 1, Verdict.CLOSED, None, "telegram",
         Question("d_other", frozenset({"awaiting_consent"}))),
    Case("a tap with nothing waiting", None, "1", 1, Verdict.CLOSED, None, "telegram",
         Question("d_a", frozenset({"awaiting_consent"}))),
    Case("a double tap on a question that stayed open", dialog(), "RU", 1, Verdict.DUPLICATE,
         taken("ru", channel="telegram", question="awaiting_consent"), "telegram",
         Question("d_a", frozenset({"awaiting_consent"}))),
    Case("a bound input is not late: its screen was read", dialog(sent=10), "1", 5, Verdict.ANSWER, None, "ussd",
         Question("d_a", frozenset({"awaiting_consent"}))),
]


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_judge(case: Case) -> None:
    verdict = judge(case.dialog, channel=case.channel, text=case.text, received=at(case.received),
                    question=case.question, taken=case.taken, rules=RULES)
    assert verdict is case.expect


def test_a_gateway_clock_ahead_cannot_place_a_message_after_now() -> None:
    assert received_instant(at(30), at(10)) == at(10)
    assert received_instant(None, at(10.7)) == at(10)
    assert received_instant(at(3.9), at(10)) == at(3)


def test_the_question_left_no_earlier_than_its_decision_or_the_end_of_its_hold() -> None:
    d = dialog(sent=7)
    d.transcript.append({"at": iso(at(5)), "direction": "out", "channel": "sms", "status": "sent",
                         "sent_at": iso(at(20))})
    assert question_sent_at(d) == at(5)  # decided at 5 and sent at once: sent_at (20) is only when we knew it
    assert question_sent_at(dialog(sent=7)) == at(7)  # held until 7
    assert question_sent_at(dialog(sent=0)) == T0  # decided and sent at T0; sent_at written at 3
    assert question_sent_at(dialog(sent=None)) is None
    d.transcript.append({"at": iso(at(1)), "direction": "out", "channel": "sms", "status": "failed"})
    assert question_sent_at(d) == at(5)  # a message that never left is no send
    d.transcript.append({"at": iso(at(2)), "direction": "out", "channel": "sms", "status": "pending"})
    assert question_sent_at(d) == at(2)  # a worker killed after the gateway took it: it may be on the phone
    d.transcript.append({"at": iso(at(1)), "direction": "out", "channel": "sms", "status": "delivered"})
    assert question_sent_at(d) == at(1)  # its delivery report came before we wrote sent_at


def test_a_gateway_clock_lagging_ours_within_the_allowance_costs_no_answer() -> None:
    rules = Rules(dt.timedelta(seconds=120), dt.timedelta(seconds=2))
    assert judge(dialog(sent=10), channel="sms", text="1", received=at(8), question=None, taken=None,
                 rules=rules) is Verdict.ANSWER
    assert judge(dialog(sent=10), channel="sms", text="1", received=at(7), question=None, taken=None,
                 rules=rules) is Verdict.LATE
