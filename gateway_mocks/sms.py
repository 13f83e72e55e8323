"""The SMS aggregator between the bot and simulated phones: sends, delivery reports, replies to 1414."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.clock import Clock
from domain.sms_length import encoding, segments

from .common import (
    FieldErrors,
    Outbound,
    OutboundError,
    dump,
    error_response,
    iso,
    json_object,
    json_response,
    normalise_msisdn,
    required_str,
    signed_headers,
    unprocessable,
)
from .settings import MocksSettings, is_rate

log = logging.getLogger(__name__)

SHORT_NUMBER = "1414"
INBOUND_PATH = "/v1/inbound/sms"
STATUS_PATH = "/v1/inbound/sms/status"


@dataclass
class Phone:
    """A simulated handset: what it received, and whether the network can reach it."""

    msisdn: str
    reachable: bool = True
    inbox: list[dict[str, Any]] = field(default_factory=list)


class BotRefused(Exception):
    """The bot answered an inbound SMS with a non-2xx status."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"the bot answered {status}: {text[:300]}")
        self.status = status


class Unavailable(Exception):
    """A send refused by an injected fault (`sms_fail_rate`): answered 503, nothing kept."""


class SmsGateway:
    """Accepts the bot's sends (idempotent by client_id), fills phone inboxes, forwards phone replies."""

    def __init__(self, settings: MocksSettings, clock: Clock, outbound: Outbound) -> None:
        self.settings = settings
        self.clock = clock
        self.outbound = outbound
        self.phones: dict[str, Phone] = {}
        self.sent: list[dict[str, Any]] = []  # every accepted send, with its delivery status
        self.received: list[dict[str, Any]] = []  # every SMS a phone sent to 1414, as forwarded
        self.reports: list[dict[str, Any]] = []  # every delivery report posted (or attempted)
        self.duplicates_dropped = 0
        self.failed_sends = 0  # sends refused 503 by an injected fault
        self.delivered = 0
        self.delivery_failed = 0  # accepted, reported failed: phone switched off, or lost by a fault
        self._faults = random.Random(settings.fault_seed)
        self._message_ids: dict[str, str] = {}  # client_id → message_id
        self._out_seq = 0
        self._in_seq = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._arrived = asyncio.Condition()  # notified on each delivery: long-polling phones wake up

    @property
    def sent_count(self) -> int:
        """Distinct messages accepted (repeats of a client_id not counted), delivered or failed."""
        return len(self.sent)

    def phone(self, msisdn: str) -> Phone:
        """The phone with this (normalised) number, switched on when first seen."""
        return self.phones.setdefault(msisdn, Phone(msisdn))

    def inbox(self, msisdn: str) -> list[dict[str, Any]]:
        """Every SMS delivered to this phone, oldest first; [] for a phone never seen."""
        number = normalise_msisdn(msisdn)
        phone = self.phones.get(number) if number else None
        return list(phone.inbox) if phone else []

    def set_reachable(self, msisdn: str, reachable: bool) -> None:
        self.phone(msisdn).reachable = reachable

    def stats(self) -> dict[str, int]:
        """What the gateway did with the sends so far; accepted = delivered + delivery_failed."""
        return {
            "accepted": self.sent_count, "duplicates_dropped": self.duplicates_dropped,
            "failed_sends": self.failed_sends, "delivery_failed": self.delivery_failed,
            "delivered": self.delivered,
        }  # fmt: skip

    def faults(self) -> dict[str, Any]:
        """The injected faults now in force."""
        return {
            "fail_rate": self.settings.sms_fail_rate, "delivery_fail_rate": self.settings.sms_delivery_fail_rate,
            "seed": self.settings.fault_seed,
        }  # fmt: skip

    def set_faults(self, **changes: Any) -> None:
        """Change some of fail_rate, delivery_fail_rate and seed (already checked); a seed restarts the draws."""
        if "fail_rate" in changes:
            self.settings.sms_fail_rate = float(changes["fail_rate"])
        if "delivery_fail_rate" in changes:
            self.settings.sms_delivery_fail_rate = float(changes["delivery_fail_rate"])
        if "seed" in changes:
            self.settings.fault_seed = changes["seed"]
            self._faults = random.Random(changes["seed"])

    def send(self, client_id: str, to: str, sender: str, text: str) -> tuple[str, bool]:
        """Accept one SMS: its message_id, and False when the client_id was seen; Unavailable if a fault hits."""
        # A gateway that is down refuses repeats too; the client_id stays unknown, so a retry is fresh.
        if self._fault(self.settings.sms_fail_rate):
            self.failed_sends += 1
            raise Unavailable(client_id)
        known = self._message_ids.get(client_id)
        if known is not None:
            self.duplicates_dropped += 1
            return known, False
        self._out_seq += 1
        message_id = f"gw-out-{self._out_seq}"
        self._message_ids[client_id] = message_id
        phone, at = self.phone(to), iso(self.clock.now())
        # Only a phone that is on can lose a message in the network; one that is off fails anyway.
        delivered = phone.reachable and not self._fault(self.settings.sms_delivery_fail_rate)
        status = "delivered" if delivered else "failed"
        if delivered:
            self.delivered += 1
            phone.inbox.append(
                {"id": message_id, "from": sender, "text": text, "encoding": encoding(text),
                 "segments": segments(text), "at": at}
            )  # fmt: skip
            self._background(self._tell_waiting())
        else:
            self.delivery_failed += 1
        self.sent.append({"message_id": message_id, "client_id": client_id, "to": to, "status": status})
        report = {"message_id": message_id, "client_id": client_id, "status": status, "at": at}
        self._background(self._post_report(report))
        return message_id, True

    async def receive(self, msisdn: str, text: str) -> str:
        """Forward an SMS from a phone to the bot and wait for its answer; BotRefused or OutboundError."""
        self._in_seq += 1
        message = {
            "message_id": f"gw-in-{self._in_seq}", "from": msisdn, "to": SHORT_NUMBER, "text": text,
            "received_at": iso(self.clock.now()),
        }  # fmt: skip
        self.received.append(message)
        body = dump(message)
        headers = signed_headers(self.settings.sms_gateway_secret, self.settings.signing_time(self.clock.now()), body)
        status, answer = await self.outbound.post(self.settings.bot(INBOUND_PATH), body, headers)
        if not 200 <= status < 300:
            raise BotRefused(status, answer)
        return str(message["message_id"])

    def _fault(self, rate: float) -> bool:
        """Whether an injected fault strikes this time; no draw at rate 0, so faults off cost nothing."""
        return rate > 0 and self._faults.random() < rate

    async def flush(self) -> None:
        """Wait until every delivery report in flight has been posted (or has failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        # Keep a reference: the event loop holds tasks weakly and could drop one mid-flight.
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post_report(self, report: dict[str, Any]) -> None:
        self.reports.append(report)
        try:
            body = dump(report)
            at = self.settings.signing_time(self.clock.now())
            headers = signed_headers(self.settings.sms_gateway_secret, at, body)
            status, _ = await self.outbound.post(self.settings.bot(STATUS_PATH), body, headers)
        except OutboundError as exc:
            log.warning("delivery report %s not posted: %s", report["message_id"], exc)
            return
        if not 200 <= status < 300:
            log.warning("delivery report %s: the bot answered %s", report["message_id"], status)

    # HTTP ----------------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/sms/send", self.handle_send),
            web.get("/sms/stats", self.handle_stats),
            web.get("/sms/faults", self.handle_faults),
            web.post("/sms/faults", self.handle_set_faults),
            web.get("/phones/{msisdn}/sms", self.handle_inbox),
            web.post("/phones/{msisdn}/sms", self.handle_phone_sends),
            web.post("/phones/{msisdn}/state", self.handle_state),
        ]

    async def handle_send(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        errors = FieldErrors()
        client_id = required_str(body, "client_id", errors, max_len=128)
        raw_to = required_str(body, "to", errors, max_len=32)
        to = normalise_msisdn(raw_to) if raw_to else None
        if raw_to and to is None:
            errors.add("to", "invalid_msisdn", "to must be an E.164 number such as +77011234567")
        sender = required_str(body, "from", errors, max_len=16) if "from" in body else SHORT_NUMBER
        text = required_str(body, "text", errors)
        errors.raise_if_any()
        assert to is not None
        try:
            message_id, new = self.send(client_id, to, sender, text)
        except Unavailable:
            return error_response(503, "unavailable")
        return json_response({"message_id": message_id}, status=202 if new else 200)

    async def handle_stats(self, request: web.Request) -> web.Response:
        return json_response(self.stats())

    async def handle_faults(self, request: web.Request) -> web.Response:
        return json_response(self.faults())

    async def handle_set_faults(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        errors = FieldErrors()
        for name in sorted(body.keys() - {"fail_rate", "delivery_fail_rate", "seed"}):
            # A misspelt field would otherwise leave the faults off without a word.
            errors.add(name, "unknown_field", "faults take fail_rate, delivery_fail_rate and seed only")
        for name in ("fail_rate", "delivery_fail_rate"):
            if name in body and not is_rate(body[name]):
                errors.add(name, "invalid_rate", f"{name} must be a number from 0 to 1")
        seed = body.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            errors.add("seed", "type", "seed must be an integer, or null for an unseeded run")
        errors.raise_if_any()
        self.set_faults(**body)
        return json_response(self.faults())

    async def wait_for(self, msisdn: str, count: int, seconds: float) -> list[dict[str, Any]]:
        """The phone's inbox once it holds at least `count` messages, or as it is after `seconds`."""
        async with self._arrived:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.inbox(msisdn)) >= count), seconds)
        return self.inbox(msisdn)

    async def _tell_waiting(self) -> None:
        async with self._arrived:
            self._arrived.notify_all()

    async def handle_inbox(self, request: web.Request) -> web.Response:
        """Every SMS the phone holds; with `?count=N&wait=S`, answered once it holds N (or after S ≤ 60 s)."""
        msisdn = _path_msisdn(request)
        try:
            count, wait = int(request.query.get("count", "0")), float(request.query.get("wait", "0"))
            if count < 0 or not 0 <= wait <= 60:
                raise ValueError
        except ValueError:
            raise unprocessable([{"field": "count", "code": "invalid",
                                  "message": "count must be an integer ≥ 0 and wait 0-60 seconds"}]) from None
        if count and wait:
            return json_response(await self.wait_for(msisdn, count, wait))
        return json_response(self.inbox(msisdn))

    async def handle_phone_sends(self, request: web.Request) -> web.Response:
        msisdn = _path_msisdn(request)
        body = await json_object(request)
        errors = FieldErrors()
        text = required_str(body, "text", errors)
        errors.raise_if_any()
        if not self.phone(msisdn).reachable:
            return error_response(409, "phone_unreachable", message="the phone is switched off")
        try:
            message_id = await self.receive(msisdn, text)
        except BotRefused as exc:
            return error_response(502, "bot_error", status=exc.status, reason=str(exc))
        except OutboundError as exc:
            return error_response(502, "bot_unreachable", reason=str(exc))
        return json_response({"message_id": message_id}, status=202)

    async def handle_state(self, request: web.Request) -> web.Response:
        msisdn = _path_msisdn(request)
        body = await json_object(request)
        reachable = body.get("reachable")
        if not isinstance(reachable, bool):
            problem = {"field": "reachable", "code": "type", "message": "reachable must be true or false"}
            raise unprocessable([problem])
        self.set_reachable(msisdn, reachable)
        return json_response({"msisdn": msisdn, "reachable": reachable})


def _path_msisdn(request: web.Request) -> str:
    """The `{msisdn}` of the path in E.164 (`+7701…`), or a 422."""
    number = normalise_msisdn(request.match_info["msisdn"])
    if number is None:
        raise unprocessable([{"field": "msisdn", "code": "invalid_msisdn", "message": "not an E.164 number"}])
    return number
