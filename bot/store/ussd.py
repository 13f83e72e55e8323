"""USSD sessions: where a phone's last session stopped, so the next one can resume."""

from __future__ import annotations

import json
from typing import Any

from bot.store.base import StoreBase


class UssdSessions(StoreBase):
    """One JSON value per phone, kept for the session's time to live."""

    async def ussd_session(self, msisdn: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.keys.ussd_session(msisdn))
        return json.loads(raw) if raw is not None else None

    async def save_ussd_session(self, msisdn: str, session: dict[str, Any], ttl_seconds: int) -> None:
        await self.redis.set(self.keys.ussd_session(msisdn), json.dumps(session, ensure_ascii=False),
                             ex=ttl_seconds)
