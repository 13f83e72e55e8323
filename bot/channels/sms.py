"""SMS through an aggregator's HTTP API: the only module that knows its wire format."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import aiohttp

from bot.channels.base import (
    DeliveryReport,
    Inbound,
    InboundFormatError,
    Outbound,
    Receipt,
    SendError,
    SendFailure,
    failure_for_status,
    id_field,
    text_field,
)
from bot.clock import parse_instant
from domain.phone import PhoneError, parse_msisdn

TAG_HEX_DIGITS = 16  # 64 bits: guessing one takes more posts than any gateway will ever take


class ForeignClientId(InboundFormatError):
    """A delivery report whose client id is not one we sent (no tag, or a wrong one)."""


def client_id_tag(secret: str, client_id: str) -> str:
    """The per-message token: a truncated HMAC-SHA256 of our client id under a secret only the bot knows."""
    return hmac.new(secret.encode(), client_id.encode(), hashlib.sha256).hexdigest()[:TAG_HEX_DIGITS]


def tagged(secret: str, client_id: str) -> str:
    """The client id as the gateway sees it, and echoes in its delivery reports: `<client id>.<tag>`."""
    return f"{client_id}.{client_id_tag(secret, client_id)}"


def untagged(secret: str, wire_id: str) -> str | None:
    """Our client id from a gateway's `<client id>.<tag>`, or None when the tag is missing or wrong."""
    client_id, dot, tag = wire_id.rpartition(".")
    if not dot or not client_id:
        return None
    expected = client_id_tag(secret, client_id).encode()
    return client_id if hmac.compare_digest(tag.encode("utf-8", "surrogatepass"), expected) else None


class SmsChannel:
    """Sends SMS from the short number and reads the aggregator's inbound and status posts."""

    name = "sms"

    def __init__(self, session: aiohttp.ClientSession, base_url: str, sender: str, timeout: float,
                 client_id_secret: str) -> None:
        self._session = session
        self._client_id_secret = client_id_secret
        self._base_url = base_url
        self._sender = sender
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def parse(self, payload: Any) -> Inbound:
        """An aggregator's inbound JSON as an Inbound; raises InboundFormatError."""
        if not isinstance(payload, dict):
            raise InboundFormatError("$", "body must be a JSON object")
        message_id = id_field(payload, "message_id")
        assert message_id is not None
        sender = text_field(payload, "from", 32)
        text = payload.get("text")
        if not isinstance(text, str):
            raise InboundFormatError("text", "text must be a string")
        try:
            msisdn = parse_msisdn(sender).e164
        except PhoneError as error:
            raise InboundFormatError("from", str(error)) from error
        received = payload.get("received_at")
        try:
            received_at = parse_instant(received) if isinstance(received, str) else None
        except ValueError as error:
            raise InboundFormatError("received_at", str(error)) from error
        # Long concatenated SMS are still one message; a flood of text is cut, not refused.
        return Inbound("sms", msisdn, text[:2000], message_id, received_at)

    def parse_status(self, payload: Any) -> DeliveryReport:
        """An aggregator's delivery report."""
        if not isinstance(payload, dict):
            raise InboundFormatError("$", "body must be a JSON object")
        message_id = id_field(payload, "message_id")
        assert message_id is not None
        status = payload.get("status")
        if status not in ("delivered", "failed"):
            raise InboundFormatError("status", "status must be 'delivered' or 'failed'")
        # Only a report naming an SMS we sent, by the tagged id we sent it under, may have an effect: a forged
        # `failed` one would have the SMS sent again (CONTRACT.md, "Who may speak for a citizen").
        wire_id = id_field(payload, "client_id")
        assert wire_id is not None  # required
        client_id = untagged(self._client_id_secret, wire_id)
        if client_id is None:
            raise ForeignClientId("client_id", "client_id names no SMS this bot sent")
        return DeliveryReport(message_id, client_id, status == "delivered")

    async def send(self, message: Outbound) -> Receipt:
        body = {"client_id": tagged(self._client_id_secret, message.client_id), "to": message.msisdn,
                "from": self._sender, "text": message.text}
        try:
            async with self._session.post(f"{self._base_url}/send", json=body, timeout=self._timeout) as resp:
                if resp.status >= 300:
                    raise SendError(failure_for_status(resp.status), f"gateway answered {resp.status}")
                data = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError) as error:
            raise SendError(SendFailure.CONNECTION, type(error).__name__) from error
        except ValueError as error:  # a 2xx whose body is not JSON
            raise SendError(SendFailure.BAD_CONTENT, "gateway answered with a body that is not JSON") from error
        message_id = data.get("message_id") if isinstance(data, dict) else None
        if not isinstance(message_id, str) or not 0 < len(message_id) <= 128:
            raise SendError(SendFailure.BAD_CONTENT, "gateway gave no usable message_id")
        return Receipt(message_id)
