"""After submission: the application number, the decision, extensions and overdue decisions."""

from __future__ import annotations

from typing import Any

# The states in which a failed SMS is still worth sending again (see consent.RESENT_WHILE): the decision for
# good; the submission's and the extension's notices until the decision overtakes them.
RESENT_WHILE: dict[str, list[str]] = {
    "application.submitted": ["submitted"],
    "decision.extended": ["submitted"],
    "decision.assigned.": ["assigned"],
    "decision.refused": ["refused"],
}

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
    # A notice that never got through: the application or decision stands; operators are told.
    {"trigger": "unreachable", "source": ["submitted", "assigned", "refused"], "dest": None,
     "after": "flag_undeliverable_notice"},
]
