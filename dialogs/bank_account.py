"""Bank account: confirm the account on record or take a typed IBAN, then submit (shared by every service)."""

from __future__ import annotations

from typing import Any

BANK = ["confirming_bank_account", "awaiting_bank_account"]
# The states in which a failed SMS is still worth sending again (see consent.RESENT_WHILE).
RESENT_WHILE: dict[str, list[str]] = {
    "bank.confirm": ["confirming_bank_account"],
    "bank.confirm_reprompt": ["confirming_bank_account"],
    "bank.ask": ["awaiting_bank_account"],
    "bank.ask_other": ["awaiting_bank_account"],
    "bank.error.": BANK,
    "bank.too_many_errors": BANK,
}

STATES: list[dict[str, Any]] = [
    {"name": "confirming_bank_account", "on_enter": "ask_confirm_account",
     "on_exit": ["clear_timers", "withdraw_held_reminders"]},
    {"name": "awaiting_bank_account", "on_enter": "arm_bank_timers",
     "on_exit": ["clear_timers", "withdraw_held_reminders"]},
]

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "confirm_account", "source": "confirming_bank_account", "dest": "submitted",
     "before": "use_account_on_record"},
    {"trigger": "other_account", "source": "confirming_bank_account", "dest": "awaiting_bank_account",
     "after": "ask_other_account"},
    {"trigger": "give_account", "source": BANK, "dest": "submitted", "before": "use_typed_account"},
    {"trigger": "bad_account", "source": BANK, "dest": None, "after": "explain_bad_account"},
    {"trigger": "remind", "source": BANK, "dest": None, "after": "repeat_question"},
    {"trigger": "flag_no_account", "source": BANK, "dest": None, "after": "flag_missing_account"},
]
