"""What the console keeps in Redis about operators: sessions, failed sign-ins (with backoff), reveals per hour.

Every instant comes from the injected clock; Redis expiries only collect what is certainly stale.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bot.clock import Clock
from bot.settings import Settings
from bot.store import Keys

FAILURE_MEMORY_SECONDS = 24 * 3600  # a failure counts for backoff this long after the last one
TOUCH_EVERY_SECONDS = 30  # a session's last use is written at most this often


def digest(text: str) -> str:
    """A key-safe stand-in for a session id, operator name or address (keys never hold them)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def token_fingerprint(token: str) -> str:
    """Which operator token a session was made under: a new token ends every older session."""
    return hmac.new(token.encode(), b"proactive-bot ops session", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Session:
    """A signed-in operator as the server keeps them."""

    session_id: str
    name: str
    lang: str
    csrf: str


class OperatorState:
    """Sessions, sign-in failures and reveal counts in Redis."""

    def __init__(self, redis: Redis, keys: Keys, clock: Clock, settings: Settings) -> None:
        self.redis, self.keys, self.clock, self.settings = redis, keys, clock, settings

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # ---- sessions ---------------------------------------------------------------------------------------------

    async def open(self, name: str, lang: str) -> Session:
        """A new session under the current operator token; its id goes in the cookie, only its digest in Redis."""
        session = Session(secrets.token_urlsafe(32), name, lang, secrets.token_urlsafe(24))
        now = self._now()
        key = self.keys.ops_session(digest(session.session_id))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"name": name, "lang": lang, "csrf": session.csrf, "created": now, "seen": now,
                                    "token": token_fingerprint(self.settings.operator_token)})
            pipe.expire(key, self.settings.ops_session_max_seconds)
            await pipe.execute()
        return session

    async def find(self, session_id: str, *, touch: bool = True) -> Session | None:
        """The live session with this id; None (and the session deleted) when it is unknown, idle too long,
        too old, or was made under another operator token. `touch`: this is the operator's own request
        (a live stream's re-check is not, so an open tab does not keep an idle session alive)."""
        if not session_id or len(session_id) > 128:
            return None
        key = self.keys.ops_session(digest(session_id))
        raw: Any = await self.redis.hgetall(key)
        if not raw:
            return None
        data = {_text(k): _text(v) for k, v in raw.items()}
        now = self._now()
        try:
            created, seen = float(data["created"]), float(data["seen"])
        except (KeyError, ValueError):
            created = seen = -math.inf
        fingerprint = token_fingerprint(self.settings.operator_token)
        if (not hmac.compare_digest(data.get("token", "").encode(), fingerprint.encode())
                or now - seen > self.settings.ops_session_idle_seconds
                or now - created > self.settings.ops_session_max_seconds):
            await self.redis.delete(key)
            return None
        if touch and now - seen >= TOUCH_EVERY_SECONDS:
            await self.redis.hset(key, "seen", now)
        return Session(session_id, data.get("name", ""), data.get("lang", ""), data.get("csrf", ""))

    async def carry_over(self, session_id: str, seconds: float) -> None:
        """Move a session's instants `seconds` later: the dev page moves the simulated clock this much, and the
        operator who moved it stays signed in (the jump is neither idle time nor age)."""
        key = self.keys.ops_session(digest(session_id))
        if await self.redis.exists(key):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hincrbyfloat(key, "created", seconds)
                pipe.hincrbyfloat(key, "seen", seconds)
                await pipe.execute()

    async def set_language(self, session_id: str, lang: str) -> None:
        key = self.keys.ops_session(digest(session_id))
        if await self.redis.exists(key):
            await self.redis.hset(key, "lang", lang)

    async def close(self, session_id: str) -> None:
        """Sign out: the session is gone, so a saved copy of the cookie is worth nothing."""
        await self.redis.delete(self.keys.ops_session(digest(session_id)))

    # ---- failed sign-ins --------------------------------------------------------------------------------------

    def _failure_keys(self, address: str, name: str | None) -> list[tuple[str, int]]:
        keys = [(self.keys.ops_failures("address", digest(address)), self.settings.ops_auth_free_failures_per_address)]
        if name:
            keys.append((self.keys.ops_failures("name", digest(name.casefold())), self.settings.ops_auth_free_failures))
        return keys

    async def wait_seconds(self, address: str, name: str | None) -> int:
        """How long this address (and this name) must wait before the next try; 0: it may try now."""
        keys = self._failure_keys(address, name)
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, _ in keys:
                pipe.hget(key, "until")
            found = await pipe.execute()
        now = self._now()
        return max([0, *(math.ceil(float(_text(u)) - now) for u in found if u is not None)])

    async def failed(self, address: str, name: str | None) -> int:
        """Count one failure against the address and the name; the wait it imposes now (0 while still free)."""
        settings, now, longest = self.settings, self._now(), 0
        for key, free in self._failure_keys(address, name):
            count = int(await self.redis.hincrby(key, "count", 1))
            await self.redis.expire(key, FAILURE_MEMORY_SECONDS)
            if count > free:
                wait = min(settings.ops_auth_backoff_max_seconds,
                           settings.ops_auth_backoff_seconds * 2 ** min(count - free - 1, 30))
                await self.redis.hset(key, "until", now + wait)
                longest = max(longest, math.ceil(wait))
        return longest

    async def succeeded(self, address: str, name: str | None) -> None:
        """A right token: the name starts afresh (the address too, so one office's typo does not lock it)."""
        await self.redis.delete(*(key for key, _ in self._failure_keys(address, name)))

    # ---- reveals ----------------------------------------------------------------------------------------------

    async def reveal_allowed(self, name: str) -> int:
        """Count one reveal by this operator; 0 when within the hourly limit, else seconds until the next hour."""
        now = self._now()
        hour = int(now // 3600)
        key = self.keys.ops_reveals(digest(name.casefold()), str(hour))
        count = int(await self.redis.incr(key))
        await self.redis.expire(key, 2 * 3600)
        if count <= self.settings.ops_reveals_per_hour:
            return 0
        return max(1, math.ceil((hour + 1) * 3600 - now))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
