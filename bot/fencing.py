"""A phone's lock, and the token that fences every commit made under it.

The lock serialises the steps of one phone's dialogs, and it lapses (so that a worker killed while holding it does
not block the phone for ever). A step that outlives its lock (a gateway that hangs, a paused process) must not then
write over what the next holder wrote: every commit made under the lock names the lock's token, and Redis checks
it in the same atomic unit as the writes. A commit whose lock was lost writes nothing and raises `LockLost`, a
`LockError`: like a phone that is busy, the command is done again from the start (a job stays queued, a gateway's
request is answered 503 and repeated), and what it finds then decides again.

Why by hand: redis-py's `Lock` checks its token only when it is extended or released, not when someone else's
writes happen under it; fencing tokens are the standard answer (Kleppmann, "How to do distributed locking").
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.commands.core import AsyncScript, CoreCommands
from redis.exceptions import LockError, LockNotOwnedError, ResponseError

log = logging.getLogger("bot.fencing")

LOST = "LOCK_LOST"

# KEYS[1]: the lock; ARGV[1]: its token; then each command as its length and its words. Every key a command
# names is in the lock's slot (a dialog's keys and its phone's share one hash tag), so this stays right on a
# cluster, where a script may touch keys of its own slot only.
FENCED_EXEC = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LOCK_LOST the phone lock lapsed') end
local unpack = table.unpack or unpack
local results, i = {}, 2
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  results[#results + 1] = redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return results
"""


@dataclass(frozen=True)
class Fence:
    """The lock a step holds: its key and the token only this holder knows."""

    key: str
    token: str


class LockLost(LockError):
    """The phone's lock lapsed, or another worker holds it now, before this commit: nothing was written."""


class PhoneLock:
    """`async with store.phone_lock(msisdn) as lock:` … `lock.fence` names the holder in each commit."""

    def __init__(self, redis: Redis, key: str, *, timeout: float, blocking_timeout: float) -> None:
        self._lock: Lock = redis.lock(key, timeout=timeout, blocking_timeout=blocking_timeout)
        self.fence = Fence(key, secrets.token_hex(16))

    async def __aenter__(self) -> PhoneLock:
        if not await self._lock.acquire(token=self.fence.token):
            raise LockError("Unable to acquire lock within the time specified")
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        try:
            await self._lock.release()
        except LockNotOwnedError:
            # Lapsed after the last fenced commit (an effect that ran long), or already reported as LockLost.
            log.warning("a phone's lock lapsed before it was released")  # its key holds the phone: not logged


class Commands(CoreCommands):
    """Commands written down instead of sent, with redis-py's own argument building (none spelled by hand)."""

    _event_dispatcher: Any = None  # declared by redis-py's typing for clients that send; nothing is sent here

    def __init__(self) -> None:
        self.words: list[tuple[Any, ...]] = []

    def execute_command(self, *args: Any, **options: Any) -> None:
        self.words.append(args)


async def fenced_execute(script: AsyncScript, fence: Fence, commands: Commands) -> list[Any]:
    """Run `commands` atomically if `fence` still holds its lock; their replies. LockLost (nothing run) if not."""
    argv: list[Any] = [fence.token]
    for words in commands.words:
        argv.append(len(words))
        argv.extend(words)
    try:
        return list(await script(keys=[fence.key], args=argv))
    except ResponseError as error:
        if str(error).startswith(LOST):
            raise LockLost("the phone's lock was lost before the commit; nothing was written") from error
        raise


def register(redis: Redis) -> AsyncScript:
    return redis.register_script(FENCED_EXEC)
