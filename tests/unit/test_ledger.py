"""The ledger's chain, as data: every edit, removal or reordering is found and named."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bot.ledger import GENESIS, Head, acts, canonical, chain, keyed, record_hash, verify
from dialogs.model import Dialog


def _records(n: int = 5) -> list[dict[str, object]]:
    bodies = [{"id": f"d:{i}", "act": "consent", "dialog_id": f"d_{i}", "at": f"2026-11-23T10:0{i}:00Z"}
              for i in range(n)]
    return chain(bodies, 0, GENESIS)


def _lines(records: list[dict[str, object]]) -> list[str]:
    return [canonical(r) for r in records]


def _head(records: list[dict[str, object]]) -> Head:
    return Head(int(str(records[-1]["seq"])), str(records[-1]["hash"]))


def _edit(lines: list[str]) -> list[str]:
    record = json.loads(lines[2])
    record["at"] = "2026-11-24T10:02:00Z"  # the consent moved to another day
    return [*lines[:2], canonical(record), *lines[3:]]


def _edit_and_rehash(lines: list[str]) -> list[str]:
    record = json.loads(lines[2])
    record["at"] = "2026-11-24T10:02:00Z"
    record["hash"] = record_hash(record)  # the forger recomputed its own hash, but not the next record's link
    return [*lines[:2], canonical(record), *lines[3:]]


@dataclass
class Case:
    label: str
    tamper: Callable[[list[str]], list[str]]
    expect: str


CASES = [
    Case("a record edited in place", _edit, "record 3 (position 2): edited"),
    Case("a record edited and its own hash recomputed", _edit_and_rehash, "record 3: edited or replaced"),
    Case("a record removed", lambda ls: [*ls[:1], *ls[2:]], "record 2: removed"),
    Case("two records swapped", lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], "record 3 (position 1): reordered"),
    Case("the newest record removed", lambda ls: ls[:-1], "record 5: removed"),
    Case("a line that is not a record", lambda ls: [ls[0], "junk", *ls[2:]], "position 1: not a ledger record"),
]


def test_an_untouched_chain_verifies() -> None:
    records = _records()
    assert verify(_lines(records), _head(records)) == (5, [])
    assert verify([], Head()) == (0, [])


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_verify_names_the_first_record_broken(case: Case) -> None:
    records = _records()
    _, findings = verify(case.tamper(_lines(records)), _head(records))
    assert findings and findings[0].startswith(case.expect), findings


def test_a_trimmed_chain_verifies_from_its_base() -> None:
    records = _records()
    base = Head(2, str(records[1]["hash"]))
    assert verify(_lines(records)[2:], _head(records), base) == (3, [])
    assert verify(_lines(records)[3:], _head(records), base)[1][0].startswith("record 3: removed")


def _dialog() -> Dialog:
    dialog = Dialog(dialog_id="d_0a00-0000-0000-0001", event_id="e", service="birth", msisdn="+77011112233",
                    recipient_iin="920412412349", subject_iins=["261118500015"], event_date="2026-11-18",
                    registered_at="2026-11-20T05:15:00Z", created_at="2026-11-23T05:00:00Z", language="kk")
    dialog.transcript = [
        {"at": "t0", "direction": "out", "channel": "sms", "text": "offer v1", "message_id": "m-1",
         "msg": "consent.ask.birth", "status": "delivered"},
        {"at": "t1", "direction": "out", "channel": "sms", "text": "reminder", "message_id": "m-2",
         "msg": "consent.reminder", "status": "withdrawn"},
        {"at": "t2", "direction": "in", "channel": "sms", "text": "1", "message_id": "gw-77"},
    ]
    dialog.consent = {"given_at": "2026-11-23T05:02:00Z", "application_date": "2026-11-23", "channel": "sms"}
    dialog.history = [{"at": "2026-11-23T05:02:00Z", "from": "awaiting_consent", "to": "awaiting_bank_account",
                       "trigger": "agree", "turn": 3}]
    return dialog


def test_an_act_names_the_question_the_citizen_could_read_and_hashes_personal_data() -> None:
    dialog = _dialog()
    [body] = acts(dialog, dialog.history, key="k", extra_log=[{"type": "operator", "operator": "Айгүл"}])
    assert body["act"] == "consent" and body["id"] == f"{dialog.dialog_id}:0"
    assert body["message_id"] == "gw-77" and body["text_hmac"] == keyed("k", "1")
    assert body["question"]["msg"] == "consent.ask.birth"  # not the withdrawn reminder
    assert body["recipient_iin_hmac"] == keyed("k", "920412412349") != keyed("other", "920412412349")
    assert body["application_date"] == "2026-11-23" and body["operator"] == "Айгүл"
    assert "920412412349" not in canonical(body) and "261118500015" not in canonical(body)


def test_changes_that_are_not_acts_leave_no_record() -> None:
    dialog = _dialog()
    dialog.history = [{"at": "x", "from": "awaiting_consent", "to": "expired", "trigger": "expire", "turn": 3}]
    assert acts(dialog, dialog.history, key="k") == []
