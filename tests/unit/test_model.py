"""The stored form of a dialog: the fast serialisation writes exactly what dataclasses.asdict would (but what is
not stored)."""

from __future__ import annotations

import dataclasses
import json

from dialogs.model import Dialog


def test_to_json_is_byte_for_byte_the_asdict_form_and_round_trips() -> None:
    dialog = Dialog(dialog_id="d_1", event_id="e-1", service="birth", msisdn="+77011112233",
                    recipient_iin="900315400017", subject_iins=["261118500015"], event_date="2026-11-23",
                    registered_at="2026-11-23T05:00:00Z", created_at="2026-11-23T05:00:00Z")
    dialog.transcript.append({"at": "t", "direction": "out", "text": "Сізге жәрдемақы ₸", "nested": [{"a": 1}]})
    dialog.consent = {"given_at": "2026-11-23T05:40:00Z", "application_date": "2026-11-23", "channel": "sms"}
    dialog.timers["remind"] = "2026-11-24T05:00:00Z"
    dialog.reported = ["d_1-1"]  # not stored: reports waiting beside the dialog for its next save
    raw = dialog.to_json()
    stored = {k: v for k, v in dataclasses.asdict(dialog).items() if k != "reported"}
    assert raw == json.dumps(stored, ensure_ascii=False, separators=(",", ":"))
    assert Dialog.from_json(raw) == dialog and Dialog.from_json(raw).reported == []
