"""What a citizen's reply means in the state the dialog is in: a trigger and its arguments."""

from __future__ import annotations

from typing import Any

from dialogs.replies import Word, read_reply
from domain.iban import IbanError, find_iban, normalise_iban

Meaning = tuple[str, dict[str, Any]]
UNREADABLE = "\ufffd"  # the replacement character: bytes a gateway could not decode

_LANGUAGE = {Word.LANG_KK: "kk", Word.LANG_RU: "ru"}
_CONSENT = {Word.ONE: "agree", Word.YES: "agree", Word.TWO: "decline", Word.NO: "decline"}
_CONFIRM = {Word.ONE: "confirm_account", Word.YES: "confirm_account", Word.CORRECT: "confirm_account",
            Word.TWO: "other_account", Word.NO: "other_account", Word.ANOTHER: "other_account"}


def _account(text: str) -> Meaning:
    try:
        return "give_account", {"iban": normalise_iban(text)}
    except IbanError as error:
        return "bad_account", {"code": error.code, "params": dict(error.params)}


def interpret(state: str, text: str) -> Meaning:
    """Map a reply to a trigger. Only ONE/YES at the consent question become `agree`; all else is not consent."""
    if UNREADABLE in text:
        # A gateway could not read part of it (U+FFFD stands for those bytes): whatever the rest says, we do
        # not know what the citizen wrote, so it is neither consent nor refusal; they are asked again.
        return "unclear", {}
    word = read_reply(text)
    if word is Word.STOP:
        return "opt_out", {}
    if word is Word.QUESTION:
        return "question", {}  # "who is this?", "is this a scam?": answered, the question stays open
    if word in _LANGUAGE:
        trigger = "choose_language" if state == "awaiting_language" else "switch_language"
        return trigger, {"language": _LANGUAGE[word]}
    if state == "awaiting_language":
        if word is Word.ONE:
            return "choose_language", {"language": "kk"}
        if word is Word.TWO:
            return "choose_language", {"language": "ru"}
        return "unclear", {}
    if state == "awaiting_consent":
        return (_CONSENT[word], {}) if word in _CONSENT else ("unclear", {})
    if state == "confirming_bank_account":
        if word in _CONFIRM:
            return _CONFIRM[word], {}
        return _account(iban) if (iban := find_iban(text)) is not None else ("unclear", {})
    if state == "awaiting_bank_account":
        # An IBAN alone, inside a sentence, or followed by the bank's name.
        return _account(iban) if (iban := find_iban(text)) is not None else ("unclear", {})
    return "unclear", {}
