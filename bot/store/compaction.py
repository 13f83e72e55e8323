"""Closed dialogs in compact form: a dialog that ended and then stayed unchanged for COMPACT_CLOSED_AFTER_DAYS is
archived by its `compact` timer (bot/compaction.py), under its phone's lock, in one fenced script.

What archiving does to each key of the dialog (every one in the dialog's slot):

    dialog      rewritten archived (bot/packing.py, version byte 2): the same JSON, deflated whole against a
                dictionary made of closed dialogs; it keeps no timer
    :log        its records move into `:logz`, one archived JSON array that expires when the log would have (the
                later of the two keys' expiries); a record appended meanwhile (a delivery report taken without a
                step, an operator's note) stays in the list, after them
    :delivered  the delivery reports it held are in the archived dialog and leave the hash; only its `!` marker
                stays (an SMS of the dialog failed: its reports still take a step)
    timers      the dialog's entry goes
    the rest    untouched: event and subject claims (a repeated event or a second one for the same child still
                finds this dialog), the IIN, phone and shard indexes (the console's searches and pages, a late
                reply's last offer), the application id (a repeated decision is still "already"), the phone's
                slot, the counters, the live feed and the consent ledger

Readers see no difference: `load` reads either form (bot/store/codec.py, `dialog_from`), and `dialog_log` reads
`:logz` and then `:log`. A delivery report is never taken without a step for an archived dialog
(bot/store/deliveries.py), so nothing writes beside one unless a step does; a step that changes an archived
dialog (a late reply, a delivery report, an operator) saves it in its ordinary form again, the archived log
staying older than the records then appended, and its next compaction folds them together.
"""

from __future__ import annotations

import json
from typing import Any

from bot import fencing
from bot.fencing import Fence
from bot.packing import pack_archived_dialog, pack_archived_log, unpack_line
from bot.store.codec import archived_records, json_line
from bot.store.keys import dialog_shard
from bot.store.save import DialogWrites
from bot.store.timers import timer_entries
from dialogs.model import Dialog


class Compaction(DialogWrites):
    """Archiving a closed dialog and its log (bot/store/compaction.py)."""

    async def compact(self, dialog: Dialog, previous_timers: dict[str, str], *, fence: Fence) -> tuple[int, int]:
        """Write `dialog` (loaded under its phone's lock, its timers cleared; `previous_timers` as it was loaded)
        and its log archived, if `fence` still holds the lock (else LockLost, and nothing is written).

        Returns the bytes of the archived dialog and of the log archived now (0: no record to move).
        """
        if dialog.timers:
            raise ValueError("a dialog is archived without timers")
        dialog_id = dialog.dialog_id
        log_key, archive_key = self.keys.dialog_log(dialog_id), self.keys.dialog_log_archive(dialog_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lrange(log_key, 0, -1)
            pipe.pttl(log_key)
            pipe.get(archive_key)
            pipe.pttl(archive_key)
            lines, log_ms, archived, archived_ms = await pipe.execute()
        commands: Any = fencing.Commands()  # typed Any as in save.py: redis-py types its commands for clients
        packed = pack_archived_dialog(dialog.to_json())
        commands.set(self.keys.dialog(dialog_id), packed)
        packed_log = b""
        if lines:
            records = archived_records(archived) + [json.loads(unpack_line(line)) for line in lines]
            packed_log = pack_archived_log(_json_array(records))
            commands.set(archive_key, packed_log, px=_keep_ms(log_ms, archived_ms if archived else -2))
            # Only the records read: one appended since (without the lock) stays in the list.
            commands.ltrim(log_key, len(lines), -1)
        if dialog.reported:
            commands.hdel(self.keys.deliveries(dialog_id), *dialog.reported)
            dialog.reported = []
        gone = list(timer_entries(dialog_id, previous_timers))
        if gone:
            commands.zrem(self.keys.timers(dialog_shard(dialog_id)), *gone)
        pending = self.keys.ledger_pending(dialog_id)
        if self.cluster:
            commands.lrange(pending, 0, -1)  # a record left by a worker that stopped: chained now, as a save does
        answers = await fencing.fenced_execute(self._fenced, fence, commands)
        if self.cluster and answers[-1]:
            await self._chain_pending(pending, [json.loads(raw) for raw in answers[-1]])
        return len(packed), len(packed_log)


def _json_array(records: list[dict[str, Any]]) -> str:
    """Log records as one compact JSON array, each as `json_line` writes it."""
    return "[" + ",".join(json_line(record) for record in records) + "]"


def _keep_ms(*remaining: int) -> int | None:
    """How long the archived log is kept: as long as the longest kept of what it folds (PTTL of each key: -1 kept
    for ever, -2 none), None for ever."""
    if -1 in remaining:
        return None
    kept = [ms for ms in remaining if ms > 0]
    return max(kept) if kept else None
