"""Kazakhstan IBANs as people type them: normalisation, validation with a reason, bank names."""

from __future__ import annotations

import unicodedata
from typing import Literal

from schwifty.checksum import ISO7064_mod97_10

# Our own table rather than schwifty's registry: schwifty accepts any 3-digit bank code, and its
# names predate the rebrandings (998 is still "Цеснабанк", 914 "Сбербанк России", 972
# "Жилстройсбербанк", 551 "Kassa Nova"). Citizens recognise the current names.
BANKS: dict[str, str] = {
    "601": "Halyk Bank",
    "722": "Kaspi Bank",
    "965": "ForteBank",
    "856": "Bank CenterCredit",
    "998": "Jusan Bank",
    "972": "Otbasy Bank",
    "551": "Freedom Bank",
    "948": "Eurasian Bank",
    "914": "Bereke Bank",
    "886": "Home Credit Bank",
    "849": "Nurbank",
    "563": "Kazpost",
}

KZ_IBAN_LENGTH = 20

IbanErrorCode = Literal["empty", "characters", "not_kz", "length", "checksum", "unknown_bank", "card"]
CARD_NUMBER_LENGTH = 16

# Only letters whose Cyrillic and Latin capitals look the same; Kazakh Қ, or З next to 3, stay errors
# because guessing there could pay a benefit into somebody else's account.
_CYRILLIC_LOOKALIKES = str.maketrans(
    {
        "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O",
        "Р": "P", "С": "C", "Т": "T", "Х": "X",
        "а": "A", "в": "B", "е": "E", "к": "K", "м": "M", "н": "H", "о": "O",
        "р": "P", "с": "C", "т": "T", "х": "X",
    }
)  # fmt: skip
_SEPARATORS = frozenset("-._\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
SEPARATORS = _SEPARATORS  # masking finds IBANs spelled with the same separators
KZ_FIRST_LETTERS, KZ_SECOND_LETTERS = "KkКкҚқ", "ZzЗз"
_ASCII_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_KZ_FIRST = frozenset(KZ_FIRST_LETTERS)
_KZ_SECOND = frozenset(KZ_SECOND_LETTERS)
# Characters an IBAN is typed with (before normalisation), for finding one inside a sentence.
_IBAN_CHARS = _ASCII_ALNUM | frozenset(map(chr, _CYRILLIC_LOOKALIKES)) | _KZ_FIRST | _KZ_SECOND | _SEPARATORS
_MOD97 = ISO7064_mod97_10()


class IbanError(ValueError):
    """Why a text is not a usable Kazakhstan IBAN; `code` and `params` feed the citizen-facing message."""

    def __init__(self, code: IbanErrorCode, message: str, params: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code: IbanErrorCode = code
        self.params: dict[str, str] = dict(params or {})


def _compact(text: str) -> str:
    """`text` in NFKC (full-width forms become ASCII) without whitespace or separators."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(c for c in folded if not c.isspace() and c not in _SEPARATORS)


def normalise_iban(text: str) -> str:
    """The 20-character IBAN a person meant, or IbanError saying what is wrong with what they typed."""
    compact = _compact(text)
    if not compact:
        raise IbanError("empty", "IBAN is empty")
    if compact.isascii() and compact.isdigit() and len(compact) == CARD_NUMBER_LENGTH:
        raise IbanError("card", "A 16-digit card number is not an account number (IBAN)")
    if len(compact) >= 2 and compact[0] in "KkКк" and compact[1] in _KZ_SECOND:
        # The country code can only be KZ: a Cyrillic "КЗ" there is unambiguous (the check digits still
        # guard every other character, where З next to 3 stays an error).
        compact = "KZ" + compact[2:]
    chars: list[str] = []
    for c in compact.translate(_CYRILLIC_LOOKALIKES):
        # Upper-case ASCII only: str.upper would turn "ß" into "SS" and make a wrong character valid.
        if c not in _ASCII_ALNUM:
            raise IbanError(
                "characters", f"IBAN may contain only Latin letters and digits, not {c!r}", {"character": c}
            )
        chars.append(c.upper())
    value = "".join(chars)
    if not value.startswith("KZ"):
        raise IbanError("not_kz", "IBAN must start with KZ")
    if len(value) != KZ_IBAN_LENGTH:
        raise IbanError(
            "length",
            f"A Kazakhstan IBAN has {KZ_IBAN_LENGTH} characters, not {len(value)}",
            {"length": str(len(value))},
        )
    # schwifty's own mod 97-10 check (the one IBAN.validate uses), called directly so that a letter in
    # the bank code is reported as an unknown bank after the checksum, not as a structure error before it.
    if not _MOD97.validate([value[4:], value[:2]], value[2:4]):
        raise IbanError("checksum", "IBAN check digits are wrong: a character is mistyped")
    code = value[4:7]
    if code not in BANKS:
        raise IbanError("unknown_bank", f"Bank code {code} is not a known bank", {"bank_code": code})
    return value


def looks_like_iban(text: str) -> bool:
    """Whether a reply is an attempt at an IBAN (so a wrong one gets an IBAN error, not "not understood")."""
    compact = _compact(text)
    # A KZ-like start needs a digit after it, so that a word such as "кз" alone is not taken for an IBAN.
    if len(compact) >= 3 and compact[0] in _KZ_FIRST and compact[1] in _KZ_SECOND:
        return any(c.isdigit() for c in compact[2:])
    digits = sum(c.isdigit() for c in compact)
    return len(compact) >= 15 and digits * 2 > len(compact)


def _iban_word(word: str) -> str:
    """A whitespace-separated word without the punctuation a sentence puts around it ("KZ…," "(KZ…)")."""
    return word.strip(",;:!?()[]«»\"'")


def find_iban(text: str) -> str | None:
    """The part of a reply that is an attempt at an IBAN: the reply itself, or one inside a sentence
    ("мой счёт KZ25 6010 0000 0000 1234 Халык"), from a KZ-like start through the groups that follow it."""
    words = [_iban_word(w) for w in unicodedata.normalize("NFKC", text).split()]
    for i, word in enumerate(words):
        if not looks_like_iban_start(word):
            continue
        found = [word]
        for nxt in words[i + 1 :]:
            # Groups of the IBAN carry a digit; the bank's name after it ("Kaspi", "Халык") does not. A digit
            # group after 20 characters is kept: which 20 were meant is then for the citizen to say.
            if not nxt or not set(nxt) <= _IBAN_CHARS or not any(
                c.isdigit() for c in nxt
            ):
                break
            found.append(nxt)
        return " ".join(found)
    return text if looks_like_iban(text) else None


def looks_like_iban_start(word: str) -> bool:
    """A word that begins like a Kazakhstan IBAN: K (or К, Қ) Z (or З), then a digit among IBAN characters."""
    compact = _compact(word)
    return (len(compact) >= 3 and compact[0] in _KZ_FIRST and compact[1] in _KZ_SECOND
            and compact[2].isdigit() and set(compact) <= _IBAN_CHARS)


def bank_code(iban: str) -> str:
    """The 3-digit bank code of a normalised Kazakhstan IBAN."""
    return iban[4:7]


def bank_name(iban: str) -> str:
    """The current name of the bank holding a normalised Kazakhstan IBAN."""
    code = bank_code(iban)
    if code not in BANKS:
        raise IbanError("unknown_bank", f"Bank code {code} is not a known bank", {"bank_code": code})
    return BANKS[code]
