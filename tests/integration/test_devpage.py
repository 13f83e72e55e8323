"""The dev page over HTTP: signed in only, CSRF-checked, cases started as a registry would, the clock's buttons,
the console's link to a phone, no personal data in the log lines it causes, and none of it in `serve`."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import aiohttp
import aiohttp_jinja2
import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.clock import ALMATY, SimClock, parse_instant
from bot.devserver import embedded_redis
from bot.settings import Settings
from tests.conftest import MONDAY_10, Running
from tests.e2e.test_cli import _free_port, _start, _stop
from tests.helpers import process_log as captured_process_log
from tests.helpers import production_secrets
from tests.security._ops import Console, system

PHONE = "+77015550101"  # the seeded mother with a Halyk Bank account (bot/devpage/people.py)
PHONE_PATH = "/ops/dev/phones/77015550101"
DEV_ROUTES = [("GET", "/dev"), ("GET", "/ops/dev"), ("GET", PHONE_PATH), ("GET", "/ops/dev/dialogs/d_x"),
              ("POST", "/ops/dev/cases"), ("POST", "/ops/dev/clock"), ("POST", f"{PHONE_PATH}/sms"),
              ("POST", f"{PHONE_PATH}/ussd"), ("POST", f"{PHONE_PATH}/ussd/cut"),
              ("POST", f"{PHONE_PATH}/telegram/start")]
RAW = re.compile(r"77(?:01|07)555\d{4}|\b\d{12}\b")  # a phone the page played with, or any IIN, unmasked


@pytest.fixture
async def console(real: Running) -> AsyncIterator[Console]:
    console = Console(real)
    await console.sign_in("Dana")
    try:
        yield console
    finally:
        await console.close()


async def dialogs_of(running: Running, msisdn: str) -> list[dict[str, object]]:
    status, found = await running.client.dialogs(msisdn=msisdn)
    assert status == 200
    return list(found["dialogs"])


def redirect(status: int, location: str) -> str:
    assert status == 303, (status, location[:500])
    return location


async def post(console: Console, path: str, **form: str) -> tuple[int, str]:
    """A form post from the page; (status, Location of the redirect or the page's text)."""
    async with console.session.post(f"{console.url}{path}", data={"csrf": console.csrf, **form},
                                    allow_redirects=False) as resp:
        return resp.status, resp.headers.get("Location", "") or await resp.text()


# ---- who may use it -----------------------------------------------------------------------------------------


async def test_dev_leads_to_the_page_which_asks_for_a_sign_in_first(real: Running) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(f"{real.system.url}/dev", allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/ops/dev"
        async with browser.get(f"{real.system.url}/dev") as resp:
            page = await resp.text()
            assert resp.status == 401 and 'name="token"' in page and 'name="back" value="/ops/dev"' in page
        form = {"token": "dev-operator", "name": "Dana", "lang": "kk", "back": "/ops/dev"}
        async with browser.post(f"{real.system.url}/ops/login", data=form) as resp:
            assert resp.status == 200 and str(resp.url).endswith("/ops/dev")
            assert "Құмсалғыш: телефондар мен сағат" in await resp.text()  # the dev page, in Kazakh


async def test_without_a_session_no_button_of_the_page_does_anything(real: Running) -> None:
    for method, path in DEV_ROUTES[1:]:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Cookie": "pb_ops=forged"}):
            async with real.client.session.request(method, f"{real.system.url}{path}", headers=headers,
                                                   data={"person": "mother_halyk", "kind": "birth", "text": "1",
                                                         "move": "day"}, allow_redirects=False) as resp:
                assert resp.status == 401, (method, path, headers)
    assert await dialogs_of(real, PHONE) == [] and await real.client.inbox(PHONE) == []
    assert (await real.client.clock())["now"] == MONDAY_10.isoformat()


@pytest.mark.parametrize("csrf", ["", "forged"], ids=["no token", "another token"])
async def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
        real: Running, console: Console, csrf: str) -> None:
    console.csrf = csrf
    forms = [("/ops/dev/cases", {"person": "mother_halyk", "kind": "birth"}), ("/ops/dev/clock", {"move": "day"}),
             (f"{PHONE_PATH}/sms", {"text": "1"}), (f"{PHONE_PATH}/ussd", {"dial": "1"}),
             (f"{PHONE_PATH}/telegram/start", {})]
    for path, form in forms:
        status, _ = await post(console, path, **form)
        assert status == 403, path
    assert await dialogs_of(real, PHONE) == [] and await real.client.inbox(PHONE) == []
    assert await real.client.ussd_screens(PHONE) == []
    assert (await real.client.clock())["now"] == MONDAY_10.isoformat()


async def test_serve_has_no_dev_page_even_for_the_operator() -> None:
    """The app `serve` builds: every dev page path is a 404 with the operator's token, which the console takes."""
    app = create_app(Settings(key_prefix=f"pbtest:{uuid.uuid4().hex[:10]}"), redis=embedded_redis(),
                     clock=SimClock(MONDAY_10))
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        auth = {"Authorization": "Bearer dev-operator", "X-Operator": "Dana"}
        async with session.get(server.make_url("/ops/api/counters"), headers=auth) as resp:
            assert resp.status == 200
        for method, path in DEV_ROUTES:
            async with session.request(method, server.make_url(path), headers=auth, allow_redirects=False) as resp:
                assert resp.status == 404, (method, path)
        assert "dev" not in aiohttp_jinja2.get_env(app).globals  # so no console page links to a phone either


async def test_proactive_bot_serve_answers_404_for_the_dev_page() -> None:
    port = _free_port()
    env = {"REDIS_URL": "redis://127.0.0.1:6379/0", "KEY_PREFIX": f"pbtest:{uuid.uuid4().hex[:8]}",
           **production_secrets()}
    proc, _ = await _start("serve", "--port", str(port), env=env)
    try:
        async with aiohttp.ClientSession() as session:
            for method, path in DEV_ROUTES:
                async with session.request(method, f"http://127.0.0.1:{port}{path}", allow_redirects=False) as resp:
                    assert resp.status == 404, (method, path)
    finally:
        assert await _stop(proc) == 0


# ---- starting a case ----------------------------------------------------------------------------------------


@dataclass
class Case:
    label: str
    form: dict[str, str]
    status: str  # the public status the event's dialog reached
    children: int = 1  # of a birth


START_CASES = [
    Case("a seeded mother: birth, Kazakh, her Halyk account to confirm", {"person": "mother_halyk", "kind": "birth"},
         "awaiting_consent"),
    Case("a seeded mother whose child's benefit was applied for on egov.kz", {"person": "mother_applied",
                                                                              "kind": "birth"}, "already_applied"),
    Case("a seeded father: his disabled child", {"person": "father_forte", "kind": "disability"}, "awaiting_consent"),
    Case("a new person, language unknown: the bilingual language question first",
         {"person": "new", "kind": "birth", "msisdn": "8 707 555 00 01", "language": "", "account": "no"},
         "awaiting_language"),
    Case("a new person's twins: one event, two children",
         {"person": "new", "kind": "birth", "msisdn": "+77075550002", "language": "ru", "twins": "1"},
         "awaiting_consent", children=2),
    Case("a new person on a landline: no SMS can reach it",
         {"person": "new", "kind": "birth", "msisdn": "+77172555003", "language": "ru"}, "undeliverable"),
    Case("a new group I caregiver, since childhood, first established",
         {"person": "new", "kind": "disability", "msisdn": "+77075550004", "language": "kk", "disability": "group1",
          "since_childhood": "1", "first": "1", "social_assistant": "1"}, "awaiting_consent"),
]


@pytest.mark.parametrize("case", START_CASES, ids=[c.label for c in START_CASES])
async def test_a_case_starts_as_the_registry_would_send_it(real: Running, console: Console, case: Case) -> None:
    location = redirect(*await post(console, "/ops/dev/cases", **case.form))
    assert location.startswith("/ops/dev/phones/") and f"status={case.status}" in location
    status, page = await console.get(location.split("#")[0])
    assert status == 200 and 'data-testid="notice"' in page
    msisdn = "+" + location.split("/")[4].split("?")[0]
    [dialog] = await dialogs_of(real, msisdn)
    assert dialog["status"] == case.status
    assert dialog["service"] == ("birth" if case.form["kind"] == "birth" else
                                 "group1_since_childhood" if case.form.get("disability") == "group1"
                                 else "disabled_child")
    if case.form["kind"] == "birth":
        async with real.client.session.post(f"{real.system.url}/ops/api/dialogs/{dialog['dialog_id']}/reveal",
                                            headers={"Authorization": "Bearer dev-operator",
                                                     "X-Operator": "Dana"}) as resp:
            assert len((await resp.json())["subject_iins"]) == case.children
    if case.status in ("awaiting_consent", "awaiting_language"):
        [sms] = await real.client.inbox(msisdn)
        assert sms["text"] in page  # the phone page shows what the phone received
    status, start = await console.get("/ops/dev")
    assert f'href="/ops/dev/phones/{msisdn[1:]}"' in start  # among the phones in play


async def test_an_event_the_bot_refuses_is_shown_with_its_reasons(real: Running, console: Console) -> None:
    form = {"person": "new", "kind": "disability", "msisdn": "+77075550005", "language": "ru",
            "disability": "group1", "first": "1"}  # an adult's group I not since childhood: no proactive service
    status, page = await post(console, "/ops/dev/cases", **form)
    assert status == 422 and 'data-testid="refused"' in page and "no_proactive_service" in page
    status, page = await post(console, "/ops/dev/cases", person="new", kind="birth", msisdn="+79161234567")
    assert status == 422 and "not_kazakhstan" in page  # a Russian number never reaches the registry's event
    assert await dialogs_of(real, "+77075550005") == []


# ---- playing a dialog, the clock --------------------------------------------------------------------------


def local(now: str) -> dt.datetime:
    return parse_instant(now).astimezone(ALMATY)


async def test_the_clock_buttons_and_a_birth_played_to_its_decision(real: Running, console: Console) -> None:
    client = real.client
    for move, expected in [("hour", "2026-11-23 11:00"), ("day", "2026-11-24 11:00"),
                           ("morning", "2026-11-25 09:00")]:
        location = redirect(*await post(console, "/ops/dev/clock", move=move, back="/ops/dev"))
        assert location == "/ops/dev?done=clock#clock-hour"
        assert local((await client.clock())["now"]).strftime("%Y-%m-%d %H:%M") == expected
    location = redirect(*await post(console, "/ops/dev/clock", move="decision", back=PHONE_PATH, phone=PHONE))
    assert location == f"{PHONE_PATH}?done=no_decision#clock-hour"

    redirect(*await post(console, "/ops/dev/cases", person="mother_halyk", kind="birth"))
    assert redirect(*await post(console, f"{PHONE_PATH}/sms", text="иә")) == f"{PHONE_PATH}?done=sms#sms-text"
    redirect(*await post(console, f"{PHONE_PATH}/sms", text="1"))  # the account on record is right
    [dialog] = await dialogs_of(real, PHONE)
    assert dialog["status"] == "submitted"
    _, page = await console.get(PHONE_PATH)
    assert 'data-testid="next-decision">ср 25.11.2026 10:00' in page  # the backend decides an hour later
    submitted = len(await client.inbox(PHONE))
    redirect(*await post(console, "/ops/dev/clock", move="decision", back=PHONE_PATH, phone=PHONE))
    assert local((await client.clock())["now"]).strftime("%Y-%m-%d %H:%M") == "2026-11-25 10:00"
    [dialog] = await dialogs_of(real, PHONE)
    inbox = await client.inbox(PHONE)
    assert dialog["status"] == "assigned" and len(inbox) == submitted + 1
    assert dialog["application"]["id"] in inbox[-1]["text"]  # type: ignore[index]
    _, page = await console.get(PHONE_PATH)
    assert inbox[-1]["text"] in page and "иә" in page  # the decision, and the phone's own replies in the thread


async def test_the_consoles_dialog_page_links_to_the_phone_and_the_phone_to_the_dialog(real: Running,
                                                                                    console: Console) -> None:
    redirect(*await post(console, "/ops/dev/cases", person="mother_halyk", kind="birth"))
    [dialog] = await dialogs_of(real, PHONE)
    status, page = await console.get(f"/ops/dialogs/{dialog['dialog_id']}")
    assert status == 200 and f'href="/ops/dev/dialogs/{dialog["dialog_id"]}"' in page
    async with console.session.get(f"{console.url}/ops/dev/dialogs/{dialog['dialog_id']}",
                                   allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"] == PHONE_PATH
    status, page = await console.get(PHONE_PATH)
    assert f'href="/ops/dialogs/{dialog["dialog_id"]}"' in page


# ---- nothing personal in the log ----------------------------------------------------------------------------


@pytest.fixture
def process_log() -> Iterator[io.StringIO]:
    """The process log as the bot writes it (tests/helpers.py)."""
    with captured_process_log() as stream:
        yield stream


async def test_playing_leaves_no_phone_number_or_iin_in_any_log_line(process_log: io.StringIO, real: Running,
                                                                      console: Console,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    # (process_log first: a connection logs its requests only if the access log was on when it was opened)
    caplog.set_level(logging.INFO, logger="bot.devpage")
    redirect(*await post(console, "/ops/dev/cases", person="mother_halyk", kind="birth"))
    redirect(*await post(console, "/ops/dev/cases", person="new", kind="birth", msisdn="+77075550009",
                         language="ru"))
    redirect(*await post(console, f"{PHONE_PATH}/ussd", dial="1"))
    redirect(*await post(console, f"{PHONE_PATH}/ussd", input="1"))
    redirect(*await post(console, f"{PHONE_PATH}/telegram/start"))
    redirect(*await post(console, f"{PHONE_PATH}/telegram/contact"))
    redirect(*await post(console, f"{PHONE_PATH}/sms", text="KZ03601KZT0000412345"))
    await console.get(PHONE_PATH)
    await console.get("/ops/dev/phones/77075550009")
    ours = [r.getMessage() for r in caplog.records if r.name == "bot.devpage"]
    assert len(ours) >= 7 and "+7701***0101" in "\n".join(ours)  # each action logged, the phone masked at source
    assert not any(RAW.search(line) for line in ours), ours
    written = process_log.getvalue()
    assert "/ops/dev/phones/" in written  # the access log did write the phone pages' requests…
    assert not RAW.search(written) and "KZ03601KZT0000412345" not in written, written  # …masked


async def test_without_telegram_the_phone_has_sms_and_ussd_only() -> None:
    async with system(telegram_token=None) as running:
        console = Console(running)
        try:
            await console.sign_in("Dana")
            redirect(*await post(console, "/ops/dev/cases", person="mother_halyk", kind="birth"))
            status, page = await console.get(PHONE_PATH)
            assert status == 200 and "Telegram выключен" in page and 'id="tg-chat"' not in page
            assert 'id="sms-thread"' in page and 'id="ussd-screen"' in page
            status, _ = await post(console, f"{PHONE_PATH}/telegram/start")
            assert status == 404
        finally:
            await console.close()
