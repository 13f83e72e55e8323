"""The registries' side: builds events as the civil registry (ZAGS) and the disability service (MSE) send them."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from domain.iin import make_iin

_serials = itertools.count(100)
_issued: set[str] = set()


def child_iin(birth_date: dt.date, sex: str = "F") -> str:
    """A fresh valid IIN for a child born on `birth_date`, never one handed out before in this process."""
    while True:
        # make_iin skips an unissuable serial by taking the next one, so two serials can give one IIN.
        iin = make_iin(birth_date, sex, next(_serials))
        if iin not in _issued:
            _issued.add(iin)
            return iin


def birth_event(event_id: str, *, parent_iin: str, msisdn: str, language: str | None, registered_at: str,
                children: list[tuple[str, dt.date]]) -> dict[str, Any]:
    """A birth registration: one event for all children of one birth."""
    return {
        "event_id": event_id, "type": "birth", "registered_at": registered_at,
        "recipient": {"iin": parent_iin, "msisdn": msisdn, "language": language},
        "children": [{"iin": iin, "birth_date": born.isoformat()} for iin, born in children],
    }


def disability_event(event_id: str, *, recipient_iin: str, msisdn: str, language: str | None,
                     registered_at: str, person_iin: str, birth_date: dt.date, group: int,
                     since_childhood: bool, established_on: dt.date, first: bool = True) -> dict[str, Any]:
    """A disability established by the medical-social expertise."""
    return {
        "event_id": event_id, "type": "disability", "registered_at": registered_at,
        "recipient": {"iin": recipient_iin, "msisdn": msisdn, "language": language},
        "person": {"iin": person_iin, "birth_date": birth_date.isoformat(), "disability_group": group,
                   "since_childhood": since_childhood, "first_established": first,
                   "established_on": established_on.isoformat()},
    }


def cancel_event(event_id: str, *, cancels: str, registered_at: str) -> dict[str, Any]:
    """A registry correction withdrawing an earlier event."""
    return {"event_id": event_id, "type": "cancel", "registered_at": registered_at, "cancels": cancels}
