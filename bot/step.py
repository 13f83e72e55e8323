"""One change to one dialog under its phone's lock, and the dialog-log records it leaves."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.domain.masking import mask_msisdn
from bot.store import index_marks
from dialogs.conversation import Conversation
from dialogs.model import PUBLIC_STATUS, Dialog, iso


class Step:
    """One change to one dialog, made under its phone's lock: the dialog, its timers as loaded, new keys."""

    def __init__(self, dialog: Dialog, conversation: Conversation) -> None:
        self.dialog = dialog
        self.conversation = conversation
        self.saved_timers = dict(dialog.timers)
        self.saved_marks = index_marks(dialog)  # so that a save writes only the indexes that changed
        self.extra_keys: list[tuple[str, str, int | None]] = []  # key, value, seconds to keep (None: always)
        # Keys named by an outside identifier (an application id): they do not share the dialog's slot.
        self.lookup_keys: list[tuple[str, str, int | None]] = []
        self.extra_log: list[dict[str, Any]] = []
        self._seen_history = len(dialog.history)
        self._seen_lines = {self._line_key(i, e): e.get("status") for i, e in enumerate(dialog.transcript)}

    @staticmethod
    def _line_key(index: int, line: dict[str, Any]) -> str:
        return str(line.get("message_id") or index)

    def new_history(self) -> list[dict[str, Any]]:
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
