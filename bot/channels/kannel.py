"""SMS through Kannel (or an aggregator with Kannel's HTTP interface): the only module that knows its wire format.

Out: `GET {KANNEL_SENDSMS_URL}?username&password&from&to&text&charset=UTF-8&coding&dlr-mask&dlr-url` on smsbox's
sendsms port. The text goes as UTF-8; `coding=0` (GSM 7-bit) when every character is in the GSM alphabet, else
`coding=2` (UCS-2): Cyrillic, Kazakh letters, ₸. Kannel splits a long text into concatenated parts itself
(`concatenation = true` and `max-messages` in its `sendsms-user` group). The delivery report comes back to the
`dlr-url` we give with each message: it names our client id (tagged, as for every gateway) and carries a
signature of it under SMS_GATEWAY_SECRET, so only the gateway we gave it to can report on that SMS.

In: smsbox's `sms-service` calls `get-url` (README "SMS through Kannel"): `from=%p&to=%P&text=%b&coding=%c&
charset=%C&id=%I[&at=%T]`, authenticated by HTTP Basic in the URL (`http://user:secret@bot/...`). `%b` is the
message as the phone sent it: bytes, read here by `coding` and `charset` (UCS-2 arrives as UTF-16BE).

Kannel's sendsms answers (smsbox, gw/smsbox.c): `202 0: Accepted for delivery`, `202 3: Queued for later
delivery` (the SMSC is down; Kannel keeps it), `4xx` for a request it will never take (403 wrong user or
password, 400 a number its lists refuse or a missing field), `503` when it is shutting down or its queue is
full. Each maps to the SendFailure vocabulary, and the engine's retry rules do the rest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from bot.channels.base import (
    EXTERNAL_ID,
    DeliveryReport,
    Inbound,
    InboundFormatError,
    Outbound,
    Receipt,
    SendError,
    SendFailure,
    failure_for_status,
)
from bot.channels.sms import ForeignClientId, tagged, untagged
from domain.phone import PhoneError, parse_msisdn
from domain.sms_length import encoding

log = logging.getLogger(__name__)

MO_PATH = "/v1/inbound/sms/kannel"
DLR_PATH = "/v1/inbound/sms/kannel/status"
# Kannel's DLR types (dlr-mask bits, and `%d` in the report): 1 delivered to the phone, 2 undeliverable,
# 4 buffered at the SMSC, 8 accepted by the SMSC, 16 rejected by the SMSC.
DELIVERED, UNDELIVERABLE, BUFFERED, SMSC_ACCEPTED, SMSC_REJECTED = 1, 2, 4, 8, 16
# What we ask for by default: the final outcome, the SMSC's acceptance (quick proof that Kannel has the SMS, see
# KannelChannel) and its rejection (which never reaches the phone).
DEFAULT_DLR_MASK = DELIVERED | UNDELIVERABLE | SMSC_ACCEPTED | SMSC_REJECTED
# Kannel's `charset` (`%C`) names for what `%b` holds. 7-bit text comes converted to UTF-8 (or Latin-1 from
# older SMSC modules); 8-bit data is bytes, read as UTF-8 when it is (phones that send 8-bit send that).
_CHARSETS = {"UTF-16BE": "utf-16-be", "UCS-2": "utf-16-be", "UTF-8": "utf-8", "ISO-8859-1": "latin-1",
             "WINDOWS-1252": "cp1252", "8-BIT": "utf-8", "": "utf-8"}
MAX_TEXT = 2000  # a long concatenated SMS is still one message; a flood of text is cut, not refused
SIGNATURE_HEX_DIGITS = 32


def dlr_signature(gateway_secret: str, wire_id: str) -> str:
    """What authenticates a delivery report for one SMS: HMAC-SHA256 of its wire id under the gateway's secret.

    The secret itself never goes to Kannel in a URL (Kannel logs URLs and keeps them in its DLR store); a
    signature names one SMS and is worth nothing for any other.
    """
    mac = hmac.new(gateway_secret.encode(), f"kannel-dlr.{wire_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:SIGNATURE_HEX_DIGITS]


def provider_id(wire_id: str) -> str:
    """Kannel's sendsms gives no message id; ours, as the gateway knows it, stands in for it on both sides."""
    return f"kannel-{wire_id}"


@dataclass(frozen=True)
class KannelConfig:
    """Where smsbox's sendsms is and how we log in to it; where Kannel sends delivery reports back."""

    sendsms_url: str
    username: str
    password: str
    sender: str
    dlr_base_url: str          # the bot's public URL, as Kannel reaches it
    gateway_secret: str        # SMS_GATEWAY_SECRET: signs each dlr-url
    client_id_secret: str      # SMS_CLIENT_ID_SECRET: tags each client id
    dlr_mask: int = DEFAULT_DLR_MASK
    smsc: str | None = None    # Kannel's `smsc` parameter: route through this SMSC id


class Receipts(Protocol):
    """Where the channel keeps what Kannel took (bot/store/deliveries.py): Kannel itself drops no repeat of a client
    id."""

    async def gateway_receipt(self, client_id: str) -> str | None: ...

    async def keep_gateway_receipt(self, client_id: str, receipt: str, seconds: int) -> None: ...


RECEIPT_SECONDS = 7 * 86400  # longer than any retry of a send (SEND_RETRY_SECONDS, job redeliveries)


PENDING = "pending:"


@dataclass(frozen=True)
class KannelReport:
    """A delivery report from our dlr-url: whose SMS, and what it changes (None: nothing, only that Kannel has it)."""

    client_id: str
    receipt: str
    report: DeliveryReport | None


class KannelChannel:
    """Sends SMS through Kannel's sendsms and reads what its sms-service and dlr-url calls bring.

    Kannel drops no repeat of a client id: a send repeated under the same one (a worker killed while Kannel was
    taking the SMS or after, before the step was saved, and its job run again) would reach the phone twice. So:
    before calling sendsms the channel records a claim (`pending:<time>`) under the client id; Kannel's answer,
    or any delivery report naming the SMS (the SMSC's acceptance comes within seconds), replaces it with the
    receipt. A repeat finds the receipt and sends nothing; finds a claim younger than `ambiguous_seconds`, and
    waits (a retryable failure: the report may be on its way); finds an older claim with no word from Kannel, and
    sends (Kannel never had it, or its SMSC has been silent that long). A refusal with a status (Kannel did not
    take it) or a refused connection clears the claim at once.
    """

    name = "sms"

    def __init__(self, session: aiohttp.ClientSession, config: KannelConfig, timeout: float,
                 on_accepted: Callable[[Outbound], None] | None = None, receipts: Receipts | None = None,
                 clock: Callable[[], float] | None = None, ambiguous_seconds: float = 600.0) -> None:
        self._session = session
        self._now = clock or (lambda: dt.datetime.now(dt.UTC).timestamp())
        self._ambiguous_seconds = ambiguous_seconds
        self._config = config
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._on_accepted = on_accepted  # dev only: tells the simulated phone network a message is on its way
        self._receipts = receipts

    def dlr_url(self, wire_id: str) -> str:
        """The URL Kannel calls with the outcome; `%d` (the DLR type) is Kannel's, the rest is ours."""
        query = urllib.parse.urlencode({"id": wire_id, "sig": dlr_signature(self._config.gateway_secret, wire_id)})
        return f"{self._config.dlr_base_url.rstrip('/')}{DLR_PATH}?{query}&type=%d"

    def request_params(self, message: Outbound) -> dict[str, str]:
        """The sendsms query for one message."""
        config = self._config
        wire_id = tagged(config.client_id_secret, message.client_id)
        params = {
            "username": config.username, "password": config.password, "from": config.sender,
            "to": message.msisdn, "text": message.text, "charset": "UTF-8",
            "coding": "0" if encoding(message.text) == "GSM7" else "2",
            "dlr-mask": str(config.dlr_mask), "dlr-url": self.dlr_url(wire_id),
        }  # fmt: skip
        if config.smsc:
            params["smsc"] = config.smsc
        return params

    async def send(self, message: Outbound) -> Receipt:
        receipts = self._receipts
        if receipts is not None:
            kept = await receipts.gateway_receipt(message.client_id)
            if kept is not None and not kept.startswith(PENDING):
                return Receipt(kept)  # Kannel took it before: what a gateway with client ids would answer
            if kept is not None and self._now() - float(kept[len(PENDING):]) < self._ambiguous_seconds:
                raise SendError(SendFailure.BAD_STATUS, "an earlier send of this SMS may have reached Kannel: "
                                                        "waiting for its report before sending again")
            await receipts.keep_gateway_receipt(message.client_id, f"{PENDING}{self._now()}", RECEIPT_SECONDS)
        params = self.request_params(message)
        try:
            async with self._session.get(self._config.sendsms_url, params=params, timeout=self._timeout) as resp:
                answer = (await resp.text(errors="replace")).strip()
                status = resp.status
        except aiohttp.ClientConnectorError as error:  # never connected: Kannel cannot have it
            await self._forget(message)
            raise SendError(SendFailure.CONNECTION, type(error).__name__) from error
        except (TimeoutError, aiohttp.ClientError) as error:  # it may have: the claim stands
            raise SendError(SendFailure.CONNECTION, type(error).__name__) from error
        # 0 accepted, 3 queued for later delivery: Kannel has it either way. Any other answer: it has not.
        if status >= 300 or answer.partition(":")[0].strip() not in ("0", "3"):
            await self._forget(message)
            # The answer names the problem ("Authorization failed for sendsms"); it never holds the password.
            failure = failure_for_status(status) if status >= 300 else SendFailure.BAD_CONTENT
            raise SendError(failure, f"Kannel answered {status} without accepting: {answer[:120]}")
        receipt = provider_id(tagged(self._config.client_id_secret, message.client_id))
        if self._receipts is not None:
            await self._receipts.keep_gateway_receipt(message.client_id, receipt, RECEIPT_SECONDS)
        if self._on_accepted is not None:
            self._on_accepted(message)
        return Receipt(receipt)

    def parse_mo(self, query: dict[str, bytes]) -> Inbound:
        """A citizen's SMS as smsbox's get-url passes it; raises InboundFormatError naming the field."""
        raw_id = _text(query, "id")
        if not EXTERNAL_ID.fullmatch(raw_id):
            raise InboundFormatError("id", "id must be Kannel's message id (%I)")
        try:
            msisdn = parse_msisdn(_text(query, "from")).e164
        except PhoneError as error:
            raise InboundFormatError("from", str(error)) from error
        text = decode_text(query.get("text", b""), _text(query, "coding", required=False),
                           _text(query, "charset", required=False))
        received_at = None
        if query.get("at"):
            stamp = _text(query, "at")
            if not stamp.isdigit():
                raise InboundFormatError("at", "at must be Kannel's %T (unix seconds)")
            received_at = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
        return Inbound("sms", msisdn, text[:MAX_TEXT], f"kannel-{raw_id}", received_at)

    async def _forget(self, message: Outbound) -> None:
        """Kannel answered that it did not take the SMS: a retry may send it at once."""
        if self._receipts is not None:
            await self._receipts.keep_gateway_receipt(message.client_id, f"{PENDING}0", RECEIPT_SECONDS)

    async def heard(self, report: KannelReport) -> None:
        """A report names this SMS: Kannel had it, whatever a claim says (see the class)."""
        if self._receipts is not None:
            await self._receipts.keep_gateway_receipt(report.client_id, report.receipt, RECEIPT_SECONDS)

    def parse_dlr(self, query: dict[str, bytes]) -> KannelReport:
        """A delivery report from our dlr-url; its `report` is None for a type that changes nothing (buffered,
        accepted by the SMSC). Raises ForeignClientId when the id or its signature is not one we gave Kannel."""
        wire_id = _text(query, "id")
        if not EXTERNAL_ID.fullmatch(wire_id):
            raise InboundFormatError("id", "id must be the client id this bot sent")
        expected = dlr_signature(self._config.gateway_secret, wire_id)
        if not hmac.compare_digest(_text(query, "sig", required=False).encode(), expected.encode()):
            raise ForeignClientId("sig", "the report's signature does not match its id")
        client_id = untagged(self._config.client_id_secret, wire_id)
        if client_id is None:
            raise ForeignClientId("id", "id names no SMS this bot sent")
        kind = _text(query, "type")
        if not kind.isdigit():
            raise InboundFormatError("type", "type must be Kannel's DLR type (%d)")
        code, receipt = int(kind), provider_id(wire_id)
        if code & DELIVERED:
            return KannelReport(client_id, receipt, DeliveryReport(receipt, client_id, True))
        if code & (UNDELIVERABLE | SMSC_REJECTED):
            return KannelReport(client_id, receipt, DeliveryReport(receipt, client_id, False))
        if code & (BUFFERED | SMSC_ACCEPTED):
            return KannelReport(client_id, receipt, None)
        raise InboundFormatError("type", f"type {code} is not a Kannel DLR type (1, 2, 4, 8, 16)")


def decode_text(data: bytes, coding: str, charset: str) -> str:
    """The text of `%b` by Kannel's `%c` (0 7-bit, 1 8-bit, 2 UCS-2) and `%C`.

    A citizen's message is never refused for its bytes (smsbox would give up on it after its retries, and the
    citizen would never hear why): an unknown charset is read as UTF-8, and what cannot be read becomes U+FFFD,
    which no reply table reads as consent; the reply is then unclear, and the citizen is asked again.
    """
    if coding not in ("", "0", "1", "2"):
        raise InboundFormatError("coding", "coding must be Kannel's %c: 0, 1 or 2")
    name = _CHARSETS.get(charset.upper())
    if coding == "2" and charset.upper() not in ("UTF-16BE", "UCS-2", "UTF-8"):
        name = "utf-16-be"  # UCS-2 whatever the charset says: what the phone sent
    if name is None:
        log.warning("Kannel passed an SMS in charset %r: read as UTF-8", charset[:32])
        name = "utf-8"
    try:
        return data.decode(name)
    except UnicodeDecodeError:
        if coding == "1":  # 8-bit data that is not UTF-8: Latin-1 reads every byte
            return data.decode("latin-1")
        log.warning("Kannel passed an SMS that is not valid %s: unreadable bytes replaced", name)
        return data.decode(name, errors="replace")


def raw_query(query_string: str) -> dict[str, bytes]:
    """A query string's values as bytes: `%b` is binary (UTF-16BE for UCS-2), which str decoding would garble.

    Hand-parsed with urllib (not aiohttp's `request.query`, which decodes as UTF-8): latin-1 maps bytes 1:1.
    The first value of a repeated name counts.
    """
    values: dict[str, bytes] = {}
    for name, value in urllib.parse.parse_qsl(query_string, keep_blank_values=True, encoding="latin-1"):
        values.setdefault(name, value.encode("latin-1"))
    return values


def _text(query: dict[str, bytes], name: str, *, required: bool = True) -> str:
    value = query.get(name)
    if value is None or value == b"":
        if required:
            raise InboundFormatError(name, f"{name} is missing")
        return ""
    if len(value) > 128:
        raise InboundFormatError(name, f"{name} is longer than 128 bytes")
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        raise InboundFormatError(name, f"{name} must be ASCII") from None
