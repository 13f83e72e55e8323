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

# KEYS[1]: the lock; ARGV[1]: its token; ARGV[2..4]: a guard, a hash field that must still hold a value ("" for
# none: the hash key, the field, the value, "0" for a field not there); ARGV[5]: "1" to release the lock after the
# writes (the step's last commit: one round trip less); then each command as its length and its words. Every key
# a command names is in the lock's slot (a dialog's keys and its phone's share one hash tag), so this stays right
# on a cluster, where a script may touch keys of its own slot only; the guard (the ledger's head) is used on one
# Redis only.
FENCED_EXEC = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LOCK_LOST the phone lock lapsed') end
if ARGV[2] ~= '' and (redis.call('HGET', ARGV[2], ARGV[3]) or '0') ~= ARGV[4] then
  return redis.error_reply('STALE the guarded value changed')
end
local unpack = table.unpack or unpack
local results, i = {}, 6
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  results[#results + 1] = redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
if ARGV[5] == '1' then redis.call('DEL', KEYS[1]) end
return results
"""


# The lock taken and what a step on a phone reads, in one round trip: KEYS[1] the lock, KEYS[2] the phone's slot
# (hash; ARGV[3] its field naming the active dialog), KEYS[3] the answer last taken, KEYS[4] (a reply's only) the
# message's seen mark; ARGV[4]: the key prefix of the phone's dialogs, so that the dialog the slot names is read
# in the same script. Nil when the lock is held by someone else.
LOCK_AND_READ = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local seen = false
if #KEYS >= 4 then seen = redis.call('GET', KEYS[4]) end
local active = redis.call('HGET', KEYS[2], ARGV[3])
local taken = redis.call('GET', KEYS[3])
local raw, delivered = false, {}
if active then
  raw = redis.call('GET', ARGV[4] .. active)
  delivered = redis.call('HKEYS', ARGV[4] .. active .. ':delivered')
end
return {seen, active, raw, delivered, taken}
"""


# The lock taken and one dialog read (KEYS[2], its record; KEYS[3], its deliveries hash), in one round trip.
LOCK_AND_LOAD = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return {redis.call('GET', KEYS[2]), redis.call('HKEYS', KEYS[3])}
"""


# A dialog that stopped waiting hands its phone on, fenced: KEYS[1] the lock, KEYS[2] the phone's slot (hash),
# KEYS[3] its queue; ARGV[1] the token, ARGV[2] the dialog's id. If it is the phone's active dialog, the slot is
# cleared and the next queued id popped; when there is none to start, the lock is let go in the same script.
# Returns {next id or false, 1 if the lock was let go}.
HAND_ON = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LOCK_LOST the phone lock lapsed') end
local nxt = false
if redis.call('HGET', KEYS[2], 'active') == ARGV[2] then
  redis.call('HDEL', KEYS[2], 'active')
  nxt = redis.call('LPOP', KEYS[3])
end
if not nxt then
  redis.call('DEL', KEYS[1])
  return {false, 1}
end
return {nxt, 0}
"""


@dataclass
class Fence:
    """The lock a step holds: its key and the token only this holder knows; `released` once a commit let it go."""

    key: str
    token: str
    released: bool = False


class LockLost(LockError):
    """The phone's lock lapsed, or another worker holds it now, before this commit: nothing was written."""


class Stale(Exception):
    """The guarded value changed since it was read (another worker extended the ledger): nothing was written."""


class PhoneLock:
    """`async with store.phone_lock(msisdn) as lock:` … `lock.fence` names the holder in each commit."""

    def __init__(self, redis: Redis, key: str, *, timeout: float, blocking_timeout: float) -> None:
        self._lock: Lock = redis.lock(key, timeout=timeout, blocking_timeout=blocking_timeout)
        self.fence = Fence(key, secrets.token_hex(16))
        self._timeout_ms = int(timeout * 1000)
        self._held = False

    async def acquire_reading(self, script: AsyncScript, keys: list[str], args: list[Any]) -> list[Any] | None:
        """Take the lock and read in one script (LOCK_AND_READ): what it read, or None when the lock is busy (then
        `async with` waits for it as usual, and the caller reads on its own)."""
        found = await script(keys=[self.fence.key, *keys], args=[self.fence.token, self._timeout_ms, *args])
        if found is None:
            return None
        # redis-py's Lock releases with the token it keeps in `local` (documented with its thread_local option).
        self._lock.local.token = self.fence.token.encode()
        self._held = True
        return list(found)

    async def __aenter__(self) -> PhoneLock:
        if not self._held and not await self._lock.acquire(token=self.fence.token):
            raise LockError("Unable to acquire lock within the time specified")
        self._held = True
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        if self.fence.released:
            return  # the step's last commit let it go
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


async def fenced_execute(script: AsyncScript, fence: Fence, commands: Commands,
                         guard: tuple[str, str, str] | None = None, *, release: bool = False) -> list[Any]:
    """Run `commands` atomically if `fence` still holds its lock (and the `guard` hash field still holds its
    value), then let the lock go if `release`; their replies. LockLost, or Stale, when nothing was run."""
    argv: list[Any] = [fence.token, *(guard or ("", "", "")), "1" if release else "0"]
    for words in commands.words:
        argv.append(len(words))
        argv.extend(words)
    replies = list(await _fenced_call(script, fence, [fence.key], argv))
    fence.released = release
    return replies


async def hand_on(script: AsyncScript, fence: Fence, slot: str, queue: str, dialog_id: str) -> str | None:
    """Run HAND_ON for `dialog_id` under `fence`: the next queued dialog's id to start (the lock still held), or
    None (the lock let go). LockLost when the lock was lost: nothing changed."""
    nxt, released = await _fenced_call(script, fence, [fence.key, slot, queue], [fence.token, dialog_id])
    fence.released = bool(released)
    if nxt is None:
        return None
    return nxt.decode() if isinstance(nxt, bytes) else str(nxt)


async def _fenced_call(script: AsyncScript, fence: Fence, keys: list[str], args: list[Any]) -> Any:
    """Run a fenced script (its first key the lock, its first argument the token): its reply, or LockLost (the
    lock let go by an earlier commit of this step, lapsed, or taken) or Stale (a guard failed): nothing written."""
    if fence.released:
        raise LockLost("the phone's lock was let go by an earlier commit of this step; nothing was written")
    try:
        return await script(keys=keys, args=args)
    except ResponseError as error:
        if str(error).startswith(LOST):
            raise LockLost("the phone's lock was lost before the commit; nothing was written") from error
        if str(error).startswith("STALE"):
            raise Stale(str(error)) from error
        raise


def register(redis: Redis) -> AsyncScript:
    return redis.register_script(FENCED_EXEC)
