"""The consent table, decided where the logic is: `dialogs/reply.py` on a dialog in memory, no Redis, no HTTP.

The same cases run end to end in tests/integration/test_consent_flow.py (the black-box net); here each one takes
milliseconds, and what a reply decides is checked in full: the state, the consent, the flags, the next SMS, the
answer kept for the duplicate rule, and that a message that is no answer changes nothing but its own line.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.channels.base import Inbound
from bot.clock import ALMATY
from bot.i18n import Translator
from bot.settings import Settings
from dialogs.answers import Rules, Taken, Verdict, judge, received_instant
from dialogs.conversation import Context, Conversation, DialogRules
from dialogs.model import Dialog, iso
from dialogs.reply import decide_reply
from gateway_mocks.egov import EgovRegistry
from gateway_mocks.fixtures import FIXTURES
from tests.integration.test_consent_flow import CASES, Case

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ALMATY)
PHONE = "+77011112233"
SETTINGS = Settings()
TRANSLATOR = Translator()
RULES_OF_DIALOGS = DialogRules.of(SETTINGS)
RULES = Rules(dt.timedelta(seconds=SETTINGS.duplicate_window_seconds),
              dt.timedelta(seconds=SETTINGS.reply_clock_skew_seconds))


def _registry() -> EgovRegistry:
    registry = EgovRegistry()
    registry.seed(FIXTURES)
    return registry


REGISTRY = _registry()


def _conversation(dialog: Dialog, now: dt.datetime, *, proactive: bool) -> Conversation:
    return Conversation(dialog, Context(now=now, rules=RULES_OF_DIALOGS, render=TRANSLATOR.render, proactive=proactive))


def offered(parent: str, language: str | None) -> Dialog:
    """A birth dialog as the engine starts it: the facts read, the consent request in its outbox."""
    dialog = Dialog(dialog_id="d_0b00-0000-0000-0001", event_id="zags-unit-1", service="birth", msisdn=PHONE,
                    recipient_iin=parent, subject_iins=["261122601254"], event_date="2026-11-22",
                    registered_at=iso(NOW), created_at=iso(NOW), language=language, mobile=True)
    facts = REGISTRY.get(parent) or {}
    assert _conversation(dialog, NOW, proactive=True).fire("start", facts=facts)
    dialog.outbox.clear()  # sent, as far as these decisions are concerned
    return dialog


def reply(dialog: Dialog, text: str, n: int, taken: Taken | None,
          now: dt.datetime = NOW) -> tuple[Verdict, Taken | None]:
    words = Inbound("sms", PHONE, text, f"unit-{n}", received_at=now)
    verdict = judge(dialog if dialog.awaiting else None, channel="sms", text=text, question=None,
                    received=received_instant(now, now), taken=taken, rules=RULES)
    decision = decide_reply(_conversation(dialog, now, proactive=False), words, verdict, taken)
    return verdict, decision.taken or taken


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_consent_replies(case: Case) -> None:
    dialog = offered(case.parent, case.language)
    taken: Taken | None = None
    for n, text in enumerate(case.replies):
        _, taken = reply(dialog, text, n, taken)
    assert dialog.status == case.expect_status
    assert (dialog.consent is not None) == case.consent
    if case.consent:
        assert dialog.consent is not None
        assert dialog.consent["application_date"] == "2026-11-23" and dialog.consent["channel"] == "sms"
    for flag in case.flags:
        assert flag in dialog.flags
    if case.last_message:
        msg, params = case.last_message
        rendered: dict[str, Any] = {k: dt.date.fromisoformat(v) if k.endswith("date") else v
                                    for k, v in params.items()}
        assert dialog.outbox[-1]["kind"] == "sms"
        assert dialog.outbox[-1]["text"] == TRANSLATOR.render(msg, case.language, **rendered)


def test_a_reply_taken_as_an_answer_is_kept_for_the_duplicate_rule() -> None:
    dialog = offered("920412412349", "kk")
    verdict, taken = reply(dialog, "1", 0, None)
    assert verdict is Verdict.ANSWER and taken is not None
    assert (taken.dialog_id, taken.question, taken.trigger, taken.message_id) == (
        dialog.dialog_id, "awaiting_consent", "agree", "unit-0")


def test_a_double_tap_is_set_aside_and_changes_nothing_but_its_own_line() -> None:
    dialog = offered("920412412349", "kk")
    _, taken = reply(dialog, "1", 0, None)
    state, outbox, flags = dialog.state, list(dialog.outbox), list(dialog.flags)
    verdict, kept = reply(dialog, "1", 1, taken, NOW + dt.timedelta(seconds=2))
    assert verdict is Verdict.DUPLICATE and kept is taken
    assert (dialog.state, dialog.outbox, dialog.flags) == (state, outbox, flags)
    line = dialog.transcript[-1]
    assert line["status"] == "duplicate" and line["duplicate_of"] == "unit-0"


def test_an_answer_after_the_offer_lapsed_expires_it_and_is_not_consent() -> None:
    dialog = offered("920412412349", "kk")
    assert dialog.expires_at is not None
    later = dt.datetime.fromisoformat(dialog.expires_at.replace("Z", "+00:00")) + dt.timedelta(minutes=1)
    verdict, taken = reply(dialog, "1", 0, None, later)
    assert verdict is Verdict.ANSWER and taken is None
    assert dialog.state == "expired" and dialog.consent is None
