"""After submission: the application number, the decision, extensions and overdue decisions."""

from __future__ import annotations

from typing import Any

STATES: list[dict[str, Any]] = [
    {"name": "submitted", "on_enter": "request_submission", "on_exit": "clear_timers"},
    {"name": "assigned", "on_enter": "notify_assigned"},
    {"name": "refused", "on_enter": "notify_refused"},
]

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "accepted", "source": "submitted", "dest": None, "conditions": "awaiting_application_id",
     "after": "record_application"},
    {"trigger": "retry_submission", "source": "submitted", "dest": None,
     "conditions": "awaiting_application_id", "after": "request_submission"},
    {"trigger": "assign", "source": "submitted", "dest": "assigned", "before": "record_decision"},
    {"trigger": "refuse", "source": "submitted", "dest": "refused", "before": "record_decision"},
    {"trigger": "extend", "source": "submitted", "dest": None, "after": "record_extension"},
    {"trigger": "overdue", "source": "submitted", "dest": None, "after": "flag_overdue"},
]
