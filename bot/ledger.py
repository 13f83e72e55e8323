"""The consent ledger: every consent, refusal, opt-out and account confirmation, in one hash chain.

Each record holds the SHA-256 of the record before it (`prev`) and its own `hash`, SHA-256 over its canonical
JSON (sorted keys, no spaces, UTF-8) without `hash`. What the citizen sent and who they are is kept only as
keyed hashes (HMAC-SHA256 with `LEDGER_KEY`): the ledger proves which message, from which phone, answering
which text, made an act, without holding personal data. `verify` names the first record edited, removed or
reordered. The records are built here (pure); `bot/store/save.py` appends them in the step's own transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.clock import almaty_date
from dialogs.model import Dialog, from_iso
from dialogs.records import StatusChange, TranscriptLine

GENESIS = "0" * 64  # the `prev` of the first record ever written
# Transcript statuses of a message the citizen cannot have read (never sent, or lost on the way).
_NOT_SEEN = frozenset({"withdrawn", "held", "not_shown", "failed", "undeliverable"})
# The dialog triggers that are a citizen's legal act, and what the ledger calls each.
ACTS = {"agree": "consent", "decline": "decline", "opt_out": "opt_out", "confirm_account": "account_confirmed",
        "give_account": "account_typed"}


def canonical(value: Any) -> str:
    """The one JSON text of a value that its hash is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 over the record's canonical JSON, without its own `hash`."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


def keyed(key: str, value: str | None) -> str | None:
    """HMAC-SHA256 of a personal value under the ledger key (None stays None)."""
    if value is None:
        return None
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def acts(dialog: Dialog, history: Sequence[StatusChange], *, key: str,
         extra_log: Iterable[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """Ledger bodies (no seq, prev or hash yet) for the acts among a step's new status changes."""
    operator = next((r.get("operator") for r in extra_log if r.get("type") == "operator"), None)
    bodies = []
    first = len(dialog.history) - len(history)
    for index, change in enumerate(history, start=first):
        act = ACTS.get(change.get("trigger", ""))
        if act is None:
            continue
        turn = int(change.get("turn") or len(dialog.transcript))
        words = _inbound_before(dialog, turn)
        shown = _shown_before(dialog, turn, words)
        account = dialog.bank_account or {}
        bodies.append({
            "id": f"{dialog.dialog_id}:{index}",  # the status change it records: one record each, ever
            "act": act, "dialog_id": dialog.dialog_id, "service": dialog.service,
            "channel": words.get("channel") if words else None,
            "message_id": words.get("message_id") if words else None,
            "text_hmac": keyed(key, words.get("text") if words else None),
            "question": {"msg": shown.get("msg"), "text_sha256": sha256(shown["text"])} if shown else None,
            "at": change["at"],
            "application_date": (dialog.consent or {}).get("application_date"),
            "recipient_iin_hmac": keyed(key, dialog.recipient_iin),
            "subject_iins_hmac": [keyed(key, iin) for iin in dialog.subject_iins],
            "iban_hmac": keyed(key, account.get("iban")) if act.startswith("account_") else None,
            "operator": operator,
        })
    return bodies


def _inbound_before(dialog: Dialog, turn: int) -> TranscriptLine | None:
    """The citizen's message the act answered: the newest inbound line when it was decided."""
    return next((line for line in reversed(dialog.transcript[:turn]) if line["direction"] == "in"), None)


def _shown_before(dialog: Dialog, turn: int, words: TranscriptLine | None) -> TranscriptLine | None:
    """The question the citizen could read: the newest message sent before their answer (on its channel first)."""
    end = dialog.transcript.index(words) if words is not None else turn
    sent = [line for line in reversed(dialog.transcript[:end]) if line["direction"] == "out"
            and line.get("msg") and line.get("status") not in _NOT_SEEN]
    channel = words.get("channel") if words else None
    return next((line for line in sent if line["channel"] == channel), sent[0] if sent else None)


def chain(bodies: Sequence[dict[str, Any]], seq: int, prev: str) -> list[dict[str, Any]]:
    """The bodies as records following the head (`seq`, `prev`): numbered, linked and hashed."""
    records = []
    for body in bodies:
        seq += 1
        record = {**body, "seq": seq, "prev": prev}
        record["hash"] = prev = record_hash(record)
        records.append(record)
    return records


@dataclass(frozen=True)
class Head:
    """Where the chain stands: the last record's seq and hash (0 and GENESIS before the first)."""

    seq: int = 0
    hash: str = GENESIS

    @classmethod
    def parse(cls, raw: dict[Any, Any]) -> Head:
        values = {_text(k): _text(v) for k, v in raw.items()}
        return cls(int(values.get("seq") or 0), values.get("hash") or GENESIS)


def verify(lines: Iterable[str], head: Head, base: Head = Head()) -> tuple[int, list[str]]:
    """(records read, findings): one line per record edited, removed or reordered; no findings: it holds.

    `base` is where the kept chain starts (after records older than the retention were trimmed), `head` what
    the chain's head says was appended last.
    """
    findings: list[str] = []
    lines = list(lines)
    present = {_seq(line) for line in lines}
    expected, prev, count = base.seq + 1, base.hash, 0
    for position, line in enumerate(lines):
        count += 1
        try:
            record = json.loads(line)
            seq, link, own = int(record["seq"]), str(record["prev"]), str(record["hash"])
        except (ValueError, KeyError, TypeError):
            findings.append(f"position {position}: not a ledger record (edited)")
            expected += 1
            continue
        if record_hash(record) != own:
            findings.append(f"record {seq} (position {position}): edited: its hash does not match its content")
        elif seq > expected and expected in present:
            findings.append(f"record {seq} (position {position}): reordered: found where record {expected} belongs")
        elif seq > expected:
            missing = f"{expected}" if seq == expected + 1 else f"{expected}-{seq - 1}"
            findings.append(f"record {missing}: removed (record {seq} at position {position} follows record "
                            f"{expected - 1})")
        elif seq < expected:
            findings.append(f"record {seq} (position {position}): reordered: found after record {expected - 1}")
        elif link != prev:
            findings.append(f"record {seq - 1}: edited or replaced: record {seq} (position {position}) links to "
                            f"another hash")
        expected, prev = max(expected, seq + 1), own
    if not findings and (head.seq != expected - 1 or head.hash != prev):
        findings.append(f"record {head.seq}: removed: the head names record {head.seq} but the chain ends at "
                        f"record {expected - 1}")
    return count, findings


def _seq(line: str) -> int | None:
    try:
        return int(json.loads(line)["seq"])
    except (ValueError, KeyError, TypeError):
        return None


def in_period(record: dict[str, Any], start: dt.date, end: dt.date) -> bool:
    """Whether an act happened on a Kazakhstan day from `start` to `end`, both included."""
    return start <= almaty_date(from_iso(record["at"])) <= end


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
