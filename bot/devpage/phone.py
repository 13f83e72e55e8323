"""A simulated phone as the dev page shows it: the SMS thread, the USSD sessions, the Telegram chat.

The gateway mocks keep what reached the phone (its inbox, its USSD screens, the bot's Telegram messages); the
page remembers what the phone said through it, and where in the conversation it said it. Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from bot.clock import parse_instant
from gateway_mocks.ussd import SESSION_TIMEOUT


@dataclass(frozen=True)
class Said:
    """Something the phone's owner did through the page, after `after` of the other side's messages."""

    after: int
    text: str
    at: str
    kind: str = "text"  # text | start | contact | press | popup (the bot's answer to a tap)


@dataclass
class PhoneMemory:
    """What the page did with one phone: whose it is, what it sent, which USSD sessions it cut."""

    msisdn: str
    who: str = ""  # a seeded person's key, or "" for a number typed in
    sms: list[Said] = field(default_factory=list)
    telegram: list[Said] = field(default_factory=list)
    cuts: set[str] = field(default_factory=set)


def telegram_user(msisdn: str) -> int:
    """The simulated Telegram user who owns this phone: a stable id, not the number itself (nine digits, so no
    log line can take it for a phone number or an IIN)."""
    return 500_000_000 + int(hashlib.sha256(msisdn.encode()).hexdigest()[:12], 16) % 400_000_000


def path_of(msisdn: str) -> str:
    """The phone page of an E.164 number (its digits, the plus left out as the mocks allow)."""
    return f"/ops/dev/phones/{msisdn.lstrip('+')}"


def _merge(received: list[dict[str, Any]], said: list[Said]) -> list[dict[str, Any]]:
    """The other side's messages with what the phone said placed where it said it."""
    items: list[dict[str, Any]] = []
    pending = sorted(said, key=lambda s: s.after)  # stable: things said at one point keep their order
    i = 0
    for position, message in enumerate([*received, None]):
        while i < len(pending) and pending[i].after <= position:
            s = pending[i]
            items.append({"mine": True, "kind": s.kind, "text": s.text, "at": s.at})
            i += 1
        if message is not None:
            items.append({"mine": False, **message})
    return items


def sms_thread(inbox: list[dict[str, Any]], memory: PhoneMemory) -> list[dict[str, Any]]:
    """The SMS thread, oldest first: each received SMS (with its encoding and parts) and each reply sent."""
    return _merge(inbox, memory.sms)


def telegram_chat(messages: list[dict[str, Any]], memory: PhoneMemory) -> tuple[list[dict[str, Any]],
                                                                               list[list[dict[str, Any]]]]:
    """The Telegram chat, oldest first, and the reply keyboard the bot left open (contact sharing lives there)."""
    keyboard: list[list[dict[str, Any]]] = []
    for message in messages:
        if message.get("keyboard"):
            keyboard = message["keyboard"]
        elif message.get("remove_keyboard"):
            keyboard = []
    return _merge(messages, memory.telegram), keyboard


@dataclass
class UssdSession:
    """One USSD session as the phone saw it: its steps and how it ended."""

    session_id: str
    steps: list[dict[str, Any]]
    state: str  # open | ended (END shown) | cut (the page cut it) | dropped (a new dial, or idle too long)


def ussd_sessions(exchanges: list[dict[str, Any]], memory: PhoneMemory, now: dt.datetime) -> list[UssdSession]:
    """The phone's USSD history grouped by session, oldest first; at most the last one is open."""
    sessions: list[UssdSession] = []
    for step in exchanges:
        if not sessions or sessions[-1].session_id != step["session_id"]:
            sessions.append(UssdSession(step["session_id"], [], "ended"))
        sessions[-1].steps.append(step)
    for index, session in enumerate(sessions):
        last = session.steps[-1]
        if not last["open"]:
            session.state = "ended"
        elif session.session_id in memory.cuts:
            session.state = "cut"
        elif index < len(sessions) - 1 or now - parse_instant(last["at"]) > SESSION_TIMEOUT:
            session.state = "dropped"
        else:
            session.state = "open"
    return sessions
