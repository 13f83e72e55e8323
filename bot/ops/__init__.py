"""The operators' console under /ops: pages, JSON API, live events and actions, all behind the operator token."""

from __future__ import annotations

from aiohttp import web

from bot.http.common import CLOCK, SETTINGS, STORE, unauthorized
from bot.ops import actions, api, dead_letters, pages, signin, sse
from bot.ops.auth import HSTS, OPERATORS, guarded, secure
from bot.ops.dialog_page import dialog_page
from bot.ops.sessions import OperatorState
from bot.ops.views import login_page, setup_templates


def denied_page(request: web.Request, _: str) -> web.StreamResponse:
    """The sign-in form (401); signing in there returns to the page that was asked for."""
    return login_page(request, request.query.get("lang"), back=request.path_qs if request.method == "GET" else "")


def _denied_api(request: web.Request, _: str) -> web.StreamResponse:
    return unauthorized("sign in at /ops, or send Authorization: Bearer <OPERATOR_TOKEN>")


def routes() -> list[web.RouteDef]:
    """Every console route; each one answers 401 to anyone without the operator token or a session."""
    page, api_ = guarded(denied_page), guarded(_denied_api)
    return [
        web.get("/ops", page(pages.list_page)),
        web.get("/ops/queue", page(pages.queue_page)),
        web.get("/ops/dialogs/{dialog_id}", page(dialog_page)),
        web.post("/ops/dialogs/{dialog_id}/{action}", page(actions.form_action)),
        web.post("/ops/dead-letters/{entry_id}/replay", page(dead_letters.form_replay)),
        web.get("/ops/login", signin.login_form),
        web.post("/ops/login", signin.login),
        web.post("/ops/logout", page(signin.logout)),
        web.post("/ops/lang", page(signin.switch_language)),
        web.get("/ops/events", api_(sse.events)),
        web.get("/ops/api/dialogs", api_(api.list_dialogs)),
        web.get("/ops/api/dialogs/{dialog_id}", api_(api.get_dialog)),
        web.post("/ops/api/dialogs/{dialog_id}/{action}", api_(actions.api_action)),
        web.get("/ops/api/queue", api_(api.get_queue)),
        web.get("/ops/api/counters", api_(api.get_counters)),
        web.get("/ops/api/dead-letters", api_(dead_letters.api_list)),
        web.post("/ops/api/dead-letters/{entry_id}/replay", api_(dead_letters.api_replay)),
    ]


def setup(app: web.Application) -> None:
    """What the console needs besides routes: templates, operator state in Redis, HSTS, the live feed's reader."""
    setup_templates(app)

    async def state(app: web.Application) -> None:
        store = app[STORE]
        app[OPERATORS] = OperatorState(store.redis, store.keys, app[CLOCK], app[SETTINGS])

    async def hsts(request: web.Request, response: web.StreamResponse) -> None:
        if secure(request):
            response.headers.setdefault("Strict-Transport-Security", HSTS)

    app.on_startup.append(state)
    app.on_response_prepare.append(hsts)
    sse.setup_streams(app)
