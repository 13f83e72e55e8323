"""The registry of citizen-facing messages: its types, and the SMS messages with their longest values.

Channels keep their own ids beside them (bot/channels/*_messages.py); bot/all_messages.py gathers all (MESSAGES).
The texts live in locales/{kk,ru}/LC_MESSAGES/messages.po, keyed by these ids; N_() marks each for `pybabel extract`
(locales/babel.cfg). A test keeps registry, template and catalogs in step and checks each fits three SMS parts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.clock import ALMATY
from bot.i18n import Money, Ref

PlainSample = str | int | dt.date | Money | Ref


@dataclass(frozen=True)
class Longest:
    """A worst-case sample: whichever candidate renders longest in the language being measured."""

    candidates: tuple[PlainSample, ...]


Sample = PlainSample | Longest


@dataclass(frozen=True)
class Message:
    """A catalog message: the placeholders every translation must use, and their longest realistic values."""

    placeholders: tuple[str, ...]
    worst_case: dict[str, Sample]
    bilingual: bool = False


def N_(msg_id: str) -> str:
    """Mark a message id for extraction; returns it unchanged."""
    return msg_id


def _message(**worst_case: Sample) -> Message:
    return Message(placeholders=tuple(worst_case), worst_case=dict(worst_case))


# Ids of the texts that fill {reason}; plain strings, so extraction follows the order of MESSAGES.
REFUSAL_REASONS = (
    "refusal.unreliable_data",
    "refusal.not_eligible",
    "refusal.already_assigned",
    "refusal.incomplete_documents",
    "refusal.caregiver_changed",
    "refusal.social_assistant",
    "refusal.different_district",
    "refusal.other",
)
EXTENSION_REASONS = (
    "extension.more_documents",
    "extension.inter_agency_check",
    "extension.other",
)
# Ids of the phrases that fill {benefit} (what was refused) and {reply} (what to reply, after the answer to
# "who is this?").
BENEFITS = ("benefit.birth", "benefit.disabled_child", "benefit.group1_since_childhood")
QUESTION_REPLIES = (
    "question.reply.language", "question.reply.consent", "question.reply.confirm_account", "question.reply.iban",
)

# Worst cases. Dates: every month, so a switch to month names would be measured too.
_DATE = Longest(tuple(dt.date(2026, month, 28) for month in range(1, 13)))
_DEADLINE = Longest(tuple(dt.datetime(2026, month, 28, 23, 59, tzinfo=ALMATY) for month in range(1, 13)))
_MONEY = Money(9_999_999)
_APPLICATION_ID = "PB-2026-0001234"
_BANK = Longest(("Home Credit Bank", "Bank CenterCredit"))
_IBAN = "KZ** **** **** **** 0100"
_HOURS = 72

SMS_MESSAGES: dict[str, Message] = {
    # TRANSLATORS: Same text in both catalogs, Kazakh first: a benefit is due; language 1/2; no SMS codes.
    N_("language.ask"): Message((), {}, bilingual=True),
    # TRANSLATORS: Same text in both catalogs: answer with a digit, 1 Kazakh, 2 Russian.
    N_("language.reprompt"): Message((), {}, bilingual=True),
    # TRANSLATORS: Birth registered; birth + child-care benefits due; agree? 1/2; {hours} h; 1414; no codes.
    N_("consent.ask.birth"): _message(event_date=_DATE, hours=_HOURS),
    # TRANSLATORS: As consent.ask.birth, for twins or more: the birth of your children.
    N_("consent.ask.birth.twins"): _message(event_date=_DATE, hours=_HOURS),
    # TRANSLATORS: Child's disability established; benefit to the parent or guardian; agree? as above.
    N_("consent.ask.disabled_child"): _message(event_date=_DATE, hours=_HOURS),
    # TRANSLATORS: Group I disability since childhood established; care benefit; agree? as above.
    N_("consent.ask.group1_since_childhood"): _message(event_date=_DATE, hours=_HOURS),
    # TRANSLATORS: The reply was not understood: 1 to agree, 2 to refuse; help 1414.
    N_("consent.reprompt"): _message(),
    # TRANSLATORS: "Who is this?", "a scam?": official 1414 service, free; never asks for codes or cards; {reply}.
    N_("question.who"): _message(reply=Longest(tuple(Ref(r) for r in QUESTION_REPLIES))),
    # TRANSLATORS: {reply} at the language question: reply 1 for Kazakh, 2 for Russian.
    N_("question.reply.language"): _message(),
    # TRANSLATORS: {reply} at the consent question: reply 1 to agree, 2 to refuse.
    N_("question.reply.consent"): _message(),
    # TRANSLATORS: {reply} at the account question: 1 if the account is right, 2 for another one.
    N_("question.reply.confirm_account"): _message(),
    # TRANSLATORS: {reply} when an IBAN is awaited: send the IBAN of your account (starts with KZ).
    N_("question.reply.iban"): _message(),
    # TRANSLATORS: Reminder: the benefit offer awaits an answer until {deadline} (date and time); 1/2.
    N_("consent.reminder"): _message(deadline=_DEADLINE),
    # TRANSLATORS: Consent received, application date; pay to the account on record? 1 yes, 2 another.
    N_("bank.confirm"): _message(application_date=_DATE, bank=_BANK, iban=_IBAN),
    # TRANSLATORS: Consent received, application date; send the IBAN of an account in your own name.
    N_("bank.ask"): _message(application_date=_DATE),
    # TRANSLATORS: Send the IBAN of an account in your own name (20 characters, starts with KZ).
    N_("bank.ask_other"): _message(),
    # TRANSLATORS: Reply 1 if the account is right, 2 for another one, or send a new IBAN.
    N_("bank.confirm_reprompt"): _message(bank=_BANK, iban=_IBAN),
    # TRANSLATORS: An IBAN holds only Latin letters and digits; check and send again.
    N_("bank.error.characters"): _message(),
    # TRANSLATORS: A Kazakhstan IBAN starts with KZ; check and send again.
    N_("bank.error.not_kz"): _message(),
    # TRANSLATORS: An IBAN has 20 characters, the citizen sent {length}; check and send again.
    N_("bank.error.length"): _message(length=35),
    # TRANSLATORS: The IBAN has a typo (its check digits do not match); check and send again.
    N_("bank.error.checksum"): _message(),
    # TRANSLATORS: No bank has code {bank_code} (IBAN characters 5-7); check and send again.
    N_("bank.error.unknown_bank"): _message(bank_code="999"),
    # TRANSLATORS: A 16-digit card number was sent: it is not an account number; the IBAN is in the bank's app.
    N_("bank.error.card"): _message(),
    # TRANSLATORS: We could not read the account; call 1414 for an operator; the IBAN can still be sent.
    N_("bank.too_many_errors"): _message(),
    # TRANSLATORS: Application registered, application date; the decision comes by SMS by {decision_due}.
    N_("application.submitted"): _message(
        application_id=_APPLICATION_ID, application_date=_DATE, decision_due=_DATE
    ),
    # TRANSLATORS: One-off birth benefit for {children} children in total, and child care a month. No plurals.
    N_("decision.assigned.birth"): _message(
        application_id=_APPLICATION_ID, children=10, one_off=_MONEY, monthly=_MONEY
    ),
    # TRANSLATORS: Only the one-off birth benefit assigned, for {children} children in total. No plurals.
    N_("decision.assigned.birth.one_off"): _message(application_id=_APPLICATION_ID, children=10, one_off=_MONEY),
    # TRANSLATORS: Only the monthly child-care benefit assigned: {monthly} a month.
    N_("decision.assigned.birth.monthly"): _message(application_id=_APPLICATION_ID, monthly=_MONEY),
    # TRANSLATORS: Benefit for raising a child with a disability assigned: {monthly} a month.
    N_("decision.assigned.disabled_child"): _message(application_id=_APPLICATION_ID, monthly=_MONEY),
    # TRANSLATORS: Care benefit (group I disability since childhood) assigned: {monthly} a month.
    N_("decision.assigned.group1_since_childhood"): _message(application_id=_APPLICATION_ID, monthly=_MONEY),
    # TRANSLATORS: {benefit} (a benefit.* phrase) refused: {reason} (a refusal.* text); egov.kz, office; help.
    N_("decision.refused"): _message(
        application_id=_APPLICATION_ID,
        benefit=Longest(tuple(Ref(b) for b in BENEFITS)),
        reason=Longest(tuple(Ref(r) for r in REFUSAL_REASONS)),
    ),
    # TRANSLATORS: {benefit} in decision.refused: the birth and child-care benefits, in the case it needs.
    N_("benefit.birth"): _message(),
    # TRANSLATORS: {benefit} in decision.refused: the benefit for raising a child with a disability.
    N_("benefit.disabled_child"): _message(),
    # TRANSLATORS: {benefit} in decision.refused: the benefit for caring for a person with group I disability.
    N_("benefit.group1_since_childhood"): _message(),
    # TRANSLATORS: Review extended until {decision_due}; reason: {reason} (an extension.* text).
    N_("decision.extended"): _message(
        application_id=_APPLICATION_ID,
        decision_due=_DATE,
        reason=Longest(tuple(Ref(r) for r in EXTENSION_REASONS)),
    ),
    # TRANSLATORS: Refusal reason, a short phrase after "refused:": the data were found unreliable.
    N_("refusal.unreliable_data"): _message(),
    # TRANSLATORS: Refusal reason: the requirements of the Rules are not met.
    N_("refusal.not_eligible"): _message(),
    # TRANSLATORS: Refusal reason: this benefit is already assigned or applied for.
    N_("refusal.already_assigned"): _message(),
    # TRANSLATORS: Refusal reason: documents incomplete or expired.
    N_("refusal.incomplete_documents"): _message(),
    # TRANSLATORS: Refusal reason: the caregiver changed more than twice in a calendar year.
    N_("refusal.caregiver_changed"): _message(),
    # TRANSLATORS: Refusal reason: the person cared for already has an individual assistant.
    N_("refusal.social_assistant"): _message(),
    # TRANSLATORS: Refusal reason: caregiver and person cared for live in different cities/districts.
    N_("refusal.different_district"): _message(),
    # TRANSLATORS: Refusal reason the bot has no words for (an unknown code): plain, e.g. "the reason is in
    # the decision; ask 1414". The operators are told to explain it.
    N_("refusal.other"): _message(),
    # TRANSLATORS: Extension reason, after "reason:": more documents needed, you will be contacted.
    N_("extension.more_documents"): _message(),
    # TRANSLATORS: Extension reason: the data are being checked with other agencies.
    N_("extension.inter_agency_check"): _message(),
    # TRANSLATORS: Extension reason the bot has no words for (an unknown code): plain, e.g. "ask at 1414".
    N_("extension.other"): _message(),
    # TRANSLATORS: The citizen refused; they can still apply on egov.kz, at an office or via 1414.
    N_("declined.ack"): _message(),
    # TRANSLATORS: The answer time is over, the offer lapsed; apply on egov.kz or at an office; 1414.
    N_("expired.notice"): _message(),
    # TRANSLATORS: A reply after expiry: this offer is no longer active; how to apply; 1414.
    N_("offer.lapsed"): _message(),
    # TRANSLATORS: After STOP: no more messages about this offer; to apply: egov.kz, an office, 1414.
    N_("optout.ack"): _message(),
    # TRANSLATORS: An SMS with no open dialog: this is 1414, proactive services; no open offers; questions.
    N_("nodialog.info"): _message(),
    # TRANSLATORS: The registry corrected its data, the earlier offer is withdrawn; nothing to do; 1414.
    N_("cancelled.notice"): _message(),
    # TRANSLATORS: Sent once when a phone sends too many messages in a minute: we read them one by one; wait.
    N_("flood.ack"): _message(),
}
