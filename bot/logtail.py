"""`proactive-bot logs`: the dialog log in a terminal, recent records and (with --follow) live ones, filtered."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.clock import ALMATY
from bot.logs import CONTROLS, escape_controls
from bot.store import Store
from dialogs.model import from_iso
from domain.masking import mask_msisdn

Write = Callable[[str], None]
BLOCK_MS = 5000
DEFAULT_LAST = 20
_RESET, _DIM, _BOLD = "\033[0m", "\033[2m", "\033[1m"
_COLOURS = {"green": "\033[32m", "red": "\033[31m", "yellow": "\033[33m", "blue": "\033[34m", "magenta": "\033[35m",
            "cyan": "\033[36m"}
_STATUS_COLOUR = {"assigned": "green", "submitted": "blue", "refused": "red", "undeliverable": "red",
                  "awaiting_language": "yellow", "awaiting_consent": "yellow", "awaiting_bank_account": "yellow"}


@dataclass(frozen=True)
class LogFilter:
    """Which records to show: one dialog, one phone (E.164), one public status (a record's status or new status)."""

    dialog_id: str | None = None
    msisdn: str | None = None
    status: str | None = None


class Matcher:
    """Applies a LogFilter. Records carry only the masked phone, so a phone is matched by its dialogs' ids."""

    def __init__(self, store: Store, f: LogFilter) -> None:
        self.store, self.f = store, f
        self.masked = mask_msisdn(f.msisdn) if f.msisdn else None
        self.phone_dialogs: set[str] = set()

    async def __call__(self, record: dict[str, Any]) -> bool:
        f = self.f
        if f.dialog_id and record.get("dialog_id") != f.dialog_id:
            return False
        if f.status and f.status not in (record.get("status"), record.get("to")):
            return False
        if f.msisdn:
            if record.get("msisdn") != self.masked:
                return False  # cheap: most records are for other phones
            if record.get("dialog_id") not in self.phone_dialogs:  # a new dialog, or another phone with this mask
                self.phone_dialogs = set(await self.store.phone_dialog_ids(f.msisdn))
            return record.get("dialog_id") in self.phone_dialogs
        return True


def _paint(text: str, colour: str | None, on: bool) -> str:
    return f"{_COLOURS.get(colour or '', colour or '')}{text}{_RESET}" if on and colour else text


def _what(r: dict[str, Any], c: bool) -> str:
    kind = r.get("type")
    if kind == "status":
        return (f"status {r['from']} → {_paint(r['to'], _STATUS_COLOUR.get(r['to'], _BOLD), c)}"
                f"  ({r.get('trigger')})")
    if kind == "message":
        arrow = _paint("← in ", "cyan", c) if r.get("direction") == "in" else _paint("→ out", "magenta", c)
        delivery = f"  [{r['delivery']}]" if r.get("delivery") else ""
        return f"{arrow} {r.get('channel')}  {r.get('msg') or ''}{delivery}  #{r.get('message_id') or ''}"
    if kind == "operator":
        detail = r.get("text") or r.get("reason") or ""
        return _paint(f"operator {r.get('operator')}: {r.get('action')}", "yellow", c) + (f"  {detail}" if detail
                                                                                          else "")
    if kind == "timer":
        return f"timer {r.get('kind')}  (lag {r.get('lag_seconds')} s)"
    if kind in ("retry", "dead_letter"):
        return _paint(f"{kind} {r.get('item')} #{r.get('message_id')} attempt {r.get('attempt')} ({r.get('error')})",
                      "red" if kind == "dead_letter" else "yellow", c)
    return json.dumps({k: v for k, v in r.items() if k not in ("at", "dialog_id", "service", "msisdn")},
                      ensure_ascii=False)


def _escaped(value: Any) -> Any:
    """Every string in a record with its control characters escaped: what came from outside (an id, a name, a
    note) must not break the line, colour the terminal or move its cursor; only our own colours may."""
    if isinstance(value, str):
        return escape_controls(value)
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    return value


def json_line(record: dict[str, Any]) -> str:
    """One JSON line; control characters JSON leaves raw (C1, bidi, line separators) are written as \\u escapes."""
    return CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(record, ensure_ascii=False))


def format_record(record: dict[str, Any], *, colour: bool = False) -> str:
    """One readable line: local (Kazakhstan) time, dialog, service, masked phone, then what happened."""
    record = _escaped(record)
    at = from_iso(record["at"]).astimezone(ALMATY).strftime("%Y-%m-%d %H:%M:%S") if record.get("at") else "?"
    return (f"{_paint(at, _DIM, colour)}  {_paint(str(record.get('dialog_id')), 'cyan', colour)}  "
            f"{record.get('service', ''):<22} {record.get('msisdn', ''):<13} {_what(record, colour)}")


async def tail(store: Store, f: LogFilter, write: Write, *, follow: bool = False, last: int | None = None,
               as_json: bool = False, colour: bool = False, block_ms: int = BLOCK_MS) -> None:
    """Write recent records (a dialog's whole kept log, else the feed's newest 20), then, when following, new ones."""
    matches = Matcher(store, f)

    async def show(record: dict[str, Any]) -> None:
        if await matches(record):
            write(json_line(record) if as_json else format_record(record, colour=colour))

    after = await store.feed_last_id()
    if f.dialog_id:
        history = await store.dialog_log(f.dialog_id)
        history = history if last is None else history[len(history) - last:] if last > 0 else []
    else:
        count = DEFAULT_LAST if last is None else last
        history = [record for _, record in await store.feed_tail(count)] if count > 0 else []
    for record in history:
        await show(record)
    while follow:
        for entry_id, record in await store.read_feed(after, block_ms=block_ms):
            after = entry_id
            await show(record)
