"""Notices: an SMS to a phone that no dialog carries — the information SMS to a phone that has no dialog, the
acknowledgement of a flood from one.

The engine decides a notice in its step, under the phone's lock (the once-a-day claim for the information SMS is
taken there), and hands it to the work queue as a `notice` job once the lock is let go (the send needs no
lock, and the phone is not held while its first attempt is waited for); `bot/work.py` renders and sends it. A send the
gateway refuses for now fails the job, which the queue does again later (and gives to the operators' dead letters
if it keeps failing). The client id is the same on every attempt, so the gateway drops a repeat: a job done twice
(a worker killed after the send) reaches the phone once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

KIND = "notice"  # the job kind

# How the engine hands work to the queue: (kind, payload); durable once it returns (bot/app.py).
Later = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Notice:
    """Everything its send needs; its text is rendered when it is sent."""

    client_id: str  # stable across attempts: the gateway drops a repeat
    msisdn: str
    msg_id: str  # a citizen-facing SMS message id (bot/messages.py)
    language: str

    def payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Notice:
        return cls(payload["client_id"], payload["msisdn"], payload["msg_id"], payload["language"])


def information(msisdn: str, language: str, day: dt.date) -> Notice:
    """The information SMS to a phone no dialog ever wrote to: one a Kazakhstan `day`."""
    return Notice(f"info-{msisdn.lstrip('+')}-{day.isoformat()}", msisdn, "nodialog.info", language)


def flood_ack(msisdn: str, language: str, now: dt.datetime) -> Notice:
    """The acknowledgement of a flood from a phone with no active dialog: one a minute."""
    return Notice(f"flood-{msisdn.lstrip('+')}-{now.strftime('%Y%m%d%H%M')}", msisdn, "flood.ack", language)
