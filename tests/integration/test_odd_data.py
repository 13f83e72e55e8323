"""Odd data from every outside system, fed into every step: no consent is lost, the dialog keeps going.

E-government facts (bank account at an unknown bank, malformed or of the wrong type; benefits of the wrong
shape; a record that is not an object; missing or unexpected fields), the assignment backend's answers to a
submission, the SMS gateway's receipts and delivery reports. Each case asserts that the consent given is kept
with its date, the citizen got an SMS, operators are told, and the consent ledger still verifies.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.backends.assignment import AssignmentBackend
from bot.backends.egov import UNREADABLE, EgovClient
from bot.channels.base import DeliveryReport, Outbound, SendError, SendFailure
from bot.channels.sms import SmsChannel
from bot.engine import Engine
from bot.http.common import ENGINE
from bot.jobs import GROUP, JobFailed, Worker
from bot.ledger import verify
from tests.conftest import Running
from tests.helpers import FATHER_NO_ACCOUNT, VALID_IBAN, birth, render, texts
from tests.integration.test_jobs import Bench, _bench, working

PHONE = "+77011116601"
TODAY = "2026-11-23"  # the fixtures' clock starts on this Kazakhstan day


def iban_at(bank_code: str, account: str = "KZT0000012345") -> str:
    """A Kazakhstan IBAN with correct check digits at any bank code (known to us or not)."""
    digits = "".join(str(int(c, 36)) for c in f"{bank_code}{account}KZ00")
    return f"KZ{98 - int(digits) % 97:02d}{bank_code}{account}"


UNKNOWN_BANK = iban_at("999")


class FakeEgov:
    """The e-government client answering what a test gives it (as the real one hands it on), recording asks."""

    def __init__(self, record: Any) -> None:
        self.record = record
        self.asked: list[str] = []

    async def person(self, iin: str) -> Any:
        self.asked.append(iin)
        return self.record


def _engine(running: Running) -> Engine:
    return running.system.runner.app[ENGINE]


async def _verified(running: Running) -> list[str]:
    store = _engine(running).store
    head, base = await store.ledger_head()
    return verify(await store.ledger_lines(), head, base)[1]


@dataclass
class Case:
    label: str
    record: Any  # what the e-government client hands the step
    flags: list[str] = field(default_factory=list)


EGOV_CASES = [
    Case("account at a bank code we do not know", {"bank_account": UNKNOWN_BANK}, ["account_on_record_unusable"]),
    Case("malformed IBAN on record", {"bank_account": "KZ00BAD"}, ["account_on_record_unusable"]),
    Case("IBAN with wrong check digits", {"bank_account": "KZ00601KZT0000412345"}, ["account_on_record_unusable"]),
    Case("account of the wrong type (a number)", {"bank_account": 4123456}, ["account_on_record_unusable"]),
    Case("account of the wrong type (an object)", {"bank_account": {"iban": VALID_IBAN}},
         ["account_on_record_unusable"]),
    Case("benefits not a list", {"benefits": "assigned"}, ["benefits_on_record_unreadable"]),
    Case("benefit lines of the wrong shape", {"benefits": [None, 5, {"service": 1, "state": ["paid"]}]},
         ["benefits_on_record_unreadable"]),
    Case("a record that is not an object", {UNREADABLE: True}, ["egov_record_unreadable"]),
    Case("every field missing", {}),
    Case("unexpected fields and names of the wrong type",
         {"first_name": 5, "last_name": None, "address": "x", "children_before": "many", "flags": 7}),
]


@pytest.mark.parametrize("case", EGOV_CASES, ids=[c.label for c in EGOV_CASES])
async def test_odd_egov_facts_never_lose_a_consent(running: Running, case: Case) -> None:
    client = running.client
    egov = FakeEgov(case.record)
    _engine(running).egov = egov  # type: ignore[assignment]
    status, answer, _ = await birth(client, msisdn=PHONE)
    assert status == 202 and answer["status"] == "awaiting_consent" and egov.asked
    assert len(await texts(client, PHONE)) == 1  # the offer went out

    assert await client.phone_says(PHONE, "1") == 202
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["consent"]["application_date"] == TODAY and dialog["consent"]["given_at"]
    assert dialog["status"] == "awaiting_bank_account"  # an account we cannot use is treated as none
    assert set(case.flags) <= set(dialog["flags"])
    assert (await texts(client, PHONE))[-1] == render("bank.ask", "kk", application_date=dt.date.fromisoformat(TODAY))

    assert await client.phone_says(PHONE, VALID_IBAN) == 202  # the dialog keeps going
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "submitted" and dialog["consent"]["application_date"] == TODAY
    acts = [r["act"] for r in await _engine(running).store.dialog_ledger(answer["dialog_id"])]
    assert acts == ["consent", "account_typed"] and await _verified(running) == []


async def test_an_unknown_bank_code_from_the_egov_mock_is_no_account(running: Running) -> None:
    """The reported case, through the e-government mock's own interface."""
    client = running.client
    assert await client.egov_person({"iin": FATHER_NO_ACCOUNT, "bank_account": UNKNOWN_BANK}) == 201
    _, answer, _ = await birth(client, msisdn=PHONE, parent_iin=FATHER_NO_ACCOUNT)
    assert await client.phone_says(PHONE, "1") == 202
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["consent"]["application_date"] == TODAY and dialog["status"] == "awaiting_bank_account"
    assert "account_on_record_unusable" in dialog["flags"] and dialog["bank_account"] is None
    assert len(await texts(client, PHONE)) == 2


async def test_an_unusable_account_kept_from_before_is_dropped_at_consent(running: Running) -> None:
    """A dialog stored before accounts were checked (its account on record unusable): "1" still consents."""
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE)
    store = _engine(running).store
    stored = await store.load(answer["dialog_id"])
    assert stored is not None
    stored.bank_on_record = UNKNOWN_BANK
    await store.save(stored, dict(stored.timers))
    assert await client.phone_says(PHONE, "1") == 202
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["consent"]["application_date"] == TODAY and dialog["status"] == "awaiting_bank_account"
    assert "account_on_record_unusable" in dialog["flags"]


class OddBackend:
    """The assignment backend's client raising what the real one raises on an odd answer."""

    def __init__(self) -> None:
        self.submitted: list[dict[str, Any]] = []

    async def submit(self, application: dict[str, Any]) -> str:
        self.submitted.append(application)
        raise SendError(SendFailure.BAD_CONTENT, "backend gave no usable application_id")


async def test_an_odd_backend_answer_keeps_the_consent_and_flags_the_submission(running: Running) -> None:
    client = running.client
    backend = OddBackend()
    engine = _engine(running)
    engine.assignment = engine.outbox.assignment = backend  # type: ignore[assignment]
    _, answer, _ = await birth(client, msisdn=PHONE)
    await client.phone_says(PHONE, "1")
    await client.advance(running.system.settings.duplicate_window_seconds + 1)  # reads the account question
    await client.phone_says(PHONE, "1")
    dialog = await client.dialog(answer["dialog_id"])
    assert backend.submitted and dialog["status"] == "submitted" and "submission_failed" in dialog["flags"]
    assert dialog["consent"]["application_date"] == TODAY and dialog["application"] is None
    assert [r["act"] for r in await engine.store.dialog_ledger(answer["dialog_id"])] == ["consent",
                                                                                         "account_confirmed"]


@pytest.mark.parametrize("client_id", [None, "", "d_zz", "d_0000-0000-0000-0000-9", "../../x", "x" * 5000,
                                       "{dialog}-99", "{dialog}-r9-r9"])
async def test_odd_delivery_reports_change_nothing_but_a_flag(running: Running, client_id: str | None) -> None:
    """Past the gateway's check (the engine itself): the consent, state, account and transcript stay; a `failed`
    report naming our dialog but no SMS of it only flags `delivery_failed` for an operator."""
    client = running.client
    _, answer, _ = await birth(client, msisdn=PHONE)
    await client.phone_says(PHONE, "1")
    await running.system.gateway.flush()  # the real reports first
    before = await client.dialog(answer["dialog_id"])
    named = client_id.format(dialog=answer["dialog_id"]) if client_id else client_id
    for delivered in (True, False):
        await _engine(running).delivery_report(DeliveryReport("gw-odd", named, delivered))
    after = await client.dialog(answer["dialog_id"])
    ours = bool(client_id and client_id.startswith("{dialog}"))
    assert {k: v for k, v in after.items() if k != "flags"} == {k: v for k, v in before.items() if k != "flags"}
    assert set(after["flags"]) - set(before["flags"]) == ({"delivery_failed"} if ours else set())
    assert after["status"] == "awaiting_bank_account" and after["bank_account"]["source"] == "on_record"


# ---- the clients themselves, against servers answering oddly ----------------------------------------------------


@pytest.fixture
async def odd_server() -> AsyncIterator[tuple[TestServer, list[web.Response]]]:
    answers: list[web.Response] = []

    async def answer(request: web.Request) -> web.Response:
        return answers.pop(0)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    server = TestServer(app)
    await server.start_server()
    try:
        yield server, answers
    finally:
        await server.close()


ODD_BODIES = [
    web.Response(text="<html>gateway error</html>", content_type="text/html"),
    web.Response(text="not json", content_type="application/json"),
    web.json_response([1, 2]),
    web.json_response({"application_id": 7, "message_id": 7}),
    web.json_response({"application_id": "x" * 500, "message_id": "x" * 500}),
    web.json_response({"application_id": "PB 2026\n<b>", "message_id": ""}),
]


async def test_odd_answers_from_backend_and_gateway_are_send_errors(
        odd_server: tuple[TestServer, list[web.Response]]) -> None:
    server, answers = odd_server
    base = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as session:
        backend = AssignmentBackend(session, base, 5)
        sms = SmsChannel(session, base, "1414", 5, "client-id-secret-for-this-test")
        for body in ODD_BODIES:
            answers.append(_copy(body))
            with pytest.raises(SendError) as failed:
                await backend.submit({"client_id": "c"})
            assert failed.value.failure == SendFailure.BAD_CONTENT
            answers.append(_copy(body))
            with pytest.raises(SendError) as failed:
                await sms.send(Outbound("c-1", PHONE, "text"))
            assert failed.value.failure == SendFailure.BAD_CONTENT


async def test_an_egov_answer_that_is_not_a_record_is_read_as_unreadable(
        odd_server: tuple[TestServer, list[web.Response]]) -> None:
    server, answers = odd_server
    async with aiohttp.ClientSession() as session:
        egov = EgovClient(session, str(server.make_url("")).rstrip("/"), 5)
        for body in ODD_BODIES[:3]:
            answers.append(_copy(body))
            assert await egov.person("920412412349") == {UNREADABLE: True}
        answers.append(web.json_response({"bank_account": None}))
        assert await egov.person("920412412349") == {"bank_account": None}


def _copy(response: web.Response) -> web.Response:
    """A fresh response with the same body (a response object is sent once)."""
    assert response.body is not None and isinstance(response.body, bytes)
    return web.Response(body=response.body, content_type=response.content_type)


# ---- a citizen's words that still fail: to the operators at once ----------------------------------------------


@pytest.fixture(params=["redis", "fakeredis"])
async def bench(request: pytest.FixtureRequest) -> AsyncIterator[Bench]:
    if request.param == "redis":
        request.applymarker(pytest.mark.integration)
    async with _bench(request.param) as b:
        yield b


async def test_a_citizens_message_that_fails_is_dead_lettered_at_once(bench: Bench) -> None:
    calls: list[dict[str, Any]] = []

    async def broken(payload: dict[str, Any]) -> dict[str, Any]:
        calls.append(payload)
        raise RuntimeError(f"bug while reading a reply from {payload['msisdn']}")

    queue = bench.queue()
    # The defaults: an ordinary job would be retried for ten minutes before it is given up.
    async with working(Worker(queue, {"inbound": broken}, block_ms=50)):
        with pytest.raises(JobFailed) as failed:
            await queue.run("inbound", {"msisdn": PHONE, "text": "1"})
    assert failed.value.code == "dead_letter" and len(calls) == 1
    [letter] = await queue.dead_letters()
    assert letter["kind"] == "inbound" and letter["deliveries"] == 1
    assert "RuntimeError" in letter["error"] and PHONE not in letter["error"]  # masked for operators
    assert await bench.redis.xlen(bench.keys.jobs()) == 0
    summary: Any = await bench.redis.xpending(bench.keys.jobs(), GROUP)
    assert int(summary["pending"]) == 0


async def test_a_citizens_message_waiting_for_a_locked_phone_is_not_dead_lettered(bench: Bench) -> None:
    from redis.exceptions import LockError

    attempts: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def locked_once(payload: dict[str, Any]) -> dict[str, Any]:
        attempts.append(payload)
        if len(attempts) == 1:
            raise LockError("held by a worker that died")
        done.set()
        return {}

    queue = bench.queue()
    async with working(Worker(queue, {"inbound": locked_once}, claim_idle_seconds=0.1, block_ms=50)):
        with pytest.raises(JobFailed) as failed:
            await queue.run("inbound", {"msisdn": PHONE, "text": "1"})
        assert failed.value.code == "busy"
        await asyncio.wait_for(done.wait(), 10)
    assert len(attempts) == 2 and await queue.dead_letters() == []


async def test_a_failing_sms_reply_is_answered_and_shown_to_operators_at_once(running: Running) -> None:
    client = running.client
    engine = _engine(running)
    _, answer, _ = await birth(client, msisdn=PHONE)

    async def broken(*args: Any) -> None:
        raise RuntimeError("a bug nobody foresaw")

    real = engine._reply
    engine._reply = broken  # type: ignore[method-assign]
    assert await client.phone_says(PHONE, "1") == 202  # kept, not a 500: the aggregator need not resend it
    letters = await engine.store.redis.xrange(engine.store.keys.dead_letters())
    assert len(letters) == 1
    engine._reply = real  # type: ignore[method-assign]
    assert (await client.dialog(answer["dialog_id"]))["consent"] is None  # until an operator replays it
    async with client.session.post(f"{running.system.url}/ops/api/dead-letters/{letters[0][0].decode()}/replay",
                                   headers={"Authorization": "Bearer dev-operator", "X-Operator": "Айгүл"}) as resp:
        assert resp.status == 200
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["consent"]["application_date"] == TODAY


async def _replay_only_letter(running: Running, channel: str) -> None:
    engine = _engine(running)
    letters = await engine.store.redis.xrange(engine.store.keys.dead_letters())
    assert len(letters) == 1 and json.loads(letters[0][1][b"payload"])["channel"] == channel
    async with running.client.session.post(
            f"{running.system.url}/ops/api/dead-letters/{letters[0][0].decode()}/replay",
            headers={"Authorization": "Bearer dev-operator", "X-Operator": "Айгүл"}) as resp:
        assert resp.status == 200


@pytest.mark.parametrize("channel", ["ussd", "telegram"])
async def test_a_failing_answer_on_ussd_or_telegram_goes_to_operators_at_once(running: Running,
                                                                               channel: str) -> None:
    client = running.client
    engine = _engine(running)
    _, answer, _ = await birth(client, msisdn=PHONE)
    if channel == "telegram":
        await client.telegram_start(501)
        assert (await client.telegram_shares(501, PHONE))[0] == 200
    else:
        assert (await client.ussd(PHONE, "*1414#"))[0] == 200

    async def broken(*args: Any) -> None:
        raise RuntimeError("a bug nobody foresaw")

    real = engine._reply
    engine._reply = broken  # type: ignore[method-assign]
    status, _ = await (client.telegram_says(501, "1") if channel == "telegram" else client.ussd(PHONE, "1"))
    assert status == 200  # the gateway is answered; the answer waits for an operator, not for its retries
    engine._reply = real  # type: ignore[method-assign]
    assert (await client.dialog(answer["dialog_id"]))["consent"] is None
    await _replay_only_letter(running, channel)
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["consent"]["application_date"] == TODAY and dialog["consent"]["channel"] == channel


async def test_a_replayed_tap_still_answers_only_its_own_question(running: Running) -> None:
    """A consent tap that failed waits for an operator; meanwhile the citizen agrees by SMS. Replayed, the tap is
    the consent button it was, on a question now closed: it never confirms the account shown since."""
    client = running.client
    engine = _engine(running)
    _, answer, _ = await birth(client, msisdn=PHONE)
    await client.telegram_start(501)
    assert (await client.telegram_shares(501, PHONE))[0] == 200

    async def broken(*args: Any) -> None:
        raise RuntimeError("a bug nobody foresaw")

    real = engine._reply
    engine._reply = broken  # type: ignore[method-assign]
    assert (await client.telegram_presses(501, "consent:1"))[0] == 200
    engine._reply = real  # type: ignore[method-assign]
    assert await client.phone_says(PHONE, "иә") == 202
    assert (await client.dialog(answer["dialog_id"]))["status"] == "awaiting_bank_account"
    await _replay_only_letter(running, "telegram")
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "awaiting_bank_account" and dialog["bank_account"]["source"] == "on_record"
    assert dialog["transcript"][-1]["status"] == "closed"


async def test_a_replayed_ussd_answer_shows_its_screen_to_no_session(running: Running) -> None:
    """The session that sent the answer ended long before an operator replays it: the screen the replay decides
    is recorded as not shown (the next dial shows the question), never as sent to a session nobody reads."""
    client = running.client
    engine = _engine(running)
    _, answer, _ = await birth(client, msisdn=PHONE)
    assert (await client.ussd(PHONE, "*1414#"))[0] == 200

    async def broken(*args: Any) -> None:
        raise RuntimeError("a bug nobody foresaw")

    real = engine._reply
    engine._reply = broken  # type: ignore[method-assign]
    assert (await client.ussd(PHONE, "1"))[0] == 200
    engine._reply = real  # type: ignore[method-assign]
    await _replay_only_letter(running, "ussd")
    dialog = await engine.store.load(answer["dialog_id"])
    assert dialog is not None and dialog.consent is not None
    shown = [line for line in dialog.transcript if line["direction"] == "out" and line["channel"] == "ussd"]
    assert shown[-1]["msg"] == "ussd.bank.confirm" and shown[-1].get("status") == "not_shown"
