"""The dev page's HTML: its own Jinja2 environment (autoescaped) over its templates and the console's layout."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from babel.dates import format_datetime
from markupsafe import Markup

from bot.clock import ALMATY
from bot.devpage.texts import dev
from bot.i18n import babel_locale
from bot.ops.auth import Operator
from bot.ops.views import headers

TEMPLATES = Path(__file__).resolve().parent / "templates"
OPS_TEMPLATES = Path(__file__).resolve().parent.parent / "ops" / "templates"
DEV_CSS = Markup((TEMPLATES / "devpage.css").read_text(encoding="utf-8"))
DEV_JS = Markup((TEMPLATES / "devpage.js").read_text(encoding="utf-8"))
DEV_TEMPLATES = web.AppKey("dev_templates", jinja2.Environment)


def clock_text(instant: dt.datetime, lang: str) -> str:
    """The simulated clock as the page shows it, in Kazakhstan time: "Дс 23.11.2026 10:00"."""
    return format_datetime(instant, "EEE dd.MM.yyyy HH:mm", tzinfo=ALMATY, locale=babel_locale(lang))


def setup(app: web.Application) -> None:
    """The dev page's templates (which extend the console's layout), and the console's hooks to the dev page:
    its top bar links here, and its dialog page links to the dialog's phone."""
    console = aiohttp_jinja2.get_env(app)
    console.globals["dev"] = dev
    env = aiohttp_jinja2.setup(app, app_key=DEV_TEMPLATES, autoescape=True, trim_blocks=True, lstrip_blocks=True,
                               default_helpers=False,
                               loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(TEMPLATES),
                                                           jinja2.FileSystemLoader(OPS_TEMPLATES)]))
    env.globals.update(console.globals)
    env.globals.update(dev=dev, clock_text=clock_text, DEV_CSS=DEV_CSS, DEV_JS=DEV_JS)


def page(request: web.Request, op: Operator, template: str, *, title: str, status: int = 200, events: str = "",
         queue_size: int = 0, back: str = "/ops/dev", **context: Any) -> web.Response:
    """A whole dev page in the console's frame: `template` extends layout.html."""
    nonce = secrets.token_urlsafe(16)
    text = aiohttp_jinja2.render_string(template, request, {
        "op": op, "lang": op.lang, "title": title, "nonce": nonce, "active": "dev", "events": events,
        "queue_size": queue_size, "back": back, **context}, app_key=DEV_TEMPLATES)
    return web.Response(text=text, content_type="text/html", status=status, headers=headers(nonce))


def fragment(request: web.Request, template: str, **context: Any) -> web.Response:
    """The live parts of a page, for the console's script that refreshes them."""
    text = aiohttp_jinja2.render_string(template, request, context, app_key=DEV_TEMPLATES)
    return web.Response(text=text, content_type="text/html", headers=headers())
