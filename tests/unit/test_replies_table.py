"""Replies as Kazakh and Russian speakers send them, read at each question: tables of labelled cases by kind.

Each case calls the pure reader (`interpret(state, text)`), never a running system. The kinds follow issue 13:
clear answers that used to be read as unclear, wrong readings, and questions that deserve an answer.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

import pytest

from dialogs.interpret import interpret

LANGUAGE, CONSENT = "awaiting_language", "awaiting_consent"
CONFIRM, ACCOUNT = "confirming_bank_account", "awaiting_bank_account"
HALYK = "KZ256010000000001234"  # valid, Halyk Bank (tests/unit/test_iban.py)
KASPI = "KZ05722KZT0000012345"


class Case(NamedTuple):
    label: str
    reply: str
    expect: str
    state: str = CONSENT
    args: dict[str, Any] | None = None


def cases(kind: str, replies: list[str], expect: str, state: str = CONSENT,
          args: dict[str, Any] | None = None) -> list[Case]:
    """One labelled case per reply: "<kind>: '<reply>'"."""
    return [Case(f"{kind}: {reply!r}", reply, expect, state, args) for reply in replies]


# ---- consent: clear answers ------------------------------------------------------------------------------

KK_YES = ["иә", "Иә", "ИӘ", "иә!", "Иә.", "иә иә", "1", "1 иә", "1-иә", "1иә", "Иә, келісемін", "келісемін",
          "Келісемін!", "мен келісемін", "келісем", "келисемин", "иә келісемін 1"]
RU_YES = ["да", "Да", "ДА", "Да!", "да.", "да да", "Дааа", "1", "1 да", "1-да", "1да", "да, согласна", "согласен",
          "Согласна!", "я согласен", "мы согласны", "соглашаюсь", "согласны"]
OF_COURSE = ["конечно", "Конечно!", "конечно да", "да конечно", "Да, конечно", "конешно", "канешно",
             "разумеется", "безусловно", "әрине", "Әрине!", "әрине иә", "иә әрине", "Иә, әрине", "ärine",
             "Of course", "yes of course", "конечно согласна", "әрине келісемін", "1 конечно"]
FORMAL = ["даю согласие", "Даю согласие", "я даю согласие", "даю своё согласие", "даю свое согласие",
          "согласие даю", "согласен на оформление", "Согласна на оформление", "согласие на оформление",
          "оформляйте", "Оформляйте пожалуйста", "оформите", "прошу оформить", "подтверждаю",
          "келісім беремін", "келісімімді беремін", "рәсімдеуге келісемін", "рәсімдеңіз", "растаймын",
          "қарсы емеспін", "келісімім бар",
          # the bot's own Telegram buttons, typed back as text
          "1 — Даю согласие", "1 - Даю согласие", "1 — Келісемін", "1 Келісемін", "Даю согласие 1"]
PHONETIC_IA = ["ия", "Ия!", "иа", "ийә", "ийа", "иэ", "ие", "йә", "йа", "иәә", "ияя", "иээ", "Иа, келісемін",
               "ия рахмет"]
LATIN_2021 = ["iä", "Iä", "IÄ", "ıä", "iä, kelısemın", "kelısemın", "Kelısemın!", "kelisemın", "kelısem",
              "ia", "iya", "ie", "Ia kelisemin", "yes", "da", "Da!", "1 iä"]
THANKS_AFTER_YES = ["да спасибо", "Да, спасибо большое", "да спасибо вам", "да, благодарю", "да спс",
                    "Да, дорогие, спасибо", "да, храни вас бог", "Здравствуйте, да", "добрый день, согласна",
                    "иә рахмет", "Иә, көп рахмет", "иә рахмет сізге", "Иә айналайын", "иә, айналайындар",
                    "иә қарағым", "иә жаным", "Сәлеметсіз бе, иә", "иә алла разы болсын", "Иә, сау болыңыз",
                    "1 рахмет", "1 спасибо", "келісемін, рақмет", "согласна спасибо огромное", "yes thank you"]
LAYOUT = ["lf", "Lf", "LF", "lf!", "lf/", "lf? cgfcb,j", "cjukfcty", "cjukfcyf", "lf cjukfcyf", "lf rjytxyj"]

KK_NO = ["жоқ", "Жоқ", "жок", "Жоқ!", "2", "2 жоқ", "керек емес", "қажет емес", "келіспеймін", "бас тартамын",
         "Жоқ, рахмет", "жоқ керек емес", "joq", "jok", "kelıspeımın", "bas tartamyn", "kerek emes"]
RU_NO = ["нет", "Нет", "НЕТ", "нет!", "неа", "2", "2 нет", "отказ", "отказываюсь", "не надо", "не нужно",
         "не хочу", "не согласен", "не согласна", "нет, спасибо", "нет не надо", "я отказываюсь",
         "согласия нет", "ytn", "Ytn", "jnrfp"]
BUTTON_NO = ["2 — Отказываюсь", "2 - Отказываюсь", "2 — Бас тартамын", "2 Бас тартамын"]

STOPS = ["stop", "STOP", "стоп", "СТОП", "тоқта", "токта", "stop stop", "СТОП СТОП", "стоп стоп стоп",
         "Stop! Stop!", "тоқта тоқта", "stop 1414", "отписаться", "cnjg"]

QUESTIONS = ["кто это?", "Кто это", "кто вы?", "Вы кто?", "это кто", "Кто пишет?", "откуда у вас мой номер?",
             "что это?", "Что это за смс?", "это мошенники?", "Мошенники?", "это развод?", "это правда?",
             "да, а кто это?", "1, а кто вы?", "Здравствуйте, кто это пишет?", "бұл кім?", "Бұл кім", "кімсіз?",
             "Сіз кімсіз?", "бұл не?", "алаяқтар ма?", "Алаяқсыздар ма?", "алаяқ па", "who is this?",
             "Who are you", "is this a scam?", "scam?", "rnj 'nj", "rnj 'nj&"]

# ---- consent: wrong readings ----------------------------------------------------------------------------

SIGNED = ["-1", "- 1", "−1", "–1", "—1", "+1", "+ 1", "±1", "~1", "№1", "#1", "=1", "*1", "/1", "-2", "+2",
          "№2", "1.5", "1,0", "0", "3", "11", "12", "21", "01", "1 2", "1 1", "¹", "①", "½", "١", "(1)", "-1 да",
          "+1 иә", "да -1", "1414", "100", "1000000"]
LONG_OR_MIXED = [
    "я отказываюсь от звонков, но пособие оформите",
    "Я отказываюсь от звонков но пособие оформите пожалуйста",
    "отказываюсь только от смс рассылки а пособие нужно",
    "не согласна с суммой, но оформите",
    "нет, я не отказываюсь",
    "я не отказываюсь от пособия просто хочу уточнить одну вещь",
    "жоқ деп айтпаймын, бірақ сұрағым бар",
    "бас тартамын деп жазып қойдым қателесіп, иә келісемін",
    "келіспеймін деп жазған жоқпын",
    "отказываюсь от этого номера телефона, пишите на другой",
    "нет у меня карты в банке подскажите что делать дальше",
    "2 отказываюсь от пособия потому что мы сами подадим заявление в цон",
    "я отказываюсь от пособия потому что мы сами подадим заявление в цон завтра",
    "нет нет нет нет нет нет нет нет нет",
    "отказываюсь? а что будет если откажусь",
    "не знаю, отказываться или нет",
    "муж отказывается, а я согласна",
    "да нет",
    "иә жоқ",
    "1 нет",
    "2 да",
    "да но позже",
    "жоқ па?",
    "қалай бас тартамын?",
]
NOT_CONSENT = ["ок", "ok", "Ок!", "хорошо", "жарайды", "ага", "угу", "👍", "+", "мм", "не", "?", "",
               "нет возражений", "да?", "согласен?", "келісемін бе", "да ок", "д", "дв", "l",
               "спасибо", "рахмет", "здравствуйте"]

# ---- the language question ---------------------------------------------------------------------------------

LANG_KK = ["1", "қазақша", "Қазақша", "казакша", "каз", "kz", "KZ", "қаз", "qazaqsha", "qazaqşa", "kazakh",
           "казахский", "на казахском", "қазақ тілі", "қазақша қазақша", "rfp"]
LANG_RU = ["2", "русский", "Русский", "рус", "ру", "ru", "RU", "орысша", "orysşa", "russian", "на русском",
           "русский язык", "рус рус", "hec", "heccrbq"]
LANG_UNCLEAR = ["3", "-1", "+2", "да", "иә", "нет", "1 2", "каз да", "?", "ок"]

# ---- the account question ----------------------------------------------------------------------------------

CORRECT = ["верно", "Верно!", "да, верно", "Да верно", "всё верно", "все правильно", "правильно", "счёт верный",
           "да, на этот счёт", "на этот счёт", "1 — Да, на этот счёт", "дұрыс", "Дұрыс!", "иә, дұрыс", "дурыс",
           "иә дұрыс", "бәрі дұрыс", "осы шотқа", "1 — Иә, осы шотқа", "Иә, осы шотқа", "durys", "correct",
           "yes, correct", "Yes correct", "1", "да", "иә", "1 да", "конечно", "әрине"]
ANOTHER = ["другой счёт", "Другой счет", "другой", "нет, другой счёт", "на другой счёт", "нужен другой",
           "новый счёт", "неверно", "не верно", "не тот счёт", "2 — Другой счёт", "басқа шот", "Басқа шот",
           "басқа", "жоқ, басқа шот", "басқа шотқа", "жаңа шот", "дұрыс емес", "2 — Басқа шот", "basqa",
           "another account", "Another", "other account", "2", "нет", "жоқ"]
ACCOUNT_WORDS_ELSEWHERE = ["верно", "другой счёт", "дұрыс", "басқа шот", "correct", "another account"]
IBAN_TYPED = [
    HALYK, HALYK.lower(), "KZ25 6010 0000 0000 1234", "KZ25-6010-0000-0000-1234", "КЗ256010000000001234",
    "кз25 6010 0000 0000 1234", "KЗ25 6010 0000 0000 1234", "мой счёт KZ25 6010 0000 0000 1234",
    "Мой IBAN: KZ256010000000001234", "KZ256010000000001234 Halyk", "KZ256010000000001234, Halyk Bank",
    "KZ25 6010 0000 0000 1234 Халык банк", "вот KZ256010000000001234 халык", "шотым KZ256010000000001234",
    "Менің шотым: КЗ25 6010 0000 0000 1234 Халық банк", "(KZ256010000000001234)", "да, KZ256010000000001234",
    "иә KZ25 6010 0000 0000 1234 рахмет",
]
KASPI_TYPED = ["KZ05722KZT0000012345 Kaspi", "каспи KZ05 722K ZT00 0001 2345", "KZ05722КZТ0000012345 каспи голд"]
CARD_NUMBERS = ["4400430123456789", "4400 4301 2345 6789", "4400-4301-2345-6789", "5169 4931 0000 1234"]
IBAN_MISTAKES = [
    ("KZ25 6010 0000 0000 123 Kaspi", "length"), ("мой счёт KZ256010000000001235", "checksum"),
    ("256010000000001234", "not_kz"), ("DE89370400440532013000", "not_kz"),
    ("KZ25 6010 0000 0000 123", "length"), ("KZ256010000000001234 5", "length"),
]

TABLES: dict[str, list[Case]] = {
    "consent yes, kk": cases("kk yes", KK_YES, "agree"),
    "consent yes, ru": cases("ru yes", RU_YES, "agree"),
    "of course, alone or with yes": cases("of course", OF_COURSE, "agree"),
    "formal consent and button labels typed back": cases("formal", FORMAL, "agree"),
    "phonetic иә": cases("phonetic иә", PHONETIC_IA, "agree"),
    "2021 Kazakh Latin and Latin letters": cases("Latin", LATIN_2021, "agree"),
    "thanks and endearments after a yes": cases("thanks after yes", THANKS_AFTER_YES, "agree"),
    "Russian on a Latin keyboard": cases("layout", LAYOUT, "agree"),
    # "&" is the "?" key of a Russian keyboard: "lf&" is "да?", a question, never consent or refusal.
    "a question on a Latin keyboard": cases("layout question", ["lf&", "Lf&", "cjukfcty&", "Ytn&", "ytn&",
                                                                "lf cjukfcyf&"], "unclear"),
    "short refusals, kk": cases("kk no", KK_NO, "decline"),
    "short refusals, ru": cases("ru no", RU_NO, "decline"),
    "refusal button labels typed back": cases("button no", BUTTON_NO, "decline"),
    "stop, repeated or not": [
        *cases("stop at consent", STOPS, "opt_out"),
        *cases("stop at the account", STOPS[:6], "opt_out", CONFIRM),
        *cases("stop at the language", STOPS[:4], "opt_out", LANGUAGE),
    ],
    "who is this / is this a scam": [
        *cases("question at consent", QUESTIONS, "question"),
        *cases("question at the language", QUESTIONS[:8], "question", LANGUAGE),
        *cases("question at the account", QUESTIONS[16:24], "question", CONFIRM),
        *cases("question while an IBAN is awaited", QUESTIONS[:6], "question", ACCOUNT),
    ],
    "a sign or another number is not an option": [
        *cases("signed at consent", SIGNED, "unclear"),
        *cases("signed at the account", SIGNED[:16], "unclear", CONFIRM),
    ],
    "long or mixed messages never decline": cases("long or mixed", LONG_OR_MIXED, "unclear"),
    "not consent": cases("not consent", NOT_CONSENT, "unclear"),
    "account words at consent are not consent": cases("account words at consent", ACCOUNT_WORDS_ELSEWHERE,
                                                     "unclear"),
    "language: Kazakh": cases("language kk", LANG_KK, "choose_language", LANGUAGE, {"language": "kk"}),
    "language: Russian": cases("language ru", LANG_RU, "choose_language", LANGUAGE, {"language": "ru"}),
    "language: unclear": cases("language unclear", LANG_UNCLEAR, "unclear", LANGUAGE),
    "language switch at another question": [
        *cases("switch to kk", ["қазақша", "KZ", "каз"], "switch_language", CONSENT, {"language": "kk"}),
        *cases("switch to ru", ["русский", "RU", "рус"], "switch_language", CONFIRM, {"language": "ru"}),
    ],
    "account confirmed in words": cases("account right", CORRECT, "confirm_account", CONFIRM),
    "another account in words": cases("another account", ANOTHER, "other_account", CONFIRM),
    "account words while an IBAN is awaited": cases("account words, IBAN awaited", ACCOUNT_WORDS_ELSEWHERE,
                                                   "unclear", ACCOUNT),
    "IBAN alone, in a sentence, with the bank's name or КЗ": [
        *cases("IBAN typed, IBAN awaited", IBAN_TYPED, "give_account", ACCOUNT, {"iban": HALYK}),
        *cases("IBAN typed at the confirm question", IBAN_TYPED[:10], "give_account", CONFIRM, {"iban": HALYK}),
        *cases("Kaspi IBAN with its name", KASPI_TYPED, "give_account", ACCOUNT, {"iban": KASPI}),
    ],
    "card number for an IBAN": [
        *cases("card, IBAN awaited", CARD_NUMBERS, "bad_account", ACCOUNT, {"code": "card", "params": {}}),
        *cases("card at the confirm question", CARD_NUMBERS[:2], "bad_account", CONFIRM,
               {"code": "card", "params": {}}),
    ],
    "IBAN mistakes inside a sentence": [
        Case(f"IBAN mistake {code}: {text!r}", text, "bad_account", ACCOUNT) for text, code in IBAN_MISTAKES
    ],
}
CASES = [case for table in TABLES.values() for case in table]
MISTAKE_CODES = {f"IBAN mistake {code}: {text!r}": code for text, code in IBAN_MISTAKES}


@pytest.mark.parametrize("case", CASES, ids=[c.label + " @ " + c.state for c in CASES])
def test_reply_table(case: Case) -> None:
    trigger, args = interpret(case.state, case.reply)
    assert trigger == case.expect, f"{case.label} at {case.state}: read as {trigger} {args}"
    if case.args is not None:
        assert args == case.args
    if case.label in MISTAKE_CODES:
        assert args["code"] == MISTAKE_CODES[case.label]


def test_the_tables_hold_400_labelled_cases_across_questions_languages_and_scripts() -> None:
    ids = [(c.label, c.state) for c in CASES]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert len(CASES) >= 400
    states = Counter(c.state for c in CASES)
    assert min(states[s] for s in (LANGUAGE, CONSENT, CONFIRM, ACCOUNT)) >= 25, states
    text = " ".join(c.reply for c in CASES)
    assert any("\u04d9" <= ch <= "\u04e9" or ch in "қңғүұһі" for ch in text)  # Kazakh Cyrillic
    assert any(ch in "äıöüūşğñ" for ch in text)  # the 2021 Kazakh Latin alphabet
