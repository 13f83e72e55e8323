"""USSD through a gateway's HTTP callback: the only module that knows that convention's wire format.

The gateway posts `sessionId`, `serviceCode`, `phoneNumber` and `text` (every input of the session so far,
joined by `*`), form-encoded or as JSON, and shows the answer: `CON <screen>` waits for the next input,
`END <screen>` closes the session. USSD is pull: nothing can be sent to a phone unless it is asking right
now, so `send` only adds a message to the screen of the step being run for that phone's request (`collecting`):
the step's own result, whichever process runs it, never a buffer kept in this object.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from bot.channels.base import (
    InboundFormatError,
    Outbound,
    Receipt,
    SendError,
    SendFailure,
    id_field,
    text_field,
)
from bot.safejson import JsonProblem, loads
from domain.masking import mask_msisdn
from domain.phone import PhoneError, parse_msisdn
from domain.sms_length import encoding, length_units

log = logging.getLogger(__name__)

# A USSD string is 160 octets: 182 GSM-7 characters, but only 80 in UCS-2 (2 octets each), which any
# Kazakh or Russian letter forces. Every `ussd.*` screen must fit; tests/unit/test_ussd_screens.py checks.
SCREEN_LIMIT = 80
GSM7_SCREEN_LIMIT = 182
# Said while the dialog has no language yet (STOP or a late reply at the language question): the screen
# then shows the Kazakh and the Russian text one under the other, so each pair must fit one screen.
SHOWN_IN_BOTH_LANGUAGES = ("ussd.optout.ack", "ussd.expired.notice", "ussd.offer.lapsed", "ussd.nodialog.info")
_SERVICE_CODE = re.compile(r"[*#0-9]{1,32}")
_MAX_TEXT = 1000  # the inputs of a whole session; real gateways stop far earlier


@dataclass(frozen=True)
class UssdRequest:
    """One post of a USSD session: the inputs so far, oldest first (empty when the phone has just dialled)."""

    session_id: str
    service_code: str
    msisdn: str
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class Screen:
    """What the phone shows next; `open` when it waits for an input (the session goes on)."""

    text: str
    open: bool


@dataclass(frozen=True)
class Shown:
    """A message the engine sent to the phone during the step run for its request: one screen's worth of text."""

    msg_id: str | None
    language: str | None
    text: str


def screen_fits(text: str) -> bool:
    """Whether `text` fits one USSD screen (newlines count: they are characters on the air too)."""
    limit = GSM7_SCREEN_LIMIT if encoding(text) == "GSM7" else SCREEN_LIMIT
    return length_units(text) <= limit


# The screen of the step running in this task (each job runs in a task of its own, bot/jobs.py): its phone and
# what the engine sent it on USSD meanwhile. None outside such a step: then there is nobody to show a message to.
_SCREEN: contextvars.ContextVar[tuple[str, list[Shown]] | None] = contextvars.ContextVar("ussd_screen", default=None)


@contextlib.contextmanager
def collecting(msisdn: str, *, wanted: bool = True) -> Iterator[list[Shown]]:
    """While the step in this block runs for this phone's USSD request, what the engine sends it on USSD is
    collected in the list yielded: the request's next screen (bot/work.py returns it as the `inbound` job's
    result). Not `wanted` (nobody waits for the screen any more), sends fail as they do outside any step, and
    the transcript says the screen was not shown."""
    shown: list[Shown] = []
    token = _SCREEN.set((msisdn, shown) if wanted else None)
    try:
        yield shown
    finally:
        _SCREEN.reset(token)


class UssdChannel:
    """Reads the gateway's posts, renders screens as `CON`/`END`, and puts what the engine sends on the screen
    of the step being run (`collecting`). It keeps no state: any process may parse, run or render."""

    name = "ussd"
    content_type = "text/plain"  # of the answer `render` writes

    # ---- wire format ------------------------------------------------------------------------------

    def parse(self, body: bytes, content_type: str) -> UssdRequest:
        """A gateway's post (form-encoded or JSON) as a UssdRequest; raises InboundFormatError."""
        try:
            raw = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InboundFormatError("$", "the body is not UTF-8") from error
        payload: Any
        if content_type == "application/json":
            try:
                payload = loads(raw)
            except JsonProblem as error:
                raise InboundFormatError(error.field, str(error)) from error
            if not isinstance(payload, dict):
                raise InboundFormatError("$", "body must be a JSON object")
        else:
            payload = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        session_id = id_field(payload, "sessionId")
        assert session_id is not None
        service_code = text_field(payload, "serviceCode", 32)
        number = text_field(payload, "phoneNumber", 32)
        text = text_field(payload, "text", _MAX_TEXT, required=False)
        try:
            msisdn = parse_msisdn(number).e164
        except PhoneError as error:
            raise InboundFormatError("phoneNumber", str(error)) from error
        if not _SERVICE_CODE.fullmatch(service_code):
            raise InboundFormatError("serviceCode", "serviceCode must be a USSD code such as *1414#")
        return UssdRequest(session_id, service_code, msisdn, tuple(text.split("*")) if text else ())

    def render(self, screen: Screen) -> str:
        """The answer body the gateway expects (sent as `content_type`)."""
        return f"{'CON' if screen.open else 'END'} {screen.text}"

    # ---- screens ----------------------------------------------------------------------------------

    async def send(self, message: Outbound) -> Receipt:
        screen = _SCREEN.get()
        if screen is None or screen[0] != message.msisdn:
            # Only a step run for this phone's own request can reach it; a push has nowhere to go.
            raise SendError(SendFailure.BAD_CONTENT, "no USSD request of this phone waits for a screen")
        if not screen_fits(message.text):
            # A message with no USSD wording of its own: the gateway will cut it, so say which one.
            log.warning("USSD screen %s for %s is %d characters, over the limit", message.msg_id,
                        mask_msisdn(message.msisdn), length_units(message.text))
        screen[1].append(Shown(message.msg_id, message.language, message.text))
        return Receipt(f"ussd:{message.client_id}")
