"""The console speaks Kazakh and Russian: every registered text in both catalogs, and nothing else in them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import DEFAULT_LOCALES_DIR, LANGUAGES
from bot.ops import texts
from bot.ops.texts import CONSOLE_IDS, t

KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
OPS = Path(texts.__file__).resolve().parent


def catalog(lang: str) -> dict[str, str]:
    with (DEFAULT_LOCALES_DIR / lang / "LC_MESSAGES" / "console.po").open("rb") as po:
        return {str(m.id): str(m.string) for m in read_po(po, abort_invalid=True) if m.id}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_console_text_is_translated_and_nothing_else_is(lang: str) -> None:
    found = catalog(lang)
    assert set(found) == CONSOLE_IDS
    assert all(text.strip() for text in found.values())
    assert all(t(lang, text_id) == found[text_id] for text_id in CONSOLE_IDS)


def test_the_kazakh_console_is_kazakh() -> None:
    kk, ru = catalog("kk"), catalog("ru")
    differs = [i for i in CONSOLE_IDS if kk[i] != ru[i]]
    assert len(differs) > 0.8 * len(CONSOLE_IDS)
    assert sum(bool(KAZAKH_LETTERS & set(kk[i])) for i in differs) > 0.4 * len(differs)


def test_every_text_the_code_asks_for_is_registered() -> None:
    asked = set()
    for source in [*OPS.glob("*.py"), *OPS.glob("templates/*.html")]:  # templates call t(lang, "...") too
        asked |= set(re.findall(r'\bt\([^,()]+, "([a-z_]+\.[a-z_]+)"\)', source.read_text(encoding="utf-8")))
    assert asked and asked <= CONSOLE_IDS, asked - CONSOLE_IDS
    with pytest.raises(KeyError):
        t("ru", "not.registered")
