"""When a closed dialog is archived: its `compact` timer, armed by every save of a final dialog.

A dialog in a final state (dialogs/model.py, `FINAL`) is saved with a `compact` timer COMPACT_CLOSED_AFTER_DAYS
after that save; every later save (a late reply, a delivery report, an operator's action) moves it on, so the
timer fires only once the dialog has stayed unchanged that long. It goes through the shard's timer set like the
dialog's other timers (durable, one entry a dialog), and `Engine.fire_timer` archives the dialog under its
phone's lock with the fenced write of bot/store/compaction.py. A dialog with something still to send (its
outbox, or another timer due) is not archived then: the save that follows moves the timer on.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.fencing import Fence
from bot.store import Store
from dialogs.model import Dialog, iso

COMPACT = "compact"

log = logging.getLogger("bot.compaction")


def arm(dialog: Dialog, now: dt.datetime, days: int) -> None:
    """Before a save: a final dialog is archived `days` after it (0: never); any other has no `compact` timer."""
    if dialog.final and days > 0:
        dialog.timers[COMPACT] = iso(now + dt.timedelta(days=days))
    else:
        dialog.timers.pop(COMPACT, None)


def ready(dialog: Dialog, due: list[str], days: int) -> bool:
    """True when the timers due now are the `compact` timer alone, the dialog has nothing left to do, and
    compaction is on (`days`: COMPACT_CLOSED_AFTER_DAYS; with 0, a timer armed before is dropped by `arm`)."""
    return (days > 0 and due == [COMPACT] and dialog.final and not dialog.outbox
            and set(dialog.timers) == {COMPACT})


async def compact(store: Store, dialog: Dialog, fence: Fence) -> None:
    """Archive `dialog`, loaded under its phone's lock (`fence`)."""
    previous = dict(dialog.timers)
    dialog.timers.clear()
    archived, log_bytes = await store.compact(dialog, previous, fence=fence)
    log.info("dialog %s %s archived: %d bytes, and %d of log records", dialog.dialog_id, dialog.status, archived,
             log_bytes)
