"""The USSD gateway mock against a scripted fake bot: what it posts, and how it keeps each phone's session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import SimClock, parse_instant
from gateway_mocks.app import MocksSettings, create_mocks_app
from gateway_mocks.ussd import USSD_GATEWAY, UssdGateway

PHONE = "+77011234567"
PATH = "/mock/phones/77011234567/ussd"


@dataclass
class FakeBot:
    """Answers the USSD callback from a script and records every post, as the gateway sent it."""

    posts: list[dict[str, str]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    script: list[tuple[int, str]] = field(default_factory=list)  # (status, body) per post, then "CON ok"

    async def on_ussd(self, request: web.Request) -> web.Response:
        self.content_types.append(request.content_type)
        self.posts.append({k: str(v) for k, v in (await request.post()).items()})
        status, body = self.script.pop(0) if self.script else (200, "CON ok")
        return web.Response(status=status, text=body)


@dataclass
class World:
    client: TestClient[web.Request, web.Application]
    clock: SimClock
    bot: FakeBot
    ussd: UssdGateway

    async def press(self, entry: str, **extra: Any) -> tuple[int, Any]:
        resp = await self.client.post(PATH, json={"input": entry, **extra})
        return resp.status, await resp.json()


@pytest.fixture
async def world() -> AsyncIterator[World]:
    clock = SimClock(parse_instant("2026-11-20T10:00:00+05:00"))
    settings = MocksSettings()
    bot = FakeBot()
    mocks = create_mocks_app(settings, clock)
    parent = web.Application()
    parent.add_routes([web.post("/v1/ussd", bot.on_ussd)])
    parent.add_subapp("/mock", mocks)
    client = TestClient(TestServer(parent))
    await client.start_server()
    settings.bot_url = str(client.make_url("")).rstrip("/")
    try:
        yield World(client, clock, bot, mocks[USSD_GATEWAY])
    finally:
        await client.close()


async def test_a_session_posts_the_callback_convention(world: World) -> None:
    world.bot.script = [(200, "CON 1. Иә\n2. Жоқ"), (200, "CON next"), (200, "END Рахмет")]
    assert (await world.press("*1414#"))[1]["screen"] == "1. Иә\n2. Жоқ"
    status, shown = await world.press("1")
    assert status == 200 and shown["open"] is True and shown["screen"] == "next"
    status, shown = await world.press("KZ64 965")
    assert (status, shown["screen"], shown["open"]) == (200, "Рахмет", False)
    assert world.bot.content_types == ["application/x-www-form-urlencoded"] * 3
    session = world.bot.posts[0]["sessionId"]
    assert world.bot.posts == [
        {"sessionId": session, "serviceCode": "*1414#", "phoneNumber": PHONE, "text": ""},
        {"sessionId": session, "serviceCode": "*1414#", "phoneNumber": PHONE, "text": "1"},
        {"sessionId": session, "serviceCode": "*1414#", "phoneNumber": PHONE, "text": "1*KZ64 965"},
    ]
    history = await (await world.client.get(PATH)).json()
    assert [(h["input"], h["open"]) for h in history] == [("*1414#", True), ("1", True), ("KZ64 965", False)]


async def test_after_end_an_input_needs_a_new_dial(world: World) -> None:
    world.bot.script = [(200, "END nothing for you")]
    await world.press("*1414#")
    status, answer = await world.press("1")
    assert status == 409 and answer["error"] == "no_session"


async def test_a_new_dial_is_a_new_session(world: World) -> None:
    first = (await world.press("*1414#"))[1]["session_id"]
    second = (await world.press("*1414#"))[1]["session_id"]
    assert first != second
    status, answer = await world.press("1", session=first)
    assert status == 409 and answer["error"] == "no_session"


async def test_a_shortcut_dial_sends_its_inputs(world: World) -> None:
    await world.press("*1414*1*2#")
    assert world.bot.posts[0]["text"] == "1*2"


async def test_cut_drops_the_session_silently(world: World) -> None:
    session = (await world.press("*1414#"))[1]["session_id"]
    resp = await world.client.post(f"{PATH}/cut")
    assert await resp.json() == {"session_id": session}
    assert (await world.press("1"))[0] == 409
    assert len(world.bot.posts) == 1  # the bot is not told
    assert await (await world.client.post(f"{PATH}/cut")).json() == {"session_id": None}


async def test_an_idle_session_times_out(world: World) -> None:
    await world.press("*1414#")
    await world.client.post("/mock/clock", json={"advance_seconds": 181})
    status, answer = await world.press("1")
    assert status == 409 and answer["error"] == "session_timed_out"


@dataclass(frozen=True)
class Refusal:
    label: str
    entry: str
    script: list[tuple[int, str]]
    expect_status: int
    expect_error: str


REFUSALS = [
    Refusal("another service code", "*1515#", [], 404, "unknown_service"),
    Refusal("the bot fails", "*1414#", [(500, "boom")], 502, "bot_error"),
    Refusal("the bot answers neither CON nor END", "*1414#", [(200, "OK")], 502, "bot_error"),
    Refusal("an input with no session", "1", [], 409, "no_session"),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[r.label for r in REFUSALS])
async def test_refusals(world: World, case: Refusal) -> None:
    world.bot.script = list(case.script)
    status, answer = await world.press(case.entry)
    assert (status, answer["error"]) == (case.expect_status, case.expect_error)


async def test_a_switched_off_phone_cannot_dial(world: World) -> None:
    await world.client.post("/mock/phones/77011234567/state", json={"reachable": False})
    status, answer = await world.press("*1414#")
    assert (status, answer["error"]) == (409, "phone_unreachable")
    assert world.bot.posts == []


async def test_the_python_api(world: World) -> None:
    ussd = world.ussd
    shown = await ussd.press(PHONE, "*1414#")
    assert shown["open"] and ussd.sessions[PHONE].session_id == shown["session_id"]
    assert ussd.cut(PHONE) == shown["session_id"]
    assert [s["input"] for s in ussd.screens(PHONE)] == ["*1414#"]


async def test_a_malformed_press_is_a_422(world: World) -> None:
    resp = await world.client.post(PATH, json={"input": 1})
    assert resp.status == 422
    assert (await resp.json())["errors"][0]["field"] == "input"
