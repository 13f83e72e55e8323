"""The message catalogs: every registry message in both languages, right placeholders, short enough SMS."""

from __future__ import annotations

import datetime as dt
import gettext
import io
import os
import re
import shutil
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from bot.all_messages import MESSAGES
from bot.i18n import (
    DEFAULT_LOCALES_DIR,
    LANGUAGES,
    Money,
    Ref,
    Translator,
    format_date,
    format_datetime_local,
    format_money,
)
from bot.messages import EXTENSION_REASONS, REFUSAL_REASONS, Longest, Sample
from domain.sms_length import length_units, segments

MAX_PARTS = 3  # 201 UCS-2 characters
PLURAL_FORMS = {
    "kk": "nplurals=2; plural=(n != 1);",
    "ru": (
        "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : "
        "n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);"
    ),
}
KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
# Letters of Russian words that native Kazakh words do not use.
RUSSIAN_MARKERS = frozenset("вфцчщъьэёВФЦЧЩЪЬЭЁ")
LANGUAGE_OPTIONS = {"қазақша", "русский"}


def po_path(lang: str, locales_dir: Path = DEFAULT_LOCALES_DIR) -> Path:
    return locales_dir / lang / "LC_MESSAGES" / "messages.po"


def load_catalog(path: Path) -> Catalog:
    with path.open("rb") as po_file:
        return read_po(po_file, abort_invalid=True)


@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator()


@pytest.fixture(scope="module")
def catalogs() -> dict[str, Catalog]:
    return {lang: load_catalog(po_path(lang)) for lang in LANGUAGES}


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# --- the registry itself -------------------------------------------------------------------------


def test_registry_worst_cases_name_exactly_the_placeholders() -> None:
    wrong = {
        msg_id: (msg.placeholders, sorted(msg.worst_case))
        for msg_id, msg in MESSAGES.items()
        if len(set(msg.placeholders)) != len(msg.placeholders) or set(msg.placeholders) != set(msg.worst_case)
    }
    assert not wrong, f"placeholders vs worst_case keys differ: {wrong}"


def test_reason_ids_are_registered_messages_without_placeholders() -> None:
    for msg_id in REFUSAL_REASONS + EXTENSION_REASONS:
        assert msg_id in MESSAGES, f"{msg_id} is not in MESSAGES"
        assert MESSAGES[msg_id].placeholders == (), f"{msg_id} is inserted as {{reason}}: no placeholders"


def test_template_lists_exactly_the_registry() -> None:
    template = load_catalog(DEFAULT_LOCALES_DIR / "messages.pot")
    ids = {message.id for message in template if message.id}
    assert ids == set(MESSAGES), (
        f"re-run pybabel extract (see locales/babel.cfg): missing from messages.pot "
        f"{sorted(set(MESSAGES) - ids)}, not in MESSAGES {sorted(ids - set(MESSAGES))}"
    )


# --- (a) (b) (c) catalogs against the registry ---------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(lang: str, catalogs: dict[str, Catalog]) -> None:
    catalog = catalogs[lang]
    missing = []
    for msg_id in MESSAGES:
        entry = catalog.get(msg_id)
        if entry is None or not entry.string or entry.string == msg_id or entry.fuzzy:
            missing.append(msg_id)
    assert not missing, f"{lang}: missing, empty, fuzzy or untranslated: {missing}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_has_no_id_outside_the_registry(lang: str, catalogs: dict[str, Catalog]) -> None:
    unknown = [message.id for message in catalogs[lang] if message.id and message.id not in MESSAGES]
    assert not unknown, f"{lang}: ids not in bot.all_messages.MESSAGES: {unknown}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_use_exactly_the_declared_placeholders(lang: str, catalogs: dict[str, Catalog]) -> None:
    wrong = []
    for msg_id, msg in MESSAGES.items():
        entry = catalogs[lang].get(msg_id)
        if entry is None or not isinstance(entry.string, str):
            continue  # reported by test_every_message_is_translated
        try:
            used = fields(entry.string)
        except ValueError as error:  # a lone "{" or "}"
            wrong.append(f"{msg_id}: {error}")
            continue
        if used != set(msg.placeholders):
            wrong.append(f"{msg_id}: translation uses {sorted(used)}, declared {sorted(msg.placeholders)}")
    assert not wrong, f"{lang}:\n" + "\n".join(wrong)


# --- (d) length with worst-case values -----------------------------------------------------------


def worst_text(translator: Translator, msg_id: str, lang: str) -> str:
    """The message with each placeholder at its longest rendering in `lang`.

    Placeholders are independent spans of the text, so the longest value of each gives the longest text.
    """
    params: dict[str, object] = {}
    for name, sample in MESSAGES[msg_id].worst_case.items():
        candidates: tuple[Sample, ...] = sample.candidates if isinstance(sample, Longest) else (sample,)
        params[name] = max(candidates, key=lambda value: length_units(translator.format_value(value, lang)))
    return translator.render(msg_id, lang, **params)


@pytest.mark.parametrize("msg_id", list(MESSAGES))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_worst_case_fits_three_sms_parts(
    lang: str, msg_id: str, translator: Translator, record_property: pytest.RecordProperty
) -> None:
    text = worst_text(translator, msg_id, lang)
    units, parts = length_units(text), segments(text)
    record_property("length", units)
    record_property("parts", parts)
    assert parts <= MAX_PARTS, (
        f"{lang} {msg_id}: {units} characters = {parts} SMS parts, limit {MAX_PARTS} (201 UCS-2 "
        f"characters): {text!r}"
    )


def test_reason_placeholders_take_the_longest_reason(translator: Translator) -> None:
    for lang in LANGUAGES:
        longest = max((translator.render(r, lang) for r in REFUSAL_REASONS), key=len)
        assert longest in worst_text(translator, "decision.refused", lang)


# --- (e) bilingual messages ------------------------------------------------------------------------


@pytest.mark.parametrize("msg_id", [m for m, msg in MESSAGES.items() if msg.bilingual])
def test_bilingual_messages_carry_kazakh_then_russian(msg_id: str, catalogs: dict[str, Catalog]) -> None:
    texts = {lang: catalogs[lang][msg_id].string for lang in LANGUAGES}
    assert texts["kk"] == texts["ru"], f"{msg_id}: a bilingual message is the same text in both catalogs"
    text = texts["kk"]
    assert isinstance(text, str)
    words = [w for w in re.findall(r"[^\W\d_]+", text) if w.lower() not in LANGUAGE_OPTIONS]
    kazakh = [w for w in words if KAZAKH_LETTERS & set(w)]
    russian = [w for w in words if RUSSIAN_MARKERS & set(w) and not KAZAKH_LETTERS & set(w)]
    assert kazakh, f"{msg_id}: no Kazakh words besides the language options: {text!r}"
    assert russian, f"{msg_id}: no Russian words besides the language options: {text!r}"
    assert text.index(kazakh[0]) < text.index(russian[0]), f"{msg_id}: the Kazakh part comes first"


# --- (f) render ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_render_of_an_unknown_id_raises(lang: str, translator: Translator) -> None:
    with pytest.raises(KeyError):
        translator.render("no.such.message", lang)


def test_render_of_an_untranslated_message_raises(tmp_path: Path) -> None:
    for lang in LANGUAGES:
        catalog = Catalog(locale=lang)
        catalog.add("declined.ack", "")  # empty: gettext would fall back to the id
        catalog.add("optout.ack", "optout.ack")  # a translation equal to its id counts as missing
        target = po_path(lang, tmp_path)
        target.parent.mkdir(parents=True)
        with target.open("wb") as po_file:
            write_po(po_file, catalog)
    translator = Translator(tmp_path)
    for msg_id in ("declined.ack", "optout.ack"):
        with pytest.raises(KeyError):
            translator.render(msg_id, "kk")


def test_render_needs_every_placeholder_and_a_known_language(translator: Translator) -> None:
    with pytest.raises(KeyError, match="hours"):
        translator.render("consent.ask.birth", "ru", event_date=dt.date(2026, 11, 20))
    with pytest.raises(ValueError):
        translator.render("declined.ack", "en")


def test_render_formats_typed_values(translator: Translator) -> None:
    text = translator.render(
        "decision.refused", "ru", application_id="PB-2026-0000001", reason=Ref("refusal.not_eligible"),
        benefit=Ref("benefit.birth"),
    )
    assert "PB-2026-0000001" in text and translator.render("refusal.not_eligible", "ru") in text
    assert translator.render("benefit.birth", "ru") in text
    text = translator.render(
        "decision.assigned.birth",
        "kk",
        application_id="PB-1",
        children=2,
        one_off=Money(370_000),
        monthly=Money(61_340),
    )
    assert "370\xa0000\xa0₸" in text and "61\xa0340\xa0₸" in text
    text = translator.render("bank.ask", "ru", application_date=dt.date(2026, 11, 20))
    assert "20.11.2026" in text


# --- the .po files compile as `pybabel compile` would ----------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_po_files_compile_without_errors(lang: str) -> None:
    catalog = load_catalog(po_path(lang))
    assert str(catalog.locale) == lang
    assert not catalog.fuzzy, "pybabel compile skips a catalog whose header is fuzzy"
    assert catalog.plural_forms == PLURAL_FORMS[lang]
    assert [m.id for m in catalog if m.id and m.fuzzy] == []
    errors = [f"{message.id}: {error}" for message, problems in catalog.check() for error in problems]
    assert not errors, errors
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    compiled = gettext.GNUTranslations(buffer)
    assert compiled.info()["content-type"] == "text/plain; charset=utf-8"
    assert compiled.gettext("declined.ack") == catalog["declined.ack"].string


def test_a_compiled_mo_is_used_unless_the_po_is_newer(tmp_path: Path) -> None:
    for lang in LANGUAGES:
        target = po_path(lang, tmp_path)
        target.parent.mkdir(parents=True)
        shutil.copy(po_path(lang), target)
        catalog = load_catalog(target)
        catalog["declined.ack"].string = "from the .mo"
        with target.with_suffix(".mo").open("wb") as mo_file:
            write_mo(mo_file, catalog)
    mo = po_path("kk", tmp_path).with_suffix(".mo")
    po = po_path("kk", tmp_path)
    os.utime(po, (1_000_000, 1_000_000))
    assert Translator(tmp_path).render("declined.ack", "kk") == "from the .mo"
    os.utime(mo, (500_000, 500_000))  # the .po was edited after the last compile
    assert Translator(tmp_path).render("declined.ack", "kk") == load_catalog(po)["declined.ack"].string


# --- formats -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_formats(lang: str) -> None:
    assert format_money(Money(185_000), lang) == "185\xa0000\xa0₸"
    assert format_money(Money(9_999_999), lang) == "9\xa0999\xa0999\xa0₸"
    assert format_date(dt.date(2026, 11, 25), lang) == "25.11.2026"
    noon_utc = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
    assert format_datetime_local(noon_utc, lang) == "28.11.2026 14:00"
    # 20:30 UTC is already the next day in Almaty (UTC+5)
    assert format_datetime_local(dt.datetime(2026, 12, 31, 20, 30, tzinfo=dt.UTC), lang) == "01.01.2027 01:30"
    with pytest.raises(TypeError):
        format_date(noon_utc, lang)
    with pytest.raises(ValueError):
        format_datetime_local(dt.datetime(2026, 11, 28, 14, 0), lang)
