"""The Kannel channel's wire format: sendsms requests and answers, get-url MO, dlr-url reports; and the phone
network's reading of the fake SMSC's lines. Against a stand-in HTTP server, not Kannel (the integration suite's
`kannel` runs go through the real one)."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.channels.base import InboundFormatError, Outbound, SendError, SendFailure
from bot.channels.kannel import (
    DEFAULT_DLR_MASK,
    KannelChannel,
    KannelConfig,
    decode_text,
    dlr_signature,
    raw_query,
)
from bot.channels.sms import ForeignClientId, tagged
from bot.clock import SimClock
from dialogs.interpret import interpret
from gateway_mocks.kannel import KannelPhones, _guess_coding, mo_url
from gateway_mocks.settings import MocksSettings

GATEWAY_SECRET = "test-sms-gateway-secret-of-32-bytes!"
CLIENT_SECRET = "test-client-id-secret-of-32-bytes!!"
CONFIG = KannelConfig("http://127.0.0.1:1/cgi-bin/sendsms", "bot", "pw", "1414", "https://bot.example.kz",
                      GATEWAY_SECRET, CLIENT_SECRET)


def channel(session: Any = None, config: KannelConfig = CONFIG, **kw: Any) -> KannelChannel:
    return KannelChannel(session, config, 5.0, **kw)


def test_gsm_text_goes_as_7_bit_and_cyrillic_as_ucs2_both_as_utf8() -> None:
    latin = channel().request_params(Outbound("d1-1", "+77011234567", "Reply 1 or 2"))
    kazakh = channel().request_params(Outbound("d1-2", "+77011234567", "Жауап беріңіз: 1 - иә"))
    assert latin["coding"] == "0" and kazakh["coding"] == "2"
    assert latin["charset"] == kazakh["charset"] == "UTF-8"
    assert latin["from"] == "1414" and latin["to"] == "+77011234567" and latin["dlr-mask"] == str(DEFAULT_DLR_MASK)
    assert "smsc" not in latin


def test_the_dlr_url_names_the_tagged_client_id_signed_and_leaves_type_to_kannel() -> None:
    params = channel(config=KannelConfig(**{**CONFIG.__dict__, "smsc": "beeline"})).request_params(
        Outbound("d1-7", "+77011234567", "x"))
    url = urllib.parse.urlsplit(params["dlr-url"])
    assert url.scheme == "https" and url.netloc == "bot.example.kz" and url.path == "/v1/inbound/sms/kannel/status"
    assert url.query.endswith("&type=%d")  # Kannel's escape, untouched
    query = dict(urllib.parse.parse_qsl(url.query))
    wire = tagged(CLIENT_SECRET, "d1-7")
    assert query["id"] == wire and query["sig"] == dlr_signature(GATEWAY_SECRET, wire)
    assert GATEWAY_SECRET not in params["dlr-url"]  # the secret never travels; a signature of one SMS does
    assert params["smsc"] == "beeline"


@pytest.fixture
async def kannel_answers() -> AsyncIterator[tuple[list[tuple[int, str]], list[dict[str, str]], str]]:
    """A stand-in sendsms: answers the queued (status, body) pairs in turn and records each query."""
    answers: list[tuple[int, str]] = []
    seen: list[dict[str, str]] = []

    async def sendsms(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        status, body = answers.pop(0)
        return web.Response(status=status, text=body)

    app = web.Application()
    app.router.add_get("/cgi-bin/sendsms", sendsms)
    server = TestServer(app)
    await server.start_server()
    try:
        yield answers, seen, str(server.make_url("/cgi-bin/sendsms"))
    finally:
        await server.close()


@pytest.mark.parametrize(("status", "body", "failure"), [
    (403, "Authorization failed for sendsms", SendFailure.BAD_CONFIG),
    (400, "Number(s) has/have been denied by white- and/or black-lists.", SendFailure.BAD_CONTENT),
    (503, "Sendsms: Message queue full", SendFailure.BAD_STATUS),
    (429, "Too many requests", SendFailure.BAD_STATUS),
    (202, "1: Something else", SendFailure.BAD_CONTENT),
    (200, "", SendFailure.BAD_CONTENT),
])
async def test_kannels_refusals_map_to_the_send_failures_the_retry_rules_know(
        kannel_answers: tuple[list[tuple[int, str]], list[dict[str, str]], str], status: int, body: str,
        failure: SendFailure) -> None:
    answers, _, url = kannel_answers
    answers.append((status, body))
    async with aiohttp.ClientSession() as session:
        with pytest.raises(SendError) as error:
            await channel(session, KannelConfig(**{**CONFIG.__dict__, "sendsms_url": url})).send(
                Outbound("d9-1", "+77011234567", "Сәлем"))
    assert error.value.failure == failure
    assert "pw" not in str(error.value)


@pytest.mark.parametrize("body", ["0: Accepted for delivery", "3: Queued for later delivery"])
async def test_accepted_and_queued_are_both_taken_and_heard_by_the_observer(
        kannel_answers: tuple[list[tuple[int, str]], list[dict[str, str]], str], body: str) -> None:
    answers, seen, url = kannel_answers
    answers.append((202, body))
    heard: list[Outbound] = []
    message = Outbound("d9-2", "+77011234567", "Жауап")
    async with aiohttp.ClientSession() as session:
        receipt = await channel(session, KannelConfig(**{**CONFIG.__dict__, "sendsms_url": url}),
                                on_accepted=heard.append).send(message)
    assert receipt.provider_message_id == f"kannel-{tagged(CLIENT_SECRET, 'd9-2')}"
    assert heard == [message]
    assert seen[0]["text"] == "Жауап" and seen[0]["username"] == "bot" and seen[0]["password"] == "pw"


async def test_an_unreachable_kannel_is_a_connection_failure_worth_retrying() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(SendError) as error:
            await channel(session).send(Outbound("d9-3", "+77011234567", "x"))
    assert error.value.failure == SendFailure.CONNECTION and error.value.failure.retryable


def mo(**values: bytes | str) -> dict[str, bytes]:
    return {k: v.encode() if isinstance(v, str) else v for k, v in values.items()}


@pytest.mark.parametrize(("data", "coding", "charset", "text"), [
    ("иә келісемін".encode("utf-16-be"), "2", "UTF-16BE", "иә келісемін"),
    (b"Ia", "0", "UTF-8", "Ia"),
    ("да".encode(), "1", "8-BIT", "да"),
    (b"\xe9t\xe9", "1", "8-BIT", "été"),   # 8-bit that is not UTF-8: read as Latin-1, never dropped
    (b"caf\xe9", "0", "ISO-8859-1", "café"),
    ("₸".encode("utf-16-be"), "2", "", "₸"),
])
def test_mo_text_is_read_by_kannels_coding_and_charset(data: bytes, coding: str, charset: str, text: str) -> None:
    assert decode_text(data, coding, charset) == text


@pytest.mark.parametrize(("data", "coding", "charset"), [
    (b"\xff\xfe\xfa", "0", "UTF-8"),                # not UTF-8
    ("иә".encode("utf-16-be")[:-1], "2", "UTF-16BE"),  # a UCS-2 text cut mid-character
    ("да".encode(), "0", "KOI8-R"),                     # a charset Kannel does not pass
])
def test_a_citizens_text_is_never_refused_for_its_bytes_and_what_is_unreadable_is_never_consent(
        data: bytes, coding: str, charset: str) -> None:
    text = decode_text(data, coding, charset)
    assert interpret("awaiting_consent", text) == ("unclear", {}) or "\ufffd" not in text


@pytest.mark.parametrize("text", ["1\ufffd", "\ufffd1", "иә\ufffd", "да\ufffd\ufffd", "2\ufffd", "нет\ufffd",
                                  "STOP\ufffd", "KZ64965KZT0000031234\ufffd"])
@pytest.mark.parametrize("state", ["awaiting_language", "awaiting_consent", "confirming_bank_account",
                                   "awaiting_bank_account"])
def test_a_reply_with_unreadable_bytes_is_unclear_whatever_the_rest_says(text: str, state: str) -> None:
    assert interpret(state, text) == ("unclear", {})


def test_mo_from_get_url_becomes_an_inbound_message() -> None:
    query = raw_query("id=3f2a-11&from=77011234567&to=1414&coding=2&charset=UTF-16BE&text="
                      + urllib.parse.quote("иә".encode("utf-16-be")) + "&at=1795000000")
    message = channel().parse_mo(query)
    assert (message.channel, message.msisdn, message.text) == ("sms", "+77011234567", "иә")
    assert message.provider_message_id == "kannel-3f2a-11"
    assert message.received_at is not None and message.received_at.timestamp() == 1795000000


@pytest.mark.parametrize(("query", "field"), [
    (mo(frm="x"), "id"),
    (mo(id="a b", **{"from": "77011234567"}), "id"),
    (mo(id="k1", **{"from": "79161234567"}), "from"),   # a Russian number
    (mo(id="k1", **{"from": "77011234567"}, coding="5"), "coding"),
    (mo(id="k1", **{"from": "77011234567"}, at="yesterday"), "at"),
])
def test_bad_mo_names_the_field(query: dict[str, bytes], field: str) -> None:
    with pytest.raises(InboundFormatError) as error:
        channel().parse_mo(query)
    assert error.value.field == field


def report(client_id: str = "d5-3", type_: str = "1", *, sig: str | None = None,
           wire: str | None = None) -> dict[str, bytes]:
    wire = wire or tagged(CLIENT_SECRET, client_id)
    return mo(id=wire, sig=sig if sig is not None else dlr_signature(GATEWAY_SECRET, wire), type=type_)


@pytest.mark.parametrize(("type_", "delivered"), [("1", True), ("2", False), ("16", False), ("4", None),
                                                  ("8", None)])
def test_kannels_dlr_types_map_to_delivered_failed_or_nothing(type_: str, delivered: bool | None) -> None:
    parsed = channel().parse_dlr(report(type_=type_))
    assert parsed.client_id == "d5-3" and parsed.receipt == f"kannel-{tagged(CLIENT_SECRET, 'd5-3')}"
    if delivered is None:
        assert parsed.report is None
    else:
        assert parsed.report is not None and parsed.report.delivered is delivered


@pytest.mark.parametrize("forged", [
    report(sig=""),                                                       # no signature
    report(sig=dlr_signature("another-gateways-secret", tagged(CLIENT_SECRET, "d5-3"))),
    report(sig=dlr_signature(GATEWAY_SECRET, tagged(CLIENT_SECRET, "d5-4"))),   # another SMS's signature
    report(wire="d5-3.0000000000000000",
           sig=dlr_signature(GATEWAY_SECRET, "d5-3.0000000000000000")),   # signed, but not our tag
])
def test_a_forged_report_is_foreign(forged: dict[str, bytes]) -> None:
    with pytest.raises(ForeignClientId):
        channel().parse_dlr(forged)


def test_a_report_of_an_unknown_type_is_invalid() -> None:
    with pytest.raises(InboundFormatError) as error:
        channel().parse_dlr(report(type_="32"))
    assert error.value.field == "type"


def test_raw_query_keeps_bytes_and_the_first_of_a_repeated_name() -> None:
    assert raw_query("text=%04%16%00+&a=1&a=2") == {"text": b"\x04\x16\x00 ", "a": b"1"}


def test_the_get_url_carries_basic_credentials_quoted_and_kannels_escapes() -> None:
    url = mo_url("http://127.0.0.1:8080", "sms-gateway", "p@ss:w/rd")
    assert url.startswith("http://sms-gateway:p%40ss%3Aw%2Frd@127.0.0.1:8080/v1/inbound/sms/kannel?")
    assert "text=%b" in url and "coding=%c" in url and "&at=%T" not in url
    assert mo_url("http://h", "u", "s", with_time=True).endswith("&at=%T")


# The phone network's reading of what Kannel writes on the fake SMSC socket (lines as Kannel 1.4.5 wrote them).

def phones() -> KannelPhones:
    return KannelPhones(MocksSettings(), SimClock(), "127.0.0.1", 1)


def ucs2(text: str) -> str:
    return urllib.parse.quote_plus(text.encode("utf-16-be"))


async def test_single_messages_of_each_kind_arrive_with_their_encoding() -> None:
    network = phones()
    network.take_line("1414 +77011234567 text Reply 1 or 2")
    network.take_line(f"1414 77011234567 ucs-2 {ucs2('Сәлем! 1 - иә')}")
    network.take_line("1414 +77011234567 data a%0Ab")
    inbox = network.inbox("+77011234567")
    assert [(m["text"], m["encoding"], m["segments"]) for m in inbox] == [
        ("Reply 1 or 2", "GSM7", 1), ("Сәлем! 1 - иә", "UCS2", 1), ("a\nb", "GSM7", 1)]


async def test_parts_are_joined_in_order_whatever_order_they_come_in() -> None:
    network = phones()
    text = "Ж" * 67 + "ә" * 67 + "₸ 1414"
    data = text.encode("utf-16-be")
    parts = [data[:134], data[134:268], data[268:]]
    for number in (2, 3, 1):
        udh = urllib.parse.quote(bytes([5, 0, 3, 0x2A, 3, number]))
        network.take_line(f"1414 +77011234567 udh {udh} data {urllib.parse.quote_plus(parts[number - 1])}")
        if number != 1:
            assert network.inbox("+77011234567") == []  # not whole yet
    [message] = network.inbox("+77011234567")
    assert (message["text"], message["encoding"], message["segments"]) == (text, "UCS2", 3)
    assert network.lines == 3


async def test_a_long_7_bit_text_joins_as_gsm7() -> None:
    network = phones()
    text = "A" * 153 + "B" * 20
    for number, part in ((1, text[:153]), (2, text[153:])):
        network.take_line(f"1414 +77011234567 udh {urllib.parse.quote(bytes([5, 0, 3, 7, 2, number]))} data {part}")
    [message] = network.inbox("+77011234567")
    assert (message["text"], message["encoding"], message["segments"]) == (text, "GSM7", 2)


@pytest.mark.parametrize(("text", "coding"), [("Ж", "UCS2"), ("Reply 1 or 2: yes", "GSM7"),
                                              ("Сізге 100 000 ₸ — №1", "UCS2"), ("  ", "GSM7")])
def test_the_coding_of_joined_parts_is_told_from_their_bytes(text: str, coding: str) -> None:
    data = text.encode("utf-16-be") if coding == "UCS2" else text.encode()
    assert _guess_coding(data) == coding


async def test_a_line_that_cannot_be_read_is_refused_not_fatal() -> None:
    network = phones()
    for line in ("garbage", "1414 +77011234567 morse ..--", "1414 +7701 udh %05%00 data x"):
        with pytest.raises(ValueError):
            network.take_line(line)


class Book:
    """Receipts kept in a dict, as the store keeps them in Redis."""

    def __init__(self) -> None:
        self.kept: dict[str, str] = {}

    async def gateway_receipt(self, client_id: str) -> str | None:
        return self.kept.get(client_id)

    async def keep_gateway_receipt(self, client_id: str, receipt: str, seconds: int) -> None:
        assert seconds >= 86400
        self.kept[client_id] = receipt


async def test_a_repeat_of_a_client_id_kannel_took_is_not_sent_again(
        kannel_answers: tuple[list[tuple[int, str]], list[dict[str, str]], str]) -> None:
    answers, seen, url = kannel_answers
    answers.extend([(503, "Sendsms: Message queue full"), (202, "0: Accepted for delivery")])
    book = Book()
    config = KannelConfig(**{**CONFIG.__dict__, "sendsms_url": url})
    message = Outbound("d9-4", "+77011234567", "Жауап")
    async with aiohttp.ClientSession() as session:
        sender = channel(session, config, receipts=book)
        with pytest.raises(SendError):
            await sender.send(message)  # refused: nothing kept, so the retry goes to Kannel
        first = await sender.send(message)
        again = await sender.send(message)  # a worker killed before the step was saved runs the send again
    assert len(seen) == 2 and first == again
    assert book.kept == {"d9-4": first.provider_message_id}


async def test_a_send_cut_off_mid_call_is_not_repeated_until_kannel_says_or_the_claim_is_old() -> None:
    """A worker killed (here: a timeout) while Kannel may be taking the SMS: the repeat waits for Kannel's word."""
    calls: list[dict[str, str]] = []
    hang = asyncio.Event()

    async def sendsms(request: web.Request) -> web.Response:
        calls.append(dict(request.query))
        if len(calls) in (1, 2) and not hang.is_set():
            await hang.wait()  # the first call of each SMS never answers in time
        return web.Response(status=202, text="0: Accepted for delivery")

    app = web.Application()
    app.router.add_get("/cgi-bin/sendsms", sendsms)
    server = TestServer(app)
    await server.start_server()
    now = [1000.0]
    book = Book()
    config = KannelConfig(**{**CONFIG.__dict__, "sendsms_url": str(server.make_url("/cgi-bin/sendsms"))})
    message = Outbound("d9-5", "+77011234567", "Жауап")
    try:
        async with aiohttp.ClientSession() as session:
            sender = KannelChannel(session, config, 0.2, receipts=book, clock=lambda: now[0], ambiguous_seconds=600)
            with pytest.raises(SendError) as cut:
                await sender.send(message)
            assert cut.value.failure.retryable and book.kept["d9-5"].startswith("pending:")
            now[0] += 30
            with pytest.raises(SendError) as waiting:
                await sender.send(message)  # Kannel may have it: not sent again yet
            assert "waiting for its report" in waiting.value.detail and len(calls) == 1
            # Kannel's report arrives (the SMSC accepted it): the repeat is answered from it, never sent.
            await sender.heard(sender.parse_dlr(report("d9-5", "8")))
            assert (await sender.send(message)).provider_message_id == f"kannel-{tagged(CLIENT_SECRET, 'd9-5')}"
            assert len(calls) == 1
            # Another SMS cut off the same way, with no word from Kannel for longer than the bound: sent again.
            other = Outbound("d9-6", "+77011234567", "Жауап")
            with pytest.raises(SendError):
                await sender.send(other)
            now[0] += 601
            hang.set()
            assert (await sender.send(other)).provider_message_id.startswith("kannel-d9-6.")
            assert len(calls) == 3
    finally:
        hang.set()
        await server.close()
