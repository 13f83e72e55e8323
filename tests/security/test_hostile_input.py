"""Hostile bodies posted to every JSON way in: each is a 4xx naming the field, never a 500, and changes nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from tests.conftest import Running
from tests.helpers import birth
from tests.security.gateway import ENDPOINTS, build, send

MSISDN = "+77015550101"


@dataclass(frozen=True)
class Case:
    label: str
    body: bytes
    field: str  # the JSON path the 422 names
    code: str


def _json_with(raw_value: str) -> bytes:
    """A plausible SMS-shaped object whose `text` holds a raw JSON fragment."""
    return ('{"message_id": "m-1", "from": "' + MSISDN + '", "to": "1414", "text": ' + raw_value + "}").encode()


CASES = [
    Case("deep nesting past the recursion limit", b"[" * 30000 + b"]" * 30000, "$", "too_deep"),
    Case("deep nesting under the recursion limit", b'{"a":' * 200 + b"1" + b"}" * 200, "$" + ".a" * 32, "too_deep"),
    Case("a 5,000-digit integer", _json_with("1" * 5000), "$", "number_out_of_range"),
    Case("a negative 30-digit integer", _json_with("-" + "9" * 30), "$", "number_out_of_range"),
    Case("1e999 (infinity)", _json_with("1e999"), "$", "number_out_of_range"),
    Case("NaN", _json_with("NaN"), "$", "number_out_of_range"),
    Case("-Infinity", _json_with("-Infinity"), "$", "number_out_of_range"),
    Case("a lone surrogate in a string", _json_with('"\\ud800"'), "$.text", "invalid_string"),
    Case("a lone surrogate in a key", b'{"\\udfff": 1}', "$.?", "invalid_string"),
    Case("a huge array", _json_with("[" + ",".join(["0"] * 20000) + "]"), "$.text", "too_many_items"),
    Case("not UTF-8", b'{"text": "\xff\xfe"}', "$", "malformed_json"),
    Case("not JSON", b"{'text': 1}", "$", "malformed_json"),
]


async def _snapshot(run: Running, dialog_id: str) -> tuple[object, ...]:
    dialog = await run.client.dialog(dialog_id)
    keys = [k async for k in run.redis.scan_iter(match=f"{run.system.settings.key_prefix}:*", count=1000)
            if b":ops:failures:" not in k]  # a refused operator credential is counted for the throttle, by design
    return dialog["status"], len(dialog["transcript"]), len(await run.client.inbox(MSISDN)), sorted(keys)


@pytest.fixture
async def dialog_id(real: Running) -> str:
    status, answer, _ = await birth(real.client, msisdn=MSISDN)
    assert status == 202
    await real.system.gateway.flush()  # delivery reports still in flight would change the transcript
    return str(answer["dialog_id"])


async def test_every_hostile_body_is_a_422_naming_the_field_on_every_endpoint(real: Running, dialog_id: str) -> None:
    before = await _snapshot(real, dialog_id)
    seen = []
    for endpoint in ENDPOINTS:
        for case in CASES:
            post = await build(real, endpoint, case.body, dialog_id=dialog_id)
            status, text = await send(real, post)
            label = f"{endpoint}: {case.label}"
            assert status == 422, (label, status, text[:300])
            error = json.loads(text)["errors"][0]
            assert error["field"] == case.field, (label, error)
            if endpoint != "ussd":  # the USSD adapter reports every unreadable post as `invalid`
                assert error["code"] == case.code, (label, error)
            seen.append(label)
    assert len(seen) == len(ENDPOINTS) * len(CASES)
    assert await _snapshot(real, dialog_id) == before  # no step, no SMS, no key written


@pytest.mark.parametrize("endpoint", ["events", "decision"])
@pytest.mark.parametrize("signature", ["sha256=é", "sha256=" + "ü" * 64, "²", "sha256=" + "A" * 64])
async def test_a_malformed_signature_is_a_401_not_a_500(real: Running, dialog_id: str, endpoint: str,
                                                        signature: str) -> None:
    before = await _snapshot(real, dialog_id)
    body = b'{"application_id": "A-1", "outcome": "assigned"}'
    post = await build(real, endpoint, body, headers={"X-Signature": signature})
    status, text = await send(real, post)
    assert status == 401, text
    assert json.loads(text)["errors"][0]["code"] == "unauthorized"
    assert await _snapshot(real, dialog_id) == before


@pytest.mark.parametrize("timestamp", ["²", "١٧٠٠٠٠٠٠٠٠", "1_700_000_000", "9" * 5000])
async def test_a_malformed_timestamp_is_a_401_not_a_500(real: Running, dialog_id: str, timestamp: str) -> None:
    before = await _snapshot(real, dialog_id)
    post = await build(real, "decision", b"{}", headers={"X-Timestamp": timestamp})
    status, text = await send(real, post)
    assert status == 401, text
    assert await _snapshot(real, dialog_id) == before


@pytest.mark.parametrize(("endpoint", "header"), [
    ("telegram", "X-Telegram-Bot-Api-Secret-Token"),
    ("ops_note", "Authorization"),
])
async def test_a_non_ascii_secret_header_is_refused_not_a_500(real: Running, dialog_id: str, endpoint: str,
                                                              header: str) -> None:
    before = await _snapshot(real, dialog_id)
    value = "Bearer ключ€" if header == "Authorization" else "секрет€"
    post = await build(real, endpoint, b'{"text": "hello"}', dialog_id=dialog_id, headers={header: value})
    status, text = await send(real, post)
    assert status == 401, text
    assert await _snapshot(real, dialog_id) == before


@pytest.mark.parametrize("query", ["cursor=²", "cursor=" + "9" * 5000, "limit=1e999", "limit=NaN"])
async def test_hostile_list_queries_are_a_422(real: Running, query: str) -> None:
    async with real.client.session.get(f"{real.system.url}/v1/dialogs?msisdn=%2B77015550101&{query}",
                                       headers={"Authorization": "Bearer dev-operator"}) as resp:
        assert resp.status == 422, await resp.text()
        assert (await resp.json())["errors"][0]["field"] in ("cursor", "limit")


FORMS = [
    ("multipart without a boundary", b"--x\r\n", "multipart/form-data"),
    ("a broken multipart part", b"--x\r\ngarbage", "multipart/form-data; boundary=x"),
    ("a form that is not UTF-8", b"token=\xff\xfe&name=a", "application/x-www-form-urlencoded"),
    ("a form in an unknown charset", b"token=a&name=a", "application/x-www-form-urlencoded; charset=koi8-zz"),
]


@pytest.mark.parametrize("path", ["/ops/login", "/ops/dialogs/{id}/note", "/ops/api/dialogs/{id}/close"])
@pytest.mark.parametrize(("label", "body", "content_type"), FORMS, ids=[f[0] for f in FORMS])
async def test_an_unreadable_console_form_is_a_422_not_a_500(real: Running, dialog_id: str, path: str, label: str,
                                                             body: bytes, content_type: str) -> None:
    before = await _snapshot(real, dialog_id)
    headers = {"Content-Type": content_type, "Authorization": "Bearer dev-operator"}
    async with real.client.session.post(f"{real.system.url}{path.format(id=dialog_id)}", data=body,
                                        headers=headers) as resp:
        assert resp.status == 422, await resp.text()
        assert (await resp.json())["errors"][0]["code"] in ("malformed_form", "malformed_json")
    assert await _snapshot(real, dialog_id) == before
