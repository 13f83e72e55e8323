"""One change to one dialog under its phone's lock, and the dialog-log records it leaves."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.fencing import Fence
from bot.store import index_marks
from dialogs.conversation import Conversation
from dialogs.model import PUBLIC_STATUS, Dialog, iso
from dialogs.records import StatusChange, TranscriptLine
from domain.masking import mask_msisdn


class Step:
    """One change to one dialog, made under its phone's lock: the dialog, its timers as loaded, new keys."""

    def __init__(self, dialog: Dialog, conversation: Conversation, fence: Fence) -> None:
        self.dialog = dialog
        self.conversation = conversation
        self.fence = fence  # the phone's lock this step holds: its commits are written only while it does
        self.saved_timers = dict(dialog.timers)
        self.saved_marks = index_marks(dialog)  # so that a save writes only the indexes that changed
        # Keys the step writes beside the dialog: key, value, seconds to keep (None: always). The store decides
        # which share the dialog's slot (its transaction) and which, named by an outside identifier, follow it.
        self.keys: list[tuple[str, str, int | None]] = []
        self.extra_log: list[dict[str, Any]] = []
        self._seen_history = len(dialog.history)
        self._seen_lines = {self._line_key(i, e): e.get("status") for i, e in enumerate(dialog.transcript)}

    @staticmethod
    def _line_key(index: int, line: TranscriptLine) -> str:
        return str(line.get("message_id") or index)

    def new_history(self) -> list[StatusChange]:
        """The status changes made since the last save."""
        return self.dialog.history[self._seen_history:]

    def journal(self, now: dt.datetime) -> list[dict[str, Any]]:
        """Dialog-log records for what changed since the last save: status changes and messages."""
        d = self.dialog
        base = {"at": iso(now), "dialog_id": d.dialog_id, "service": d.service, "msisdn": mask_msisdn(d.msisdn)}
        records: list[dict[str, Any]] = []
        for change in d.history[self._seen_history:]:
            records.append({**base, "type": "status", "from": PUBLIC_STATUS.get(change["from"], change["from"]),
                            "to": PUBLIC_STATUS.get(change["to"], change["to"]), "trigger": change["trigger"]})
        for i, line in enumerate(d.transcript):
            key = self._line_key(i, line)
            if key in self._seen_lines and self._seen_lines[key] == line.get("status"):
                continue
            records.append({**base, "type": "message", "direction": line["direction"], "channel": line["channel"],
                            "message_id": line.get("message_id"), "msg": line.get("msg"),
                            "delivery": line.get("status"), "status": d.status})
            self._seen_lines[key] = line.get("status")
        self._seen_history = len(d.history)
        records.extend({**base, **extra} for extra in self.extra_log)
        self.extra_log = []
        return records

    def bound_transcript(self, limit: int) -> int:
        """Keep at most `limit` transcript lines (after `journal`: every line has its log record already).

        The oldest go first, except lines something still refers to: a message not sent yet or still in the
        outbox, the first send of a message that has (or will have) resends (delivery reports and resends look it
        up), and what the open question was asked with.
        Status changes keep pointing at the lines they came after. Returns how many lines were dropped.
        """
        d = self.dialog
        excess = len(d.transcript) - limit
        if excess <= 0:
            return 0
        waiting = {item["id"] for item in d.outbox}
        roots = {line["resend_of"] for line in d.transcript if line.get("resend_of")}
        # A resend not sent yet (only an SMS is resent).
        roots |= {item["resend_of"] for item in d.outbox if item["kind"] == "sms" and item.get("resend_of")}
        # The open question's own messages: when it was asked decides which replies are late (dialogs/answers.py),
        # and the ledger names the text the citizen saw.
        turn = d.history[-1].get("turn") if d.history else None
        asked: set[int] = set()
        for index in range(turn if isinstance(turn, int) else len(d.transcript), len(d.transcript)):
            if d.transcript[index].get("direction") != "out":
                break  # the question as asked: its messages up to the citizen's first reply
            asked.add(index)
        kept: list[TranscriptLine] = []
        dropped_before = [0]  # dropped_before[i]: how many of the first i lines were dropped
        for index, line in enumerate(d.transcript):
            pinned = (line.get("message_id") in waiting or line.get("message_id") in roots
                      or line.get("status") in ("held", "pending")
                      or index in asked)
            if excess and not pinned:
                excess -= 1
                dropped_before.append(dropped_before[-1] + 1)
            else:
                kept.append(line)
                dropped_before.append(dropped_before[-1])
        for change in d.history:
            turn = change.get("turn")
            if isinstance(turn, int) and 0 <= turn < len(dropped_before):
                change["turn"] = turn - dropped_before[turn]
        d.transcript = kept
        # Every line is seen (journal ran): re-key by position, as lines without an id are keyed.
        self._seen_lines = {self._line_key(i, e): e.get("status") for i, e in enumerate(kept)}
        return dropped_before[-1]
