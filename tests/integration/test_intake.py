"""The contract of `POST /v1/events` and `GET /v1/dialogs[/{id}]` (CONTRACT.md), over HTTP only.

Most cases run on real Redis (`real`); a few core ones on both stores (`running`).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import yarl

from bot.backends.assignment import sign
from bot.devclient import DevClient
from domain.iin import make_iin
from gateway_mocks.registry import birth_event, cancel_event, child_iin, disability_event
from tests.conftest import Running
from tests.helpers import FATHER_FORTE, FATHER_NO_ACCOUNT, MOTHER_WITH_HALYK, event_id, local_today

PHONE = "+77011234567"
MASKED_PHONE = "+7701***4567"
OTHER_PHONE = "+77021234567"
TODAY = dt.date(2026, 11, 23)  # the fixtures' clock starts on this Kazakhstan day (Monday 10:00)
BORN = TODAY - dt.timedelta(days=1)
MAX_BODY = 64 * 1024
SKEW = 300

# Seeded e-government fixtures (gateway_mocks/fixtures.py).
MOTHER_ALREADY_APPLIED = "950214437899"
CHILD_ALREADY_APPLIED = "261110640428"  # born 2026-11-10; her birth benefit is "applied" on egov.kz

_serials = itertools.count(5000)
_issued: set[str] = set()


def iin(born: dt.date, sex: str = "F") -> str:
    """A fresh valid IIN, never handed out before (a serial range of its own, away from the registry
    builder's). make_iin takes the next serial when one is unissuable, so consecutive serials can give
    the same IIN: those are skipped here (see test_registry_child_iin_gives_distinct_iins)."""
    while (value := make_iin(born, sex, next(_serials))) in _issued:
        pass
    _issued.add(value)
    return value


def with_check_digit_wrong(valid: str) -> str:
    return valid[:11] + str((int(valid[11]) + 1) % 10)


def test_registry_child_iin_gives_distinct_iins() -> None:
    """Test families never collide by chance (make_iin skips unissuable serials onto the next one)."""
    born = dt.date(2026, 11, 22)
    iins = [child_iin(born) for _ in range(600)]
    assert len(set(iins)) == len(iins)


# ---- HTTP helpers ------------------------------------------------------------------------------------


def signed(client: DevClient, body: bytes, ts: int, secret: str | None = None) -> dict[str, str]:
    stamp = str(ts)
    return {"Content-Type": "application/json", "X-Timestamp": stamp,
            "X-Signature": sign(secret or client.events_secret, stamp, body)}


async def post_raw(client: DevClient, body: bytes | Any, headers: dict[str, str]) -> tuple[int, Any]:
    """POST /v1/events with exactly these bytes and headers; (status, JSON body or None)."""
    async with client.session.post(f"{client.url}/v1/events", data=body, headers=headers) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


async def post_signed(client: DevClient, body: bytes, ts: int | None = None) -> tuple[int, Any]:
    return await post_raw(client, body, signed(client, body, ts if ts is not None else await client.now_ts()))


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


async def get_raw(client: DevClient, path_and_query: str, headers: dict[str, str] | None = None
                  ) -> tuple[int, Any]:
    """GET an already-encoded path (so `+`, `%2B` and `%20` reach the server exactly as written)."""
    url = yarl.URL(f"{client.url}{path_and_query}", encoded=True)
    async with client.session.get(url, headers=headers if headers is not None else client._auth()) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


async def list_query(client: DevClient, **query: str) -> tuple[int, Any]:
    qs = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    return await get_raw(client, f"/v1/dialogs?{qs}")


async def walk(client: DevClient, **query: str) -> list[dict[str, Any]]:
    """Every dialog the list returns, following `next` until it is null."""
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        status, page = await list_query(client, **query, **({"cursor": cursor} if cursor else {}))
        assert status == 200, page
        seen.extend(page["dialogs"])
        cursor = page["next"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


async def now_iso(client: DevClient) -> str:
    return str((await client.clock())["now"])


async def a_birth(client: DevClient, *, msisdn: str = PHONE, parent: str = MOTHER_WITH_HALYK,
                  language: str | None = "kk", children: list[str] | None = None, born: dt.date = BORN,
                  eid: str | None = None) -> dict[str, Any]:
    """A valid birth event (not posted)."""
    kids = children or [iin(born)]
    return birth_event(eid or event_id(), parent_iin=parent, msisdn=msisdn, language=language,
                       registered_at=await now_iso(client), children=[(k, born) for k in kids])


async def a_disability(client: DevClient, *, msisdn: str = OTHER_PHONE, recipient: str = FATHER_FORTE,
                       person: str | None = None, born: dt.date = dt.date(2018, 3, 3), group: int = 3,
                       since_childhood: bool = False, first: bool = True, established_on: dt.date = TODAY,
                       language: str | None = "ru", eid: str | None = None) -> dict[str, Any]:
    return disability_event(eid or event_id("mse"), recipient_iin=recipient, msisdn=msisdn, language=language,
                            registered_at=await now_iso(client), person_iin=person or iin(born, "M"),
                            birth_date=born, group=group, since_childhood=since_childhood,
                            established_on=established_on, first=first)


async def sms_count(client: DevClient, msisdn: str) -> int:
    return len(await client.inbox(msisdn))


async def accepted(client: DevClient, event: dict[str, Any], expect: str = "awaiting_consent") -> dict[str, Any]:
    """Post an event that must create a dialog; its 202 answer."""
    status, answer = await client.post_event(event)
    assert status == 202, answer
    assert answer["status"] == expect, answer
    return dict(answer)


def fields(answer: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["field"], e["code"]) for e in answer["errors"]}


# ---- signature -----------------------------------------------------------------------------------------


@dataclass
class SigCase:
    label: str
    expect: int
    ts_offset: int = 0  # seconds from the bot's (simulated) clock
    secret: str | None = None  # None: the right one
    drop: tuple[str, ...] = ()  # headers left out
    timestamp: str | None = None  # a literal X-Timestamp, signed as is
    other_body: bool = False  # signed over another body than the one sent


SIG_CASES = [
    SigCase("no signature headers at all", 401, drop=("X-Timestamp", "X-Signature")),
    SigCase("X-Signature missing", 401, drop=("X-Signature",)),
    SigCase("X-Timestamp missing", 401, drop=("X-Timestamp",)),
    SigCase("wrong secret", 401, secret="not-the-secret"),
    SigCase("signed over another body", 401, other_body=True),
    SigCase("timestamp not unix seconds", 401, timestamp="2026-11-23T10:00:00+05:00"),
    SigCase("timestamp 301 s before the bot's clock", 401, ts_offset=-(SKEW + 1)),
    SigCase("timestamp 301 s after the bot's clock", 401, ts_offset=SKEW + 1),
    SigCase("timestamp 300 s before the bot's clock", 202, ts_offset=-SKEW),
    SigCase("timestamp 300 s after the bot's clock", 202, ts_offset=SKEW),
    SigCase("timestamp exactly the bot's clock", 202),
]


@pytest.mark.parametrize("case", SIG_CASES, ids=[c.label for c in SIG_CASES])
async def test_signature(real: Running, case: SigCase) -> None:
    client = real.client
    event = await a_birth(client)
    body = encode(event)
    stamp = case.timestamp or str(await client.now_ts() + case.ts_offset)
    signed_body = encode({**event, "event_id": "someone-else"}) if case.other_body else body
    headers = {"Content-Type": "application/json", "X-Timestamp": stamp,
               "X-Signature": sign(case.secret or client.events_secret, stamp, signed_body)}
    for name in case.drop:
        del headers[name]
    status, answer = await post_raw(client, body, headers)
    assert status == case.expect, answer
    if status == 401:
        assert answer["errors"][0]["code"] == "unauthorized"
        assert await sms_count(client, PHONE) == 0
        # Refused means not recorded: the same event, signed right, is new.
        assert (await client.post_event(event))[0] == 202
    else:
        assert answer["status"] == "awaiting_consent" and await sms_count(client, PHONE) == 1


async def test_signed_event_is_accepted_and_unsigned_refused(running: Running) -> None:
    client = running.client
    event = await a_birth(client)
    body = encode(event)
    status, _ = await post_raw(client, body, {"Content-Type": "application/json"})
    assert status == 401
    status, _ = await post_signed(client, body, ts=await client.now_ts() - SKEW - 1)
    assert status == 401
    status, answer = await post_signed(client, body)
    assert status == 202
    assert set(answer) >= {"dialog_id", "service", "status"}
    assert answer["service"] == "birth" and answer["status"] == "awaiting_consent"


# ---- re-posts of a known event_id ---------------------------------------------------------------------


async def test_repost_with_fresh_signature_identical_body_answers_200_and_sends_nothing(running: Running) -> None:
    client = running.client
    event = await a_birth(client)
    body = encode(event)
    status, first = await post_signed(client, body)
    assert status == 202
    await client.advance(60)
    status, again = await post_signed(client, body)  # the registry retries: same body, signed now
    assert status == 200
    assert again == first
    assert await sms_count(client, PHONE) == 1


async def test_repost_with_a_different_body_answers_200_with_the_first_dialog(real: Running) -> None:
    client = real.client
    event = await a_birth(client)
    _, first = await client.post_event(event)
    changed = await a_birth(client, msisdn=OTHER_PHONE, language="ru", eid=event["event_id"])
    status, again = await client.post_event(changed)
    assert status == 200
    assert (again["dialog_id"], again["service"], again["status"]) == (first["dialog_id"], "birth",
                                                                       "awaiting_consent")
    assert await sms_count(client, PHONE) == 1 and await sms_count(client, OTHER_PHONE) == 0
    assert (await client.dialog(first["dialog_id"]))["msisdn"] == MASKED_PHONE  # the first post is the record


async def test_repost_of_an_invalid_body_under_a_known_event_id_answers_200(real: Running) -> None:
    client = real.client
    event = await a_birth(client)
    _, first = await client.post_event(event)
    status, again = await client.post_event({"event_id": event["event_id"], "type": "birth"})
    assert status == 200 and again["dialog_id"] == first["dialog_id"]


async def test_repost_answers_the_current_status(real: Running) -> None:
    client = real.client
    event = await a_birth(client)
    _, first = await client.post_event(event)
    assert await client.phone_says(PHONE, "1") == 202
    sent = await sms_count(client, PHONE)
    status, again = await client.post_event(event)
    assert status == 200
    assert again == {**first, "status": "awaiting_bank_account"}
    assert await sms_count(client, PHONE) == sent


async def test_identical_repost_after_the_window_answers_200_never_401(real: Running) -> None:
    """CONTRACT: a re-post of a known event_id with a valid signature, "fresh or identical", answers 200,
    never 401. "Identical" is the very request sent again (same X-Timestamp and X-Signature), which a
    retrying registry or proxy may deliver after the 300 s window: it is authentic, and idempotent."""
    client = real.client
    body = encode(await a_birth(client))
    headers = signed(client, body, await client.now_ts())
    status, first = await post_raw(client, body, headers)
    assert status == 202
    await client.advance(3600)
    status, again = await post_raw(client, body, headers)
    assert status == 200, again
    assert again == first
    assert await sms_count(client, PHONE) == 1


async def test_stale_signature_of_an_unknown_event_is_refused(real: Running) -> None:
    client = real.client
    body = encode(await a_birth(client))
    headers = signed(client, body, await client.now_ts())
    await client.advance(SKEW + 1)
    status, _ = await post_raw(client, body, headers)
    assert status == 401
    assert await sms_count(client, PHONE) == 0


async def test_known_event_with_a_wrong_signature_is_refused(real: Running) -> None:
    client = real.client
    event = await a_birth(client)
    await client.post_event(event)
    status, answer = await client.post_event(event, secret="not-the-secret")
    assert status == 401 and "dialog_id" not in answer


# ---- body size and JSON ----------------------------------------------------------------------------------


def padded(event: dict[str, Any], size: int) -> bytes:
    """The event's JSON followed by spaces up to exactly `size` bytes (still valid JSON)."""
    body = encode(event)
    assert len(body) <= size
    return body + b" " * (size - len(body))


async def test_body_of_exactly_64_kib_is_read(real: Running) -> None:
    client = real.client
    status, answer = await post_signed(client, padded(await a_birth(client), MAX_BODY))
    assert status == 202, answer


async def test_body_over_64_kib_is_413(real: Running) -> None:
    client = real.client
    event = await a_birth(client)
    status, _ = await post_signed(client, padded(event, MAX_BODY + 1))
    assert status == 413
    assert await sms_count(client, PHONE) == 0


async def test_chunked_body_over_64_kib_is_413(real: Running) -> None:
    """Without Content-Length the size is counted while reading."""
    client = real.client
    body = padded(await a_birth(client), MAX_BODY + 20000)
    headers = signed(client, body, await client.now_ts())

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start:start + 8192]

    status, _ = await post_raw(client, chunks(), headers)
    assert status == 413


MALFORMED = [
    ("truncated JSON", b'{"event_id": "zags-1", "type": '),
    ("not JSON at all", b"event_id=zags-1&type=birth"),
    ("empty body", b""),
    ("not UTF-8", b'{"event_id": "\xff\xfe"}'),
]


@pytest.mark.parametrize(("label", "body"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_malformed_json_is_422(real: Running, label: str, body: bytes) -> None:
    status, answer = await post_signed(real.client, body)
    assert status == 422
    assert [e["code"] for e in answer["errors"]] == ["malformed_json"]


@pytest.mark.parametrize("body", [b"[]", b'"birth"', b"null", b"42"], ids=["array", "string", "null", "number"])
async def test_json_that_is_not_an_object_is_422(real: Running, body: bytes) -> None:
    status, answer = await post_signed(real.client, body)
    assert status == 422 and answer["errors"][0]["field"] == "$"


# ---- validation: one problem at a time ------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """Set (or, with ..., delete) the value at a dotted path with [i] indexes."""
    parts = [int(p) if p.isdigit() else p for p in re.split(r"\.|\[|\]\.?", path) if p != ""]

    def apply(event: dict[str, Any]) -> None:
        target: Any = event
        for part in parts[:-1]:
            target = target[part]
        if value is ...:
            del target[parts[-1]]
        else:
            target[parts[-1]] = value
    return apply


def _twins(event: dict[str, Any]) -> None:
    event["children"].append(copy.deepcopy(event["children"][0]))
    event["children"][1]["iin"] = iin(BORN)


def _children(n: int) -> Mutation:
    def apply(event: dict[str, Any]) -> None:
        event["children"] = [{"iin": iin(BORN), "birth_date": BORN.isoformat()} for _ in range(n)]
    return apply


def _then(*steps: Mutation) -> Mutation:
    def apply(event: dict[str, Any]) -> None:
        for step in steps:
            step(event)
    return apply


@dataclass
class Invalid:
    label: str
    mutate: Mutation
    field: str
    code: str
    kind: str = "birth"


def _person_iin_of_other_birthday(event: dict[str, Any]) -> None:
    event["person"]["iin"] = iin(dt.date(2018, 3, 4), "M")


INVALID = [
    Invalid("recipient.iin check digit wrong", _set("recipient.iin", with_check_digit_wrong(MOTHER_WITH_HALYK)),
            "recipient.iin", "iin_checksum"),
    Invalid("recipient.iin 11 digits", _set("recipient.iin", MOTHER_WITH_HALYK[:11]), "recipient.iin",
            "iin_format"),
    Invalid("recipient.iin with Arabic-Indic digits", _set("recipient.iin", "٩٢٠٤١٢٤١٢٣٤٩"), "recipient.iin",
            "iin_format"),
    Invalid("recipient.iin as a number", _set("recipient.iin", int(MOTHER_WITH_HALYK)), "recipient.iin", "type"),
    Invalid("recipient.iin missing", _set("recipient.iin", ...), "recipient.iin", "required"),
    Invalid("recipient missing", _set("recipient", ...), "recipient", "required"),
    Invalid("recipient a string", _set("recipient", MOTHER_WITH_HALYK), "recipient", "type"),
    Invalid("recipient.msisdn missing", _set("recipient.msisdn", ...), "recipient.msisdn", "required"),
    Invalid("recipient.language en", _set("recipient.language", "en"), "recipient.language", "invalid"),
    Invalid("recipient.language KK upper case", _set("recipient.language", "KK"), "recipient.language", "invalid"),
    Invalid("children[0].iin born another day than birth_date",
            _set("children[0].iin", iin(BORN - dt.timedelta(days=1))), "children[0].iin",
            "iin_birth_date_mismatch"),
    Invalid("children[0].iin check digit wrong", lambda e: _set("children[0].iin", with_check_digit_wrong(
        e["children"][0]["iin"]))(e), "children[0].iin", "iin_checksum"),
    Invalid("children[0].birth_date 30 February", _set("children[0].birth_date", "2026-02-30"),
            "children[0].birth_date", "invalid_date"),
    Invalid("children[0].birth_date not ISO", _set("children[0].birth_date", "22.11.2026"),
            "children[0].birth_date", "invalid_date"),
    Invalid("children[0].birth_date missing", _set("children[0].birth_date", ...), "children[0].birth_date",
            "required"),
    Invalid("children[1].iin the same as children[0]",
            lambda e: e["children"].append(copy.deepcopy(e["children"][0])), "children[1].iin", "duplicate"),
    Invalid("children[1].iin check digit wrong",
            _then(_twins, lambda e: _set("children[1].iin", with_check_digit_wrong(e["children"][1]["iin"]))(e)),
            "children[1].iin", "iin_checksum"),
    Invalid("children[1] a string", lambda e: e["children"].append("261122500011"), "children[1]", "type"),
    Invalid("children empty", _set("children", []), "children", "invalid"),
    Invalid("children missing", _set("children", ...), "children", "invalid"),
    Invalid("children an object", _set("children", {"iin": "x"}), "children", "invalid"),
    Invalid("11 children", _children(11), "children", "invalid"),
    Invalid("event_id with a slash", _set("event_id", "zags/2026/1"), "event_id", "invalid"),
    Invalid("event_id with a space", _set("event_id", "zags 2026"), "event_id", "invalid"),
    Invalid("event_id with a Cyrillic letter", _set("event_id", "загс-1"), "event_id", "invalid"),
    Invalid("event_id empty", _set("event_id", ""), "event_id", "invalid"),
    Invalid("event_id of 129 characters", _set("event_id", "z" * 129), "event_id", "too_long"),
    Invalid("event_id a number", _set("event_id", 123), "event_id", "type"),
    Invalid("event_id missing", _set("event_id", ...), "event_id", "required"),
    Invalid("type unknown", _set("type", "marriage"), "type", "invalid"),
    Invalid("type missing", _set("type", ...), "type", "invalid"),
    Invalid("registered_at without offset", _set("registered_at", "2026-11-23T10:00:00"), "registered_at",
            "invalid_datetime"),
    Invalid("registered_at missing", _set("registered_at", ...), "registered_at", "required"),
    Invalid("person missing", _set("person", ...), "person", "required", kind="disability"),
    Invalid("person.iin born another day than birth_date", _person_iin_of_other_birthday, "person.iin",
            "iin_birth_date_mismatch", kind="disability"),
    Invalid("person.disability_group 4", _set("person.disability_group", 4), "person.disability_group",
            "invalid", kind="disability"),
    Invalid("person.disability_group a string", _set("person.disability_group", "1"), "person.disability_group",
            "invalid", kind="disability"),
    Invalid("person.disability_group true", _set("person.disability_group", True), "person.disability_group",
            "invalid", kind="disability"),
    Invalid("person.since_childhood a string", _set("person.since_childhood", "yes"), "person.since_childhood",
            "type", kind="disability"),
    Invalid("person.first_established missing", _set("person.first_established", ...),
            "person.first_established", "required", kind="disability"),
    Invalid("person.established_on before birth", _set("person.established_on", "2017-01-01"),
            "person.established_on", "before_birth", kind="disability"),
    Invalid("person.established_on bad date", _set("person.established_on", "2026-13-01"),
            "person.established_on", "invalid_date", kind="disability"),
]


@pytest.mark.parametrize("case", INVALID, ids=[c.label for c in INVALID])
async def test_one_problem_is_422_on_its_json_path(real: Running, case: Invalid) -> None:
    client = real.client
    event = await a_birth(client) if case.kind == "birth" else await a_disability(client, msisdn=PHONE)
    case.mutate(event)
    status, answer = await client.post_event(event)
    assert status == 422, answer
    assert (case.field, case.code) in fields(answer), answer
    assert all(e["message"] for e in answer["errors"])
    assert await sms_count(client, PHONE) == 0


async def test_event_id_of_128_characters_of_every_allowed_kind_is_accepted(real: Running) -> None:
    client = real.client
    eid = ("AZaz09._:-" * 13)[:128]
    status, answer = await client.post_event(await a_birth(client, eid=eid))
    assert status == 202, answer
    assert (await client.dialog(answer["dialog_id"]))["event_id"] == eid


async def test_ten_children_are_one_event(real: Running) -> None:
    client = real.client
    kids = [iin(BORN, "M" if i % 2 else "F") for i in range(10)]
    await accepted(client, await a_birth(client, children=kids))


# ---- validation: every problem at once -------------------------------------------------------------------


async def test_every_problem_is_listed_at_once(running: Running) -> None:
    client = running.client
    event = await a_birth(client, children=[iin(BORN), iin(BORN), iin(BORN)])
    event["event_id"] = "zags#2026"
    del event["registered_at"]
    event["recipient"] = {"iin": with_check_digit_wrong(MOTHER_WITH_HALYK), "msisdn": "+7 916 123 45 67",
                          "language": "en"}
    event["children"][0]["birth_date"] = "2026-11-31"
    event["children"][1]["iin"] = iin(BORN - dt.timedelta(days=3))
    del event["children"][2]["iin"]
    status, answer = await client.post_event(event)
    assert status == 422
    assert fields(answer) == {
        ("event_id", "invalid"),
        ("registered_at", "required"),
        ("recipient.iin", "iin_checksum"),
        ("recipient.msisdn", "not_kazakhstan"),
        ("recipient.language", "invalid"),
        ("children[0].birth_date", "invalid_date"),
        ("children[1].iin", "iin_birth_date_mismatch"),
        ("children[2].iin", "required"),
    }
    assert len(answer["errors"]) == 8


async def test_every_problem_of_a_disability_event_is_listed_at_once(real: Running) -> None:
    client = real.client
    event = await a_disability(client)
    event["event_id"] = "m" * 129
    event["recipient"]["iin"] = "12345"
    event["recipient"]["msisdn"] = "+7 701 123 45"
    event["person"].update(birth_date="2018-02-30", disability_group=0, since_childhood=None,
                           first_established="true", established_on=None)
    status, answer = await client.post_event(event)
    assert status == 422
    assert {f for f, _ in fields(answer)} == {
        "event_id", "recipient.iin", "recipient.msisdn", "person.birth_date", "person.disability_group",
        "person.since_childhood", "person.first_established", "person.established_on",
    }


# ---- msisdn --------------------------------------------------------------------------------------------

SPELLINGS = ["8 701 123 45 67", "+7 (701) 123-45-67", "7011234567", "87011234567", "+77011234567",
             "+7 701 123 45 67", "8(701)1234567", "８７０１１２３４５６７"]


@pytest.mark.parametrize("spelling", SPELLINGS, ids=SPELLINGS)
async def test_msisdn_spellings_are_normalised(real: Running, spelling: str) -> None:
    client = real.client
    answer = await accepted(client, await a_birth(client, msisdn=spelling))
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["msisdn"] == MASKED_PHONE
    assert await sms_count(client, PHONE) == 1


BAD_MSISDN = [
    ("Russian mobile +7 916", "+7 916 123 45 67", "not_kazakhstan"),
    ("Russian mobile 8 916", "8 916 123 45 67", "not_kazakhstan"),
    ("one digit short", "+7 701 123 45 6", "format"),
    ("one digit long", "+7 701 123 45 678", "format"),
    ("letters", "8 701 FLOWERS", "format"),
    ("Uzbek number", "+998 90 123 45 67", "not_kazakhstan"),
    ("empty", "", "format"),
]


@pytest.mark.parametrize(("label", "msisdn", "code"), BAD_MSISDN, ids=[b[0] for b in BAD_MSISDN])
async def test_msisdn_that_is_not_a_kazakhstan_mobile_is_422(real: Running, label: str, msisdn: str,
                                                             code: str) -> None:
    status, answer = await real.client.post_event(await a_birth(real.client, msisdn=msisdn))
    assert status == 422
    assert fields(answer) == {("recipient.msisdn", code)}


@pytest.mark.parametrize("fixed", ["+7 7172 55 66 77", "8 (7172) 55-66-77", "+7 727 255 66 77"],
                         ids=["Astana +7 7172", "Astana 8 (7172)", "Almaty +7 727"])
async def test_kazakhstan_fixed_line_is_undeliverable_without_sms(real: Running, fixed: str) -> None:
    client = real.client
    answer = await accepted(client, await a_birth(client, msisdn=fixed), expect="undeliverable")
    dialog = await client.dialog(answer["dialog_id"])
    assert dialog["status"] == "undeliverable" and dialog["transcript"] == []
    e164 = "+7" + "".join(c for c in fixed if c.isdigit())[-10:]
    assert await sms_count(client, e164) == 0


# ---- service selection --------------------------------------------------------------------------------


@dataclass
class Svc:
    label: str
    born: dt.date
    group: int
    since_childhood: bool
    first: bool
    service: str | None  # None: 422 no_proactive_service
    established_on: dt.date = TODAY


EIGHTEEN = dt.date(2008, 11, 23)  # 18 years old on TODAY exactly
SERVICE_CASES = [
    Svc("child group 3, first → disabled_child", dt.date(2018, 3, 3), 3, False, True, "disabled_child"),
    Svc("child group 1 since childhood, first → disabled_child", dt.date(2015, 6, 1), 1, True, True,
        "disabled_child"),
    Svc("newborn group 2, first → disabled_child", BORN, 2, False, True, "disabled_child"),
    Svc("the day before the 18th birthday, group 1 since childhood → disabled_child",
        EIGHTEEN + dt.timedelta(days=1), 1, True, True, "disabled_child"),
    Svc("the day before the 18th birthday, group 2 → disabled_child", EIGHTEEN + dt.timedelta(days=1), 2, False,
        True, "disabled_child"),
    Svc("on the 18th birthday, group 1 since childhood → group1_since_childhood", EIGHTEEN, 1, True, True,
        "group1_since_childhood"),
    Svc("on the 18th birthday, group 2 → none", EIGHTEEN, 2, True, True, None),
    Svc("17 on established_on though 18 by the event: age counts on established_on → disabled_child",
        dt.date(2008, 11, 20), 1, True, True, "disabled_child", established_on=dt.date(2026, 11, 19)),
    Svc("adult group 1 since childhood, first → group1_since_childhood", dt.date(2006, 10, 10), 1, True, True,
        "group1_since_childhood"),
    Svc("child, not first established → none", dt.date(2018, 3, 3), 3, False, False, None),
    Svc("adult group 1 since childhood, not first → none", dt.date(2006, 10, 10), 1, True, False, None),
    Svc("adult group 2 since childhood → none", dt.date(2000, 1, 1), 2, True, True, None),
    Svc("adult group 3 since childhood → none", dt.date(2000, 1, 1), 3, True, True, None),
    Svc("adult group 1 not since childhood → none", dt.date(1990, 5, 5), 1, False, True, None),
]


@pytest.mark.parametrize("case", SERVICE_CASES, ids=[c.label for c in SERVICE_CASES])
async def test_service_selection(real: Running, case: Svc) -> None:
    client = real.client
    event = await a_disability(client, born=case.born, group=case.group, since_childhood=case.since_childhood,
                               first=case.first, established_on=case.established_on)
    status, answer = await client.post_event(event)
    if case.service is None:
        assert status == 422
        assert [(e["field"], e["code"]) for e in answer["errors"]] == [("type", "no_proactive_service")]
        assert await sms_count(client, OTHER_PHONE) == 0
    else:
        assert status == 202, answer
        assert answer["service"] == case.service and answer["status"] == "awaiting_consent"
        assert await sms_count(client, OTHER_PHONE) == 1


async def test_birth_event_selects_birth(running: Running) -> None:
    answer = await accepted(running.client, await a_birth(running.client))
    assert answer["service"] == "birth"
    assert (await running.client.dialog(answer["dialog_id"]))["service"] == "birth"


# ---- duplicates -------------------------------------------------------------------------------------------


async def test_same_child_under_a_new_event_id_is_a_duplicate_without_sms(running: Running) -> None:
    client = running.client
    child = iin(BORN)
    first = await accepted(client, await a_birth(client, children=[child]))
    second = await accepted(client, await a_birth(client, msisdn=OTHER_PHONE, parent=FATHER_NO_ACCOUNT,
                                                  children=[child]), expect="duplicate")
    assert second["dialog_id"] != first["dialog_id"] and second["service"] == "birth"
    assert await sms_count(client, OTHER_PHONE) == 0 and await sms_count(client, PHONE) == 1
    assert (await client.dialog(second["dialog_id"]))["duplicate_of"] == first["dialog_id"]


async def test_duplicate_on_the_same_phone_sends_nothing(real: Running) -> None:
    client = real.client
    child = iin(BORN)
    await accepted(client, await a_birth(client, children=[child]))
    await accepted(client, await a_birth(client, children=[child]), expect="duplicate")
    assert await sms_count(client, PHONE) == 1


async def test_twins_are_one_dialog_and_either_twin_later_is_a_duplicate(real: Running) -> None:
    client = real.client
    twin_a, twin_b = iin(BORN, "F"), iin(BORN, "M")
    await accepted(client, await a_birth(client, children=[twin_a, twin_b]))
    status, listed = await client.dialogs()
    assert status == 200 and len(listed["dialogs"]) == 1
    assert await sms_count(client, PHONE) == 1
    later = await a_birth(client, msisdn=OTHER_PHONE, children=[iin(BORN), twin_b])
    await accepted(client, later, expect="duplicate")
    assert await sms_count(client, OTHER_PHONE) == 0


async def test_duplicate_after_the_first_dialog_ended(real: Running) -> None:
    client = real.client
    child = iin(BORN)
    first = await accepted(client, await a_birth(client, children=[child]))
    await client.phone_says(PHONE, "2")
    assert (await client.dialog(first["dialog_id"]))["status"] == "declined"
    await accepted(client, await a_birth(client, msisdn=OTHER_PHONE, children=[child]), expect="duplicate")


async def test_disability_of_the_same_person_is_a_duplicate(real: Running) -> None:
    client = real.client
    person = iin(dt.date(2018, 3, 3), "M")
    first = await accepted(client, await a_disability(client, person=person))
    again = await a_disability(client, person=person, msisdn=PHONE, recipient=MOTHER_WITH_HALYK, group=2)
    second = await accepted(client, again, expect="duplicate")
    assert second["service"] == "disabled_child" and second["dialog_id"] != first["dialog_id"]
    assert await sms_count(client, PHONE) == 0


async def test_same_person_under_another_service_is_not_a_duplicate(real: Running) -> None:
    """A duplicate is the same service and the same person: a birth, then that child's disability."""
    client = real.client
    child = iin(BORN)
    await accepted(client, await a_birth(client, children=[child]))
    answer = await accepted(client, await a_disability(client, person=child, born=BORN, group=1))
    assert answer["service"] == "disabled_child"


# ---- cancel -----------------------------------------------------------------------------------------------


async def test_cancel_then_again_then_a_corrected_event(running: Running) -> None:
    client = running.client
    child = iin(BORN)
    original = await a_birth(client, children=[child])
    first = await accepted(client, original)
    cancel = cancel_event(event_id(), cancels=original["event_id"], registered_at=await now_iso(client))
    status, answer = await client.post_event(cancel)
    assert status == 202
    assert answer == {"dialog_id": first["dialog_id"], "service": "birth", "status": "cancelled"}
    assert (await client.dialog(first["dialog_id"]))["status"] == "cancelled"

    status, again = await client.post_event(cancel)  # the same correction re-posted
    assert (status, again) == (200, answer)
    another = cancel_event(event_id(), cancels=original["event_id"], registered_at=await now_iso(client))
    status, again = await client.post_event(another)  # a second correction for the same event
    assert (status, again) == (200, answer)

    before = await sms_count(client, PHONE)
    corrected = await accepted(client, await a_birth(client, children=[child]))  # not a duplicate
    assert corrected["dialog_id"] != first["dialog_id"]
    assert await sms_count(client, PHONE) == before + 1


async def test_cancel_of_an_unknown_event_is_404(real: Running) -> None:
    client = real.client
    cancel = cancel_event(event_id(), cancels="zags-never-posted", registered_at=await now_iso(client))
    status, answer = await client.post_event(cancel)
    assert status == 404
    assert answer["errors"][0]["field"] == "cancels"


async def test_cancel_is_signed_and_validated_like_any_event(real: Running) -> None:
    client = real.client
    original = await a_birth(client)
    await accepted(client, original)
    cancel = cancel_event(event_id(), cancels=original["event_id"], registered_at=await now_iso(client))
    assert (await client.post_event(cancel, secret="wrong"))[0] == 401
    status, answer = await client.post_event({**cancel, "cancels": None})
    assert status == 422 and ("cancels", "required") in fields(answer)
    status, answer = await client.post_event({**cancel, "event_id": "bad id"})
    assert status == 422 and ("event_id", "invalid") in fields(answer)


async def test_cancelled_corrected_twins_are_offered_again(real: Running) -> None:
    client = real.client
    twins = [iin(BORN), iin(BORN)]
    original = await a_birth(client, children=twins)
    await accepted(client, original)
    await client.post_event(cancel_event(event_id(), cancels=original["event_id"],
                                         registered_at=await now_iso(client)))
    await accepted(client, await a_birth(client, msisdn=OTHER_PHONE, children=twins))
    assert await sms_count(client, OTHER_PHONE) == 1


# ---- already applied ----------------------------------------------------------------------------------------


async def test_seeded_mother_already_applied_gets_no_sms(real: Running) -> None:
    client = real.client
    event = await a_birth(client, parent=MOTHER_ALREADY_APPLIED, children=[CHILD_ALREADY_APPLIED],
                          born=dt.date(2026, 11, 10))
    answer = await accepted(client, event, expect="already_applied")
    assert answer["service"] == "birth"
    assert await sms_count(client, PHONE) == 0
    assert (await client.dialog(answer["dialog_id"]))["status"] == "already_applied"


async def test_seeded_mother_is_offered_the_benefit_for_another_child(real: Running) -> None:
    client = real.client
    await accepted(client, await a_birth(client, parent=MOTHER_ALREADY_APPLIED))
    assert await sms_count(client, PHONE) == 1


@pytest.mark.parametrize("state", ["applied", "assigned", "paid"])
async def test_benefit_put_on_record_makes_the_birth_already_applied(real: Running, state: str) -> None:
    client = real.client
    parent, child = iin(dt.date(1996, 7, 7)), iin(BORN)
    person = {"iin": parent, "bank_account": None,
              "benefits": [{"service": "birth", "person_iin": child, "state": state}]}
    assert await client.egov_person(person) == 201
    await accepted(client, await a_birth(client, parent=parent, children=[child]), expect="already_applied")
    assert await sms_count(client, PHONE) == 0


async def test_benefit_on_record_for_another_service_does_not_count(real: Running) -> None:
    client = real.client
    parent, child = iin(dt.date(1996, 7, 7)), iin(dt.date(2018, 3, 3), "M")
    person = {"iin": parent, "bank_account": None,
              "benefits": [{"service": "birth", "person_iin": child, "state": "paid"}]}
    assert await client.egov_person(person) == 201
    await accepted(client, await a_disability(client, recipient=parent, person=child))
    assert await sms_count(client, OTHER_PHONE) == 1


async def test_disability_benefit_on_record_is_already_applied(real: Running) -> None:
    client = real.client
    parent, child = iin(dt.date(1996, 7, 7)), iin(dt.date(2018, 3, 3), "M")
    person = {"iin": parent, "bank_account": None,
              "benefits": [{"service": "disabled_child", "person_iin": child, "state": "assigned"}]}
    assert await client.egov_person(person) == 201
    await accepted(client, await a_disability(client, recipient=parent, person=child), expect="already_applied")
    assert await sms_count(client, OTHER_PHONE) == 0


# ---- read API: authorisation -----------------------------------------------------------------------------

AUTH_CASES = [
    ("no Authorization", {}),
    ("wrong token", {"Authorization": "Bearer not-the-token"}),
    ("token without Bearer", {"Authorization": "dev-operator"}),
    ("Basic scheme", {"Authorization": "Basic ZGV2LW9wZXJhdG9y"}),
    ("empty Bearer", {"Authorization": "Bearer "}),
    ("token with a suffix", {"Authorization": "Bearer dev-operatorX"}),
]


@pytest.mark.parametrize("endpoint", ["list", "one"])
@pytest.mark.parametrize(("label", "headers"), AUTH_CASES, ids=[a[0] for a in AUTH_CASES])
async def test_read_api_needs_the_operator_token(real: Running, endpoint: str, label: str,
                                                 headers: dict[str, str]) -> None:
    client = real.client
    answer = await accepted(client, await a_birth(client))
    path = "/v1/dialogs" if endpoint == "list" else f"/v1/dialogs/{answer['dialog_id']}"
    status, body = await get_raw(client, path, headers)
    assert status == 401
    assert "dialogs" not in body and "dialog_id" not in body


async def test_read_api_with_the_token(running: Running) -> None:
    client = running.client
    answer = await accepted(client, await a_birth(client))
    status, one = await get_raw(client, f"/v1/dialogs/{answer['dialog_id']}")
    assert status == 200 and one["dialog_id"] == answer["dialog_id"]
    status, listed = await get_raw(client, "/v1/dialogs")
    assert status == 200 and [d["dialog_id"] for d in listed["dialogs"]] == [answer["dialog_id"]]
    assert listed["next"] is None
    status, missing = await get_raw(client, "/v1/dialogs/d_0000000000000000")
    assert status == 404 and missing["errors"]


async def test_dialog_has_every_contract_field(real: Running) -> None:
    client = real.client
    event = await a_birth(client, language="ru")
    answer = await accepted(client, event)
    dialog = await client.dialog(answer["dialog_id"])
    assert set(dialog) >= {"dialog_id", "event_id", "service", "status", "language", "msisdn", "consent",
                           "bank_account", "application", "decision", "flags", "transcript"}
    assert (dialog["event_id"], dialog["service"], dialog["status"], dialog["language"]) == (
        event["event_id"], "birth", "awaiting_consent", "ru")
    assert dialog["consent"] is None and dialog["bank_account"] is None
    assert dialog["application"] is None and dialog["decision"] is None
    assert dialog["flags"] == []
    [line] = dialog["transcript"]
    assert set(line) >= {"at", "direction", "channel", "text"}
    assert (line["direction"], line["channel"]) == ("out", "sms")


# ---- read API: list filters and pagination ------------------------------------------------------------------


@dataclass
class World:
    """Dialogs of every kind: their ids by label."""

    ids: dict[str, str] = field(default_factory=dict)


async def build_world(client: DevClient) -> World:
    world = World()
    world.ids["phone_birth"] = (await accepted(client, await a_birth(client)))["dialog_id"]
    world.ids["phone_queued"] = (await accepted(client, await a_birth(client, parent=FATHER_NO_ACCOUNT),
                                                expect="queued"))["dialog_id"]
    child = iin(dt.date(2018, 3, 3), "M")
    world.ids["other_disabled"] = (await accepted(client, await a_disability(client, person=child)))["dialog_id"]
    world.ids["fixed_undeliverable"] = (await accepted(client, await a_birth(client, msisdn="+7 7172 55 66 77"),
                                                       expect="undeliverable"))["dialog_id"]
    world.ids["third_duplicate"] = (await accepted(
        client, await a_disability(client, msisdn="+77051234567", person=child), expect="duplicate"))["dialog_id"]
    return world


FILTERS = [
    ("msisdn E.164 as %2B", {"msisdn": "+77011234567"}, ["phone_birth", "phone_queued"]),
    ("msisdn 8 701 123 45 67", {"msisdn": "8 701 123 45 67"}, ["phone_birth", "phone_queued"]),
    ("msisdn +7 (701) 123-45-67", {"msisdn": "+7 (701) 123-45-67"}, ["phone_birth", "phone_queued"]),
    ("msisdn 7011234567", {"msisdn": "7011234567"}, ["phone_birth", "phone_queued"]),
    ("msisdn of another phone", {"msisdn": OTHER_PHONE}, ["other_disabled"]),
    ("msisdn of a fixed line", {"msisdn": "8 7172 556677"}, ["fixed_undeliverable"]),
    ("msisdn with no dialogs", {"msisdn": "+77079999999"}, []),
    ("status awaiting_consent", {"status": "awaiting_consent"}, ["phone_birth", "other_disabled"]),
    ("status queued", {"status": "queued"}, ["phone_queued"]),
    ("status undeliverable", {"status": "undeliverable"}, ["fixed_undeliverable"]),
    ("status duplicate", {"status": "duplicate"}, ["third_duplicate"]),
    ("status assigned (none)", {"status": "assigned"}, []),
    ("service birth", {"service": "birth"}, ["phone_birth", "phone_queued", "fixed_undeliverable"]),
    ("service disabled_child", {"service": "disabled_child"}, ["other_disabled", "third_duplicate"]),
    ("service group1_since_childhood (none)", {"service": "group1_since_childhood"}, []),
    ("msisdn and status", {"msisdn": PHONE, "status": "queued"}, ["phone_queued"]),
    ("status and service", {"status": "awaiting_consent", "service": "birth"}, ["phone_birth"]),
    ("no filter", {}, ["phone_birth", "phone_queued", "other_disabled", "fixed_undeliverable", "third_duplicate"]),
    ("empty filters are no filters", {"msisdn": "", "status": "", "service": ""},
     ["phone_birth", "phone_queued", "other_disabled", "fixed_undeliverable", "third_duplicate"]),
]


@pytest.mark.parametrize(("label", "query", "expect"), FILTERS, ids=[f[0] for f in FILTERS])
async def test_list_filters(real: Running, label: str, query: dict[str, str], expect: list[str]) -> None:
    client = real.client
    world = await build_world(client)
    dialogs = await walk(client, **query)
    assert sorted(d["dialog_id"] for d in dialogs) == sorted(world.ids[k] for k in expect)
    for dialog in dialogs:
        if query.get("status"):
            assert dialog["status"] == query["status"]
        if query.get("service"):
            assert dialog["service"] == query["service"]


async def test_msisdn_filter_with_a_raw_plus_and_with_the_devclient(real: Running) -> None:
    client = real.client
    world = await build_world(client)
    status, page = await client.dialogs(msisdn=PHONE)  # aiohttp sends %2B
    assert status == 200
    assert {d["dialog_id"] for d in page["dialogs"]} == {world.ids["phone_birth"], world.ids["phone_queued"]}
    status, page = await get_raw(client, "/v1/dialogs?msisdn=%2B7%20701%20123%2045%2067")
    assert status == 200 and len(page["dialogs"]) == 2


BAD_FILTERS = [
    ("unknown status", {"status": "pending"}, "status"),
    ("machine-only state", {"status": "confirming_bank_account"}, "status"),
    ("unknown service", {"service": "pension"}, "service"),
    ("Russian msisdn", {"msisdn": "+79161234567"}, "msisdn"),
    ("msisdn of letters", {"msisdn": "abc"}, "msisdn"),
    ("msisdn too short", {"msisdn": "870112345"}, "msisdn"),
    ("limit 0", {"limit": "0"}, "limit"),
    ("limit 201", {"limit": "201"}, "limit"),
    ("limit not a number", {"limit": "ten"}, "limit"),
    ("cursor negative", {"cursor": "-1"}, "limit"),
    ("cursor not a number", {"cursor": "abc"}, "limit"),
]


@pytest.mark.parametrize(("label", "query", "field_name"), BAD_FILTERS, ids=[b[0] for b in BAD_FILTERS])
async def test_bad_list_filter_is_422(real: Running, label: str, query: dict[str, str], field_name: str) -> None:
    status, answer = await list_query(real.client, **query)
    assert status == 422
    assert field_name in {e["field"] for e in answer["errors"]}


async def test_bad_filters_are_listed_together(real: Running) -> None:
    status, answer = await list_query(real.client, status="nope", service="nope", msisdn="+79161234567",
                                      limit="0")
    assert status == 422
    assert {e["field"] for e in answer["errors"]} == {"status", "service", "msisdn", "limit"}


async def post_many(client: DevClient, n: int, *, spread: bool = True) -> list[str]:
    """n dialogs on n phones; with `spread`, one simulated minute apart."""
    ids = []
    for i in range(n):
        answer = await accepted(client, await a_birth(client, msisdn=f"+7705{i:07d}"))
        ids.append(answer["dialog_id"])
        if spread:
            await client.advance(60)
    return ids


@pytest.mark.parametrize("limit", [1, 3, 7, 8, 50])
async def test_pagination_walks_every_dialog_exactly_once_newest_first(real: Running, limit: int) -> None:
    client = real.client
    ids = await post_many(client, 7)
    dialogs = await walk(client, limit=str(limit))
    assert [d["dialog_id"] for d in dialogs] == list(reversed(ids))


async def test_pagination_when_dialogs_share_one_instant(real: Running) -> None:
    """The clock stands still between moves: every dialog has the same created_at."""
    client = real.client
    ids = await post_many(client, 9, spread=False)
    walked = [d["dialog_id"] for d in await walk(client, limit="2")]
    assert sorted(walked) == sorted(ids) and len(walked) == len(set(walked))


async def test_pages_have_at_most_limit_dialogs_and_the_last_has_no_next(real: Running) -> None:
    client = real.client
    await post_many(client, 5)
    status, page = await list_query(client, limit="2")
    assert status == 200 and len(page["dialogs"]) == 2 and page["next"] is not None
    status, page = await list_query(client, limit="2", cursor=page["next"])
    assert len(page["dialogs"]) == 2 and page["next"] is not None
    status, page = await list_query(client, limit="2", cursor=page["next"])
    assert len(page["dialogs"]) == 1 and page["next"] is None


async def test_pagination_with_a_filter(real: Running) -> None:
    client = real.client
    world = await build_world(client)
    await post_many(client, 4)
    walked = [d["dialog_id"] for d in await walk(client, service="disabled_child", limit="1")]
    assert sorted(walked) == sorted([world.ids["other_disabled"], world.ids["third_duplicate"]])
    walked = [d["dialog_id"] for d in await walk(client, msisdn=PHONE, limit="1")]
    assert sorted(walked) == sorted([world.ids["phone_birth"], world.ids["phone_queued"]])


# ---- read API: no raw personal data --------------------------------------------------------------------------

RAW_IIN = re.compile(r"[0-9]{12}")
RAW_PHONE = re.compile(r"\+77[0-9]{9}")
RAW_IBAN = re.compile(r"KZ[0-9]{2}[0-9A-Z]{16}")


def leaks(document: Any, ids: set[str]) -> list[str]:
    """Raw IINs, phones and IBANs anywhere in a JSON document (identifiers we generated left out)."""
    text = json.dumps(document, ensure_ascii=False)
    for identifier in ids:  # a dialog id is random hex: it may hold 12 digits in a row by chance
        text = text.replace(identifier, "<id>")
    return [m for pattern in (RAW_IIN, RAW_PHONE, RAW_IBAN) for m in pattern.findall(text)]


async def test_no_raw_personal_data_in_dialogs_even_after_typed_iban_iin_and_phone(running: Running) -> None:
    client = running.client
    first = await accepted(client, await a_birth(client, parent=MOTHER_WITH_HALYK))
    await client.phone_says(PHONE, "иә")
    await client.phone_says(PHONE, "KZ64965KZT0000031234")  # typed at the confirm prompt: the new account
    dialog = await client.dialog(first["dialog_id"])
    assert dialog["status"] == "submitted" and dialog["bank_account"]["source"] == "typed"
    await client.phone_says(PHONE, "менің ЖСН 920412412349, тел 8 701 123 45 67, шот kz64 965k zt00 0003 1234")

    second = await accepted(client, await a_birth(client, msisdn=OTHER_PHONE, parent=FATHER_NO_ACCOUNT,
                                                  language="ru"))
    await client.phone_says(OTHER_PHONE, "да")
    await client.phone_says(OTHER_PHONE, "мой ИИН 880930324560 телефон +77021234567")
    await client.phone_says(OTHER_PHONE, "KZ64 965K ZT00 0003 1234")
    await client.advance(2 * 3600)  # decisions arrive by SMS too

    ids = {first["dialog_id"], second["dialog_id"]}
    for dialog_id in ids:
        dialog = await client.dialog(dialog_id)
        assert dialog["bank_account"]["iban"] == "KZ** **** **** **** 1234"
        assert dialog["msisdn"] in (MASKED_PHONE, "+7702***4567")
        assert any(line["direction"] == "in" for line in dialog["transcript"])
        assert not leaks(dialog, ids), leaks(dialog, ids)
    status, listed = await client.dialogs()
    assert status == 200 and len(listed["dialogs"]) == 2
    assert not leaks(listed, ids), leaks(listed, ids)


async def test_no_raw_personal_data_in_duplicate_cancelled_and_undeliverable_dialogs(real: Running) -> None:
    client = real.client
    child = iin(BORN)
    original = await a_birth(client, children=[child])
    await accepted(client, original)
    await accepted(client, await a_birth(client, msisdn=OTHER_PHONE, children=[child]), expect="duplicate")
    await client.post_event(cancel_event(event_id(), cancels=original["event_id"],
                                         registered_at=await now_iso(client)))
    await accepted(client, await a_birth(client, msisdn="+7 7172 55 66 77"), expect="undeliverable")
    listed = await walk(client)
    assert len(listed) == 3
    ids = {d["dialog_id"] for d in listed} | {d["duplicate_of"] for d in listed if d.get("duplicate_of")}
    assert not leaks(listed, ids), leaks(listed, ids)


# ---- OpenAPI ----------------------------------------------------------------------------------------------------

CONTRACT_PATHS = {
    "/v1/events": ["post"],
    "/v1/dialogs": ["get"],
    "/v1/dialogs/{dialog_id}": ["get"],
    "/v1/openapi.json": ["get"],
    "/mock/phones/{msisdn}/sms": ["get", "post"],
    "/mock/clock": ["get", "post"],
    "/mock/egov/persons": ["post"],
}


async def test_openapi_lists_every_contract_path(running: Running) -> None:
    client = running.client
    async with client.session.get(f"{client.url}/v1/openapi.json") as resp:
        assert resp.status == 200
        doc = await resp.json()
    assert str(doc["openapi"]).startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    for path, methods in CONTRACT_PATHS.items():
        assert path in doc["paths"], path
        for method in methods:
            assert method in doc["paths"][path], f"{method.upper()} {path}"
    events = doc["paths"]["/v1/events"]["post"]["responses"]
    assert set(events) >= {"200", "202", "401", "404", "413", "422"}
    assert set(doc["paths"]["/v1/dialogs"]["get"]["responses"]) >= {"200", "401", "422"}
    assert set(doc["paths"]["/v1/dialogs/{dialog_id}"]["get"]["responses"]) >= {"200", "401", "404"}
    query = {p["name"] for p in doc["paths"]["/v1/dialogs"]["get"].get("parameters", [])}
    assert query >= {"msisdn", "status", "service"}


async def test_today_is_the_fixture_day(real: Running) -> None:
    """The tables above assume the clock starts on TODAY (a Monday, 10:00 in Kazakhstan)."""
    assert await local_today(real.client) == TODAY
