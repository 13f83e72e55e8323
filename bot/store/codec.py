"""What the store writes to Redis and reads back, as values: a dialog, a log line, a feed record, a text.

The bytes themselves (JSON deflated against a preset dictionary) are bot/packing.py's; these wrap them with JSON
and with redis-py's replies, which are bytes or str depending on the client.
"""

from __future__ import annotations

import json
from typing import Any

from bot.packing import unpack_dialog, unpack_line, unpack_log
from dialogs.model import Dialog


def dialog_from(raw: bytes | str | None, delivered: list[Any]) -> Dialog | None:
    """A stored dialog, archived or not (None: none stored), with the delivery reports taken without a step merged
    in (`delivered`: the fields of its deliveries hash)."""
    if raw is None:
        return None
    dialog = Dialog.from_json(unpack_dialog(raw))
    reported = [as_text(field) for field in delivered if field not in (b"!", "!")]
    if reported:
        dialog.merge_reported(reported)
    return dialog


def json_line(record: dict[str, Any]) -> str:
    """A log record as one compact JSON line (packed with bot/packing.py's pack_line before it is written)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def archived_records(raw: bytes | None) -> list[dict[str, Any]]:
    """The log records an archived log holds (bot/store/compaction.py), oldest first; [] for none."""
    records: list[dict[str, Any]] = json.loads(unpack_log(raw)) if raw else []
    return records


def feed_record(fields: dict[Any, Any]) -> dict[str, Any]:
    """The record of a live-feed stream entry."""
    raw = fields.get(b"record", fields.get("record"))
    record: dict[str, Any] = json.loads(unpack_line(raw) if raw else "{}")
    return record


def as_text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
