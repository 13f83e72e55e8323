"""The shape every channel has: parse what arrives, send what leaves, report how it went."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from dialogs.answers import Question


@dataclass(frozen=True)
class Inbound:
    """A citizen's message, whatever carried it."""

    channel: str
    msisdn: str
    text: str
    provider_message_id: str
    received_at: dt.datetime | None = None
    question: Question | None = None  # the question it was typed or tapped on, when the channel knows


@dataclass(frozen=True)
class Outbound:
    """A message to a citizen; `client_id` is stable across retries so the gateway can drop repeats."""

    client_id: str
    msisdn: str
    text: str
    msg_id: str | None = None      # the catalog message, so a channel can add its own buttons or menus
    language: str | None = None


@dataclass(frozen=True)
class Receipt:
    """The gateway took the message."""

    provider_message_id: str


@dataclass(frozen=True)
class DeliveryReport:
    """What the gateway later learnt about a sent message."""

    provider_message_id: str
    client_id: str | None
    delivered: bool


class SendFailure(enum.StrEnum):
    """A short vocabulary of send errors; the engine, not the channel, decides whether to retry."""

    CONNECTION = "connection"      # timeout, refused, reset
    BAD_STATUS = "bad_status"      # 5xx or 429: worth retrying
    BAD_CONTENT = "bad_content"    # 4xx: the request itself is wrong; retrying will not help
    BAD_CONFIG = "bad_config"      # we are misconfigured (401/403/404)

    @property
    def retryable(self) -> bool:
        return self in (SendFailure.CONNECTION, SendFailure.BAD_STATUS)


class SendError(Exception):
    """A channel could not hand a message over."""

    def __init__(self, failure: SendFailure, detail: str) -> None:
        super().__init__(f"{failure}: {detail}")
        self.failure = failure
        self.detail = detail


class Channel(Protocol):
    """What the engine needs from a channel."""

    name: str

    async def send(self, message: Outbound) -> Receipt: ...


# How a channel hands a citizen's message in (bot/work.py, `take_inbound`: an `inbound` job on the work queue, for
# every channel): kept once this returns; the job's result ({"verdict", "shown"}) when a worker finished it in
# time, else None (it stays queued, or went to the operators' dead letters, and will be done).
Take = Callable[[Inbound], Awaitable[dict[str, Any] | None]]


def failure_for_status(status: int) -> SendFailure:
    """Map an HTTP status to a send failure."""
    if status == 429 or status >= 500:
        return SendFailure.BAD_STATUS
    if status in (401, 403, 404):
        return SendFailure.BAD_CONFIG
    return SendFailure.BAD_CONTENT


class InboundFormatError(ValueError):
    """A provider posted something we cannot read; `field` names what."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def text_field(payload: dict[str, Any], name: str, max_len: int, *, required: bool = True) -> str:
    """A string field of a provider's post, checked for presence and length ("" when optional and absent)."""
    value = payload.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InboundFormatError(name, f"{name} must be a non-empty string")
    if len(value) > max_len:
        raise InboundFormatError(name, f"{name} is longer than {max_len} characters")
    return value


# What a provider's id may look like (a message id, a session id, our client id echoed back): printable ASCII,
# no spaces, no quotes, no control characters, at most 128 characters. It is written to logs and keys.
EXTERNAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")


def id_field(payload: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    """An id field of a provider's post, checked against EXTERNAL_ID (None when optional and absent)."""
    value = payload.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not EXTERNAL_ID.fullmatch(value):
        raise InboundFormatError(name, f"{name} must be 1-128 of A-Z a-z 0-9 . _ : @ / + = - (no spaces)")
    return value
