"""HTML for the console: the page frame, the 401 sign-in page and the small pieces every page shares."""

from __future__ import annotations

import datetime as dt
import html
import secrets
from pathlib import Path
from string import Template

from aiohttp import web

from bot.clock import ALMATY
from bot.i18n import LANGUAGES
from bot.ops.auth import Operator
from bot.ops.texts import label, language, t
from dialogs.model import from_iso

TEMPLATES = Path(__file__).resolve().parent / "templates"
LAYOUT = Template((TEMPLATES / "layout.html").read_text(encoding="utf-8"))
LOGIN = Template((TEMPLATES / "login.html").read_text(encoding="utf-8"))
CSS = (TEMPLATES / "console.css").read_text(encoding="utf-8")
JS = (TEMPLATES / "console.js").read_text(encoding="utf-8")
PILL = {"queued": "wait", "awaiting_language": "wait", "awaiting_consent": "wait", "awaiting_bank_account": "wait",
        "submitted": "work", "assigned": "good", "refused": "bad", "undeliverable": "bad"}


def esc(value: object) -> str:
    """Text made safe for HTML (attributes included)."""
    return html.escape(str(value), quote=True)


def headers(nonce: str = "") -> dict[str, str]:
    """Every console answer: never cached, never framed; scripts and styles only the page's own (by nonce)."""
    policy = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; "
              "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return {"Cache-Control": "no-store", "Content-Security-Policy": policy, "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def page(op: Operator | None, title: str, body: str, *, active: str = "", events: str = "", status: int = 200,
         queue_size: int = 0, back: str = "/ops") -> web.Response:
    """A whole console page."""
    lang = op.lang if op else "ru"
    nonce = secrets.token_urlsafe(16)
    text = LAYOUT.substitute(
        lang=lang, title=esc(title), nonce=nonce, css=CSS, js=JS if events else "", events=esc(events),
        app_title=esc(t(lang, "app.title")), nav=_nav(op, active, queue_size) if op else "",
        who=_who(op, back) if op else "", body=body)
    return web.Response(text=text, content_type="text/html", status=status, headers=headers(nonce))


def fragment(body: str) -> web.Response:
    """The live part of a page, for the script that refreshes it."""
    return web.Response(text=body, content_type="text/html", headers=headers())


def _nav(op: Operator, active: str, queue_size: int) -> str:
    badge = f'<span class="badge" data-testid="queue-size">{queue_size}</span>' if queue_size else ""
    links = [("dialogs", "/ops", t(op.lang, "nav.dialogs"), ""),
             ("queue", "/ops/queue", t(op.lang, "nav.queue"), badge)]
    return "".join(f'<a href="{href}" class="{"on" if key == active else ""}">{esc(text)}{extra}</a>'
                   for key, href, text, extra in links)


def _who(op: Operator, back: str) -> str:
    csrf = esc(op.csrf or "")
    buttons = "".join(
        f'<button type="submit" name="lang" value="{code}" class="{"on" if code == op.lang else ""}" '
        f'title="{esc(t(op.lang, "nav.language"))}">{esc(t(op.lang, "lang." + code))}</button>' for code in LANGUAGES)
    return (f'<form method="post" action="/ops/lang"><input type="hidden" name="csrf" value="{csrf}">'
            f'<input type="hidden" name="back" value="{esc(back)}">{buttons}</form>'
            f'<span data-testid="operator">{esc(op.name)}</span>'
            f'<form method="post" action="/ops/logout"><input type="hidden" name="csrf" value="{csrf}">'
            f'<button type="submit">{esc(t(op.lang, "nav.signout"))}</button></form>')


def login_page(lang: str | None = None, error: bool = False) -> web.Response:
    """The sign-in form, answered with 401 to anyone not signed in."""
    lang = language(lang)
    options = "".join(f'<option value="{code}"{" selected" if code == lang else ""}>{esc(t(lang, "lang." + code))}'
                      "</option>" for code in LANGUAGES)
    body = LOGIN.substitute(
        title=esc(t(lang, "login.title")), token_label=esc(t(lang, "login.token")),
        name_label=esc(t(lang, "login.name")), lang_label=esc(t(lang, "nav.language")), languages=options,
        submit=esc(t(lang, "login.submit")), hint=esc(t(lang, "login.hint")),
        error=f'<p class="notice bad">{esc(t(lang, "login.failed"))}</p>' if error else "")
    return page(None, t(lang, "login.title"), body, status=401)


def live_badge(lang: str) -> str:
    """The dot that shows whether live updates are flowing."""
    return (f'<span class="live"><span id="live-dot" class="dot"></span><span id="live-text" '
            f'data-on="{esc(t(lang, "live.on"))}" data-off="{esc(t(lang, "live.off"))}">'
            f'{esc(t(lang, "live.off"))}</span></span>')


def status_pill(lang: str, status: str) -> str:
    return (f'<span class="pill {PILL.get(status, "")}" data-status="{esc(status)}">'
            f'{esc(label(lang, "status", status))}</span>')


def flag_list(lang: str, flags: list[str]) -> str:
    return "".join(f'<span class="flag">{esc(label(lang, "flag", f))}</span>' for f in flags)


def local_time(at: str | None, *, year: bool = False) -> str:
    """An instant in Kazakhstan time: "23.11 10:02" (with the year on dialog pages)."""
    if not at:
        return "—"
    return from_iso(at).astimezone(ALMATY).strftime("%d.%m.%Y %H:%M" if year else "%d.%m %H:%M")


def local_date(day: str | None) -> str:
    """A calendar date as the SMS texts write it: "23.11.2026"."""
    return dt.date.fromisoformat(day).strftime("%d.%m.%Y") if day else "—"
