"""A client for a running dev system: what a registry, a phone, an operator and a test would do over HTTP."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.backends.assignment import sign


class DevClient:
    """Talks to `proactive-bot dev` (or the in-process DevSystem) over HTTP only."""

    def __init__(self, session: aiohttp.ClientSession, url: str, *, events_secret: str = "dev-secret",
                 operator_token: str = "dev-operator") -> None:
        self.session = session
        self.url = url
        self.events_secret = events_secret
        self.operator_token = operator_token

    async def now_ts(self) -> int:
        clock = await self.clock()
        from bot.clock import parse_instant

        return int(parse_instant(clock["now"]).timestamp())

    async def post_event(self, event: dict[str, Any], *, timestamp: int | None = None,
                         secret: str | None = None) -> tuple[int, Any]:
        """Post a registry event signed as CONTRACT.md says; (status, JSON body)."""
        body = json.dumps(event, ensure_ascii=False).encode()
        ts = str(timestamp if timestamp is not None else await self.now_ts())
        headers = {"Content-Type": "application/json", "X-Timestamp": ts,
                   "X-Signature": sign(secret or self.events_secret, ts, body)}
        async with self.session.post(f"{self.url}/v1/events", data=body, headers=headers) as resp:
            return resp.status, await resp.json(content_type=None)

    async def phone_says(self, msisdn: str, text: str) -> int:
        async with self.session.post(f"{self.url}/mock/phones/{quote(msisdn)}/sms", json={"text": text}) as r:
            await r.read()
            return r.status

    async def inbox(self, msisdn: str) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.url}/mock/phones/{quote(msisdn)}/sms") as resp:
            data: list[dict[str, Any]] = await resp.json()
            return data

    async def clock(self) -> dict[str, Any]:
        async with self.session.get(f"{self.url}/mock/clock") as resp:
            data: dict[str, Any] = await resp.json()
            return data

    async def advance(self, seconds: float) -> dict[str, Any]:
        async with self.session.post(f"{self.url}/mock/clock", json={"advance_seconds": seconds}) as resp:
            data: dict[str, Any] = await resp.json()
            return data

    async def set_clock(self, now: str) -> tuple[int, Any]:
        async with self.session.post(f"{self.url}/mock/clock", json={"now": now}) as resp:
            return resp.status, await resp.json(content_type=None)

    async def egov_person(self, person: dict[str, Any]) -> int:
        async with self.session.post(f"{self.url}/mock/egov/persons", json=person) as resp:
            await resp.read()
            return resp.status

    async def script_backend(self, iin: str, outcome: str, reason: str | None = None) -> int:
        body = {"iin": iin, "outcome": outcome, "reason": reason}
        async with self.session.post(f"{self.url}/mock/assignment/script", json=body) as resp:
            await resp.read()
            return resp.status

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.operator_token}"}

    async def dialog(self, dialog_id: str) -> dict[str, Any]:
        async with self.session.get(f"{self.url}/v1/dialogs/{dialog_id}", headers=self._auth()) as resp:
            resp.raise_for_status()
            data: dict[str, Any] = await resp.json()
            return data

    async def dialogs(self, **query: str) -> tuple[int, Any]:
        async with self.session.get(f"{self.url}/v1/dialogs", params=query, headers=self._auth()) as resp:
            return resp.status, await resp.json(content_type=None)
