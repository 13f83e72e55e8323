"""Issue 11, item 1: only the SMS and USSD gateways speak for a citizen, and a report only about an SMS we sent.

Each attack is made against a phone with an open dialog; then nothing may have changed: the dialog (state and
transcript), the SMS the gateway took, and every Redis key under the test's prefix (no job, no step, no seen id,
no flood count). Each scheme also has a case that is let in, so that these tests can fail.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.backends.assignment import sign
from bot.channels.sms import untagged
from bot.http.common import ENGINE
from tests.conftest import Running, start_running, stop_running
from tests.helpers import birth
from tests.integration.test_delivery import CountsReportSteps

PHONE = "+77011119001"
SMS = "/v1/inbound/sms"
STATUS = "/v1/inbound/sms/status"
USSD = "/v1/ussd"


async def snapshot(running: Running) -> dict[str, Any]:
    """Every key under the test's prefix with its value, whatever its type."""
    redis, found = running.redis, {}
    async for key in redis.scan_iter(match=f"{running.system.settings.key_prefix}:*", count=1000):
        kind = (await redis.type(key)).decode()
        if kind == "string":
            value: Any = await redis.get(key)
        elif kind == "hash":
            value = await redis.hgetall(key)
        elif kind == "zset":
            value = await redis.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            value = sorted(await redis.smembers(key))
        elif kind == "list":
            value = await redis.lrange(key, 0, -1)
        elif kind == "stream":
            value = await redis.xrange(key)
        else:
            value = kind
        found[key] = value
    return found


@dataclass
class World:
    """What an attack must leave as it was."""

    keys: dict[str, Any]
    dialog: dict[str, Any]
    sent: int


async def world(running: Running, dialog_id: str) -> World:
    await running.system.gateway.flush()  # the offer's delivery report is in
    return World(await snapshot(running), await running.client.dialog(dialog_id), len(running.system.gateway.sent))


async def open_dialog(running: Running) -> str:
    _, answer, _ = await birth(running.client, msisdn=PHONE)
    assert answer["status"] == "awaiting_consent"
    return str(answer["dialog_id"])


async def post(running: Running, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with running.client.session.post(f"{running.system.url}{path}", data=body, headers=headers) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if resp.content_type == "application/json" else text


def consent(message_id: str = "agg-attack-1") -> bytes:
    """The one post that would record a citizen's consent."""
    return json.dumps({"message_id": message_id, "from": PHONE, "to": "1414", "text": "1"}).encode()


def signed(secret: str, body: bytes, at: int) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Timestamp": str(at), "X-Signature": sign(secret, str(at), body)}


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Content-Type": "application/json", "Authorization": f"Basic {token}"}


@pytest.fixture
async def clock_now(real: Running) -> int:
    return await real.client.now_ts()


# ---- attacks on POST /v1/inbound/sms: each a 401 that leaves everything as it was ------------------------------


@dataclass
class Attack:
    label: str
    headers: Callable[[bytes, int], dict[str, str]]
    status: int = 401


SMS_SECRET = "dev-sms-gateway-secret"
ATTACKS = [
    Attack("no credential at all", lambda body, now: {"Content-Type": "application/json"}),
    Attack("signed with another secret", lambda body, now: signed("attacker-guess", body, now)),
    Attack("signed with the USSD gateway's secret", lambda body, now: signed("dev-ussd-gateway-secret", body, now)),
    Attack("a right signature of another body", lambda body, now: signed(SMS_SECRET, body + b" ", now)),
    Attack("a stale timestamp (301 s old)", lambda body, now: signed(SMS_SECRET, body, now - 301)),
    Attack("a timestamp from the future (301 s)", lambda body, now: signed(SMS_SECRET, body, now + 301)),
    Attack("a signature without its timestamp",
           lambda body, now: {"X-Signature": signed(SMS_SECRET, body, now)["X-Signature"]}),
    Attack("a non-ASCII X-Signature", lambda body, now: {**signed(SMS_SECRET, body, now),
                                                         "X-Signature": "sha256=ключ²"}),
    Attack("a non-ASCII X-Timestamp", lambda body, now: {**signed(SMS_SECRET, body, now), "X-Timestamp": "١٧٠٠"}),
    Attack("a wrong Basic password", lambda body, now: basic("sms-gateway", "dev-sms-gateway-secreT")),
    Attack("the right password under another user", lambda body, now: basic("admin", SMS_SECRET)),
    Attack("Basic that is not base64", lambda body, now: {"Authorization": "Basic ***"}),
    Attack("Basic without a colon", lambda body, now: {
        "Authorization": "Basic " + base64.b64encode(SMS_SECRET.encode()).decode()}),
    Attack("a non-ASCII Basic credential", lambda body, now: {"Authorization": "Basic ключ"}),
    Attack("a wrong gateway token", lambda body, now: {"X-Gateway-Token": "dev-sms-gateway-secre"}),
    Attack("the USSD gateway's token", lambda body, now: {"X-Gateway-Token": "dev-ussd-gateway-secret"}),
    Attack("the operator's bearer token", lambda body, now: {"Authorization": "Bearer dev-operator"}),
]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.label for a in ATTACKS])
async def test_an_unauthenticated_consent_is_refused_and_changes_nothing(real: Running, clock_now: int,
                                                                           attack: Attack) -> None:
    dialog_id = await open_dialog(real)
    before = await world(real, dialog_id)
    body = consent()
    status, answer = await post(real, SMS, body, attack.headers(body, clock_now))
    assert status == attack.status, answer
    assert answer["errors"][0]["code"] == "unauthorized"
    assert await world(real, dialog_id) == before
    # The real gateway's message with that id still counts: the forged post claimed nothing.
    assert await real.client.post_sms(json.loads(body)) == (200, {"accepted": True})
    assert (await real.client.dialog(dialog_id))["status"] == "awaiting_bank_account"


async def test_eleven_unauthenticated_posts_leave_no_flood_count(real: Running, clock_now: int) -> None:
    dialog_id = await open_dialog(real)
    before = await world(real, dialog_id)
    for n in range(real.system.settings.inbound_per_minute + 1):
        assert (await post(real, SMS, consent(f"agg-flood-{n}"), {}))[0] == 401
    assert await world(real, dialog_id) == before
    assert await real.client.post_sms(json.loads(consent("agg-real"))) == (200, {"accepted": True})
    dialog = await real.client.dialog(dialog_id)
    assert dialog["status"] == "awaiting_bank_account" and "flooding" not in dialog["flags"]


OK = [
    ("HMAC", lambda body, now: signed(SMS_SECRET, body, now)),
    ("HMAC at the edge of the window", lambda body, now: signed(SMS_SECRET, body, now - 300)),
    ("HTTP Basic", lambda body, now: basic("sms-gateway", SMS_SECRET)),
    ("Basic in the URL", None),
    ("a gateway token", lambda body, now: {"X-Gateway-Token": SMS_SECRET}),
]


@pytest.mark.parametrize(("label", "headers"), OK, ids=[o[0] for o in OK])
async def test_each_scheme_lets_the_gateway_in(real: Running, clock_now: int, label: str,
                                               headers: Callable[[bytes, int], dict[str, str]] | None) -> None:
    dialog_id = await open_dialog(real)
    body = consent()
    if headers is None:  # Kannel's get-url: http://user:password@host/…, sent as an Authorization header
        url = real.system.url.replace("http://", f"http://sms-gateway:{SMS_SECRET}@")
        async with real.client.session.post(f"{url}{SMS}", data=body) as resp:
            assert resp.status == 200
    else:
        assert (await post(real, SMS, body, headers(body, clock_now)))[0] == 200
    assert (await real.client.dialog(dialog_id))["status"] == "awaiting_bank_account"


# ---- each gateway's own settings ---------------------------------------------------------------------------


@pytest.fixture
async def configured(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    """A system on real Redis with the gateway settings the test is parametrised with."""
    running, prefix = await start_running("redis", **request.param)
    try:
        yield running
    finally:
        await stop_running(running, prefix)


@pytest.mark.parametrize("configured", [{"sms_gateway_auth": ("hmac",)}], indirect=True)
async def test_a_scheme_the_gateway_is_not_set_up_for_is_refused(configured: Running) -> None:
    dialog_id = await open_dialog(configured)
    before = await world(configured, dialog_id)
    for headers in (basic("sms-gateway", SMS_SECRET), {"X-Gateway-Token": SMS_SECRET}):
        status, answer = await post(configured, SMS, consent(), headers)
        assert status == 401 and "X-Timestamp and X-Signature" in answer["errors"][0]["message"]
    assert await world(configured, dialog_id) == before


@pytest.mark.parametrize("configured", [{"sms_gateway_allow": ("10.0.0.0/8",)}], indirect=True)
async def test_a_signed_post_from_outside_the_allow_list_is_refused(configured: Running) -> None:
    dialog_id = await open_dialog(configured)
    before = await world(configured, dialog_id)
    now, body = await configured.client.now_ts(), consent()
    status, answer = await post(configured, SMS, body, signed(SMS_SECRET, body, now))
    assert status == 403 and answer["errors"][0]["code"] == "forbidden_source"
    assert await world(configured, dialog_id) == before


@pytest.mark.parametrize("configured", [{"sms_gateway_allow": ("10.0.0.0/8",)}], indirect=True)
async def test_a_spoofed_x_forwarded_for_counts_for_nothing_without_a_trusted_proxy(configured: Running) -> None:
    dialog_id = await open_dialog(configured)
    before = await world(configured, dialog_id)
    now, body = await configured.client.now_ts(), consent()
    headers = {**signed(SMS_SECRET, body, now), "X-Forwarded-For": "10.1.2.3"}
    assert (await post(configured, SMS, body, headers))[0] == 403
    assert await world(configured, dialog_id) == before


TRUSTED = {"sms_gateway_allow": ("10.0.0.0/8",), "trusted_proxies": ("127.0.0.1/32",)}


@pytest.mark.parametrize("configured", [TRUSTED], indirect=True)
async def test_behind_a_trusted_proxy_only_the_address_it_saw_counts(configured: Running) -> None:
    dialog_id = await open_dialog(configured)
    before = await world(configured, dialog_id)
    now, body = await configured.client.now_ts(), consent()
    # The client wrote "10.1.2.3" itself; our proxy appended where it really came from.
    spoofed = {**signed(SMS_SECRET, body, now), "X-Forwarded-For": "10.1.2.3, 203.0.113.9"}
    assert (await post(configured, SMS, body, spoofed))[0] == 403
    garbage = {**signed(SMS_SECRET, body, now), "X-Forwarded-For": "10.1.2.3, not-an-address"}
    assert (await post(configured, SMS, body, garbage))[0] == 403
    assert await world(configured, dialog_id) == before
    honest = {**signed(SMS_SECRET, body, now), "X-Forwarded-For": "203.0.113.9, 10.1.2.3"}
    assert (await post(configured, SMS, body, honest))[0] == 200
    assert (await configured.client.dialog(dialog_id))["status"] == "awaiting_bank_account"


# ---- the USSD gateway -------------------------------------------------------------------------------------


USSD_ATTACKS = [
    ("no credential", lambda body, now: {}),
    ("the SMS gateway's signature", lambda body, now: signed(SMS_SECRET, body, now)),
    ("the SMS gateway's Basic credentials", lambda body, now: basic("sms-gateway", SMS_SECRET)),
    ("a stale signature", lambda body, now: signed("dev-ussd-gateway-secret", body, now - 301)),
]


@pytest.mark.parametrize(("label", "headers"), USSD_ATTACKS, ids=[a[0] for a in USSD_ATTACKS])
async def test_an_unauthenticated_ussd_answer_is_refused_and_changes_nothing(
        real: Running, clock_now: int, label: str, headers: Callable[[bytes, int], dict[str, str]]) -> None:
    dialog_id = await open_dialog(real)
    before = await world(real, dialog_id)
    form = {"sessionId": "attack-1", "serviceCode": "*1414#", "phoneNumber": PHONE}
    for text in ("", "1"):
        body = urlencode({**form, "text": text}).encode()
        all_headers = {**headers(body, clock_now), "Content-Type": "application/x-www-form-urlencoded"}
        status, answer = await post(real, USSD, body, all_headers)
        assert status == 401 and answer["errors"][0]["code"] == "unauthorized"
    assert await world(real, dialog_id) == before
    # The gateway's own post of the same session is taken.
    assert (await real.client.post_ussd(urlencode({**form, "text": ""}).encode()))[0] == 200


# ---- delivery reports: only about an SMS we sent ------------------------------------------------------------


async def test_a_forged_failed_report_resends_nothing(real: Running) -> None:
    dialog_id = await open_dialog(real)
    before = await world(real, dialog_id)
    steps = CountsReportSteps(real.system.runner.app[ENGINE])
    [sent] = [s for s in real.system.gateway.sent if s["to"] == PHONE]
    ours = untagged(real.system.settings.sms_client_id_secret, sent["client_id"])
    assert ours == f"{dialog_id}-1"  # what an attacker can guess from the dialog id alone
    wrong_tag = f"{ours}.{'0' * 16}"
    for client_id in (ours, wrong_tag, f"{ours}.", sent["client_id"] + "0", None):
        report = {"message_id": sent["message_id"], "status": "failed",
                  **({"client_id": client_id} if client_id else {})}
        status, answer = await real.client.post_delivery_report(report)  # authenticated as the gateway
        assert status == (403 if client_id else 422), answer
        assert answer["errors"][0]["field"] == "client_id"
    assert await world(real, dialog_id) == before
    assert steps.steps == 0
    await real.client.advance(max(real.system.settings.delivery_retry_seconds) * 2)  # every resend would be due
    await real.system.gateway.flush()
    assert len(real.system.gateway.sent) == before.sent
    dialog = await real.client.dialog(dialog_id)
    assert [line["status"] for line in dialog["transcript"]] == ["delivered"]
    assert "delivery_failed" not in dialog["flags"]


async def test_a_report_under_the_tag_we_sent_is_taken(real: Running) -> None:
    """The control: the gateway's own `failed` report, echoing the tagged id, reaches the dialog (a step; it is
    then overtaken by the `delivered` one the gateway already sent, so nothing is resent)."""
    await open_dialog(real)
    await real.system.gateway.flush()
    steps = CountsReportSteps(real.system.runner.app[ENGINE])
    [sent] = [s for s in real.system.gateway.sent if s["to"] == PHONE]
    report = {"message_id": sent["message_id"], "client_id": sent["client_id"], "status": "failed"}
    assert await real.client.post_delivery_report(report) == (200, {"accepted": True})
    assert steps.steps == 1


async def test_a_forged_report_without_credentials_is_a_401_before_its_client_id_is_looked_at(real: Running) -> None:
    dialog_id = await open_dialog(real)
    before = await world(real, dialog_id)
    [sent] = [s for s in real.system.gateway.sent if s["to"] == PHONE]
    body = json.dumps({"message_id": sent["message_id"], "client_id": sent["client_id"], "status": "failed"})
    assert (await post(real, STATUS, body.encode(), {"Content-Type": "application/json"}))[0] == 401
    assert await world(real, dialog_id) == before


def test_a_tag_is_bound_to_its_client_id_and_to_the_secret() -> None:
    from bot.channels.sms import tagged

    one = tagged("s" * 32, "d_00ab-1")
    assert untagged("s" * 32, one) == "d_00ab-1"
    assert untagged("t" * 32, one) is None  # another deployment's secret
    assert untagged("s" * 32, one.replace("-1.", "-2.")) is None  # another SMS of the same dialog
    assert untagged("s" * 32, "d_00ab-1") is None
