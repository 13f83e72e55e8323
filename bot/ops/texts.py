"""The console's own words in Kazakh and Russian: the gettext domain `console` (locales/*/console.po)."""

from __future__ import annotations

import gettext
from functools import cache

from bot.http.dialogs import PUBLIC_STATUSES
from bot.i18n import DEFAULT_LOCALES_DIR, LANGUAGES, _load
from dialogs.model import ATTENTION, SERVICES

DOMAIN = "console"
DEFAULT_LANGUAGE = "ru"
FLAGS = tuple(mark for marks in ATTENTION.values() for mark in marks if mark != "undeliverable")
DELIVERY = ("pending", "held", "sent", "delivered", "failed", "undeliverable", "withdrawn",
            "duplicate", "late", "closed")  # the last three: a citizen's message that answered nothing (answers.py)
OPERATOR_ACTIONS = ("resend", "close", "resolve", "note", "reveal")

_STATIC = (
    "app.title", "nav.dialogs", "nav.queue", "nav.signout", "nav.language", "lang.kk", "lang.ru", "login.title",
    "login.token", "login.name", "login.submit", "login.failed", "login.throttled", "login.hint", "counters.today",
    "counters.new",
    "counters.consents", "counters.overdue", "counters.attention", "counters.by_status", "filter.search",
    "filter.service", "filter.status", "filter.any", "filter.flagged", "filter.overdue", "filter.from",
    "filter.to", "filter.date_hint", "filter.apply", "filter.reset", "filter.bad_search", "filter.bad_date",
    "filter.bad_cursor",
    "list.created",
    "list.phone", "list.service", "list.status", "list.flags", "list.application_date", "list.decision_due",
    "list.last", "list.empty", "list.first", "list.older", "live.on", "live.off", "dialog.title", "dialog.back",
    "dialog.transcript", "dialog.timeline", "dialog.details", "dialog.event", "dialog.language",
    "dialog.created", "dialog.offer_sent", "dialog.expires", "dialog.consent", "dialog.application_date",
    "dialog.bank_account", "dialog.on_record", "dialog.typed", "dialog.application", "dialog.decision_due",
    "dialog.extended", "dialog.decision", "dialog.reason", "dialog.flags", "dialog.none", "dialog.log",
    "dialog.evidence", "dialog.no_evidence",
    "dialog.no_log", "dialog.no_messages", "dialog.not_found", "dialog.citizen", "dialog.bot", "actions.title",
    "action.resend", "action.resend_done", "action.resend_none", "action.close", "action.resolve",
    "action.close_reason", "action.close_done", "action.resolve_done", "action.note", "action.note_text",
    "action.note_done", "action.reveal", "action.revealed", "action.required", "action.csrf",
    "action.reveal_limited", "action.unnamed", "reveal.msisdn",
    "reveal.recipient_iin", "reveal.subject_iins", "reveal.iban", "queue.title", "queue.empty",
    "jobs.title", "jobs.kind", "jobs.accepted", "jobs.deliveries", "jobs.error", "jobs.action", "jobs.replay",
    "jobs.replayed", "jobs.replay_gone", "jobs.replay_failed",
)
JOB_KINDS = ("event", "cancel", "inbound", "report", "decision", "timer", "notice")
# Every id the console may show; both catalogs must translate each one (tests/unit/test_console_texts.py).
CONSOLE_IDS: frozenset[str] = frozenset({
    *_STATIC,
    *(f"status.{s}" for s in PUBLIC_STATUSES),
    *(f"service.{s}" for s in SERVICES),
    *(f"flag.{f}" for f in FLAGS),
    *(f"delivery.{d}" for d in DELIVERY),
    *(f"queue.{c}" for c in ATTENTION),
    *(f"op.{a}" for a in OPERATOR_ACTIONS),
    *(f"job.{k}" for k in JOB_KINDS),
})


@cache
def _catalog(lang: str) -> gettext.GNUTranslations:
    return _load(DEFAULT_LOCALES_DIR, lang, DOMAIN)


def language(value: str | None) -> str:
    """A supported interface language (Russian when none or an unknown one is asked for)."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def t(lang: str, text_id: str) -> str:
    """The console text `text_id` in `lang`; KeyError for an id not in CONSOLE_IDS or not translated."""
    if text_id not in CONSOLE_IDS:
        raise KeyError(f"console text {text_id!r} is not registered in CONSOLE_IDS")
    text = _catalog(language(lang)).gettext(text_id)
    if not text or text == text_id:
        raise KeyError(f"no {lang} console translation for {text_id!r}")
    return text


def label(lang: str, kind: str, value: str) -> str:
    """A status, service, flag or delivery status in words; the raw value when the console has no words for it."""
    text_id = f"{kind}.{value}"
    return t(lang, text_id) if text_id in CONSOLE_IDS else value
