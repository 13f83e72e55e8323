"""The consent ledger's chain in Redis: extending it, reading it, trimming it (the records are bot/ledger.py's).

The chain's keys share one hash tag, so a transaction can extend it. On one Redis a step's records are chained
in its own transaction (bot/store/save.py, `_save_chained`); on a cluster they are written beside the dialog and
chained right after (`_chain_pending`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from redis.commands.core import AsyncScript
from redis.exceptions import WatchError

from bot.ledger import Head, canonical, chain
from bot.store.base import StoreBase
from bot.store.codec import as_text
from dialogs.model import iso

# Drop the oldest ledger records acted before ARGV[1] (an ISO instant in UTC, compared as text), moving the
# chain's base to the last one dropped, so that what is kept still verifies from there. One script: atomic.
TRIM_LEDGER = """
local dropped = 0
while true do
  local raw = redis.call('LINDEX', KEYS[1], 0)
  if not raw then break end
  local record = cjson.decode(raw)
  if record['at'] >= ARGV[1] then break end
  redis.call('LPOP', KEYS[1])
  redis.call('HSET', KEYS[2], 'seq', record['seq'], 'hash', record['hash'])
  dropped = dropped + 1
end
return dropped
"""


class Ledger(StoreBase):
    """The chain: appended to under a watch of its head, read whole or by dialog, trimmed after its retention."""

    _trim_ledger: AsyncScript  # TRIM_LEDGER

    def _extend_chain(self, pipe: Any, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        pipe.rpush(self.keys.ledger("records"), *(canonical(r) for r in records))
        pipe.hset(self.keys.ledger("head"), mapping={"seq": records[-1]["seq"], "hash": records[-1]["hash"]})
        pipe.hset(self.keys.ledger("ids"), mapping={r["id"]: r["seq"] for r in records})
        for record in records:
            pipe.rpush(self.keys.ledger(f"dialog:{record['dialog_id']}"), record["seq"])

    async def _chain_pending(self, pending: str, bodies: list[dict[str, Any]]) -> None:
        """On a cluster: chain a dialog's records written beside it (each once, by its id), then drop them."""
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self.keys.ledger("head"))
                    head = Head.parse(await pipe.hgetall(self.keys.ledger("head")))
                    known = await pipe.hmget(self.keys.ledger("ids"), [b["id"] for b in bodies])
                    fresh = [b for b, seq in zip(bodies, known, strict=True) if seq is None]
                    pipe.multi()  # type: ignore[no-untyped-call]
                    self._extend_chain(pipe, chain(fresh, head.seq, head.hash))
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        await self.redis.ltrim(pending, len(bodies), -1)

    async def ledger_head(self) -> tuple[Head, Head]:
        """The chain's head and its base (where the kept records start)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.ledger("head"))
            pipe.hgetall(self.keys.ledger("base"))
            head, base = await pipe.execute()
        return Head.parse(head), Head.parse(base)

    async def ledger_lines(self, batch: int = 1000) -> list[str]:
        """Every kept ledger record, oldest first, as stored."""
        lines: list[str] = []
        while True:
            part = await self.redis.lrange(self.keys.ledger("records"), len(lines), len(lines) + batch - 1)
            lines.extend(as_text(line) for line in part)
            if len(part) < batch:
                return lines

    async def trim_ledger(self, before: dt.datetime) -> int:
        """Drop ledger records of acts before `before` (callers pass now minus the retention): how many."""
        return int(await self._trim_ledger(keys=[self.keys.ledger("records"), self.keys.ledger("base")],
                                           args=[iso(before)]))

    async def dialog_ledger(self, dialog_id: str) -> list[dict[str, Any]]:
        """One dialog's ledger records (the console's evidence), oldest first, as kept in the chain."""
        seqs = [int(seq) for seq in await self.redis.lrange(self.keys.ledger(f"dialog:{dialog_id}"), 0, -1)]
        if not seqs:
            return []
        _, base = await self.ledger_head()
        kept = [seq for seq in seqs if seq > base.seq]  # trimmed ones are gone (a negative index counts from the end)
        async with self.redis.pipeline(transaction=False) as pipe:
            for seq in kept:
                pipe.lindex(self.keys.ledger("records"), seq - base.seq - 1)
            found = await pipe.execute()
        records = [json.loads(raw) for raw in found if raw is not None]
        return [r for r in records if r.get("dialog_id") == dialog_id]  # never another dialog's, whatever the index
