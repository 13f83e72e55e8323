"""The gateway mocks over HTTP, mounted under /mock beside a fake bot that records what they post."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import hmac
import json
import random
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from bot.clock import SimClock, parse_instant
from domain.iin import is_valid_iin
from gateway_mocks.app import ASSIGNMENT, EGOV, SMS_GATEWAY, MocksSettings, create_mocks_app
from gateway_mocks.assignment import AssignmentBackend
from gateway_mocks.common import Outbound, iban_valid
from gateway_mocks.egov import EgovRegistry
from gateway_mocks.fixtures import FIXTURES, FIXTURES_TABLE
from gateway_mocks.rates import load_rates
from gateway_mocks.settings import DEFAULT_RATES_PATH
from gateway_mocks.sms import SmsGateway

START = "2026-11-20T10:00:00+05:00"
PHONE = "+77011234567"
SECRET = "test-backend-secret"
DELAY = 3600
CONTRACT_EXAMPLE_IINS = {"900315400017", "261118500015", "880101400017", "150601500014"}

# Seeded fixtures (gateway_mocks/fixtures.py) the backend cases rely on.
MOTHER_HALYK = "920412412349"
MOTHER_OF_3 = "871125494512"
PORTAL_PARENT, PORTAL_CHILD = "950214437899", "261110640428"
NEW_CHILD, TWIN = "261118600026", "261118500039"  # not seeded anywhere


@dataclass
class FakeBot:
    """Stands in for the bot: records what the mocks post; answers an inbound SMS through the gateway."""

    base_url: str = ""
    session: aiohttp.ClientSession | None = None
    inbound: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    inbound_status: int = 200
    decision_failures: int = 0  # answer 500 to this many decision callbacks first
    reply: str | None = "Thank you, we got your answer."

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/inbound/sms", self.on_sms),
            web.post("/v1/inbound/sms/status", self.on_status),
            web.post("/v1/callbacks/decision", self.on_decision),
        ]

    async def on_sms(self, request: web.Request) -> web.Response:
        message = await request.json()
        self.inbound.append(message)
        if self.inbound_status >= 300:
            return web.Response(status=self.inbound_status, text="bot is down")
        if self.reply is not None:
            assert self.session is not None
            reply = {"client_id": f"reply-{message['message_id']}", "to": message["from"], "text": self.reply}
            async with self.session.post(f"{self.base_url}/mock/sms/send", json=reply) as resp:
                assert resp.status == 202
        return web.json_response({"accepted": True})

    async def on_status(self, request: web.Request) -> web.Response:
        self.statuses.append(await request.json())
        return web.json_response({})

    async def on_decision(self, request: web.Request) -> web.Response:
        self.decisions.append((dict(request.headers), await request.read()))
        if self.decision_failures > 0:
            self.decision_failures -= 1
            return web.Response(status=500)
        return web.json_response({})

    def decision(self, index: int = -1) -> dict[str, Any]:
        return json.loads(self.decisions[index][1])  # type: ignore[no-any-return]


@dataclass
class World:
    """One running parent app: the mocks under /mock and the fake bot, on one simulated clock."""

    client: TestClient[web.Request, web.Application]
    clock: SimClock
    settings: MocksSettings
    bot: FakeBot
    gateway: SmsGateway
    egov: EgovRegistry
    backend: AssignmentBackend

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        resp = await self.client.post(path, json=body)
        return resp.status, await _json_or_none(resp)

    async def get(self, path: str | URL) -> tuple[int, Any]:
        resp = await self.client.get(path)
        return resp.status, await _json_or_none(resp)

    async def advance(self, seconds: int) -> None:
        status, _ = await self.post("/mock/clock", {"advance_seconds": seconds})
        assert status == 200

    def application(self, client_id: str, service: str, applicant: str, persons: list[str]) -> dict[str, Any]:
        return {
            "client_id": client_id, "service": service, "applicant_iin": applicant, "person_iins": persons,
            "application_date": "2026-11-20", "iban": "KZ03601KZT0000412345",
            "callback_url": f"{self.bot.base_url}/v1/callbacks/decision",
        }  # fmt: skip

    async def apply(self, client_id: str, service: str, applicant: str, persons: list[str]) -> str:
        status, body = await self.post(
            "/mock/assignment/applications", self.application(client_id, service, applicant, persons)
        )
        assert status == 201, body
        return str(body["application_id"])


async def _json_or_none(resp: aiohttp.ClientResponse) -> Any:
    text = await resp.text()
    return json.loads(text) if text else None


@pytest.fixture
async def world() -> AsyncIterator[World]:
    clock = SimClock(parse_instant(START))
    settings = MocksSettings(backend_secret=SECRET, decision_delay_seconds=DELAY)
    bot = FakeBot()
    mocks = create_mocks_app(settings, clock)
    parent = web.Application()
    parent.add_routes(bot.routes())
    parent.add_subapp("/mock", mocks)
    client = TestClient(TestServer(parent))
    await client.start_server()
    settings.bot_url = bot.base_url = str(client.make_url("")).rstrip("/")
    bot.session = aiohttp.ClientSession()
    try:
        yield World(client, clock, settings, bot, mocks[SMS_GATEWAY], mocks[EGOV], mocks[ASSIGNMENT])
    finally:
        await client.close()
        await bot.session.close()


def signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The bot's side of the check, written independently of the mocks' code."""
    expected = hmac.new(secret.encode(), headers["X-Timestamp"].encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(headers["X-Signature"], "sha256=" + expected.hexdigest())


# SMS gateway ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsCase:
    label: str
    text: str
    encoding: str
    segments: int


SMS_CASES = [
    SmsCase("latin fits one GSM7 part", "Reply 1 to agree, 2 to refuse.", "GSM7", 1),
    SmsCase("161 latin characters take two GSM7 parts", "a" * 161, "GSM7", 2),
    SmsCase("kazakh text is UCS2, one part", "Жәрдемақы тағайындалды.", "UCS2", 1),
    SmsCase("71 cyrillic characters take two UCS2 parts", "я" * 71, "UCS2", 2),
    SmsCase("the tenge sign alone forces UCS2", "Amount: 38493 ₸", "UCS2", 1),
]


@pytest.mark.parametrize("case", SMS_CASES, ids=lambda c: c.label)
async def test_send_lands_in_the_inbox_with_encoding_and_segments(world: World, case: SmsCase) -> None:
    status, body = await world.post(
        "/mock/sms/send", {"client_id": "c-1", "to": PHONE, "from": "1414", "text": case.text}
    )
    assert (status, body) == (202, {"message_id": "gw-out-1"})
    status, inbox = await world.get("/mock/phones/77011234567/sms")
    assert status == 200
    assert inbox == [
        {"id": "gw-out-1", "from": "1414", "text": case.text, "encoding": case.encoding,
         "segments": case.segments, "at": START}
    ]  # fmt: skip
    await world.gateway.flush()
    assert world.bot.statuses == [
        {"message_id": "gw-out-1", "client_id": "c-1", "status": "delivered", "at": START}
    ]


async def test_a_repeated_client_id_is_answered_200_and_delivered_once(world: World) -> None:
    send = {"client_id": "consent-ask-1", "to": PHONE, "text": "Reply 1 to agree"}
    first, second = await world.post("/mock/sms/send", send), await world.post("/mock/sms/send", send)
    assert first == (202, {"message_id": "gw-out-1"})
    assert second == (200, {"message_id": "gw-out-1"})
    await world.gateway.flush()
    assert len(world.gateway.inbox(PHONE)) == 1
    assert (world.gateway.sent_count, world.gateway.duplicates_dropped) == (1, 1)
    assert len(world.bot.statuses) == 1


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/mock/phones/77011234567/sms", id="without the plus"),
        pytest.param("/mock/phones/%2B77011234567/sms", id="plus URL-encoded"),
        pytest.param("/mock/phones/+77011234567/sms", id="plus as is"),
    ],
)
async def test_every_spelling_of_the_number_reaches_the_same_phone(world: World, path: str) -> None:
    await world.post("/mock/sms/send", {"client_id": "c-1", "to": "77011234567", "text": "hello"})
    status, inbox = await world.get(URL(path, encoded=True))
    assert status == 200
    assert [m["text"] for m in inbox] == ["hello"]
    status, _ = await world.post(path, {"text": "1"})
    assert status == 202
    assert world.bot.inbound[-1]["from"] == PHONE


async def test_an_unknown_phone_has_an_empty_inbox_and_a_bad_number_is_422(world: World) -> None:
    assert await world.get("/mock/phones/77770000000/sms") == (200, [])
    status, body = await world.get("/mock/phones/not-a-number/sms")
    assert status == 422
    assert body["errors"][0]["field"] == "msisdn"


async def test_a_phone_reply_is_forwarded_and_the_bots_answer_awaited(world: World) -> None:
    status, body = await world.post("/mock/phones/77011234567/sms", {"text": "1"})
    assert (status, body) == (202, {"message_id": "gw-in-1"})
    assert world.bot.inbound == [
        {"message_id": "gw-in-1", "from": PHONE, "to": "1414", "text": "1", "received_at": START}
    ]
    # No flush, no sleep: the bot's reply was sent before the phone's POST returned.
    assert [m["text"] for m in world.gateway.inbox(PHONE)] == ["Thank you, we got your answer."]


async def test_a_failing_or_unreachable_bot_makes_the_phone_post_502(world: World) -> None:
    world.bot.inbound_status = 503
    status, body = await world.post("/mock/phones/77011234567/sms", {"text": "1"})
    assert (status, body["error"], body["status"]) == (502, "bot_error", 503)
    world.settings.bot_url = "http://127.0.0.1:1"  # nothing listens on port 1
    status, body = await world.post("/mock/phones/77011234567/sms", {"text": "1"})
    assert (status, body["error"]) == (502, "bot_unreachable")
    assert body["reason"]


@dataclass(frozen=True)
class BadBody:
    label: str
    path: str
    body: Any
    fields: list[str]


BAD_SMS_BODIES = [
    BadBody("send: nothing given", "/mock/sms/send", {}, ["client_id", "to", "text"]),
    BadBody(
        "send: number is not E.164", "/mock/sms/send", {"client_id": "c", "to": "abc", "text": "x"}, ["to"]
    ),
    BadBody(
        "send: text is not a string", "/mock/sms/send", {"client_id": "c", "to": PHONE, "text": 5}, ["text"]
    ),
    BadBody("send: body is a list", "/mock/sms/send", [1], [""]),
    BadBody("phone: no text", "/mock/phones/77011234567/sms", {}, ["text"]),
    BadBody("phone: empty text", "/mock/phones/77011234567/sms", {"text": ""}, ["text"]),
    BadBody(
        "state: reachable is a string", "/mock/phones/77011234567/state", {"reachable": "no"}, ["reachable"]
    ),
]


@pytest.mark.parametrize("case", BAD_SMS_BODIES, ids=lambda c: c.label)
async def test_invalid_sms_bodies_are_422_with_every_field(world: World, case: BadBody) -> None:
    status, body = await world.post(case.path, case.body)
    assert status == 422
    assert [e["field"] for e in body["errors"]] == case.fields
    assert world.bot.inbound == [] and world.gateway.sent_count == 0


async def test_an_unreachable_phone_gets_nothing_and_the_report_says_failed(world: World) -> None:
    assert (await world.post("/mock/phones/77011234567/state", {"reachable": False}))[0] == 200
    status, _ = await world.post("/mock/sms/send", {"client_id": "c-1", "to": PHONE, "text": "hello"})
    assert status == 202
    await world.gateway.flush()
    assert world.gateway.inbox(PHONE) == []
    assert [r["status"] for r in world.bot.statuses] == ["failed"]
    status, body = await world.post("/mock/phones/77011234567/sms", {"text": "1"})
    assert (status, body["error"]) == (409, "phone_unreachable")

    await world.post("/mock/phones/%2B77011234567/state", {"reachable": True})
    await world.post("/mock/sms/send", {"client_id": "c-2", "to": PHONE, "text": "hello again"})
    await world.gateway.flush()
    assert [m["text"] for m in world.gateway.inbox(PHONE)] == ["hello again"]
    assert [r["status"] for r in world.bot.statuses] == ["failed", "delivered"]


# Clock ---------------------------------------------------------------------------------------------


async def test_the_clock_reads_advances_and_jumps_in_almaty_time(world: World) -> None:
    assert await world.get("/mock/clock") == (200, {"now": START})
    assert await world.post("/mock/clock", {"advance_seconds": 90}) == (
        200,
        {"now": "2026-11-20T10:01:30+05:00"},
    )
    assert await world.post("/mock/clock", {"now": "2026-11-21T00:00:00Z"}) == (
        200,
        {"now": "2026-11-21T05:00:00+05:00"},
    )
    assert world.clock.now() == dt.datetime(2026, 11, 21, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"now": "2026-11-19T10:00:00+05:00"}, id="an earlier instant"),
        pytest.param({"advance_seconds": -1}, id="a negative advance"),
    ],
)
async def test_moving_the_clock_backwards_is_409_and_changes_nothing(
    world: World, body: dict[str, Any]
) -> None:
    status, answer = await world.post("/mock/clock", body)
    assert (status, answer["error"]) == (409, "clock_moved_backwards")
    assert await world.get("/mock/clock") == (200, {"now": START})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "now", id="neither field"),
        pytest.param({"now": START, "advance_seconds": 1}, "now", id="both fields"),
        pytest.param({"now": "tomorrow"}, "now", id="not an instant"),
        pytest.param({"now": "2026-11-21T10:00:00"}, "now", id="no offset"),
        pytest.param({"advance_seconds": "60"}, "advance_seconds", id="seconds as a string"),
        pytest.param({"advance_seconds": True}, "advance_seconds", id="seconds as a boolean"),
    ],
)
async def test_a_bad_clock_body_is_422(world: World, body: dict[str, Any], field: str) -> None:
    status, answer = await world.post("/mock/clock", body)
    assert status == 422
    assert answer["errors"][0]["field"] == field


# E-government --------------------------------------------------------------------------------------


async def test_egov_serves_seeded_records_with_defaults_and_404_for_unknown(world: World) -> None:
    status, person = await world.get(f"/mock/egov/persons/{MOTHER_HALYK}")
    assert status == 200
    assert person == {
        "iin": MOTHER_HALYK, "bank_account": "KZ03601KZT0000412345", "benefits": [], "address": None,
        "children_before": 0, "caregiver_changes_this_year": 0, "has_social_assistant": False,
    }  # fmt: skip
    assert await world.get("/mock/egov/persons/000101500011") == (404, {"error": "not_found"})
    assert (await world.get("/mock/egov/persons/123"))[0] == 422
    status, listed = await world.get("/mock/egov/persons")
    assert len(listed["persons"]) == len(FIXTURES)


async def test_egov_post_creates_and_replaces_a_record(world: World) -> None:
    record = {
        "iin": "000101500011", "bank_account": "kz03 601K ZT00 0041 2345",
        "benefits": [{"service": "birth", "person_iin": NEW_CHILD, "state": "paid"}],
        "address": {"region": "Astana", "district": "Yesil"}, "children_before": 2,
    }  # fmt: skip
    status, body = await world.post("/mock/egov/persons", record)
    assert status == 201
    assert body["bank_account"] == "KZ03601KZT0000412345"
    assert (body["caregiver_changes_this_year"], body["has_social_assistant"]) == (0, False)
    status, body = await world.post("/mock/egov/persons", {"iin": "000101500011"})
    assert status == 201
    assert await world.get("/mock/egov/persons/000101500011") == (200, body)
    assert (body["bank_account"], body["benefits"], body["children_before"]) == (None, [], 0)


async def test_egov_post_lists_every_invalid_field(world: World) -> None:
    status, body = await world.post(
        "/mock/egov/persons",
        {
            "iin": "12345", "bank_account": "KZ00601KZT0000412345",
            "benefits": [{"service": "pension", "person_iin": "x", "state": "refused"}],
            "address": {"region": "Astana"}, "children_before": -1, "has_social_assistant": "yes",
        },
    )  # fmt: skip
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {
        "iin", "bank_account", "benefits[0].service", "benefits[0].state", "benefits[0].person_iin",
        "address.district", "children_before", "has_social_assistant",
    }  # fmt: skip


def test_fixtures_are_valid_and_avoid_the_contract_examples() -> None:
    iins = {f["iin"] for f in FIXTURES} | {b["person_iin"] for f in FIXTURES for b in f.get("benefits", [])}
    assert all(is_valid_iin(iin) for iin in iins), sorted(i for i in iins if not is_valid_iin(i))
    assert not iins & CONTRACT_EXAMPLE_IINS
    assert len({f["iin"] for f in FIXTURES}) == len(FIXTURES)
    accounts = [f["bank_account"] for f in FIXTURES if f.get("bank_account")]
    assert all(iban_valid(a) for a in accounts)
    assert len(set(accounts)) == len(accounts), "an account belongs to one person"
    halyk = next(f for f in FIXTURES if f["iin"] == MOTHER_HALYK)
    assert halyk["bank_account"][4:7] == "601"
    assert all(f"`{f['iin']}`" in FIXTURES_TABLE for f in FIXTURES)


async def test_seed_false_starts_with_empty_state_databases() -> None:
    app = create_mocks_app(MocksSettings(seed=False), SimClock(parse_instant(START)))
    assert app[EGOV].persons == {}


# Assignment backend --------------------------------------------------------------------------------


async def test_applications_are_numbered_by_year_and_idempotent_by_client_id(world: World) -> None:
    body = world.application("app-1", "birth", MOTHER_HALYK, [NEW_CHILD])
    assert await world.post("/mock/assignment/applications", body) == (
        201,
        {"application_id": "PB-2026-0000001"},
    )
    assert await world.post("/mock/assignment/applications", body) == (
        200,
        {"application_id": "PB-2026-0000001"},
    )
    later = world.application("app-2", "disabled_child", "850505315614", [TWIN]) | {
        "application_date": "2027-01-04"
    }
    assert await world.post("/mock/assignment/applications", later) == (
        201,
        {"application_id": "PB-2027-0000001"},
    )
    assert len(world.backend.applications) == 2
    status, stored = await world.get("/mock/assignment/applications/PB-2026-0000001")
    assert (status, stored["status"], stored["person_iins"]) == (200, "pending", [NEW_CHILD])
    assert (await world.get("/mock/assignment/applications/PB-2026-0000009"))[0] == 404
    status, listed = await world.get("/mock/assignment/applications")
    assert [a["application_id"] for a in listed["applications"]] == ["PB-2026-0000001", "PB-2027-0000001"]


BAD_APPLICATIONS = [
    ("nothing given", {}, ["client_id", "service", "applicant_iin", "person_iins", "application_date",
                           "iban", "callback_url"]),
    ("unknown service", {"service": "pension"}, ["service"]),
    ("no persons", {"person_iins": []}, ["person_iins"]),
    ("two persons for a disability", {"service": "disabled_child", "person_iins": [NEW_CHILD, TWIN]},
     ["person_iins"]),
    ("the same child twice", {"person_iins": [NEW_CHILD, NEW_CHILD]}, ["person_iins"]),
    ("a bad child IIN", {"person_iins": ["26111860002"]}, ["person_iins[0]"]),
    ("30 February", {"application_date": "2026-02-30"}, ["application_date"]),
    ("wrong IBAN check digits", {"iban": "KZ04601KZT0000412345"}, ["iban"]),
    ("callback not http", {"callback_url": "ftp://bot/decision"}, ["callback_url"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("label", "change", "fields"), BAD_APPLICATIONS, ids=[c[0] for c in BAD_APPLICATIONS]
)
async def test_invalid_applications_are_422(
    world: World, label: str, change: dict[str, Any], fields: list[str]
) -> None:
    body = (
        {}
        if not change and label == "nothing given"
        else world.application("a", "birth", MOTHER_HALYK, [NEW_CHILD])
    )
    status, answer = await world.post("/mock/assignment/applications", body | change)
    assert status == 422, label
    assert [e["field"] for e in answer["errors"]] == fields
    assert world.backend.applications == {}


async def test_the_decision_fires_only_when_the_clock_passes_the_delay_and_is_signed(world: World) -> None:
    application_id = await world.apply("app-1", "birth", MOTHER_HALYK, [NEW_CHILD])
    await world.advance(DELAY - 1)
    assert world.bot.decisions == []
    await world.advance(1)  # the callback has been answered by the time the clock's POST returns
    headers, raw = world.bot.decisions[0]
    due = parse_instant(START) + dt.timedelta(seconds=DELAY)
    assert headers["X-Timestamp"] == str(int(due.timestamp()))
    assert signature_ok(SECRET, headers, raw)
    assert not signature_ok("another-secret", headers, raw)
    decision = world.bot.decision()
    assert decision | {"benefits": []} == {
        "application_id": application_id, "client_id": "app-1", "outcome": "assigned",
        "decided_at": "2026-11-20T11:00:00+05:00", "benefits": [], "reason": None, "decision_due": None,
    }  # fmt: skip
    assert [b["kind"] for b in decision["benefits"]] == ["birth_one_off", "child_care_monthly"]
    assert [c.attempt for c in world.backend.callbacks] == [1]
    # The state databases now show the benefit, so a later event for this child is a duplicate.
    _, person = await world.get(f"/mock/egov/persons/{MOTHER_HALYK}")
    assert person["benefits"] == [{"service": "birth", "person_iin": NEW_CHILD, "state": "assigned"}]


async def test_duplicates_are_refused_already_assigned(world: World) -> None:
    await world.apply("mother", "birth", MOTHER_HALYK, [NEW_CHILD])
    await world.apply("father", "birth", "880930324560", [NEW_CHILD])  # the same child again
    await world.apply("portal", "birth", PORTAL_PARENT, [PORTAL_CHILD])  # applied for on egov.kz
    await world.advance(DELAY)
    outcomes = {
        d["client_id"]: (d["outcome"], d["reason"])
        for d in map(json.loads, (r for _, r in world.bot.decisions))
    }
    assert outcomes == {
        "mother": ("assigned", None),
        "father": ("refused", "already_assigned"),
        "portal": ("refused", "already_assigned"),
    }


GROUP1_CASES = [
    ("same district: assigned", "720808483418", "061010583424", "assigned", None),
    ("caregiver changed 3 times this year", "700605453111", "030120553120", "refused", "caregiver_changed"),
    ("person has a social assistant", "680303361217", "010707661224", "refused", "social_assistant"),
    (
        "caregiver and person in different districts",
        "751201472311",
        "040515572324",
        "refused",
        "different_district",
    ),
    ("nothing on record: assigned", "000101500011", "050505500017", "assigned", None),
]


@pytest.mark.parametrize(
    ("label", "carer", "person", "outcome", "reason"), GROUP1_CASES, ids=[c[0] for c in GROUP1_CASES]
)
async def test_group1_grounds(
    world: World, label: str, carer: str, person: str, outcome: str, reason: str | None
) -> None:
    await world.apply("g1", "group1_since_childhood", carer, [person])
    await world.advance(DELAY)
    decision = world.bot.decision()
    assert (decision["outcome"], decision["reason"]) == (outcome, reason), label
    expected = [{"kind": "group1_care_monthly", "person_iin": person, "amount": 71192, "period": "monthly"}]
    assert decision["benefits"] == (expected if outcome == "assigned" else [])


async def test_a_scripted_refusal_wins_over_the_rules(world: World) -> None:
    script = {"iin": NEW_CHILD, "outcome": "refused", "reason": "incomplete_documents"}
    assert await world.post("/mock/assignment/script", script) == (200, script)
    await world.apply("app-1", "birth", MOTHER_HALYK, [NEW_CHILD])
    await world.advance(DELAY)
    decision = world.bot.decision()
    assert (decision["outcome"], decision["reason"], decision["benefits"]) == (
        "refused",
        "incomplete_documents",
        [],
    )


async def test_a_scripted_extension_tells_the_new_term_then_assigns(world: World) -> None:
    script = {"iin": "850505315614", "outcome": "extended", "reason": None}
    assert await world.post("/mock/assignment/script", script) == (200, script | {"reason": "more_documents"})
    await world.apply("app-1", "disabled_child", "850505315614", [TWIN])
    await world.advance(DELAY)
    extension = world.bot.decision()
    assert (extension["outcome"], extension["reason"], extension["decision_due"]) == (
        "extended", "more_documents", "2026-12-20",
    )  # fmt: skip
    assert extension["benefits"] == []
    await world.advance(DELAY)
    final = world.bot.decision()
    assert (final["outcome"], final["reason"], final["decision_due"]) == ("assigned", None, None)
    assert final["benefits"] == [
        {"kind": "disabled_child_monthly", "person_iin": TWIN, "amount": 81871, "period": "monthly"}
    ]


@pytest.mark.parametrize(
    ("script", "field"),
    [
        pytest.param({"iin": NEW_CHILD, "outcome": "maybe"}, "outcome", id="unknown outcome"),
        pytest.param({"iin": NEW_CHILD, "outcome": "refused", "reason": "more_documents"}, "reason",
                     id="an extension reason for a refusal"),
        pytest.param({"iin": NEW_CHILD, "outcome": "assigned", "reason": "not_eligible"}, "reason",
                     id="a reason for an assignment"),
        pytest.param({"iin": "1", "outcome": "assigned"}, "iin", id="bad IIN"),
        pytest.param({"iin": NEW_CHILD, "outcome": ["refused"]}, "outcome", id="outcome as a list"),
    ],
)  # fmt: skip
async def test_an_invalid_script_is_422(world: World, script: dict[str, Any], field: str) -> None:
    status, body = await world.post("/mock/assignment/script", script)
    assert (status, [e["field"] for e in body["errors"]]) == (422, [field])


async def test_twins_of_a_mother_of_three_get_4th_and_5th_child_rates(world: World) -> None:
    await world.apply("twins", "birth", MOTHER_OF_3, [NEW_CHILD, TWIN])
    await world.advance(DELAY)
    rates = load_rates(DEFAULT_RATES_PATH)
    one_off, monthly = rates.amount("birth_one_off", 4), rates.amount("child_care_monthly", 4)
    assert (one_off, monthly) == (272475, 38493)  # 63 MCI; 8.90 MCI = 38 492.5, rounded up
    row = ("kind", "person_iin", "amount", "period", "birth_order")
    assert world.bot.decision()["benefits"] == [
        dict(zip(row, values, strict=True))
        for values in [
            ("birth_one_off", NEW_CHILD, one_off, "one_off", 4),
            ("birth_one_off", TWIN, one_off, "one_off", 5),
            ("child_care_monthly", NEW_CHILD, monthly, "monthly", 4),
            ("child_care_monthly", TWIN, monthly, "monthly", 5),
        ]
    ]
    assert rates.amount("birth_one_off", 5) == one_off and rates.amount("child_care_monthly", 5) == monthly


async def test_a_failed_callback_is_retried_on_later_clock_moves_up_to_3_times(world: World) -> None:
    world.bot.decision_failures = 2
    await world.apply("app-1", "birth", MOTHER_HALYK, [NEW_CHILD])
    await world.advance(DELAY)
    assert [c.http_status for c in world.backend.callbacks] == [500]
    await world.advance(world.settings.callback_retry_seconds)
    await world.advance(world.settings.callback_retry_seconds)
    assert [(c.attempt, c.http_status) for c in world.backend.callbacks] == [(1, 500), (2, 500), (3, 200)]
    assert all(signature_ok(SECRET, c.headers, c.body) for c in world.backend.callbacks)
    assert len({c.headers["X-Timestamp"] for c in world.backend.callbacks}) == 3  # signed afresh each time

    world.bot.decision_failures = 100
    await world.apply("app-2", "birth", MOTHER_OF_3, [TWIN])
    await world.advance(24 * 3600)
    attempts = [c.attempt for c in world.backend.callbacks if c.payload["client_id"] == "app-2"]
    assert attempts == [1, 2, 3, 4]


class AnswersOk(Outbound):
    """The bot's side of the callbacks, answering every one 200 at once (no HTTP)."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str] | None = None) -> tuple[int, str]:
        return 200, "{}"


async def test_20000_applications_are_each_decided_once_in_due_order_at_their_own_instants() -> None:
    # A year of traffic in miniature: the indexes must fire what the scans fired, in the same order.
    rng = random.Random(2026)
    start = parse_instant(START)
    clock = SimClock(start)
    settings = MocksSettings(decision_delay_seconds=DELAY)
    backend = AssignmentBackend(settings, clock, AnswersOk(), EgovRegistry(), load_rates(DEFAULT_RATES_PATH))
    clock.add_source(backend)
    scripted = [f"{300000000000 + i:012d}" for i in range(200)]  # each named by one application only
    for iin in scripted:
        backend.script(iin, "extended", None)
    persons = [f"{200000000000 + i:012d}" for i in range(15000)]  # shared: later applications are duplicates
    seen: set[tuple[str, str]] = set()
    expected: list[tuple[dt.datetime, int, str, str, str | None]] = []  # (at, seq, client_id, outcome, reason)
    for i in range(20000):
        # Four applications an instant, each with its own delay, so due order is not acceptance order.
        await clock.move_to(start + dt.timedelta(seconds=(i // 4) * 30))
        service = rng.choice(["birth", "birth", "disabled_child"])
        person = scripted.pop() if scripted and rng.random() < 0.02 else rng.choice(persons)
        delay = rng.choice([60, 1800, DELAY, 2 * DELAY])
        settings.decision_delay_seconds = delay
        body = {
            "client_id": f"c-{i}", "service": service, "applicant_iin": f"{100000000000 + i:012d}",
            "person_iins": [person], "application_date": "2026-11-20", "iban": "KZ03601KZT0000412345",
            "callback_url": "http://bot.invalid/v1/callbacks/decision",
        }  # fmt: skip
        assert backend.accept(body)[1]
        settings.decision_delay_seconds = DELAY  # what an extension waits
        due, key = clock.now() + dt.timedelta(seconds=delay), (i + 1, f"c-{i}")
        if person.startswith("3"):
            expected += [(due, *key, "extended", "more_documents"),
                         (due + dt.timedelta(seconds=DELAY), *key, "assigned", None)]  # fmt: skip
        elif (service, person) in seen:
            expected.append((due, *key, "refused", "already_assigned"))
        else:
            expected.append((due, *key, "assigned", None))
        seen.add((service, person))
    await clock.advance(3 * DELAY)

    assert await backend.next_due() is None
    decided = [
        (parse_instant(c.payload["decided_at"]), backend.applications[c.payload["client_id"]].seq,
         c.payload["client_id"], c.payload["outcome"], c.payload["reason"])
        for c in backend.callbacks
    ]  # fmt: skip
    assert decided == sorted(expected)  # each at its due instant; at one instant, in acceptance order
    assert sum(outcome == "extended" for *_, outcome, _ in decided) > 100
    assert sum(reason == "already_assigned" for *_, reason in decided) > 1000
    finals = collections.Counter(client_id for _, _, client_id, outcome, _ in decided if outcome != "extended")
    assert len(finals) == 20000 and set(finals.values()) == {1}
    assert all(backend.by_id(a.application_id) is a for a in backend.applications.values())
    assert backend.by_id("PB-2026-0020001") is None


# Rates ---------------------------------------------------------------------------------------------

RATE_CASES = [
    ("1st child one-off: 38 MCI", "birth_one_off", 1, 164350),
    ("3rd child one-off: 38 MCI", "birth_one_off", 3, 164350),
    ("4th child one-off: 63 MCI", "birth_one_off", 4, 272475),
    ("7th child one-off: 63 MCI", "birth_one_off", 7, 272475),
    ("1st child care: 5.76 MCI", "child_care_monthly", 1, 24912),
    ("2nd child care: 6.81 MCI, rounded up", "child_care_monthly", 2, 29454),
    ("3rd child care: 7.85 MCI, rounded up", "child_care_monthly", 3, 33952),
    ("4th child care: 8.90 MCI, rounded up", "child_care_monthly", 4, 38493),
    ("disabled child: 1.61 subsistence minimums", "disabled_child_monthly", 1, 81871),
    ("group I since childhood care: 1.4 subsistence minimums", "group1_care_monthly", 1, 71192),
]


@pytest.mark.parametrize(("label", "kind", "order", "amount"), RATE_CASES, ids=[c[0] for c in RATE_CASES])
def test_rate_table_amounts(label: str, kind: str, order: int, amount: int) -> None:
    assert load_rates(DEFAULT_RATES_PATH).amount(kind, order) == amount, label


def test_rate_table_says_where_its_numbers_come_from() -> None:
    rates = load_rates(DEFAULT_RATES_PATH)
    assert (rates.year, rates.bases) == (2026, {"mci": 4325, "subsistence_minimum": 50851})
    assert "budget" in rates.source
    with pytest.raises(ValueError):
        rates.amount("birth_one_off", 0)
