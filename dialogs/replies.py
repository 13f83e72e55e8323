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
    "иә", "ия", "иа", "йә", "иэ", "ие", "ийә", "ийа", "йа", "келісемін", "келісімін", "келісем",
    "келисемин", "келисем",  # і typed as и on phones without Kazakh letters, as in "жок"
    "ia", "iya", "iia", "ie", "iә", "kelisemin", "yes", "da",
    # the 2021 Kazakh Latin alphabet (ä ı ö ü ū ş ğ ñ): иә, келісемін
    "iä", "ıä", "kelısemın", "kelisemın", "kelısem",
    # "of course", alone or with a yes
    "конечно", "конешно", "канешно", "разумеется", "безусловно", "әрине", "ärine", "arine", "of course",
    # formal consent, as in the Telegram buttons ("1 — Даю согласие", "1 — Келісемін") typed back
    "даю согласие", "даю свое согласие", "даю своё согласие", "согласие даю", "согласие на оформление",
    "согласен на оформление", "согласна на оформление", "согласны на оформление",
    "оформляйте", "оформите", "прошу оформить", "подтверждаю",
    "келісім беремін", "келісімімді беремін", "келісімді беремін", "рәсімдеуге келісемін", "рәсімдеңіз",
    "растаймын", "қарсы емеспін", "келісімім бар",
)  # fmt: skip
# "ок"/"ok", "хорошо", "жарайды", "ага" are left out on purpose: they often only acknowledge the SMS.
_NO_WORDS = (
    "нет", "неа", "отказ", "жоқ", "жок", "joq", "jok", "zhok", "no", "net",
    "не надо", "не нужно", "не хочу", "керек емес", "қажет емес", "kerek emes",
)  # fmt: skip
# Short explicit refusals (the Telegram button "2 — Отказываюсь" / "2 — Бас тартамын" among them). A refusal
# declines only in a short reply with nothing else in it: a long or mixed message is never a refusal.
_REFUSALS = (
    "не согласен", "не согласна", "не согласны", "не даю согласия", "согласия нет", "нет согласия",
    "отказываюсь", "келіспеймін", "келиспеймин", "kelispeimin", "kelispeymin", "kelıspeımın",
    "бас тартамын", "bas tartamyn",
)  # fmt: skip
# Answers to the account question in words ("correct", "another account"), both languages and scripts.
_CORRECT_WORDS = (
    "верно", "всё верно", "все верно", "правильно", "всё правильно", "все правильно", "счёт верный",
    "счет верный", "верный", "на этот счёт", "на этот счет", "этот счёт", "этот счет", "на этот",
    "дұрыс", "дурыс", "durys", "dūrys", "бәрі дұрыс", "шот дұрыс", "осы шот", "осы шотқа", "осы шотка",
    "correct", "this account",
)  # fmt: skip
_ANOTHER_WORDS = (
    "другой", "другой счёт", "другой счет", "на другой счёт", "на другой счет", "новый счёт", "новый счет",
    "нужен другой", "неверно", "не верно", "не тот счёт", "не тот счет",
    "басқа", "басқа шот", "басқа шотқа", "жаңа шот", "басқа шот керек", "дұрыс емес", "дурыс емес",
    "basqa", "basqa şot", "another", "another account", "other account", "wrong",
)  # fmt: skip
_NEGATIONS = ("не", "ни", "емес", "not", "ne", "nie", "dont")
_FILLERS = (
    "спасибо", "большое спасибо", "спасибо большое", "спасибо вам", "спасибо огромное", "огромное спасибо",
    "благодарю", "спс", "пасиб", "пожалуйста", "здравствуйте", "добрый день", "доброе утро", "добрый вечер",
    "дорогие", "дорогой", "дорогая", "милые", "родные", "храни вас бог", "дай бог здоровья", "здоровья вам",
    "рахмет", "рақмет", "көп рахмет", "рахмет сізге", "сізге рахмет", "рахмет сендерге", "көп көп рахмет",
    "rahmet", "raqmet", "өтінемін", "сәлеметсіз бе", "саламатсызба", "сәлем", "салем",
    "айналайын", "айналайындар", "айналайн", "жаным", "қарағым", "қарағым ай", "балам", "балалар",
    "алла разы болсын", "алла риза болсын", "құдай разы болсын", "аман болыңыз", "сау болыңыз",
    "я", "мы", "мен", "біз", "thanks", "thank you", "please",
)  # fmt: skip
# Who is writing, and is it a scam: such a reply gets one short answer (the official 1414 service, never asks
# for codes), never the generic re-prompt, and is never read as an answer whatever else it says.
_QUESTIONS = (
    "кто", "кто это", "кто вы", "вы кто", "это кто", "кто пишет", "откуда", "что это", "что за",
    "мошенники", "мошенник", "мошенничество", "развод", "лохотрон", "обман", "это правда", "спам",
    "кім", "кімсіз", "кімсіздер", "сіз кімсіз", "бұл кім", "бұл не", "алаяқ", "алаяқтар", "алаяқсыз",
    "алаяқсыздар", "алаяқтық", "алдау", "kımsız", "alaiaq", "alaiaqtar",
    "who", "who is this", "who are you", "scam", "fraud", "spam", "is this real",
)  # fmt: skip
_STOP_KEYWORDS = ("stop", "стоп", "тоқта", "токта", "toqta", "отписаться", "stop 1414", "стоп 1414")
_KAZAKH_KEYWORDS = (
    "kz", "kk", "kaz", "қаз", "каз", "қазақ", "қазақша", "казакша", "казахша", "qazaqsha", "kazaksha",
    "qazaqşa", "kazakh", "каз яз", "казахский", "казахский язык", "на казахском", "қазақ тілі", "қазақ тілінде",
)  # fmt: skip
_RUSSIAN_KEYWORDS = (
    "ru", "rus", "ру", "рус", "русский", "русский язык", "рус яз", "на русском", "орысша", "oryssha",
    "orysşa", "russian", "орыс тілі", "орыс тілінде",
)  # fmt: skip
_MAX_WORDS = 8  # consent must be short: a longer message is read only for an explicit refusal

# Latin and Cyrillic letters that look alike once case is folded (Н/H, В/B, Т/T, М/M count too).
_LOOKALIKES = {"a": "а", "b": "в", "c": "с", "e": "е", "h": "н", "i": "і", "k": "к", "m": "м",
               "o": "о", "p": "р", "t": "т", "x": "х", "y": "у"}  # fmt: skip
_TO_CYRILLIC = str.maketrans(_LOOKALIKES)
_CYRILLIC_LOOKALIKES = {cyr: lat for lat, cyr in _LOOKALIKES.items()}
_TO_LATIN = str.maketrans(_CYRILLIC_LOOKALIKES)
_DROPPED = {"'", "’", "ʼ", "`", "\u20e3"}  # apostrophes join ("don't"), the keycap of 1️⃣ vanishes
_REPEATS = (
    (re.compile(r"д+а+"), "да"), (re.compile(r"н+е+т+"), "нет"),
    (re.compile(r"и+й*[яаәэе]+"), "иә"), (re.compile(r"й+[аәя]+"), "иә"),  # phonetic иә: ия, ийа, иээ, йа
)  # fmt: skip
# ЙЦУКЕН typed on a QWERTY keyboard ("lf" is "да", "ytn" is "нет"): a reply of Latin letters only that says
# nothing as typed is read once more through the layout.
_LAYOUT = str.maketrans(
    "qwertyuiop[]asdfghjkl;'zxcvbnm,.`/?&QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>~",
    "йцукенгшщзхъфывапролджэячсмитьбюё.,?ЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ",
)
# A sign or a mark right before a digit (or a lone sign before it) makes it another number: "-1" is not 1.
_SIGNS = frozenset("+-−–—‒―±∓~<>=≈≠*/^%#№")
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
    CORRECT = "correct"  # the account shown is right, in words ("верно", "иә, дұрыс", "1 — Иә, осы шотқа")
    ANOTHER = "another"  # another account, in words ("другой счёт", "басқа шот", "2 — Басқа шот")
    QUESTION = "question"  # asks who is writing or whether this is a scam: answered, never read as an answer
    UNCLEAR = "unclear"  # anything else: the dialog asks again


class _Kind(enum.Enum):
    ONE, TWO, YES, NO, REFUSAL, NEGATION, FILLER, CORRECT, ANOTHER, QUESTION, OTHER = range(11)


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
    | _phrases(_Kind.CORRECT, _CORRECT_WORDS) | _phrases(_Kind.ANOTHER, _ANOTHER_WORDS)
    | _phrases(_Kind.QUESTION, _QUESTIONS)
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
    correct, another = k[_Kind.CORRECT], k[_Kind.ANOTHER]
    if k[_Kind.OTHER] or k[_Kind.NEGATION] or k[_Kind.ONE] + k[_Kind.TWO] > 1 or (correct and another):
        return Word.UNCLEAR
    if correct:  # "иә, дұрыс", "1 — Да, на этот счёт": the account is right
        return Word.UNCLEAR if no or k[_Kind.TWO] else Word.CORRECT
    if another:  # "нет, другой счёт", "2 — Басқа шот", "да, нужен другой": another account
        return Word.UNCLEAR if k[_Kind.ONE] else Word.ANOTHER
    if yes and no:
        return Word.UNCLEAR
    if k[_Kind.ONE]:
        return Word.UNCLEAR if no else Word.ONE
    if k[_Kind.TWO]:
        return Word.UNCLEAR if yes else Word.TWO
    return Word.YES if yes else Word.NO if no else Word.UNCLEAR


def _signed_number(text: str) -> bool:
    """Whether a number in the text carries a sign or mark before it ("-1", "+1", "№1", "- 2") or is not a
    plain digit at all ("¹", "½", "①"): such a number is never the option it contains."""
    if any(unicodedata.category(ch) == "No" for ch in unicodedata.normalize("NFC", text)):
        return True
    folded = unicodedata.normalize("NFC", text)  # not NFKC: it spells "№" as "No"
    for i, ch in enumerate(folded):
        if not ch.isdigit() or (i and folded[i - 1].isdigit()):
            continue
        j = i - 1
        while j >= 0 and folded[j].isspace():
            j -= 1
        if j < 0:
            continue
        before = folded[j]
        category = unicodedata.category(before)
        mark = before in _SIGNS or (category[0] in "PS" and category != "So")  # not a letter, emoji or keycap
        if mark and (j == i - 1 or j == 0 or folded[j - 1].isspace()):
            return True  # glued to the number ("-1", "№2"), or standing alone before it ("- 1", "( 1")
    return False


def _read(text: str, tokens: list[str]) -> Word:
    kinds = _kinds(tokens)
    if kinds[_Kind.QUESTION]:
        return Word.QUESTION
    if not tokens or _QUESTION.search(unicodedata.normalize("NFKC", text)) or _signed_number(text):
        return Word.UNCLEAR
    # Only a short reply is an answer: a long one is never consent, and never a refusal either (a false
    # refusal ends the offer as surely as a false consent starts an application).
    return Word.UNCLEAR if len(tokens) > _MAX_WORDS else _read_short(kinds)


def _deduplicated(tokens: list[str]) -> list[str]:
    """"stop stop" says "stop": repeated words once."""
    return [t for i, t in enumerate(tokens) if not i or tokens[i - 1] != t]


def from_latin_layout(text: str) -> tuple[str, ...]:
    """What a reply of Latin letters says if it was typed on a Russian ЙЦУКЕН keyboard left in the Latin
    layout ("lf" → "да"): with its punctuation as the letters on those keys ("cgfcb,j" → "спасибо"), and with
    its punctuation as typed ("lf." → "да."). Empty for any other reply."""
    if not text.isascii() or not any(ch.isalpha() for ch in text):
        return ()
    return text.translate(_LAYOUT), "".join(ch.translate(_LAYOUT) if ch.isalpha() else ch for ch in text)


def _read_as_typed(text: str) -> Word:
    tokens = _tokens(text)
    keyword = _KEYWORDS.get(" ".join(_deduplicated(tokens)))
    if keyword is not None:
        return keyword
    return _read(text, tokens)


def read_reply(text: str) -> Word:
    """Say what a reply SMS states; anything that is not plainly one answer is UNCLEAR."""
    word = _read_as_typed(text)
    if word is Word.UNCLEAR:  # say nothing as typed: perhaps Russian typed in the Latin layout
        retypings = from_latin_layout(text)
        if retypings and _QUESTION.search(retypings[0]):
            # "lf&" is "да?" on a Russian keyboard: read only with its "?", never as the "&" it was typed as.
            retypings = retypings[:1]
        for retyped in retypings:
            again = _read_as_typed(retyped)
            if again is not Word.UNCLEAR:
                return again
    return word
