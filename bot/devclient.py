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
                 operator_token: str = "dev-operator", sms_gateway_secret: str = "dev-sms-gateway-secret",
                 ussd_gateway_secret: str = "dev-ussd-gateway-secret") -> None:
        self.session = session
        self.url = url
        self.events_secret = events_secret
        self.operator_token = operator_token
        self.sms_gateway_secret = sms_gateway_secret
        self.ussd_gateway_secret = ussd_gateway_secret

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

    # ---- the gateways' own posts, signed as the README's "Security" says -----------------------------

    async def gateway_post(self, path: str, body: bytes, *, secret: str, content_type: str = "application/json",
                           timestamp: int | None = None) -> tuple[int, str]:
        """POST raw bytes to a gateway endpoint of the bot, signed with `secret`: (status, text of the answer)."""
        ts = str(timestamp if timestamp is not None else await self.now_ts())
        headers = {"Content-Type": content_type, "X-Timestamp": ts, "X-Signature": sign(secret, ts, body)}
        async with self.session.post(f"{self.url}{path}", data=body, headers=headers) as resp:
            return resp.status, await resp.text()

    async def post_sms(self, message: dict[str, Any]) -> tuple[int, Any]:
        """What the SMS gateway posts for a citizen's SMS, signed: (status, JSON answer)."""
        status, text = await self.gateway_post("/v1/inbound/sms", json.dumps(message).encode(),
                                               secret=self.sms_gateway_secret)
        return status, json.loads(text)

    async def post_delivery_report(self, report: dict[str, Any]) -> tuple[int, Any]:
        """What the SMS gateway posts for a delivery report, signed: (status, JSON answer)."""
        status, text = await self.gateway_post("/v1/inbound/sms/status", json.dumps(report).encode(),
                                               secret=self.sms_gateway_secret)
        return status, json.loads(text)

    async def post_ussd(self, body: bytes, content_type: str = "application/x-www-form-urlencoded") -> tuple[int,
                                                                                                              str]:
        """What the USSD gateway posts for one step of a session, signed: (status, text of the answer)."""
        return await self.gateway_post("/v1/ussd", body, secret=self.ussd_gateway_secret, content_type=content_type)

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

    # ---- simulated Telegram users (the Bot API mock) ----------------------------------------------

    async def telegram(self, user_id: int, action: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """A Telegram user acts — `start`, `text`, `contact`, `press`, `state` — and the bot has answered."""
        async with self.session.post(f"{self.url}/mock/telegram/users/{user_id}/{action}", json=body or {}) as r:
            return r.status, await r.json(content_type=None)

    async def telegram_start(self, user_id: int, language_code: str | None = None) -> tuple[int, Any]:
        return await self.telegram(user_id, "start", {"language_code": language_code or ""})

    async def telegram_says(self, user_id: int, text: str) -> tuple[int, Any]:
        return await self.telegram(user_id, "text", {"text": text})

    async def telegram_presses(self, user_id: int, data: str) -> tuple[int, Any]:
        """Tap the inline button for `data` (`consent:1`, `lang:ru`; the question it is bound to is found on the
        message) on the newest bot message that has buttons."""
        with_buttons = [m for m in await self.telegram_messages(user_id) if m["buttons"]]
        for row in with_buttons[-1]["buttons"] if with_buttons else []:
            for button in row:
                if button["data"] == data or button["data"].startswith(data + ":"):
                    data = button["data"]
        return await self.telegram(user_id, "press", {"data": data})

    async def telegram_shares(self, user_id: int, msisdn: str, *, owner: int | None = None) -> tuple[int, Any]:
        """Share a contact card: one's own (default) or someone else's (`owner` = their user id)."""
        return await self.telegram(user_id, "contact", {"phone_number": msisdn, "user_id": owner or user_id})

    async def telegram_messages(self, user_id: int) -> list[dict[str, Any]]:
        """What the bot sent this user's chat, oldest first: text, inline buttons, reply keyboard."""
        async with self.session.get(f"{self.url}/mock/telegram/users/{user_id}/messages") as resp:
            data: list[dict[str, Any]] = await resp.json()
            return data

    # ---- simulated phones on USSD (the USSD gateway mock) ------------------------------------------

    async def ussd(self, msisdn: str, entry: str, *, session: str | None = None) -> tuple[int, Any]:
        """The phone dials (`*1414#`) or sends an input in its open session: (status, {session_id, screen, open})."""
        body = {"input": entry, **({"session": session} if session else {})}
        async with self.session.post(f"{self.url}/mock/phones/{quote(msisdn)}/ussd", json=body) as resp:
            return resp.status, await resp.json(content_type=None)

    async def ussd_cut(self, msisdn: str) -> str | None:
        """The network drops the phone's USSD session; the dropped session's id."""
        async with self.session.post(f"{self.url}/mock/phones/{quote(msisdn)}/ussd/cut") as resp:
            resp.raise_for_status()
            data: dict[str, str | None] = await resp.json()
            return data["session_id"]

    async def ussd_screens(self, msisdn: str) -> list[dict[str, Any]]:
        """Every USSD exchange of the phone, oldest first: session_id, input, screen, open, at."""
        async with self.session.get(f"{self.url}/mock/phones/{quote(msisdn)}/ussd") as resp:
            data: list[dict[str, Any]] = await resp.json()
            return data

    async def phone_answers(self, msisdn: str, text: str, channel: str = "sms") -> str | None:
        """The phone answers its open question on `channel`; on USSD it dials first if no session is open.

        Returns the USSD screen shown next (None on SMS); raises when the gateway refuses.
        """
        if channel == "sms":
            if (status := await self.phone_says(msisdn, text)) != 202:
                raise RuntimeError(f"SMS from {msisdn} refused: {status}")
            return None
        if channel == "ussd":
            status, answer = await self.ussd(msisdn, text)
            if status == 409:  # no open session: dial, look at the question, then answer it
                status, answer = await self.ussd(msisdn, "*1414#")
                if status == 200 and answer["open"]:
                    status, answer = await self.ussd(msisdn, text)
            if status != 200:
                raise RuntimeError(f"USSD from {msisdn} refused: {status} {answer}")
            return str(answer["screen"])
        raise ValueError(f"no simulated phone channel {channel!r}")
