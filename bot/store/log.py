"""The dialog log, the live feed and the counters the log moves.

Each dialog keeps its log records as packed JSON lines beside it (written in its step's transaction, kept
`log_retention_seconds`; once the dialog is closed and quiet, archived in one value: bot/store/compaction.py);
every record is copied to the live feed, one capped stream every tail reads (on one Redis in the same
transaction, on a cluster right after it); status records move the per-shard counters. Observers (metrics) are
told each record once it is written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from bot.clock import almaty_date
from bot.packing import pack_line, unpack_line
from bot.store.codec import archived_records, as_text, feed_record, json_line
from bot.store.dialogs import DialogReads
from bot.store.keys import dialog_shard
from dialogs.model import Dialog, from_iso
from domain.masking import mask_msisdn

DAY_STATS_SECONDS = 40 * 86400
LogObserver = Callable[[list[dict[str, Any]]], None]
_SAME_IN_EVERY_LINE = ("dialog_id", "service", "msisdn")


class DialogLog(DialogReads):
    """Writing and reading the dialog log and the live feed; the counters. (A dialog's log is read with the
    dialog, which gives back what its lines leave out: hence `DialogReads`.)"""

    log_feed_maxlen: int
    observers: list[LogObserver]  # told every log record once it is written (metrics)

    async def feed_last_id(self) -> str:
        """The id of the newest record in the live feed ("0-0" when it is empty): where a tail starts."""
        newest = await self.redis.xrevrange(self.keys.log_feed(), count=1)
        return as_text(newest[0][0]) if newest else "0-0"

    async def read_feed(self, after: str, *, block_ms: int | None = None,
                        count: int = 100) -> list[tuple[str, dict[str, Any]]]:
        """Feed records after the id `after`, oldest first, waiting up to `block_ms` for one (None: no wait)."""
        found: Any = await self.redis.xread({self.keys.log_feed(): after}, count=count, block=block_ms)
        if not found:
            return []
        return [(as_text(entry_id), feed_record(fields)) for entry_id, fields in found[0][1]]

    async def feed_tail(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        """The newest `count` feed records, oldest first."""
        newest: Any = await self.redis.xrevrange(self.keys.log_feed(), count=count)
        return [(as_text(entry_id), feed_record(fields)) for entry_id, fields in reversed(newest)]

    async def append_log(self, dialog: Dialog, records: list[dict[str, Any]]) -> None:
        """Log records that change no dialog state (an operator's look at personal data, say)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self._append_log(pipe, dialog, records)
            if not self.cluster:
                self._copies(pipe, records, [])
            await pipe.execute()
        await self._after(records, [])

    def _copies(self, pipe: Any, log: list[dict[str, Any]], lookups: list[tuple[str, str, int | None]]) -> None:
        """What a step writes outside its dialog's slot: the lookups and the live feed's copies of the log (in the
        transaction on one Redis, by `_after` on a cluster)."""
        for key, value, keep_seconds in lookups:
            pipe.set(key, value, ex=keep_seconds)
        for record in log:
            pipe.xadd(self.keys.log_feed(), {"record": pack_line(json_line(record))}, maxlen=self.log_feed_maxlen,
                      approximate=True)

    async def _after(self, log: list[dict[str, Any]], lookups: list[tuple[str, str, int | None]]) -> None:
        """The live feed and the lookups, on a cluster (one Redis wrote them in the transaction); then observers."""
        if self.cluster and (log or lookups):
            async with self.redis.pipeline(transaction=False) as pipe:
                self._copies(pipe, log, lookups)
                await pipe.execute()
        self._tell(log)

    def _append_log(self, pipe: Any, dialog: Dialog, records: list[dict[str, Any]]) -> None:
        """Per-dialog JSON lines (kept `log_retention_seconds`) and the counters they move.

        A dialog's own lines leave out what every one of them would repeat (its id, service and masked phone):
        `dialog_log` puts it back. The live feed keeps whole records.
        """
        key = self.keys.dialog_log(dialog.dialog_id)
        shard = dialog_shard(dialog.dialog_id)
        for record in records:
            pipe.rpush(key, pack_line(json_line({k: v for k, v in record.items() if k not in _SAME_IN_EVERY_LINE})))
            if record.get("type") == "status" and record["from"] != record["to"]:
                pipe.hincrby(self.keys.status_counts(shard), record["from"], -1)
                pipe.hincrby(self.keys.status_counts(shard), record["to"], 1)
                self._count_day(pipe, shard, record["at"], f"status:{record['to']}")
                if record.get("trigger") == "agree":
                    self._count_day(pipe, shard, record["at"], "consents")
        pipe.expire(key, self.log_retention_seconds)

    def _count_day(self, pipe: Any, shard: int, at: str, what: str) -> None:
        key = self.keys.day_stats(almaty_date(from_iso(at)).isoformat(), shard)
        pipe.hincrby(key, what, 1)
        pipe.expire(key, DAY_STATS_SECONDS)

    def _tell(self, records: list[dict[str, Any]]) -> None:
        if records:
            for observe in self.observers:
                observe(records)

    async def dialog_log(self, dialog_id: str) -> list[dict[str, Any]]:
        """Every log record kept for one dialog, oldest first: those archived (bot/store/compaction.py), then those
        in its list."""
        try:
            key, archive = self.keys.dialog_log(dialog_id), self.keys.dialog_log_archive(dialog_id)
        except ValueError:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(archive)
            pipe.lrange(key, 0, -1)
            archived, listed = await pipe.execute()
        lines = archived_records(archived) + [json.loads(unpack_line(line)) for line in listed]
        if not lines or all("dialog_id" in line for line in lines):
            return lines
        dialog = await self.load(dialog_id)
        same = {"dialog_id": dialog_id, "service": dialog.service if dialog else None,
                "msisdn": mask_msisdn(dialog.msisdn) if dialog else None}
        return [{"at": line.get("at"), **same, **line} for line in lines]

    # ---- counters (kept from the log's status records, and by a dialog's creation) ------------------------

    async def status_counts(self) -> dict[str, int]:
        """Public status → dialogs in it now."""
        return await self._counts([self.keys.status_counts(s) for s in range(self.keys.shards)])

    async def day_counts(self, day: dt.date) -> dict[str, int]:
        """One Kazakhstan day's counters: new dialogs, consents, entries into each status."""
        return await self._counts([self.keys.day_stats(day.isoformat(), s) for s in range(self.keys.shards)])

    async def _counts(self, keys: list[str]) -> dict[str, int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            parts = await pipe.execute()
        total: dict[str, int] = {}
        for part in parts:
            for k, v in part.items():
                total[as_text(k)] = total.get(as_text(k), 0) + int(v)
        return total
