"""Kannel's two ways in: smsbox's get-url (a citizen's SMS) and our dlr-url (a delivery report).

get-url cannot sign, so it must carry the SMS gateway's Basic credentials (or token); an HMAC-only deployment
refuses it with a message saying what to allow. A report is taken only with the signature of its own SMS's id
under SMS_GATEWAY_SECRET, and an id with our tag. Each attack is made against a phone with an open dialog, and
nothing may change: every Redis key under the test's prefix, the dialog, and the SMS sent. Each route also has
a case that is let in, so that these tests can fail.
"""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

import pytest

from bot.channels.kannel import dlr_signature
from bot.channels.sms import tagged
from bot.settings import Settings
from tests.conftest import Running, start_running, stop_running
from tests.security.test_gateway_auth import PHONE, World, open_dialog, world

MO = "/v1/inbound/sms/kannel"
DLR = "/v1/inbound/sms/kannel/status"


def basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def mo_query(text: str = "1", message_id: str = "k-mo-1") -> str:
    return urllib.parse.urlencode({"id": message_id, "from": PHONE.lstrip("+"), "to": "1414", "coding": "0",
                                   "charset": "UTF-8", "text": text})


async def get(running: Running, path: str, query: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with running.client.session.get(f"{running.system.url}{path}?{query}", headers=headers or {}) as resp:
        body = await resp.read()  # Kannel is answered with an empty body when the call is taken
        return resp.status, await resp.json(content_type=None) if body else None


async def unchanged(running: Running, dialog_id: str, before: World) -> None:
    assert await world(running, dialog_id) == before


def good_basic(running: Running) -> dict[str, str]:
    settings = running.system.settings
    return basic(settings.sms_gateway_user, settings.sms_gateway_secret)


@pytest.mark.parametrize("headers", [
    {},
    basic("sms-gateway", "wrong"),
    basic("someone", "dev-sms-gateway-secret"),
    basic("ussd-gateway", "dev-ussd-gateway-secret"),   # the other gateway's credential
    {"X-Gateway-Token": "dev-ussd-gateway-secret"},
    {"Authorization": "Bearer dev-operator"},
    # An HMAC signature cannot cover a query: on this route it is no credential at all.
    {"X-Timestamp": "1795000000", "X-Signature": "sha256=" + "0" * 64},
], ids=["none", "wrong-password", "wrong-user", "ussd-credential", "ussd-token", "operator-token", "hmac"])
async def test_a_get_url_call_without_the_sms_gateways_credential_consents_to_nothing(
        real: Running, headers: dict[str, str]) -> None:
    dialog_id = await open_dialog(real)
    before = await world(real, dialog_id)
    status, body = await get(real, MO, mo_query(), headers)
    assert status == 401 and body["errors"][0]["code"] == "unauthorized"
    await unchanged(real, dialog_id, before)


async def test_the_sms_gateways_basic_credential_is_let_in_and_consents(real: Running) -> None:
    dialog_id = await open_dialog(real)
    status, _ = await get(real, MO, mo_query(), good_basic(real))
    assert status == 200
    assert (await real.client.dialog(dialog_id))["consent"] is not None


async def test_an_hmac_only_deployment_refuses_get_url_and_says_what_to_allow() -> None:
    running, prefix = await start_running("redis", sms_gateway_auth=("hmac",))
    try:
        dialog_id = await open_dialog(running)
        before = await world(running, dialog_id)
        status, body = await get(running, MO, mo_query(), good_basic(running))
        assert status == 401 and "SMS_GATEWAY_AUTH" in body["errors"][0]["message"]
        await unchanged(running, dialog_id, before)
    finally:
        await stop_running(running, prefix)


def test_serve_refuses_kannel_with_a_gateway_that_may_only_sign() -> None:
    with pytest.raises(ValueError, match="SMS_GATEWAY_AUTH to allow basic"):
        Settings.from_env({"SMS_GATEWAY_KIND": "kannel", "SMS_GATEWAY_AUTH": "hmac"})
    assert Settings.from_env({"SMS_GATEWAY_KIND": "kannel", "SMS_GATEWAY_AUTH": "basic"}).sms_gateway_kind == "kannel"
    with pytest.raises(ValueError, match="SMS_GATEWAY_KIND"):
        Settings.from_env({"SMS_GATEWAY_KIND": "smpp"})
    # Kannel 1.4.5 wraps a long Basic header and breaks it: refused at start, not 400 on every citizen's SMS.
    with pytest.raises(ValueError, match="57"):
        Settings.from_env({"SMS_GATEWAY_KIND": "kannel", "SMS_GATEWAY_AUTH": "basic", "SMS_GATEWAY_SECRET": "x" * 46})
    assert Settings.from_env({"SMS_GATEWAY_KIND": "kannel", "SMS_GATEWAY_AUTH": "basic",
                              "SMS_GATEWAY_SECRET": "x" * 45}).sms_gateway_secret == "x" * 45


async def offer_wire_id(running: Running, dialog_id: str) -> str:
    dialog = await running.client.dialog(dialog_id)
    assert dialog["transcript"][0]["direction"] == "out"
    [sent] = [s for s in running.system.gateway.sent if s["to"] == PHONE]
    return str(sent["client_id"])


def dlr_query(wire: str, kind: int, sig: str) -> str:
    return urllib.parse.urlencode({"id": wire, "sig": sig, "type": str(kind)})


async def test_forged_failure_reports_resend_nothing(real: Running) -> None:
    dialog_id = await open_dialog(real)
    wire = await offer_wire_id(real, dialog_id)
    secret = real.system.settings.sms_gateway_secret
    other = tagged(real.system.settings.sms_client_id_secret, f"{dialog_id}-99")
    before = await world(real, dialog_id)
    forgeries = [
        dlr_query(wire, 2, ""),                                    # no signature
        dlr_query(wire, 2, dlr_signature("dev-ussd-gateway-secret", wire)),   # signed with another secret
        dlr_query(wire, 2, dlr_signature(secret, other)),          # another SMS's signature
        dlr_query(wire.rpartition(".")[0] + ".0123456789abcdef", 2,
                  dlr_signature(secret, wire.rpartition(".")[0] + ".0123456789abcdef")),   # a made-up tag
    ]
    for query in forgeries:
        status, body = await get(real, DLR, query)
        assert status == 403 and body["errors"][0]["code"] == "not_ours", query
    await real.client.advance(6 * 3600)  # past every delivery retry: a forged failure would have resent
    after = await world(real, dialog_id)
    assert after.sent == before.sent
    assert after.dialog["transcript"] == before.dialog["transcript"]


async def test_a_signed_report_is_taken_and_its_repeat_changes_nothing(real: Running) -> None:
    dialog_id = await open_dialog(real)
    wire = await offer_wire_id(real, dialog_id)
    query = dlr_query(wire, 1, dlr_signature(real.system.settings.sms_gateway_secret, wire))
    status, body = await get(real, DLR, query)
    assert status == 200 and body is None
    once = await world(real, dialog_id)
    assert once.dialog["transcript"][0].get("delivered_at") or once.dialog["transcript"][0].get("status")
    status, _ = await get(real, DLR, query)  # smsbox calls again when it did not hear the answer
    assert status == 200
    assert await world(real, dialog_id) == once


async def test_buffered_and_smsc_accepted_reports_change_nothing(real: Running) -> None:
    dialog_id = await open_dialog(real)
    wire = await offer_wire_id(real, dialog_id)
    before = await world(real, dialog_id)
    sig = dlr_signature(real.system.settings.sms_gateway_secret, wire)
    for kind in (4, 8):
        status, body = await get(real, DLR, dlr_query(wire, kind, sig))
        assert status == 200 and body is None
    after = await world(real, dialog_id)
    assert (after.dialog, after.sent) == (before.dialog, before.sent)
    # The one thing written: Kannel has this SMS, so a repeat of its send will not go out (bot/channels/kannel.py).
    assert {k: v for k, v in after.keys.items() if b":gw-receipt:" not in k} == before.keys
