"""HTML for the console: Jinja2 templates (bot/ops/templates/) through aiohttp-jinja2, autoescaped.

Every value a template prints is escaped unless it is marked safe; only the console's own CSS and script are.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup

from bot.clock import ALMATY
from bot.i18n import LANGUAGES
from bot.ops.auth import Operator
from bot.ops.texts import label, language, t
from dialogs.model import from_iso

TEMPLATES = Path(__file__).resolve().parent / "templates"
CSS = Markup((TEMPLATES / "console.css").read_text(encoding="utf-8"))
JS = Markup((TEMPLATES / "console.js").read_text(encoding="utf-8"))
PILL = {"queued": "wait", "awaiting_language": "wait", "awaiting_consent": "wait", "awaiting_bank_account": "wait",
        "submitted": "work", "assigned": "good", "refused": "bad", "undeliverable": "bad"}


def local_time(at: str | None, *, year: bool = False) -> str:
    """An instant in Kazakhstan time: "23.11 10:02" (with the year on dialog pages)."""
    if not at:
        return "—"
    return from_iso(at).astimezone(ALMATY).strftime("%d.%m.%Y %H:%M" if year else "%d.%m %H:%M")


def local_date(day: str | None) -> str:
    """A calendar date as the SMS texts write it: "23.11.2026"."""
    return dt.date.fromisoformat(day).strftime("%d.%m.%Y") if day else "—"


def setup_templates(app: web.Application) -> None:
    """The console's template environment: autoescaping on, the texts' helpers global."""
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                               trim_blocks=True, lstrip_blocks=True,
                               default_helpers=False)
    env.globals.update(t=t, label=label, local_time=local_time, local_date=local_date, PILL=PILL,
                       LANGUAGES=LANGUAGES, CSS=CSS, JS=JS)


def headers(nonce: str = "") -> dict[str, str]:
    """Every console answer: never cached, never framed; scripts and styles only the page's own (by nonce)."""
    policy = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; "
              "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return {"Cache-Control": "no-store", "Content-Security-Policy": policy, "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def page(request: web.Request, op: Operator | None, template: str, *, title: str, status: int = 200,
         active: str = "", events: str = "", queue_size: int = 0, back: str = "/ops", **context: Any) -> web.Response:
    """A whole console page: `template` extends layout.html."""
    nonce = secrets.token_urlsafe(16)
    lang = op.lang if op else language(context.pop("lang", None))
    text = aiohttp_jinja2.render_string(template, request, {
        "op": op, "lang": lang, "title": title, "nonce": nonce, "active": active, "events": events,
        "queue_size": queue_size, "back": back, **context})
    return web.Response(text=text, content_type="text/html", status=status, headers=headers(nonce))


def fragment(request: web.Request, template: str, **context: Any) -> web.Response:
    """The live part of a page, for the script that refreshes it."""
    text = aiohttp_jinja2.render_string(template, request, context)
    return web.Response(text=text, content_type="text/html", headers=headers())


def notice_page(request: web.Request, op: Operator, text_id: str, *, status: int,
                heading: bool = False) -> web.Response:
    """A page that says one thing: a 404, a 403 for a missing CSRF token."""
    return page(request, op, "notice.html", title=t(op.lang, text_id), status=status, text_id=text_id,
                heading=heading)


def login_page(request: web.Request, lang: str | None = None, error: str = "", back: str = "") -> web.Response:
    """The sign-in form, answered with 401 to anyone not signed in (`error`: the text id of a notice; `back`: the
    console page to return to once signed in)."""
    lang = language(lang)
    return page(request, None, "login.html", title=t(lang, "login.title"), status=401, lang=lang, error=error,
                back=back)
