"""The USSD gateway between simulated phones and the bot: sessions, dial strings, the HTTP callback convention.

A phone dials `*1414#`; the gateway opens a session and posts the bot's callback form-encoded `sessionId`,
`serviceCode`, `phoneNumber` and `text` (every input of the session so far, joined by `*`); the bot answers
`CON <screen>` (the session waits for the next input) or `END <screen>` (it closes).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.clock import Clock

from .common import (
    Outbound,
    OutboundError,
    error_response,
    iso,
    json_object,
    json_response,
    normalise_msisdn,
    signed_headers,
    unprocessable,
)
from .settings import MocksSettings
from .sms import SmsGateway

SERVICE_CODE = "*1414#"
CALLBACK_PATH = "/v1/ussd"
# Networks close a USSD session that waits longer than this for the phone's input.
SESSION_TIMEOUT = dt.timedelta(seconds=180)
_DIAL = re.compile(r"\*(\d{2,6})((?:\*[^*#]*)*)#")


@dataclass
class Session:
    """One open USSD session of one phone."""

    session_id: str
    service_code: str
    inputs: list[str]
    last_at: dt.datetime


@dataclass
class Exchange:
    """One step of a session as the phone saw it."""

    session_id: str
    input: str
    screen: str
    open: bool
    at: str


class UssdFailure(Exception):
    """The phone's USSD request could not be served; `code` and `status` become the mock's answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass
class UssdGateway:
    """Keeps each phone's USSD session and forwards its inputs to the bot's callback."""

    settings: MocksSettings
    clock: Clock
    outbound: Outbound
    phones: SmsGateway  # whether a phone is switched on is the SMS gateway's to say
    sessions: dict[str, Session] = field(default_factory=dict)
    history: dict[str, list[Exchange]] = field(default_factory=dict)

    async def press(self, msisdn: str, entry: str, session: str | None = None) -> dict[str, Any]:
        """The phone dials a code (`*1414#`) or sends an input in its open session; the screen it gets."""
        if not self.phones.phone(msisdn).reachable:
            raise UssdFailure(409, "phone_unreachable", "the phone is switched off")
        if _DIAL.fullmatch(entry.strip()):
            return await self.dial(msisdn, entry.strip())
        return await self.answer(msisdn, entry, session)

    async def dial(self, msisdn: str, dial_string: str = SERVICE_CODE) -> dict[str, Any]:
        """Open a new session (an open one is dropped: a phone has one at a time); `*1414*1#` sends 1 at once."""
        dial = _DIAL.fullmatch(dial_string)
        if dial is None:
            raise UssdFailure(422, "invalid_dial_string", "a dial string looks like *1414#")
        service_code = f"*{dial.group(1)}#"
        if service_code != SERVICE_CODE:
            raise UssdFailure(404, "unknown_service", f"no USSD service answers {service_code}")
        shortcut = dial.group(2).split("*")[1:]
        current = Session(f"ATUid_{secrets.token_hex(8)}", service_code, shortcut, self.clock.now())
        self.sessions[msisdn] = current
        return await self._forward(msisdn, current, dial_string)

    async def answer(self, msisdn: str, text: str, session: str | None = None) -> dict[str, Any]:
        """Send one input in the phone's open session."""
        current = self.sessions.get(msisdn)
        if current is not None and self.clock.now() - current.last_at > SESSION_TIMEOUT:
            del self.sessions[msisdn]
            raise UssdFailure(409, "session_timed_out", "the network closed the idle session; dial again")
        if current is None or (session is not None and session != current.session_id):
            raise UssdFailure(409, "no_session", "no open USSD session; dial *1414# first")
        current.inputs.append(text)
        return await self._forward(msisdn, current, text)

    def cut(self, msisdn: str) -> str | None:
        """The network drops the phone's session without telling the bot; the dropped session's id."""
        dropped = self.sessions.pop(msisdn, None)
        return dropped.session_id if dropped else None

    def screens(self, msisdn: str) -> list[dict[str, Any]]:
        """Every USSD exchange of this phone, oldest first."""
        return [vars(e).copy() for e in self.history.get(msisdn, [])]

    async def _forward(self, msisdn: str, current: Session, entry: str) -> dict[str, Any]:
        form = {"sessionId": current.session_id, "serviceCode": current.service_code, "phoneNumber": msisdn,
                "text": "*".join(current.inputs)}
        body = urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   **signed_headers(self.settings.ussd_gateway_secret, self.settings.signing_time(self.clock.now()),
                                   body)}
        try:
            status, answer = await self.outbound.post(self.settings.bot(CALLBACK_PATH), body, headers)
        except OutboundError as exc:
            self.sessions.pop(msisdn, None)
            raise UssdFailure(502, "bot_unreachable", str(exc)) from exc
        kind, _, screen = answer.partition(" ")
        if status != 200 or kind not in ("CON", "END"):
            self.sessions.pop(msisdn, None)
            raise UssdFailure(502, "bot_error", f"the bot answered {status}: {answer[:300]}")
        is_open = kind == "CON"
        if is_open:
            current.last_at = self.clock.now()
        else:
            self.sessions.pop(msisdn, None)
        self.history.setdefault(msisdn, []).append(
            Exchange(current.session_id, entry, screen, is_open, iso(self.clock.now())))
        return {"session_id": current.session_id, "screen": screen, "open": is_open}

    # HTTP ----------------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/phones/{msisdn}/ussd", self.handle_press),
            web.get("/phones/{msisdn}/ussd", self.handle_screens),
            web.post("/phones/{msisdn}/ussd/cut", self.handle_cut),
        ]

    async def handle_press(self, request: web.Request) -> web.Response:
        msisdn = _path_msisdn(request)
        body = await json_object(request)
        entry, session = body.get("input"), body.get("session")
        problems = []
        if not isinstance(entry, str):
            problems.append({"field": "input", "code": "type", "message": "input must be a string"})
        if not isinstance(session, str | None):
            problems.append({"field": "session", "code": "type", "message": "session must be a string"})
        if problems or not isinstance(entry, str):
            raise unprocessable(problems)
        try:
            return json_response(await self.press(msisdn, entry, session))
        except UssdFailure as failure:
            return error_response(failure.status, failure.code, message=str(failure))

    async def handle_screens(self, request: web.Request) -> web.Response:
        return json_response(self.screens(_path_msisdn(request)))

    async def handle_cut(self, request: web.Request) -> web.Response:
        return json_response({"session_id": self.cut(_path_msisdn(request))})


def _path_msisdn(request: web.Request) -> str:
    number = normalise_msisdn(request.match_info["msisdn"])
    if number is None:
        raise unprocessable([{"field": "msisdn", "code": "invalid_msisdn", "message": "not an E.164 number"}])
    return number


USSD_GATEWAY = web.AppKey("ussd_gateway", UssdGateway)
