"""What a citizen's reply SMS says (a number, yes, no, stop, a language), never what it means in a dialog."""

from __future__ import annotations

import enum
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

# Word lists are written as people type them and normalised at import, so they can never drift from
# `normalise` (look-alike spellings such as "жоk" need no entry). An unknown word makes a reply unclear.
_YES_WORDS = (
    "да", "согласен", "согласна", "согласны", "соглашаюсь",
    "иә", "ия", "иа", "йә", "иэ", "келісемін", "келісімін", "келісем",
    "келисемин",  # і typed as и on phones without Kazakh letters, as in "жок"
    "ia", "iya", "iia", "ie", "iә", "kelisemin", "yes", "da",
)  # fmt: skip
# "ок"/"ok", "хорошо", "жарайды", "ага" are left out on purpose: they often only acknowledge the SMS.
_NO_WORDS = (
    "нет", "неа", "отказ", "жоқ", "жок", "joq", "jok", "zhok", "no", "net",
    "не надо", "не нужно", "не хочу", "керек емес", "қажет емес",
)  # fmt: skip
# Refusals so explicit that they still count inside a long message; bare "нет" does not ("нет проблем").
_REFUSALS = (
    "не согласен", "не согласна", "не согласны", "не даю согласия", "согласия нет", "нет согласия",
    "отказываюсь", "келіспеймін", "келиспеймин", "kelispeimin", "kelispeymin", "бас тартамын",
)  # fmt: skip
_NEGATIONS = ("не", "ни", "емес", "not", "ne", "nie", "dont")
_FILLERS = (
    "спасибо", "большое спасибо", "пожалуйста", "рахмет", "рақмет", "көп рахмет", "өтінемін",
    "я", "мы", "мен", "біз", "конечно", "әрине", "thanks", "thank you", "please",
)  # fmt: skip
_STOP_KEYWORDS = ("stop", "стоп", "тоқта", "токта", "toqta", "отписаться", "stop 1414", "стоп 1414")
_KAZAKH_KEYWORDS = (
    "kz", "kk", "kaz", "қаз", "каз", "қазақ", "қазақша", "казакша", "казахша", "qazaqsha", "kazaksha",
    "kazakh", "каз яз", "казахский", "казахский язык", "на казахском", "қазақ тілі", "қазақ тілінде",
)  # fmt: skip
_RUSSIAN_KEYWORDS = (
    "ru", "rus", "ру", "рус", "русский", "русский язык", "рус яз", "на русском", "орысша", "oryssha",
    "russian", "орыс тілі", "орыс тілінде",
)  # fmt: skip
_MAX_WORDS = 8  # consent must be short: a longer message is read only for an explicit refusal

# Latin and Cyrillic letters that look alike once case is folded (Н/H, В/B, Т/T, М/M count too).
_LOOKALIKES = {"a": "а", "b": "в", "c": "с", "e": "е", "h": "н", "i": "і", "k": "к", "m": "м",
               "o": "о", "p": "р", "t": "т", "x": "х", "y": "у"}  # fmt: skip
_TO_CYRILLIC = str.maketrans(_LOOKALIKES)
_CYRILLIC_LOOKALIKES = {cyr: lat for lat, cyr in _LOOKALIKES.items()}
_TO_LATIN = str.maketrans(_CYRILLIC_LOOKALIKES)
_DROPPED = {"'", "’", "ʼ", "`", "\u20e3"}  # apostrophes join ("don't"), the keycap of 1️⃣ vanishes
_REPEATS = ((re.compile(r"д+а+"), "да"), (re.compile(r"н+е+т+"), "нет"))
_QUESTION = re.compile(r"[?¿؟⸮]")


class Word(enum.StrEnum):
    """What a reply says, before the dialog gives it a meaning."""

    ONE = "one"  # the option number 1, alone or with a matching yes-word ("1 да")
    TWO = "two"  # the option number 2, alone or with a matching no-word ("2 жоқ")
    YES = "yes"  # a clear yes-word and nothing contradicting it
    NO = "no"  # a clear no-word or refusal
    STOP = "stop"  # the whole reply asks to stop the messages
    LANG_KK = "lang_kk"  # the whole reply names the Kazakh language
    LANG_RU = "lang_ru"  # the whole reply names the Russian language
    UNCLEAR = "unclear"  # anything else: the dialog asks again


class _Kind(enum.Enum):
    ONE, TWO, YES, NO, REFUSAL, NEGATION, FILLER, OTHER = range(8)


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u052f"


def _unify_script(token: str) -> str:
    """Write look-alike letters in the token's own script; a token of look-alikes only counts as Cyrillic."""
    letters = [ch for ch in token if ch.isalpha()]
    cyrillic = any(_is_cyrillic(ch) and ch not in _CYRILLIC_LOOKALIKES for ch in letters)
    other = any(not _is_cyrillic(ch) and ch not in _LOOKALIKES for ch in letters)
    return token.translate(_TO_LATIN if other and not cyrillic else _TO_CYRILLIC)


def _squeeze(token: str) -> str:
    for pattern, word in _REPEATS:
        if pattern.fullmatch(token):
            return word
    return token


def _clean(text: str) -> str:
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    kept = []
    for ch in folded:
        category = unicodedata.category(ch)
        if category == "Cf" or ch in _DROPPED or "\ufe00" <= ch <= "\ufe0f":
            continue
        kept.append(ch if category[0] in "LMN" else " ")
    return "".join(kept)


def _tokens(text: str) -> list[str]:
    """Split into words of letters or of digits ("1-да", "1да" → "1", "да"), each normalised."""
    parts = (part for chunk in _clean(text).split() for part in re.findall(r"\d+|\D+", chunk))
    return [_squeeze(_unify_script(part)) for part in parts]


def normalise(text: str) -> str:
    """Return the canonical form replies are matched in: normalised words joined by single spaces."""
    return " ".join(_tokens(text))


def _phrases(kind: _Kind, phrases: Iterable[str]) -> dict[tuple[str, ...], _Kind]:
    return {tuple(_tokens(phrase)): kind for phrase in phrases}


_LEXICON = (
    _phrases(_Kind.ONE, ["1"]) | _phrases(_Kind.TWO, ["2"]) | _phrases(_Kind.YES, _YES_WORDS)
    | _phrases(_Kind.NO, _NO_WORDS) | _phrases(_Kind.REFUSAL, _REFUSALS)
    | _phrases(_Kind.NEGATION, _NEGATIONS) | _phrases(_Kind.FILLER, _FILLERS)
)  # fmt: skip
_LONGEST = max(len(phrase) for phrase in _LEXICON)
_KEYWORDS = (
    {normalise(k): Word.STOP for k in _STOP_KEYWORDS} | {normalise(k): Word.LANG_KK for k in _KAZAKH_KEYWORDS}
    | {normalise(k): Word.LANG_RU for k in _RUSSIAN_KEYWORDS}
)  # fmt: skip
CONSENT_WORDS: frozenset[str] = frozenset(
    token for phrase, kind in _LEXICON.items() if kind in (_Kind.ONE, _Kind.YES) for token in phrase
)
"""Every normalised token that can make a reply read as YES or ONE."""


def _kinds(tokens: list[str]) -> Counter[_Kind]:
    """Count the known phrases in the reply, longest match first; anything else is OTHER."""
    found: Counter[_Kind] = Counter()
    i = 0
    while i < len(tokens):
        size, kind = 1, _Kind.OTHER
        for n in range(min(_LONGEST, len(tokens) - i), 0, -1):
            if (phrase := tuple(tokens[i : i + n])) in _LEXICON:
                size, kind = n, _LEXICON[phrase]
                break
        found[kind] += 1
        i += size
    return found


def _read_short(k: Counter[_Kind]) -> Word:
    yes, no = k[_Kind.YES], k[_Kind.NO] + k[_Kind.REFUSAL]
    if k[_Kind.OTHER] or k[_Kind.NEGATION] or (yes and no) or k[_Kind.ONE] + k[_Kind.TWO] > 1:
        return Word.UNCLEAR
    if k[_Kind.ONE]:
        return Word.UNCLEAR if no else Word.ONE
    if k[_Kind.TWO]:
        return Word.UNCLEAR if yes else Word.TWO
    return Word.YES if yes else Word.NO if no else Word.UNCLEAR


def _read_long(k: Counter[_Kind]) -> Word:
    contradicted = k[_Kind.YES] or k[_Kind.ONE] or k[_Kind.TWO] or k[_Kind.NEGATION]
    return Word.NO if k[_Kind.REFUSAL] and not contradicted else Word.UNCLEAR


def read_reply(text: str) -> Word:
    """Say what a reply SMS states; anything that is not plainly one answer is UNCLEAR."""
    tokens = _tokens(text)
    keyword = _KEYWORDS.get(" ".join(tokens))
    if keyword is not None:
        return keyword
    if not tokens or _QUESTION.search(unicodedata.normalize("NFKC", text)):
        return Word.UNCLEAR
    kinds = _kinds(tokens)
    return _read_long(kinds) if len(tokens) > _MAX_WORDS else _read_short(kinds)
