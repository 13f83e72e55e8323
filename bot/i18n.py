"""Catalog messages in Kazakh and Russian, and the one date, time and money style every SMS uses."""

from __future__ import annotations

import datetime as dt
import gettext
import io
from dataclasses import dataclass
from pathlib import Path

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency

from bot.clock import ALMATY

LANGUAGES = ("kk", "ru")
# Plain "ru" prints "KZT" instead of the tenge sign; ru_KZ prints "₸".
BABEL_LOCALES = {"kk": "kk", "ru": "ru_KZ"}
DEFAULT_LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"

# Numeric dates: 10 characters in both languages (long forms take 19-20 and push the consent
# request past three SMS parts), and no month name that Kazakh would have to inflect after it.
DATE_FORMAT = "dd.MM.yyyy"
DATETIME_FORMAT = "dd.MM.yyyy HH:mm"
# Whole tenge, grouped with no-break spaces: "185 000 ₸" (Babel's default adds ",00").
MONEY_FORMAT = "#,##0\xa0¤"


@dataclass(frozen=True)
class Money:
    """An amount of money in whole tenge."""

    amount: int


@dataclass(frozen=True)
class Ref:
    """A placeholder value that is another catalog message (a refusal reason), in the same language."""

    msg_id: str


def babel_locale(lang: str) -> str:
    """The Babel locale that formats dates and money for a bot language."""
    try:
        return BABEL_LOCALES[lang]
    except KeyError:
        raise ValueError(f"unsupported language {lang!r}; expected one of {LANGUAGES}") from None


def format_date(d: dt.date, lang: str) -> str:
    """A calendar date as every SMS shows it: "25.11.2026"."""
    if isinstance(d, dt.datetime):
        # An instant's date depends on the time zone: the caller must take the Almaty date first.
        raise TypeError("format_date takes a date; use bot.clock.almaty_date() or format_datetime_local()")
    return babel_format_date(d, DATE_FORMAT, locale=babel_locale(lang))


def format_datetime_local(instant: dt.datetime, lang: str) -> str:
    """An instant in Kazakhstan time (Asia/Almaty), for deadlines: "28.11.2026 14:00"."""
    if instant.tzinfo is None:
        raise ValueError("the instant needs a UTC offset")
    return babel_format_datetime(instant, DATETIME_FORMAT, tzinfo=ALMATY, locale=babel_locale(lang))


def format_money(m: Money, lang: str) -> str:
    """A tenge amount with the ₸ sign and no fraction: "185 000 ₸"."""
    return format_currency(
        m.amount, "KZT", format=MONEY_FORMAT, locale=babel_locale(lang), currency_digits=False
    )


def _compile(po_path: Path) -> bytes:
    """What `pybabel compile` would write, built in memory."""
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, abort_invalid=True)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def _load(locales_dir: Path, lang: str, domain: str = DOMAIN) -> gettext.GNUTranslations:
    po_path = locales_dir / lang / "LC_MESSAGES" / f"{domain}.po"
    mo_path = po_path.with_suffix(".mo")
    # .mo files are build output (git-ignored): a fresh checkout has none, and an edited .po wins.
    if mo_path.exists() and (not po_path.exists() or mo_path.stat().st_mtime >= po_path.stat().st_mtime):
        with mo_path.open("rb") as mo_file:
            return gettext.GNUTranslations(mo_file)
    return gettext.GNUTranslations(io.BytesIO(_compile(po_path)))


class Translator:
    """Renders a catalog message in Kazakh or Russian, formatting dates, instants and money."""

    def __init__(self, locales_dir: Path | str | None = None) -> None:
        self.locales_dir = Path(locales_dir) if locales_dir is not None else DEFAULT_LOCALES_DIR
        self._catalogs = {lang: _load(self.locales_dir, lang) for lang in LANGUAGES}

    def template(self, msg_id: str, lang: str) -> str:
        """The translation of `msg_id` with its `{placeholders}` unfilled; KeyError when there is none."""
        babel_locale(lang)
        text = self._catalogs[lang].gettext(msg_id)
        if not text or text == msg_id:
            raise KeyError(f"no {lang} translation for message {msg_id!r}")
        return text

    def format_value(self, value: object, lang: str) -> str:
        """A placeholder value as the citizen reads it."""
        if isinstance(value, Ref):
            return self.render(value.msg_id, lang)
        if isinstance(value, Money):
            return format_money(value, lang)
        if isinstance(value, dt.datetime):
            return format_datetime_local(value, lang)
        if isinstance(value, dt.date):
            return format_date(value, lang)
        return str(value)

    def render(self, msg_id: str, lang: str, **params: object) -> str:
        """The SMS text of `msg_id` in `lang`; KeyError for an unknown id or a missing placeholder."""
        template = self.template(msg_id, lang)
        values = {name: self.format_value(value, lang) for name, value in params.items()}
        try:
            return template.format(**values)
        except KeyError as missing:
            raise KeyError(f"message {msg_id!r} needs a value for {missing}") from None
