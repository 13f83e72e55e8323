"""Telegram buttons: which ones a catalog message carries, and what a tap on one says."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.i18n import LANGUAGES, Translator
from dialogs.answers import Question

# The two answers a question offers: (label message id, the reply the button stands for).
_OPTIONS = {
    "consent": (("telegram.button.agree", "1"), ("telegram.button.decline", "2")),
    "bank": (("telegram.button.confirm_account", "1"), ("telegram.button.other_account", "2")),
}
# What a tap says, as if typed; language buttons send the keyword that works at any question.
_TAPPED = {"consent:1": "1", "consent:2": "2", "bank:1": "1", "bank:2": "2", "lang:kk": "KZ", "lang:ru": "RU"}
# "1" agrees at the consent question and confirms the account at the next, and a phone's next dialog asks
# the same: every button carries the dialog and the question of its message
# (`<action>:<value>:<dialog id>:<question>`, at most 64 bytes), and counts only while that question of that
# dialog is open. The question is named by the states it is open in; a typed account's messages (bank.error.*)
# may come while the account on record is being confirmed too.
QUESTIONS = {"language": ("L", frozenset({"awaiting_language"})),
             "consent": ("C", frozenset({"awaiting_consent"})),
             "bank": ("B", frozenset({"confirming_bank_account"})),
             "typed": ("T", frozenset({"confirming_bank_account", "awaiting_bank_account"}))}
_STATES = dict(QUESTIONS.values())
_ACTIONS = {"L": {"lang"}, "C": {"consent", "lang"}, "B": {"bank", "lang"}, "T": {"lang"}}  # what each question shows
CALLBACK_DATA_MAX_BYTES = 64  # Telegram's limit


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


def tapped(data: str) -> tuple[str, Question] | None:
    """The reply a tap stands for and the question its button was on; None for a button we did not make."""
    parts = data.split(":")
    if len(parts) != 4:
        return None  # among them the buttons of before they named their question: closed
    action, value, dialog_id, code = parts
    reply = _TAPPED.get(f"{action}:{value}")
    if reply is None or not dialog_id or action not in _ACTIONS.get(code, ()):
        return None
    return reply, Question(dialog_id, _STATES[code])


class Buttons:
    """Builds the keyboards, their labels from the catalogs."""

    def __init__(self, translator: Translator) -> None:
        self._translator = translator

    def for_message(self, msg_id: str | None, lang: str, dialog_id: str) -> InlineKeyboardMarkup | None:
        """The answers of a question, and a switch to the other language, labelled in the language it switches to;
        each button bound to this question of dialog `dialog_id`."""
        question = question_of(msg_id)
        if question is None:
            return None
        on = f"{dialog_id}:{QUESTIONS[question][0]}"
        if question == "language":
            return InlineKeyboardMarkup([[self._button("telegram.button.language", code, f"lang:{code}:{on}")
                                          for code in LANGUAGES]])
        rows = []
        if question in _OPTIONS:
            rows.append([self._button(label, lang, f"{question}:{value}:{on}")
                         for label, value in _OPTIONS[question]])
        other = "ru" if lang == "kk" else "kk"
        rows.append([self._button("telegram.button.language", other, f"lang:{other}:{on}")])
        return InlineKeyboardMarkup(rows)

    def share_phone(self, lang: str | None) -> ReplyKeyboardMarkup:
        """The one-tap contact button (labelled in both languages while we do not know which)."""
        label = " / ".join(self._translator.render("telegram.button.share_phone", code)
                           for code in ([lang] if lang else LANGUAGES))
        return ReplyKeyboardMarkup([[KeyboardButton(label, request_contact=True)]], resize_keyboard=True,
                                   one_time_keyboard=True)

    def _button(self, msg_id: str, lang: str, data: str) -> InlineKeyboardButton:
        assert len(data.encode()) <= CALLBACK_DATA_MAX_BYTES, data
        return InlineKeyboardButton(self._translator.render(msg_id, lang), callback_data=data)
