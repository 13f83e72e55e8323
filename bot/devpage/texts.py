"""The dev page's own words in Kazakh and Russian: the gettext domain `devpage` (locales/*/devpage.po).

Statuses and services keep the console's words (bot/ops/texts.py); only what the dev page adds lives here.
"""

from __future__ import annotations

import gettext
from functools import cache

from bot.devpage.people import PEOPLE
from bot.i18n import DEFAULT_LOCALES_DIR, _load
from bot.ops.texts import language

DOMAIN = "devpage"

_STATIC = (
    "nav.dev", "page.title", "page.intro", "page.signed_in",
    "people.title", "people.iin", "people.who", "people.phone", "people.shows", "people.start",
    "case.birth", "case.disability",
    "new.title", "new.hint", "new.phone", "new.language", "new.language_unknown", "new.account", "new.account_yes",
    "new.account_no", "new.twins", "new.disability", "new.child", "new.group1", "new.since_childhood", "new.first",
    "new.social_assistant", "new.caregiver_changes", "new.other_district",
    "phones.title", "phones.empty", "phones.open",
    "phone.title", "phone.back", "phone.number",
    "sms.title", "sms.empty", "sms.reply", "sms.send", "sms.parts", "sms.me", "sms.encoding",
    "ussd.title", "ussd.dial", "ussd.input", "ussd.send", "ussd.cut", "ussd.idle", "ussd.history", "ussd.empty",
    "ussd.con", "ussd.end", "ussd.cut_mark", "ussd.dropped", "ussd.keypad", "ussd.clear",
    "telegram.title", "telegram.start", "telegram.text", "telegram.send", "telegram.empty", "telegram.me",
    "telegram.popup", "telegram.off", "telegram.contact", "telegram.pressed", "telegram.keyboard",
    "clock.title", "clock.now", "clock.hour", "clock.day", "clock.morning", "clock.decision", "clock.quiet",
    "clock.next_timer", "clock.next_decision", "clock.none",
    "dialogs.title", "dialogs.empty", "dialogs.open", "console.phone",
    "done.started", "done.refused", "done.sms", "done.sms_failed", "done.ussd", "done.ussd_no_session",
    "done.ussd_session_timed_out", "done.ussd_phone_unreachable", "done.ussd_unknown_service",
    "done.ussd_invalid_dial_string", "done.ussd_failed", "done.cut", "done.cut_none", "done.telegram",
    "done.telegram_failed", "done.telegram_no_button", "done.clock", "done.no_decision", "done.clock_failed",
    "done.csrf", "done.bad_phone", "done.bad_person",
)
# Every id the dev page may show; both catalogs must translate each one (tests/unit/test_devpage_texts.py).
DEV_IDS: frozenset[str] = frozenset({
    *_STATIC,
    *(f"who.{p.key}" for p in PEOPLE),
    *(f"shows.{p.key}" for p in PEOPLE),
})


@cache
def _catalog(lang: str) -> gettext.GNUTranslations:
    return _load(DEFAULT_LOCALES_DIR, lang, DOMAIN)


def dev(lang: str, text_id: str) -> str:
    """The dev page's text `text_id` in `lang`; KeyError for an id not in DEV_IDS or not translated."""
    if text_id not in DEV_IDS:
        raise KeyError(f"dev page text {text_id!r} is not registered in DEV_IDS")
    text = _catalog(language(lang)).gettext(text_id)
    if not text or text == text_id:
        raise KeyError(f"no {lang} dev page translation for {text_id!r}")
    return text
