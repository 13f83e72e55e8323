"""What a citizen's reply says: a table of labelled cases, then properties that guard consent."""

from __future__ import annotations

from itertools import combinations
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs import replies
from dialogs.replies import CONSENT_WORDS, Word, normalise, read_reply


class Case(NamedTuple):
    label: str
    reply: str
    expect: Word


ONE, TWO, YES, NO, STOP = Word.ONE, Word.TWO, Word.YES, Word.NO, Word.STOP
KK, RU, UNCLEAR, QUESTION = Word.LANG_KK, Word.LANG_RU, Word.UNCLEAR, Word.QUESTION

YES_ALONE = [
    "да", "согласен", "согласна", "согласны", "иә", "ия", "иа", "йә", "иэ", "келісемін", "келісімін",
    "келісем", "келисемин", "ia", "iya", "iia", "ie", "iә", "kelisemin", "yes", "da", "Yes", "IA",
]  # fmt: skip
NO_ALONE = [
    "нет", "неа", "не согласен", "не согласна", "отказ", "отказываюсь", "жоқ", "жок", "joq", "jok", "zhok",
    "no", "net", "келіспеймін", "kelispeimin", "бас тартамын", "согласия нет", "NO", "Нет!",
]  # fmt: skip
STOP_ALONE = ["stop", "стоп", "STOP", "тоқта", "токта", "toqta", "отписаться", "stop 1414", "Stop!", " СТОП "]
KAZAKH_ALONE = [
    "kz", "kk", "kaz", "қаз", "каз", "қазақша", "казакша", "qazaqsha", "kazakh", "каз яз", "казахский", "KZ",
    "Қазақша!",
]  # fmt: skip
RUSSIAN_ALONE = ["ru", "рус", "русский", "орысша", "russian", "на русском", "ру", "RU", "Русский."]
STORY = "от этого пособия мы сами подадим заявление в цон"

CASES = [
    # normalisation
    Case("norm: Latin 'a' in да", "дa", YES),
    Case("norm: Latin 'e' in нет", "нeт", NO),
    Case("norm: capitals", "ДА", YES),
    Case("norm: exclamation marks", "Да!!!", YES),
    Case("norm: spaces and a full stop", " да. ", YES),
    Case("norm: emoji around", "👍 да 🙂", YES),
    Case("norm: newline and tab", "\tда\n", YES),
    Case("norm: zero-width space inside", "д\u200bа", YES),
    Case("norm: НЕТ typed in Latin capitals", "HET", NO),
    Case("norm: Latin look-alikes in yes", "yеs", YES),
    Case("norm: жоk with Latin k", "жоk", NO),
    Case("norm: repeated letters in да", "дааа", YES),
    Case("norm: repeated letters in нет", "неееет", NO),
    # ONE
    Case("one: bare", "1", ONE),
    Case("one: full stop", "1.", ONE),
    Case("one: spaces", " 1 ", ONE),
    Case("one: full-width digit", "１", ONE),
    Case("one: bracket", "1)", ONE),
    Case("one: with да", "1 да", ONE),
    Case("one: dash and да", "1-да", ONE),
    Case("one: glued to да", "1да", ONE),
    Case("one: with иә", "1 иә", ONE),
    Case("one: keycap emoji", "1️⃣", ONE),
    Case("one: with thanks", "1 спасибо", ONE),
    # TWO
    Case("two: bare", "2", TWO),
    Case("two: full-width digit", "２", TWO),
    Case("two: with нет", "2 нет", TWO),
    Case("two: with жоқ", "2 жоқ", TWO),
    Case("two: with a refusal", "2, не согласна", TWO),
    # numbers that are not an option
    Case("number: 1 with нет", "1 нет", UNCLEAR),
    Case("number: both options", "1 2", UNCLEAR),
    Case("number: twelve", "12", UNCLEAR),
    Case("number: three", "3", UNCLEAR),
    Case("number: zero", "0", UNCLEAR),
    Case("number: eleven", "11", UNCLEAR),
    Case("number: one twice", "1 1", UNCLEAR),
    Case("number: decimal", "1.5", UNCLEAR),
    Case("number: 2 with да", "2 да", UNCLEAR),
    Case("number: letter l is not 1", "l", UNCLEAR),
    # YES
    *(Case(f"yes: {w}", w, YES) for w in YES_ALONE),
    Case("yes: with thanks", "да спасибо", YES),
    Case("yes: kk with thanks", "иә рахмет", YES),
    Case("yes: two yes-words", "да, согласна", YES),
    Case("yes: I agree", "я согласен", YES),
    Case("yes: kk I agree", "Мен келісемін!", YES),
    # borderline words: never guessed into consent
    Case("borderline: ок", "ок", UNCLEAR),
    Case("borderline: ok", "ok", UNCLEAR),
    Case("borderline: OK with да", "да ок", UNCLEAR),
    Case("borderline: хорошо", "хорошо", UNCLEAR),
    Case("borderline: жарайды", "жарайды", UNCLEAR),
    Case("borderline: typo дв", "дв", UNCLEAR),
    Case("layout: lf is да typed on a Latin keyboard", "lf", YES),
    Case("borderline: single д", "д", UNCLEAR),
    Case("borderline: plus sign", "+", UNCLEAR),
    Case("borderline: thumbs up only", "👍", UNCLEAR),
    Case("of course: конечно alone", "конечно", YES),
    # NO
    *(Case(f"no: {w}", w, NO) for w in NO_ALONE),
    Case("no: with thanks", "нет, спасибо", NO),
    Case("no: not needed", "нет не надо", NO),
    Case("no: kk not needed", "керек емес", NO),
    Case("no: I disagree", "я не согласна", NO),
    # negation and conflict
    Case("conflict: да нет", "да нет", UNCLEAR),
    Case("conflict: иә жоқ", "иә жоқ", UNCLEAR),
    Case("conflict: не before да", "не да", UNCLEAR),
    Case("conflict: negation after agree", "согласен не", UNCLEAR),
    Case("conflict: yes then refusal", "да не согласен", UNCLEAR),
    Case("conflict: kk emes", "келісемін емес", UNCLEAR),
    Case("conflict: English not", "yes not", UNCLEAR),
    Case("conflict: double negation", "не отказываюсь", UNCLEAR),
    Case("conflict: not refusing (unknown word)", "не хочу отказываться", UNCLEAR),
    Case("conflict: no objections", "нет возражений", UNCLEAR),
    Case("conflict: yes but", "да но", UNCLEAR),
    Case("conflict: yes later", "да позже", UNCLEAR),
    Case("conflict: bare не (kk 'what')", "не", UNCLEAR),
    # not an answer
    Case("unclear: don't know", "не знаю", UNCLEAR),
    Case("question: what is this", "что это?", QUESTION),
    Case("question: who is this", "кто это", QUESTION),
    Case("unclear: question mark", "?", UNCLEAR),
    Case("unclear: empty", "", UNCLEAR),
    Case("unclear: only spaces and dots", "  ... ", UNCLEAR),
    Case("question: да?", "да?", UNCLEAR),
    Case("question: согласен?", "согласен?", UNCLEAR),
    Case("question: 1?", "1?", UNCLEAR),
    Case("question: full-width mark", "да？", UNCLEAR),
    Case("question: нет?", "нет?", UNCLEAR),
    Case("question: kk particle", "келісемін бе", UNCLEAR),
    # long text
    Case("long: yes inside a story", "да я согласна но скажите сколько денег и когда придут", UNCLEAR),
    Case("long: nine yes-words", "да " * 9, UNCLEAR),
    Case("long: one inside a story", "1 да да да да да да да да", UNCLEAR),
    Case("long: an explicit refusal in a long message is not a refusal", f"я отказываюсь {STORY}", UNCLEAR),
    Case("long: refusal with 2", f"2 отказываюсь {STORY}", UNCLEAR),
    Case("long: bare нет is not enough", "нет у меня карты в банке подскажите что делать дальше", UNCLEAR),
    Case("long: refusal with negation", "не отказываюсь от пособия просто хочу уточнить одну вещь", UNCLEAR),
    # STOP
    *(Case(f"stop: {w}", w, STOP) for w in STOP_ALONE),
    Case("stop: negated", "не стоп", UNCLEAR),
    Case("stop: with other words", "стоп пожалуйста", UNCLEAR),
    # languages
    *(Case(f"lang kk: {w}", w, KK) for w in KAZAKH_ALONE),
    *(Case(f"lang ru: {w}", w, RU) for w in RUSSIAN_ALONE),
    Case("lang: not the whole reply", "каз да", UNCLEAR),
]


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_read_reply(case: Case) -> None:
    assert read_reply(case.reply) == case.expect


def test_case_labels_are_unique() -> None:
    labels = [c.label for c in CASES]
    assert len(labels) == len(set(labels))


@pytest.mark.parametrize(
    ("text", "expect"),
    [("１", "1"), ("  Да!!!  ", "да"), ("дa", "да"), ("a  b\n c", "а в с"), ("1-да", "1 да"), ("😀", "")],
)
def test_normalise(text: str, expect: str) -> None:
    assert normalise(text) == expect


def test_consent_words_are_normalised_tokens() -> None:
    assert {"1", "да", "иә", "yes", normalise("ia")} <= CONSENT_WORDS
    assert all(normalise(w) == w and " " not in w for w in CONSENT_WORDS)
    assert not {"2", normalise("ok"), normalise("ок"), "нет", "не"} & CONSENT_WORDS


def test_no_phrase_has_two_meanings() -> None:
    lists = [replies._YES_WORDS, replies._NO_WORDS, replies._REFUSALS, replies._NEGATIONS, replies._FILLERS]
    for a, b in combinations(lists, 2):
        assert not {normalise(p) for p in a} & {normalise(p) for p in b}


# ---- properties -------------------------------------------------------------------------------------------

KAZAKH = "ӘҒҚҢӨҰҮҺІәғқңөұүһі"
ALPHABET = (
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ" + KAZAKH
    + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789１２"
    + " \t\n.,!?-()'\"«»:;+*/" + "👍🙂✅❤\ufe0f\u20e3\u200b"
)  # fmt: skip
NEAR_MISSES = [
    "д", "дв", "lf", "ок", "ok", "хорошо", "жарайды", "ага", "угу", "+", "l", "I", "і", "и", "а", "ә",
    "0", "2", "3", "11", "12", "21", "нет", "не", "жоқ", "емес", "no", "not", "спасибо", "рахмет", "стоп",
    "каз", "ру", "конечно", "согласие", "согласия", "кел", "иәә", "даа?", "1414",
]  # fmt: skip
SEPARATORS = [" ", ", ", "-", "!", "\n", ".", " 👍 ", ")"]
NEGATION_WORDS = ["не", "нет", "жоқ", "жок", "емес", "no", "not", "ne", "net", "НЕ", "Нет!"]
YES_REPLIES = [c.reply for c in CASES if c.expect in (YES, ONE)]

broad_text = st.text(alphabet=st.sampled_from(ALPHABET), max_size=40)
near_miss_text = st.lists(
    st.tuples(st.sampled_from(NEAR_MISSES), st.sampled_from(SEPARATORS)), min_size=1, max_size=10
).map(lambda pairs: "".join(word + sep for word, sep in pairs))


def _no_consent_tokens(text: str) -> bool:
    # As typed, and as typed on a Russian keyboard left in the Latin layout ("lf" is "да").
    readings = (text, *replies.from_latin_layout(text))
    return not {token for reading in readings for token in normalise(reading).split()} & CONSENT_WORDS


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_never_raises(text: str) -> None:
    assert read_reply(text) in Word


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), broad_text))
def test_normalise_is_idempotent(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)


@settings(max_examples=500, deadline=None)
@given(st.one_of(broad_text, near_miss_text).filter(_no_consent_tokens))
def test_no_consent_word_never_reads_as_consent(text: str) -> None:
    assert read_reply(text) not in (YES, ONE)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(YES_REPLIES),
    st.sampled_from(NEGATION_WORDS),
    st.integers(0, 9),
    st.sampled_from(SEPARATORS),
)
def test_negation_never_leaves_consent(reply: str, negation: str, at: int, sep: str) -> None:
    """Adding a negation word anywhere in a yes or a 1 never leaves a yes or a 1."""
    words = reply.split()
    words.insert(at % (len(words) + 1), negation)
    assert read_reply(sep.join(words)) not in (YES, ONE)


SIGNS = ["-", "−", "–", "—", "+", "±", "~", "№", "#", "=", "*", "/", "<", ">", "(", ".", ",", "^", "%"]
ANSWER_WORDS = ["", " да", " иә", " нет", " жоқ", " yes", " келісемін", " отказываюсь"]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(SIGNS), st.sampled_from(["", " ", "  "]), st.sampled_from(["1", "2", "１", "２"]),
       st.sampled_from(ANSWER_WORDS), st.booleans())
def test_a_sign_before_a_digit_is_never_an_answer(sign: str, space: str, digit: str, word: str, first: bool) -> None:
    """"-1", "+ 2", "№1 да": a signed number is not the option digit, and carries no yes or no with it."""
    text = f"{sign}{space}{digit}{word}" if first else f"{word.strip()} {sign}{digit}".strip()
    assert read_reply(text) not in (ONE, TWO, YES, NO), text


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=-10**12, max_value=10**12).filter(lambda n: n not in (1, 2)),
       st.sampled_from(["{}", "{}.", " {} ", "{}!"]))
def test_no_number_but_the_plain_option_digit_is_an_option(number: int, shape: str) -> None:
    assert read_reply(shape.format(number)) not in (ONE, TWO)


REFUSING = ["отказываюсь", "не согласна", "нет", "жоқ", "келіспеймін", "бас тартамын", "не надо", "2", "отказ",
            "no", "керек емес"]
OTHER_WORDS = ["от", "звонков", "но", "пособие", "оформите", "смс", "муж", "карта", "банк", "завтра", "ақша",
               "бала", "телефон", "рассылки", "потом", "сумма", "қоңырау", "маған", "позвоните", "жазбаңыз"]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(REFUSING), st.lists(st.sampled_from(OTHER_WORDS), min_size=1, max_size=14),
       st.integers(0, 14), st.sampled_from([" ", ", ", " - "]))
def test_a_refusal_inside_a_longer_message_never_declines(refusal: str, others: list[str], at: int,
                                                          sep: str) -> None:
    """A false refusal ends the offer: only a short reply that is nothing but a refusal declines."""
    words = list(others)
    words.insert(at % (len(words) + 1), refusal)
    assert read_reply(sep.join(words)) not in (NO, TWO)
