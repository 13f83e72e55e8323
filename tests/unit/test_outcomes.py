"""The outcome recordings' comparison (tests/outcomes.py): what is normalised, and how differences are sorted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.outcomes import normalise, sort_differences


def test_run_to_run_values_become_placeholders_in_order_of_first_appearance() -> None:
    text = ('d_0b9b-4b99-58bc-f236 zags-test-000012 ATUid_b2e16358b4d63805:1 920412412349 '
            'd_0b9b-4b99-58bc-f236-1 d_1c00-0000-0000-0001 +77011112233')
    assert normalise(text) == "D1 E1 ATUid_H1:1 I1 D1-1 D2 +77011112233"


def _recording(timers: dict[str, str], log: list[dict[str, Any]]) -> str:
    return json.dumps([{"dialog": {"dialog_id": "d_0b00-0000-0000-0001", "timers": timers}, "log": log,
                        "ledger": []}])


def test_differences_are_sorted_by_how_far_they_go(tmp_path: Path) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    before.mkdir()
    after.mkdir()
    sent = {"at": "2026-11-23T05:00:00Z", "type": "message", "delivery": "sent"}
    delivered = {"at": "2026-11-23T05:00:01Z", "type": "message", "delivery": "delivered"}
    cases = {
        "same.json": (_recording({}, [sent]), _recording({}, [sent])),
        "compact.json": (_recording({}, [sent]), _recording({"compact": "2026-11-26T05:00:00Z"}, [sent])),
        "order.json": (_recording({}, [sent, delivered]), _recording({}, [delivered, sent])),
        "other.json": (_recording({}, [sent]), _recording({}, [delivered])),
    }
    for name, (old, new) in cases.items():
        (before / name).write_text(old, encoding="utf-8")
        (after / name).write_text(new, encoding="utf-8")
    assert sort_differences(before, after) == {"identical": ["same.json"], "compact timer only": ["compact.json"],
                                               "instants or log order only": ["order.json"],
                                               "other": ["other.json"]}
