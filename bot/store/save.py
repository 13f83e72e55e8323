"""A dialog's own transaction: `create` and `save` write the dialog with everything derived from it or logged by
its step, in one MULTI of its shard's slot.

With the dialog go its timers, its place in the shard's indexes and the delivery marker (`Marks`, only what
changed since it was loaded), its log records and the counters they move (bot/store/log.py), the step's keys in
the dialog's slot, and its consent-ledger records (bot/store/ledger.py). What lives in other slots (lookups by an
outside identifier, the live feed) joins the transaction on one Redis and follows it on a cluster.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis.commands.core import AsyncScript
from redis.exceptions import WatchError

from bot import fencing
from bot.fencing import Fence
from bot.ledger import Head, canonical, chain
from bot.packing import pack_dialog
from bot.store.claims import Claims
from bot.store.keys import dialog_shard, hash_tag
from bot.store.ledger import Ledger
from bot.store.log import DialogLog
from bot.store.timers import timer_entries
from dialogs.model import Dialog, from_iso


@dataclass(frozen=True, slots=True)
class Marks:
    """What the shard's indexes and the delivery marker hold of a dialog (`index_marks`). A save is given those
    its dialog was loaded with and writes only the ones that changed."""

    flagged: bool  # in the `flagged` index: it has a flag
    attention: bool  # in the `attention` index: in the operators' queue (Dialog.attention)
    overdue: bool  # in the `overdue` index: its decision is overdue
    needs_report_steps: bool  # its deliveries hash holds `!`: an SMS of it failed, its reports need a step

    def indexed(self) -> dict[str, bool]:
        """Index name → whether the dialog is in that index, in the order a save writes them."""
        return {"flagged": self.flagged, "attention": self.attention, "overdue": self.overdue}


def index_marks(dialog: Dialog) -> Marks:
    """What the shard's indexes and the delivery marker hold of a dialog: flagged, in the operators' queue,
    decision overdue, its reports need a step."""
    return Marks(flagged=bool(dialog.flags), attention=bool(dialog.attention),
                 overdue="decision_overdue" in dialog.flags, needs_report_steps=dialog.needs_report_steps)


class DialogWrites(DialogLog, Ledger, Claims):
    """Creating and saving a dialog: its log, counters and ledger records are written in the same transaction."""

    _fenced: AsyncScript  # fencing.FENCED_EXEC

    async def create(self, dialog: Dialog, subject_keys: list[str]) -> tuple[bool, str | None, str | None]:
        """Write a new dialog for its event, claiming the event_id and the subjects (children, person).

        Returns (created, the dialog id already holding the event_id, the dialog id already holding a subject).
        Called under the phone's lock. Each part is idempotent, so a job replayed after a crash completes what
        the first attempt began: the event_id is claimed first (SET NX: of two posts of one event, one
        wins), then the dialog is written with its indexes in one transaction of its shard, then the subjects
        are claimed (SET NX: a second event for the same child finds the first dialog), then the IIN index.
        """
        event_key = self.keys.event(dialog.event_id)
        if not await self.redis.set(event_key, dialog.dialog_id, nx=True):
            owner = await self.lookup(event_key)
            if owner is not None and owner != dialog.dialog_id:
                return False, owner, None
        created = await self._write_new(dialog)
        holder = await self.claim_subjects(dialog.dialog_id, subject_keys)
        created_at = from_iso(dialog.created_at).timestamp()
        async with self.redis.pipeline(transaction=False) as pipe:
            for iin in sorted({dialog.recipient_iin, *dialog.subject_iins}):
                pipe.zadd(self.keys.iin(iin), {dialog.dialog_id: created_at})
            await pipe.execute()
        return created, None, holder

    async def _write_new(self, dialog: Dialog) -> bool:
        """The dialog and its indexes, unless it exists already (a replay): True when written now."""
        key = self.keys.dialog(dialog.dialog_id)
        shard = dialog_shard(dialog.dialog_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    # STRLEN, not EXISTS: a cluster pipeline splits EXISTS by slot and cannot run it here.
                    if await pipe.strlen(key):
                        return False
                    pipe.multi()  # type: ignore[no-untyped-call]
                    self._write(pipe, dialog, {})
                    created_at = from_iso(dialog.created_at).timestamp()
                    pipe.zadd(self.keys.index("dialogs", shard), {dialog.dialog_id: created_at})
                    pipe.zadd(self.keys.phone_dialogs(dialog.msisdn), {dialog.dialog_id: created_at})
                    pipe.hincrby(self.keys.status_counts(shard), dialog.status, 1)
                    self._count_day(pipe, shard, dialog.created_at, "dialogs")
                    await pipe.execute()
                    return True
                except WatchError:
                    continue

    async def save(self, dialog: Dialog, previous_timers: dict[str, str],
                   extra: list[tuple[str, str, int | None]] | None = None,
                   log: list[dict[str, Any]] | None = None,
                   lookups: list[tuple[str, str, int | None]] | None = None,
                   previous_marks: Marks | None = None, ledger: list[dict[str, Any]] | None = None, *,
                   fence: Fence | None = None, release: bool = False) -> None:
        """Write the dialog, bring its timers and indexes in line and append its log records, atomically.

        With the `fence` of the phone's lock (every step has one) all of it is written only if that lock is still
        held, in the same atomic unit: else nothing is, and LockLost is raised (bot/fencing.py). `release` lets the
        lock go in the same script (the step's last commit).

        `extra` keys are the step's own (key, value, seconds to keep): those in the dialog's slot join the
        transaction; the others (`lookups` too: keys named by an outside identifier) and the live feed join it on
        one Redis, and on a cluster, where their slots differ, are written right after it: each is an idempotent
        accelerator or a copy, and the transaction alone is the record. The caller need not know which is which.
        `ledger` bodies (bot/ledger.py) are chained in the same atomic unit on one Redis (done again if another
        worker extended the chain meanwhile); on a cluster they are written beside the dialog in its transaction
        and chained right after it, and a record left there by a worker that stopped in between is chained by the
        dialog's next save.
        """
        slot = hash_tag(self.keys.dialog(dialog.dialog_id))
        keys = [*(extra or []), *(lookups or [])]
        extra = [k for k in keys if hash_tag(k[0]) == slot]
        lookups = [k for k in keys if hash_tag(k[0]) != slot]
        if ledger and not self.cluster:
            await self._save_chained(dialog, previous_timers, extra, log, lookups, previous_marks, ledger, fence,
                                     release)
            return
        pending = self.keys.ledger_pending(dialog.dialog_id)

        def write(pipe: Any) -> None:
            self._write(pipe, dialog, previous_timers, previous_marks)
            for key, value, keep_seconds in extra or []:
                pipe.set(key, value, ex=keep_seconds)
            if log:
                self._append_log(pipe, dialog, log)
            if not self.cluster:
                self._copies(pipe, log or [], lookups or [])
            if self.cluster:
                if ledger:
                    pipe.rpush(pending, *(canonical(body) for body in ledger))
                pipe.lrange(pending, 0, -1)

        if fence is not None:
            commands = fencing.Commands()
            write(commands)
            answers = await fencing.fenced_execute(self._fenced, fence, commands, release=release)
        else:
            async with self.redis.pipeline(transaction=True) as pipe:
                write(pipe)
                answers = await pipe.execute()
        await self._after(log or [], lookups or [])
        if self.cluster and answers[-1]:
            await self._chain_pending(pending, [json.loads(raw) for raw in answers[-1]])

    async def _save_chained(self, dialog: Dialog, previous_timers: dict[str, str],
                            extra: list[tuple[str, str, int | None]] | None, log: list[dict[str, Any]] | None,
                            lookups: list[tuple[str, str, int | None]] | None, previous_marks: Marks | None,
                            ledger: list[dict[str, Any]], fence: Fence | None, release: bool = False) -> None:
        """`save` with ledger records, on one Redis: the dialog and the chain's new records in one atomic unit,
        done again if another worker extended the chain since its head was read.

        With a `fence`, one script checks the phone's lock and the head's seq and writes (two round trips in
        all); without, a MULTI watching the head."""
        reported = list(dialog.reported)  # _write consumes it; a retry needs it again

        def write(pipe: Any, head: Head) -> None:
            dialog.reported = list(reported)
            self._write(pipe, dialog, previous_timers, previous_marks)
            for key, value, keep_seconds in extra or []:
                pipe.set(key, value, ex=keep_seconds)
            if log:
                self._append_log(pipe, dialog, log)
            self._copies(pipe, log or [], lookups or [])
            self._extend_chain(pipe, chain(ledger, head.seq, head.hash))

        head_key = self.keys.ledger("head")
        if fence is not None:
            while True:
                head = Head.parse(await self.redis.hgetall(head_key))
                commands = fencing.Commands()
                write(commands, head)
                try:
                    await fencing.fenced_execute(self._fenced, fence, commands,
                                                 guard=(head_key, "seq", str(head.seq)), release=release)
                    break
                except fencing.Stale:
                    continue
            self._tell(log or [])
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(head_key)
                    head = Head.parse(await pipe.hgetall(head_key))
                    pipe.multi()  # type: ignore[no-untyped-call]
                    write(pipe, head)
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        self._tell(log or [])

    def _write(self, pipe: Any, dialog: Dialog, previous_timers: dict[str, str],
               previous_marks: Marks | None = None) -> None:
        """The dialog and what is derived from it; with the timers and marks it was loaded with, only what
        changed (None: everything)."""
        pipe.set(self.keys.dialog(dialog.dialog_id), pack_dialog(dialog.to_json()))
        marks = index_marks(dialog)
        shard = dialog_shard(dialog.dialog_id)
        created_at = from_iso(dialog.created_at).timestamp()
        was_in = previous_marks.indexed() if previous_marks is not None else None
        for name, member in marks.indexed().items():
            if was_in is not None and was_in[name] == member:
                continue  # this index holds it as it did
            if member:
                pipe.zadd(self.keys.index(name, shard), {dialog.dialog_id: created_at})
            else:
                pipe.zrem(self.keys.index(name, shard), dialog.dialog_id)
        # The reports taken without a step are in the dialog now; while an SMS of it has failed, they need one.
        deliveries = self.keys.deliveries(dialog.dialog_id)
        done = [*dialog.reported]
        if previous_marks is None or previous_marks.needs_report_steps != marks.needs_report_steps:
            if marks.needs_report_steps:
                pipe.hset(deliveries, "!", "1")
            else:
                done.append("!")
        if done:
            pipe.hdel(deliveries, *done)
        dialog.reported = []
        entries = timer_entries(dialog.dialog_id, dialog.timers)
        before = timer_entries(dialog.dialog_id, previous_timers)
        gone = [m for m in before if m not in entries]
        if gone:
            pipe.zrem(self.keys.timers(shard), *gone)
        if entries and (entries != before or previous_marks is None):
            pipe.zadd(self.keys.timers(shard), entries)
