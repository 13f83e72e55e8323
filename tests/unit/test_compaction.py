"""When a closed dialog is archived (bot/compaction.py), COMPACT_CLOSED_AFTER_DAYS, and how long its log is kept."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import compaction
from bot.settings import Settings
from bot.store.compaction import _keep_ms
from dialogs.model import FINAL, Dialog

NOW = dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)


def dialog(state: str, **timers: str) -> Dialog:
    return Dialog(dialog_id="d_0000-0000-0000-0000", event_id="e", service="birth", msisdn="+77010000000",
                  recipient_iin="", subject_iins=[], event_date="2026-11-22", registered_at="2026-11-23T05:00:00Z",
                  created_at="2026-11-23T05:00:00Z", state=state, timers=dict(timers))


@pytest.mark.parametrize("state", sorted(FINAL))
def test_every_save_of_a_final_dialog_moves_its_archiving_on(state: str) -> None:
    closed = dialog(state, outbox="2026-11-23T05:00:30Z")
    compaction.arm(closed, NOW, 3)
    assert closed.timers == {"outbox": "2026-11-23T05:00:30Z", "compact": "2026-11-26T05:00:00Z"}
    compaction.arm(closed, NOW + dt.timedelta(hours=5), 3)  # a late reply, say
    assert closed.timers["compact"] == "2026-11-26T10:00:00Z"


def test_an_open_dialog_is_never_archived_and_zero_days_is_never() -> None:
    waiting = dialog("awaiting_consent", remind="2026-11-24T05:00:00Z", compact="2026-11-20T05:00:00Z")
    compaction.arm(waiting, NOW, 3)
    assert waiting.timers == {"remind": "2026-11-24T05:00:00Z"}
    closed = dialog("declined", compact="2026-11-20T05:00:00Z")
    assert not compaction.ready(closed, ["compact"], 0)
    compaction.arm(closed, NOW, 0)  # a timer armed before compaction was turned off goes
    assert closed.timers == {}


def test_only_a_quiet_dialog_with_nothing_left_to_do_is_archived() -> None:
    quiet = dialog("assigned", compact="2026-11-23T05:00:00Z")
    assert compaction.ready(quiet, ["compact"], 3)
    assert not compaction.ready(quiet, ["compact", "outbox"], 3)  # something else is due with it
    sending = dialog("assigned", compact="2026-11-23T05:00:00Z", outbox="2026-11-24T05:00:00Z")
    assert not compaction.ready(sending, ["compact"], 3)  # a notice still to send
    sending.timers.pop("outbox")
    sending.outbox.append({"kind": "sms", "id": "d_0000-0000-0000-0000-3", "msg": "decision.assigned.birth",
                           "text": "…", "lang": "kk", "channel": "sms", "hold_until": None, "attempts": 1})
    assert not compaction.ready(sending, ["compact"], 3)
    assert not compaction.ready(dialog("submitted", compact="2026-11-23T05:00:00Z"), ["compact"], 3)


def test_an_archived_log_is_kept_as_long_as_the_longest_kept_of_what_it_folds() -> None:
    assert _keep_ms(5_000, -2) == 5_000  # the log list alone
    assert _keep_ms(5_000, 9_000) == 9_000  # an earlier archive kept longer than the records appended since
    assert _keep_ms(-1, 9_000) is None  # a key kept for ever
    assert _keep_ms(-2, -2) is None


def test_compact_closed_after_days_is_read_and_checked() -> None:
    assert Settings().compact_closed_after_days == 3
    assert Settings.from_env({"COMPACT_CLOSED_AFTER_DAYS": " 14 "}).compact_closed_after_days == 14
    assert Settings.from_env({"COMPACT_CLOSED_AFTER_DAYS": "0"}).compact_closed_after_days == 0
    for bad in ("-1", "1.5", "three", "", "3651", "²"):
        with pytest.raises(ValueError, match="COMPACT_CLOSED_AFTER_DAYS must be a whole number of days"):
            Settings.from_env({"COMPACT_CLOSED_AFTER_DAYS": bad})
