"""docs/texts.md: every citizen-facing text, Kazakh and Russian side by side, with its worst-case length.

`python -m bot.texts_doc` writes it from the catalogs; `python -m bot.texts_doc --check` exits 1 when the file
is stale (tests/unit/test_texts_doc.py does the same). It is the page a ministry's reviewer signs off.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from bot.all_messages import MESSAGES
from bot.channels.ussd import SCREEN_LIMIT, screen_fits
from bot.i18n import LANGUAGES, Translator
from bot.messages import (
    BENEFITS,
    EXTENSION_REASONS,
    QUESTION_REPLIES,
    REFUSAL_REASONS,
    SMS_MESSAGES,
    Longest,
    Sample,
)
from dialogs.generated import write_or_check
from domain.sms_length import encoding, length_units, segments

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "texts.md"
FRAGMENTS = (*REFUSAL_REASONS, *EXTENSION_REASONS, *BENEFITS, *QUESTION_REPLIES)
_LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский"}


def worst_text(translator: Translator, msg_id: str, lang: str) -> str:
    """The message with each placeholder at its longest rendering in `lang` (placeholders are independent)."""
    params: dict[str, object] = {}
    for name, sample in MESSAGES[msg_id].worst_case.items():
        candidates: tuple[Sample, ...] = sample.candidates if isinstance(sample, Longest) else (sample,)
        params[name] = max(candidates, key=lambda value: length_units(translator.format_value(value, lang)))
    return translator.render(msg_id, lang, **params)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def _sms_cell(translator: Translator, msg_id: str, lang: str) -> str:
    worst = worst_text(translator, msg_id, lang)
    parts = segments(worst)
    return (f"{_cell(translator.template(msg_id, lang))}<br>*{length_units(worst)} {encoding(worst)} "
            f"characters at most, {parts} SMS part{'s' if parts > 1 else ''}*")


def _ussd_cell(translator: Translator, msg_id: str, lang: str) -> str:
    worst = worst_text(translator, msg_id, lang)
    fits = "fits" if screen_fits(worst) else "**does not fit**"
    return f"{_cell(translator.template(msg_id, lang))}<br>*{length_units(worst)} characters at most: {fits}*"


def _plain_cell(translator: Translator, msg_id: str, lang: str) -> str:
    return f"{_cell(translator.template(msg_id, lang))}<br>*{length_units(translator.render(msg_id, lang))} characters*"


def _table(ids: list[str], cell: Callable[[Translator, str, str], str], translator: Translator) -> list[str]:
    header = "| id | " + " | ".join(_LANGUAGE_NAMES[lang] for lang in LANGUAGES) + " |"
    rows = [header, "|---|" + "---|" * len(LANGUAGES)]
    for msg_id in ids:
        cells = [cell(translator, msg_id, lang) for lang in LANGUAGES]
        rows.append(f"| `{msg_id}` | " + " | ".join(cells) + " |")
    return rows


def render_doc(translator: Translator | None = None) -> str:
    """The whole page, from the catalogs as they are now."""
    translator = translator or Translator()
    sms = [m for m in SMS_MESSAGES if m not in FRAGMENTS]
    lines = [
        "# What citizens read: every SMS, USSD screen and Telegram text",
        "",
        "Generated from `locales/kk` and `locales/ru` by `python -m bot.texts_doc`; do not edit by hand (a test",
        "fails when this page is stale). Each text is shown as in the catalog, with its `{placeholders}`. The",
        "counts are of its longest realistic rendering (the worst-case values in `bot/messages.py`: the longest",
        "date, bank name, amount, application number, refusal reason): UTF-16 characters for UCS-2 (any Kazakh",
        "or Russian letter makes an SMS UCS-2: 70 characters in one part, 67 a part when split, three parts at",
        f"most), septets for GSM-7. A USSD screen holds {SCREEN_LIMIT} UCS-2 characters.",
        "",
        "## SMS",
        "",
        *_table(sms, _sms_cell, translator),
        "",
        "## Phrases inserted into an SMS",
        "",
        "A refusal's reason (`{reason}` in `decision.refused`), an extension's (`decision.extended`), the refused",
        "benefit (`{benefit}`), and what to reply after the answer to \"who is this?\" (`{reply}` in",
        "`question.who`); the lengths above already count the longest of each.",
        "",
        *_table(list(FRAGMENTS), _plain_cell, translator),
        "",
        "## USSD screens",
        "",
        *_table([m for m in MESSAGES if m.startswith("ussd.")], _ussd_cell, translator),
        "",
        "## Telegram",
        "",
        "Telegram has no length limit that these texts approach; the buttons are short labels.",
        "",
        *_table([m for m in MESSAGES if m.startswith("telegram.")], _plain_cell, translator),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return write_or_check("python -m bot.texts_doc", __doc__, DOC_PATH, render_doc, argv)


if __name__ == "__main__":
    sys.exit(main())
