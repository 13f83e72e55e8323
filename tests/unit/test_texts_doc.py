"""docs/texts.md is generated from the catalogs and must be current."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.all_messages import MESSAGES
from bot.i18n import DEFAULT_LOCALES_DIR, LANGUAGES, Translator
from bot.texts_doc import DOC_PATH, main, render_doc


def test_docs_texts_md_is_current() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render_doc(), "stale: run .venv/bin/python -m bot.texts_doc"
    assert main(["--check"]) == 0


def test_the_page_shows_every_message_in_both_languages() -> None:
    page = render_doc()
    translator = Translator()
    for msg_id in MESSAGES:
        assert f"| `{msg_id}` |" in page, msg_id
        for lang in LANGUAGES:
            first_line = translator.template(msg_id, lang).split("\n")[0].replace("|", "\\|")
            assert first_line in page, (msg_id, lang)
    assert "does not fit" not in page


def test_a_changed_catalog_makes_the_page_stale(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_LOCALES_DIR, tmp_path / "locales")
    po = tmp_path / "locales" / "ru" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text(encoding="utf-8").replace("Справки: 1414", "Справки: 1515"), encoding="utf-8")
    for mo in (tmp_path / "locales").rglob("*.mo"):
        mo.unlink()
    assert render_doc(Translator(tmp_path / "locales")) != DOC_PATH.read_text(encoding="utf-8")
