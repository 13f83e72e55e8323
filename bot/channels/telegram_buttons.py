"""Telegram buttons: which ones a catalog message carries, and what a tap on one says."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.i18n import LANGUAGES, Translator
from dialogs.model import AWAITING

# The two answers a question offers: (label message id, the reply the button stands for).
_OPTIONS = {
    "consent": (("telegram.button.agree", "1"), ("telegram.button.decline", "2")),
    "bank": (("telegram.button.confirm_account", "1"), ("telegram.button.other_account", "2")),
}
# What a tap says, as if typed; language buttons send the keyword that works at any question.
_TAPPED = {"consent:1": "1", "consent:2": "2", "bank:1": "1", "bank:2": "2", "lang:kk": "KZ", "lang:ru": "RU"}
# "1" agrees at the consent question and confirms the account at the next: a button left on an earlier
# message counts only while its own question is open, or one stale tap would answer another question.
_OPEN_IN = {"consent": frozenset({"awaiting_consent"}), "bank": frozenset({"confirming_bank_account"}),
            "lang": AWAITING}


def question_of(msg_id: str | None) -> str | None:
    """Which buttons a catalog message gets: language, consent, bank, typed (language switch only) or none."""
    if msg_id is None:
        return None
    if msg_id.startswith("language."):
        return "language"
    if msg_id.startswith("consent.ask.") or msg_id in ("consent.reprompt", "consent.reminder"):
        return "consent"
    if msg_id in ("bank.confirm", "bank.confirm_reprompt"):
        return "bank"
    if msg_id in ("bank.ask", "bank.ask_other", "bank.too_many_errors") or msg_id.startswith("bank.error."):
        return "typed"
    return None


def tapped(data: str, state: str | None) -> str | None:
    """The reply a tap stands for while the dialog is in `state`; None when its question is not the open one."""
    reply = _TAPPED.get(data)
    if reply is None or state is None or state not in _OPEN_IN[data.partition(":")[0]]:
        return None
    return reply


class Buttons:
    """Builds the keyboards, their labels from the catalogs."""

    def __init__(self, translator: Translator) -> None:
        self._translator = translator

    def for_message(self, msg_id: str | None, lang: str) -> InlineKeyboardMarkup | None:
        """The answers of a question, and a switch to the other language, labelled in the language it switches to."""
        question = question_of(msg_id)
        if question is None:
            return None
        if question == "language":
            return InlineKeyboardMarkup([[self._button("telegram.button.language", code, f"lang:{code}")
                                          for code in LANGUAGES]])
        rows = []
        if question in _OPTIONS:
            rows.append([self._button(label, lang, f"{question}:{value}") for label, value in _OPTIONS[question]])
        other = "ru" if lang == "kk" else "kk"
        rows.append([self._button("telegram.button.language", other, f"lang:{other}")])
        return InlineKeyboardMarkup(rows)

    def share_phone(self, lang: str | None) -> ReplyKeyboardMarkup:
        """The one-tap contact button (labelled in both languages while we do not know which)."""
        label = " / ".join(self._translator.render("telegram.button.share_phone", code)
                           for code in ([lang] if lang else LANGUAGES))
        return ReplyKeyboardMarkup([[KeyboardButton(label, request_contact=True)]], resize_keyboard=True,
                                   one_time_keyboard=True)

    def _button(self, msg_id: str, lang: str, data: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(self._translator.render(msg_id, lang), callback_data=data)
