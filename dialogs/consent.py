"""Consent: the language question, the offer, and what ends an unanswered offer (shared by every service)."""

from __future__ import annotations

from typing import Any

ASKING = ["awaiting_language", "awaiting_consent"]
WAITING = ["awaiting_language", "awaiting_consent", "confirming_bank_account", "awaiting_bank_account"]
# A failed SMS is sent again only while it still matters: the states in which each message does (an id ending
# in "." stands for every id it begins). Acknowledgements of a refusal or a STOP, and information, are not.
RESENT_WHILE: dict[str, list[str]] = {
    "language.ask": ["awaiting_language"],
    "language.reprompt": ["awaiting_language"],
    "consent.ask.": ["awaiting_consent"],
    "consent.reprompt": ["awaiting_consent"],
    "consent.reminder": ["awaiting_consent"],
    "expired.notice": ["expired"],
    "cancelled.notice": ["cancelled"],
}

STATES: list[dict[str, Any]] = [
    {"name": "new"},
    {"name": "queued", "on_exit": "clear_timers"},
    {"name": "awaiting_language", "on_enter": "ask_language",
     "on_exit": ["clear_timers", "withdraw_held_reminders"]},
    {"name": "awaiting_consent", "on_enter": "ask_consent",
     "on_exit": ["clear_timers", "withdraw_held_reminders"]},
    {"name": "already_applied", "on_enter": "close_already_applied"},
    {"name": "declined", "on_enter": "acknowledge_decline"},
    {"name": "expired", "on_enter": "notify_expired"},
    {"name": "opted_out", "on_enter": "acknowledge_opt_out"},
    {"name": "duplicate"},
    {"name": "undeliverable"},
    {"name": "cancelled", "on_enter": "notify_cancelled"},
    {"name": "closed"},  # by an operator, with a reason; the operator tells the citizen, the bot sends nothing
]

TRANSITIONS: list[dict[str, Any]] = [
    # Intake outcomes that never reach the citizen.
    {"trigger": "mark_duplicate", "source": "new", "dest": "duplicate", "before": "note_duplicate"},
    {"trigger": "mark_undeliverable", "source": "new", "dest": "undeliverable"},
    # Waiting for quiet hours to end or for another dialog on the same phone.
    {"trigger": "hold", "source": ["new", "queued"], "dest": "queued", "after": "schedule_start"},
    # Starting: check what the state already knows, then ask.
    {"trigger": "start", "source": ["new", "queued"], "dest": "already_applied",
     "prepare": "take_facts", "conditions": "benefit_already_claimed"},
    {"trigger": "start", "source": ["new", "queued"], "dest": "awaiting_language",
     "conditions": "language_unknown"},
    {"trigger": "start", "source": ["new", "queued"], "dest": "awaiting_consent"},
    {"trigger": "choose_language", "source": "awaiting_language", "dest": "awaiting_consent",
     "before": "set_language"},
    {"trigger": "switch_language", "source": WAITING, "dest": None,
     "after": ["set_language", "withdraw_held_reminders", "repeat_question"]},
    {"trigger": "switch_language", "source": "submitted", "dest": None, "after": "set_language"},
    {"trigger": "agree", "source": "awaiting_consent", "dest": "confirming_bank_account",
     "before": "record_consent", "conditions": "has_account_on_record"},
    {"trigger": "agree", "source": "awaiting_consent", "dest": "awaiting_bank_account",
     "before": "record_consent", "after": "ask_bank_account"},
    {"trigger": "decline", "source": "awaiting_consent", "dest": "declined"},
    {"trigger": "unclear", "source": WAITING, "dest": None, "after": "reprompt"},
    {"trigger": "question", "source": WAITING, "dest": None, "after": "answer_question"},
    {"trigger": "remind", "source": ASKING, "dest": None, "after": "send_reminder"},
    {"trigger": "expire", "source": ASKING, "dest": "expired"},
    {"trigger": "opt_out", "source": WAITING, "dest": "opted_out"},
    {"trigger": "cancel", "source": ["new", "queued", *WAITING, "submitted"], "dest": "cancelled",
     "before": "note_cancel"},
    {"trigger": "close", "source": ["new", "queued", *WAITING, "submitted"], "dest": "closed",
     "before": "note_close"},
    # Every resend of an SMS that still mattered failed. Before consent, the question cannot reach the citizen:
    # the dialog stops waiting (and frees the phone). After consent it keeps waiting for the account, so the
    # consent is not lost, and operators are told to reach the citizen another way; after an ending, what
    # happened stands and operators are told.
    {"trigger": "unreachable", "source": ASKING, "dest": "undeliverable", "before": "note_unreachable"},
    {"trigger": "unreachable", "source": ["confirming_bank_account", "awaiting_bank_account", "expired",
                                          "cancelled"], "dest": None, "after": "flag_undeliverable_notice"},
]
