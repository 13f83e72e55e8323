"""The dev page speaks Kazakh and Russian: every registered text in both catalogs, and nothing else in them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.devpage import texts
from bot.devpage.texts import DEV_IDS, dev
from bot.i18n import DEFAULT_LOCALES_DIR, LANGUAGES

KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
BOT = Path(texts.__file__).resolve().parents[1]


def catalog(lang: str) -> dict[str, str]:
    with (DEFAULT_LOCALES_DIR / lang / "LC_MESSAGES" / "devpage.po").open("rb") as po:
        return {str(m.id): str(m.string) for m in read_po(po, abort_invalid=True) if m.id}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_dev_page_text_is_translated_and_nothing_else_is(lang: str) -> None:
    found = catalog(lang)
    assert set(found) == DEV_IDS
    assert all(text.strip() for text in found.values())
    assert all(dev(lang, text_id) == found[text_id] for text_id in DEV_IDS)


def test_the_kazakh_dev_page_is_kazakh() -> None:
    kk, ru = catalog("kk"), catalog("ru")
    differs = [i for i in DEV_IDS if kk[i] != ru[i]]
    assert len(differs) > 0.8 * len(DEV_IDS)
    assert sum(bool(KAZAKH_LETTERS & set(kk[i])) for i in differs) > 0.4 * len(differs)


def test_every_text_the_code_and_templates_ask_for_is_registered() -> None:
    """The dev page's templates, and the console's hooks to it (its top bar, its dialog page), call dev(lang, …)."""
    sources = [*(BOT / "devpage").glob("*.py"), *(BOT / "devpage" / "templates").glob("*.html"),
               *(BOT / "ops" / "templates").glob("*.html")]
    asked: set[str] = set()
    for source in sources:
        asked |= set(re.findall(r'\bdev\([^,()]+, "([a-z_]+\.[a-z_]+)"\)', source.read_text(encoding="utf-8")))
    assert {"nav.dev", "console.phone", "case.birth"} <= asked <= DEV_IDS, asked - DEV_IDS
    with pytest.raises(KeyError):
        dev("ru", "not.registered")
