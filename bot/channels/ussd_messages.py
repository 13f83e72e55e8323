"""USSD-only citizen-facing messages (their texts are in the kk and ru catalogs).

A step on USSD says `ussd.X` instead of `X` (dialogs/conversation.py): a screen holds 80 UCS-2 characters
(bot/channels/ussd.py), so each one is a short menu ("1. Иә\\n2. Жоқ"), measured with worst-case values.
"""

from __future__ import annotations

from bot.messages import N_, SMS_MESSAGES, Message


def _like(sms_id: str, *placeholders: str) -> Message:
    """A screen for an SMS message using some of its placeholders, with the same worst-case values."""
    worst = SMS_MESSAGES[sms_id].worst_case
    return Message(placeholders, {name: worst[name] for name in placeholders})


USSD_MESSAGES: dict[str, Message] = {
    # TRANSLATORS: USSD, same text in both catalogs, Kazakh first: choose a language; menu 1 Kazakh, 2 Russian.
    N_("ussd.language.ask"): Message((), {}, bilingual=True),
    # TRANSLATORS: USSD, same text in both catalogs: type a digit; menu 1 Kazakh, 2 Russian.
    N_("ussd.language.reprompt"): Message((), {}, bilingual=True),
    # TRANSLATORS: USSD: birth registered on {event_date}; shall we apply for the benefits? menu 1 yes, 2 no.
    N_("ussd.consent.ask.birth"): _like("consent.ask.birth", "event_date"),
    # TRANSLATORS: USSD: as ussd.consent.ask.birth, for twins or more (your children).
    N_("ussd.consent.ask.birth.twins"): _like("consent.ask.birth.twins", "event_date"),
    # TRANSLATORS: USSD: child's disability established on {event_date}; apply for the benefit? 1 yes, 2 no.
    N_("ussd.consent.ask.disabled_child"): _like("consent.ask.disabled_child", "event_date"),
    # TRANSLATORS: USSD: care benefit, group I since childhood ({event_date}); apply? 1 yes, 2 no.
    N_("ussd.consent.ask.group1_since_childhood"): _like("consent.ask.group1_since_childhood", "event_date"),
    # TRANSLATORS: USSD: the answer was not understood; do you agree to apply? menu 1 yes, 2 no.
    N_("ussd.consent.reprompt"): Message((), {}),
    # TRANSLATORS: USSD: "who is this?": the official 1414 service; never asks for codes or cards; answer the question.
    N_("ussd.question.who"): Message((), {}),
    # TRANSLATORS: USSD: is the account {bank} {iban} right? menu 1 yes, 2 another account.
    N_("ussd.bank.confirm"): _like("bank.confirm", "bank", "iban"),
    # TRANSLATORS: USSD: consent received, application date; type the IBAN of an account in your own name.
    N_("ussd.bank.ask"): _like("bank.ask", "application_date"),
    # TRANSLATORS: USSD: type the IBAN of an account in your own name (20 characters, starts with KZ).
    N_("ussd.bank.ask_other"): Message((), {}),
    # TRANSLATORS: USSD: {bank} {iban}; menu 1 right, 2 another account (or type an IBAN).
    N_("ussd.bank.confirm_reprompt"): _like("bank.confirm_reprompt", "bank", "iban"),
    # TRANSLATORS: USSD: an IBAN holds only Latin letters and digits; type it again.
    N_("ussd.bank.error.characters"): Message((), {}),
    # TRANSLATORS: USSD: a Kazakhstan IBAN starts with KZ; type it again.
    N_("ussd.bank.error.not_kz"): Message((), {}),
    # TRANSLATORS: USSD: an IBAN has 20 characters, the citizen typed {length}; type it again.
    N_("ussd.bank.error.length"): _like("bank.error.length", "length"),
    # TRANSLATORS: USSD: the IBAN has a typo (check digits do not match); type it again.
    N_("ussd.bank.error.checksum"): Message((), {}),
    # TRANSLATORS: USSD: no bank has code {bank_code}; check and type it again.
    N_("ussd.bank.error.unknown_bank"): _like("bank.error.unknown_bank", "bank_code"),
    # TRANSLATORS: USSD: a card number is not an account; the IBAN is in the bank's app; type it.
    N_("ussd.bank.error.card"): Message((), {}),
    # TRANSLATORS: USSD: we could not read the account; help 1414; the IBAN can still be typed.
    N_("ussd.bank.too_many_errors"): Message((), {}),
    # TRANSLATORS: USSD, last screen: application No. registered on its date; decision by SMS by {decision_due}.
    N_("ussd.application.submitted"): _like(
        "application.submitted", "application_id", "application_date", "decision_due"
    ),
    # TRANSLATORS: USSD, last screen: you refused; apply on egov.kz, at an office or via 1414.
    N_("ussd.declined.ack"): Message((), {}),
    # TRANSLATORS: USSD, last screen, max 39 chars (shown with the other language): no more messages; egov.kz, 1414.
    N_("ussd.optout.ack"): Message((), {}),
    # TRANSLATORS: USSD, max 39 chars (shown with the other language): answer time over; egov.kz, office, 1414.
    N_("ussd.expired.notice"): Message((), {}),
    # TRANSLATORS: USSD, max 39 chars (shown with the other language): this offer is closed; egov.kz, office, 1414.
    N_("ussd.offer.lapsed"): Message((), {}),
    # TRANSLATORS: USSD, max 39 chars (shown with the other language): no offers for you; questions 1414.
    N_("ussd.nodialog.info"): Message((), {}),
    # TRANSLATORS: USSD, same text in both catalogs, Kazakh first: *1414# dialled, no offer open for this phone.
    N_("ussd.info"): Message((), {}, bilingual=True),
    # TRANSLATORS: USSD: the last session was cut off; menu 1 continue, 2 start again.
    N_("ussd.resume"): Message((), {}),
    # TRANSLATORS: USSD, same text in both catalogs, Kazakh first: interrupted; menu 1 continue, 2 start again.
    N_("ussd.resume.bilingual"): Message((), {}, bilingual=True),
    # TRANSLATORS: USSD, last screen: your answer is taken; the result comes by SMS.
    N_("ussd.accepted"): Message((), {}),
    # TRANSLATORS: USSD, last screen: answer received, to be processed (not yet); dial *1414# to go on; result by SMS.
    N_("ussd.queued"): Message((), {}),
}
