"""The operators' console over HTTP: sign-in, 401 everywhere without it, lists, search, queue, actions, counters."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.http.common import ENGINE
from tests.conftest import Running
from tests.helpers import FATHER_NO_ACCOUNT, MOTHER_WITH_HALYK, birth, disabled_child

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
RAW_PHONE = re.compile(r"\+7701111\d{4}")


class Console:
    """A browser-like client: its own cookie jar, signed in by the form."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url, self.csrf = session, url, ""

    async def sign_in(self, name: str = "Aigerim", token: str = "dev-operator", lang: str = "ru") -> int:
        form = {"token": token, "name": name, "lang": lang}
        async with self.session.post(f"{self.url}/ops/login", data=form, allow_redirects=False) as resp:
            if resp.status == 303:
                page = await self.get("/ops")
                self.csrf = CSRF.search(page).group(1)  # type: ignore[union-attr]
            return resp.status

    async def get(self, path: str, **params: str) -> str:
        async with self.session.get(f"{self.url}{path}", params=params) as resp:
            assert resp.status == 200, (path, resp.status)
            return await resp.text()

    async def post(self, path: str, **form: str) -> tuple[int, str]:
        async with self.session.post(f"{self.url}{path}", data={"csrf": self.csrf, **form},
                                     allow_redirects=False) as resp:
            return resp.status, resp.headers.get("Location", "") or await resp.text()


@pytest.fixture
async def console(running: Running) -> AsyncIterator[Console]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield Console(session, running.system.url)


def api_headers(operator: str = "Dana") -> dict[str, str]:
    return {"Authorization": "Bearer dev-operator", "X-Operator": operator}


async def api(running: Running, method: str, path: str, body: Any = None, **params: str) -> tuple[int, Any]:
    async with running.client.session.request(method, f"{running.system.url}{path}", json=body, params=params,
                                              headers=api_headers()) as resp:
        return resp.status, await resp.json(content_type=None)


# ---- who may look ---------------------------------------------------------------------------------------------

async def test_every_console_page_and_api_answers_401_without_the_token(running: Running) -> None:
    app = running.system.runner.app
    routes = {(r.method, r.resource.canonical) for r in app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/ops")}
    assert len(routes) >= 14
    session = running.client.session
    for method, path in sorted(routes):
        url = running.system.url + path.replace("{dialog_id}", "d_x").replace("{action}", "note").replace(
                "{entry_id}", "1-1").replace("{msisdn}", "77015550101")  # (the last: the dev page's phones)
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Cookie": "pb_ops=forged.0000"}):
            async with session.request(method, url, headers=headers, allow_redirects=False) as resp:
                assert resp.status == 401, (method, path, headers, resp.status)


async def test_sign_in_sets_a_strict_httponly_cookie_and_a_wrong_token_is_refused(console: Console) -> None:
    assert await console.sign_in(token="dev-operatorX") == 401
    assert await console.sign_in(name="   ") == 401
    async with console.session.post(f"{console.url}/ops/login", allow_redirects=False,
                                    data={"token": "dev-operator", "name": "Aigerim", "lang": "kk"}) as resp:
        assert resp.status == 303
        cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/ops" in cookie
    page = await console.get("/ops")
    assert "Оператор консолі" in page and "Aigerim" in page  # Kazakh chosen at sign-in


BACK_CASES = [("/ops/queue", "/ops/queue"), ("/ops/dialogs/d_x?done=note", "/ops/dialogs/d_x?done=note"),
              ("//evil.example/ops", "/ops"), ("https://evil.example/ops", "/ops"), ("/opsevil", "/ops"),
              ("/ops/login", "/ops"), ("/ops/x\r\nSet-Cookie: a=b", "/ops"), ("", "/ops")]


@pytest.mark.parametrize(("back", "lands"), BACK_CASES, ids=[c[0] or "none" for c in BACK_CASES])
async def test_sign_in_returns_to_the_console_page_asked_for_and_never_elsewhere(console: Console, back: str,
                                                                                lands: str) -> None:
    async with console.session.get(f"{console.url}/ops/queue") as resp:  # the form remembers the page asked for
        assert resp.status == 401 and 'name="back" value="/ops/queue"' in await resp.text()
    form = {"token": "dev-operator", "name": "Aigerim", "lang": "ru", "back": back}
    async with console.session.post(f"{console.url}/ops/login", data=form, allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"] == lands


async def test_actions_need_the_session_csrf_token(running: Running, console: Console) -> None:
    _, answer, _ = await birth(running.client, msisdn="+77011112001")
    await console.sign_in()
    console.csrf = "forged"
    status, _ = await console.post(f"/ops/dialogs/{answer['dialog_id']}/note", text="hello")
    assert status == 403


# ---- finding a citizen ----------------------------------------------------------------------------------------

async def test_search_by_phone_or_iin_is_exact_and_shows_personal_data_masked(running: Running,
                                                                              console: Console) -> None:
    _, first, event = await birth(running.client, msisdn="+77011112002", parent_iin=MOTHER_WITH_HALYK)
    await birth(running.client, msisdn="+77011112003", parent_iin=FATHER_NO_ACCOUNT)
    child = event["children"][0]["iin"]
    cases = [("8 701 111 20 02", 1), ("+77011112002", 1), (MOTHER_WITH_HALYK, 1), (child, 1), ("87011112009", 0)]
    for search, expected in cases:
        status, found = await api(running, "GET", "/ops/api/dialogs", search=search)
        assert status == 200 and len(found["dialogs"]) == expected, search
    status, found = await api(running, "GET", "/ops/api/dialogs", search=MOTHER_WITH_HALYK[:8])
    assert status == 422  # not a phone, not a whole IIN: no prefix search
    await console.sign_in()
    page = await console.get("/ops", search=child)
    assert first["dialog_id"] in page and "+7701***2002" in page
    assert child not in re.sub(r'value="[^"]*"', "", page)  # only form fields echo the operator's own search
    assert not RAW_PHONE.search(page)


async def test_filters_by_service_status_flag_and_date_and_pages(running: Running) -> None:
    client = running.client
    await birth(client, msisdn="+77011112004")
    await birth(client, msisdn="+77011112005")
    await disabled_child(client, msisdn="+77011112006")
    for reply in ("?", "??", "???"):
        await client.phone_says("+77011112005", reply)
    today = (await client.clock())["now"][:10]
    cases = [({"service": "disabled_child"}, 1), ({"status": "awaiting_consent"}, 3), ({"flagged": "1"}, 1),
             ({"from": today, "to": today}, 3), ({"to": "2020-01-01"}, 0), ({"overdue": "1"}, 0)]
    for query, expected in cases:
        status, found = await api(running, "GET", "/ops/api/dialogs", **query)
        assert status == 200 and len(found["dialogs"]) == expected, query
    _, page1 = await api(running, "GET", "/ops/api/dialogs", limit="2")
    _, page2 = await api(running, "GET", "/ops/api/dialogs", limit="2", cursor=page1["next"])
    assert len(page1["dialogs"]) == 2 and len(page2["dialogs"]) == 1 and page2["next"] is None
    assert {d["dialog_id"] for d in page1["dialogs"]}.isdisjoint(d["dialog_id"] for d in page2["dialogs"])


# ---- what needs a person --------------------------------------------------------------------------------------

async def test_the_queue_holds_unclear_replies_and_undeliverable_phones_until_an_operator_deals_with_them(
        running: Running) -> None:
    client = running.client
    _, unclear, _ = await birth(client, msisdn="+77011112007")
    for reply in ("?", "??", "???"):
        await client.phone_says("+77011112007", reply)
    _, fixed, _ = await birth(client, msisdn="+77172555555")  # an Astana landline: undeliverable
    _, queue = await api(running, "GET", "/ops/api/queue")
    assert [d["dialog_id"] for d in queue["unclear"]] == [unclear["dialog_id"]]
    assert [d["dialog_id"] for d in queue["undeliverable"]] == [fixed["dialog_id"]]
    status, closed = await api(running, "POST", f"/ops/api/dialogs/{fixed['dialog_id']}/close",
                               {"reason": "letter sent by post"})
    assert status == 200 and closed["done"] == "resolve" and closed["dialog"]["status"] == "undeliverable"
    _, queue = await api(running, "GET", "/ops/api/queue")
    assert queue["undeliverable"] == [] and len(queue["unclear"]) == 1
    _, counters = await api(running, "GET", "/ops/api/counters")
    assert counters["attention"] == 1 and counters["new"] == 2 and counters["by_status"]["undeliverable"] == 1


# ---- acting ---------------------------------------------------------------------------------------------------

async def test_resend_note_close_and_reveal_are_logged_with_the_operator_name(running: Running,
                                                                             console: Console) -> None:
    client = running.client
    _, answer, _ = await birth(client, msisdn="+77011112008", parent_iin=MOTHER_WITH_HALYK)
    dialog_id = answer["dialog_id"]
    await console.sign_in(name="Aigerim")
    assert (await console.post(f"/ops/dialogs/{dialog_id}/resend"))[1].endswith("?done=resend")
    inbox = [m["text"] for m in await client.inbox("+77011112008")]
    assert len(inbox) == 2 and inbox[0] == inbox[1]
    assert (await console.post(f"/ops/dialogs/{dialog_id}/note", text="called +77011112008, will reply"))[0] == 303
    status, page = await console.post(f"/ops/dialogs/{dialog_id}/reveal")
    assert status == 200 and "+77011112008" in page and MOTHER_WITH_HALYK in page
    assert (await console.post(f"/ops/dialogs/{dialog_id}/close", reason=""))[1].endswith("?done=required")
    assert (await console.post(f"/ops/dialogs/{dialog_id}/close", reason="applied at the CON"))[1].endswith("=close")
    _, view = await api(running, "GET", f"/ops/api/dialogs/{dialog_id}")
    assert view["dialog"]["status"] == "closed" and view["dialog"]["close_reason"] == "applied at the CON"
    done = [(r["action"], r["operator"]) for r in view["log"] if r["type"] == "operator"]
    assert done == [("resend", "Aigerim"), ("note", "Aigerim"), ("reveal", "Aigerim"), ("close", "Aigerim")]
    note = next(r for r in view["log"] if r.get("action") == "note")
    assert note["text"] == "called +7701***2008, will reply"  # personal data in notes is masked when written
    assert (await console.post(f"/ops/dialogs/{dialog_id}/resend"))[1].endswith("?done=resend_none")
    page = await console.get(f"/ops/dialogs/{dialog_id}")
    assert "applied at the CON" in page and "+77011112008" not in page


async def test_api_actions_take_the_operator_name_from_x_operator(running: Running) -> None:
    _, answer, _ = await birth(running.client, msisdn="+77011112009")
    path = f"/ops/api/dialogs/{answer['dialog_id']}"
    assert (await api(running, "POST", f"{path}/notes", {"text": "x"}))[0] == 404  # the action is `note`
    assert (await api(running, "POST", f"{path}/note", {"text": ""}))[0] == 422
    status, body = await api(running, "POST", f"{path}/note", {"text": "first call"})
    assert status == 201 and body["done"] == "note"
    status, revealed = await api(running, "POST", f"{path}/reveal")
    assert status == 200 and revealed["msisdn"] == "+77011112009"
    _, view = await api(running, "GET", path)
    assert [(r["action"], r["operator"]) for r in view["log"] if r["type"] == "operator"] == [
        ("note", "Dana"), ("reveal", "Dana")]
    assert (await api(running, "POST", "/ops/api/dialogs/d_nope/note", {"text": "x"}))[0] == 404


async def test_closing_an_open_dialog_frees_the_phone_for_the_next_one_and_silences_its_timers(
        running: Running) -> None:
    client = running.client
    _, first, _ = await birth(client, msisdn="+77011112010")
    _, second = await disabled_child(client, msisdn="+77011112010")
    assert second["status"] == "queued"
    status, _ = await api(running, "POST", f"/ops/api/dialogs/{first['dialog_id']}/close",
                          {"reason": "wrong family"})
    assert status == 200
    assert (await client.dialog(second["dialog_id"]))["status"] == "awaiting_consent"
    before = len(await client.inbox("+77011112010"))
    await client.advance(80 * 3600)  # no reminder and no expiry notice for the closed one
    closed = await client.dialog(first["dialog_id"])
    assert closed["status"] == "closed" and closed["history"][-1]["trigger"] == "close"
    texts = [m["text"] for m in (await client.inbox("+77011112010"))[before:]]
    assert len(texts) == 2  # the second dialog's reminder and expiry notice only
    status, listed = await client.dialogs(status="closed")
    assert status == 200 and [d["dialog_id"] for d in listed["dialogs"]] == [first["dialog_id"]]


async def test_engine_close_goes_through_the_state_machine_from_every_open_state(running: Running) -> None:
    engine = running.system.runner.app[ENGINE]
    client = running.client
    _, waiting, _ = await birth(client, msisdn="+77011112011", parent_iin=MOTHER_WITH_HALYK)
    _, confirming, _ = await birth(client, msisdn="+77011112012", parent_iin=MOTHER_WITH_HALYK)
    await client.phone_says("+77011112012", "1")
    _, submitted, _ = await birth(client, msisdn="+77011112013", parent_iin=MOTHER_WITH_HALYK)
    await client.phone_says("+77011112013", "1")
    await client.advance(121)  # the account question read: a copy of "1" within DUPLICATE_WINDOW_SECONDS is set aside
    await client.phone_says("+77011112013", "1")
    for answer, state in ((waiting, "awaiting_consent"), (confirming, "confirming_bank_account"),
                          (submitted, "submitted")):
        before = await engine.store.load(answer["dialog_id"])
        assert before is not None and before.state == state
        closed = await engine.operators.close(answer["dialog_id"], "test", "ops")
        assert closed is not None and closed.state == "closed" and closed.close_reason == "test"
        assert closed.history[-1] == {**closed.history[-1], "from": state, "to": "closed", "trigger": "close"}
    assert await engine.operators.close("d_unknown", "x", "ops") is None


async def test_every_console_route_and_metrics_are_in_the_openapi_file(running: Running) -> None:
    async with running.client.session.get(f"{running.system.url}/v1/openapi.json") as resp:
        documented = (await resp.json())["paths"]
    app = running.system.runner.app
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/ops/dev"):
            continue  # the dev page: `dev` only (serve answers 404), not part of the public API
        if path.startswith(("/ops", "/metrics")) and route.method != "HEAD":
            assert route.method.lower() in documented.get(path, {}), f"{route.method} {path}"
