"""What the console asks of the store: filtered dialog lists, the queue, today's counters."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.clock import ALMATY
from bot.http.dialogs import PUBLIC_STATUSES
from bot.store import Store
from dialogs.model import ATTENTION, SERVICES, Dialog
from domain.iin import normalise_iin
from domain.masking import mask_msisdn, scrub
from domain.phone import PhoneError, parse_msisdn

PAGE_SIZE = 25
MAX_SCAN = 5000  # dialogs looked at for one page when the filters are not served by an index
QUEUE_LIMIT = 500


@dataclass(frozen=True)
class Filters:
    """The dialog list's filters; `search` is a phone number or an IIN, matched exactly."""

    search: str = ""
    service: str = ""
    status: str = ""
    flagged: bool = False
    overdue: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def matches(self, d: Dialog) -> bool:
        """The filters an index did not already apply."""
        return ((not self.service or d.service == self.service) and (not self.status or d.status == self.status)
                and (not self.flagged or bool(d.flags)) and (not self.overdue or "decision_overdue" in d.flags))


def _date(value: str | None) -> dt.date | None:
    """A date as typed: 23.11.2026 (as every SMS writes it) or 2026-11-23; ValueError for anything else
    (a year outside 2000-2100 too: nothing the bot keeps is from then, and the day after 9999-12-31 overflows)."""
    value = (value or "").strip()
    if not value:
        return None
    if not value.isascii():
        raise ValueError("a date is ASCII digits")
    day = dt.datetime.strptime(value, "%d.%m.%Y").date() if "." in value else dt.date.fromisoformat(value)
    if not 2000 <= day.year <= 2100:
        raise ValueError("a date between 2000 and 2100")
    return day


def parse_cursor(value: str | None) -> tuple[int, bool]:
    """The list's cursor (0 when none) and whether it was malformed: ASCII digits only, as `next` gives them."""
    value = value or ""
    if not value:
        return 0, False
    if not (value.isascii() and value.isdigit() and len(value) <= 12):
        return 0, True
    return int(value), False


def parse_filters(query: Mapping[str, str]) -> tuple[Filters, list[str]]:
    """Filters from a query string, and the names of the fields that were not understood."""
    problems = []
    search = " ".join((query.get("search") or "").split())[:40]
    if search and _search_key_part(search) is None:
        problems.append("search")
    service = query.get("service") or ""
    status = query.get("status") or ""
    if service and service not in SERVICES:
        problems.append("service")
    if status and status not in PUBLIC_STATUSES:
        problems.append("status")
    try:
        dates = _date(query.get("from")), _date(query.get("to"))
    except ValueError:
        problems.append("date")
        dates = None, None
    filters = Filters(search=search, service="" if "service" in problems else service,
                      status="" if "status" in problems else status, flagged=query.get("flagged") == "1",
                      overdue=query.get("overdue") == "1", date_from=dates[0], date_to=dates[1])
    return filters, problems


def _search_key_part(search: str) -> tuple[str, str] | None:
    """("iin", digits) for twelve digits, ("phone", E.164) for a phone number, None for anything else."""
    digits = normalise_iin(search)  # the spellings masking hides: spaces, dashes, full-width digits
    if re.fullmatch(r"[0-9]{12}", digits):
        return "iin", digits
    try:
        return "phone", parse_msisdn(search).e164
    except PhoneError:
        return None


def _source(store: Store, f: Filters) -> list[str]:
    """The most selective index for these filters (its keys: an index of every dialog has one per shard)."""
    found = _search_key_part(f.search) if f.search else None
    if found is not None:
        kind, value = found
        return [store.keys.iin(value) if kind == "iin" else store.keys.phone_dialogs(value)]
    if f.overdue:
        return store.keys.index_parts("overdue")
    return store.keys.index_parts("flagged" if f.flagged else "dialogs")


def _bounds(f: Filters) -> tuple[float | str, float | str]:
    def start(day: dt.date) -> float:
        return dt.datetime.combine(day, dt.time(), ALMATY).timestamp()

    low = start(f.date_from) if f.date_from else "-inf"
    high = f"({start(f.date_to + dt.timedelta(days=1))}" if f.date_to else "+inf"
    return low, high


async def find(store: Store, f: Filters, cursor: int = 0, limit: int = PAGE_SIZE) -> tuple[list[Dialog], int | None]:
    """One page of dialogs, newest first, and the cursor of the next page (None on the last)."""
    key, (low, high) = _source(store, f), _bounds(f)
    found: list[Dialog] = []
    offset, scanned = cursor, 0
    while len(found) < limit and scanned < MAX_SCAN:
        ids = await store.index_page(key, offset, limit * 2, low, high)
        if not ids:
            return found, None
        by_id = {d.dialog_id: d for d in await store.load_many(ids)}
        for dialog_id in ids:
            offset, scanned = offset + 1, scanned + 1
            dialog = by_id.get(dialog_id)
            if dialog is not None and f.matches(dialog):
                found.append(dialog)
                if len(found) == limit:
                    break
    more = await store.index_page(key, offset, 1, low, high)
    return found, offset if more else None


async def queue(store: Store) -> dict[str, list[Dialog]]:
    """The dialogs that need a person, by category (ATTENTION), newest first."""
    dialogs = await store.load_many(await store.index_page(store.keys.index_parts("attention"), 0, QUEUE_LIMIT))
    return {category: [d for d in dialogs if category in d.attention] for category in ATTENTION}


async def counters(store: Store, today: dt.date) -> dict[str, Any]:
    """Today's numbers (Kazakhstan day): new dialogs, consents, entries into each status; overdue decisions now."""
    day = await store.day_counts(today)
    return {
        "date": today.isoformat(), "new": day.get("dialogs", 0), "consents": day.get("consents", 0),
        "by_status": {k.removeprefix("status:"): v for k, v in sorted(day.items()) if k.startswith("status:")},
        "overdue": await store.size("overdue"),
        "attention": await store.size("attention"),
    }


def summary(d: Dialog) -> dict[str, Any]:
    """A dialog as a list shows it, personal data masked."""
    last = d.transcript[-1] if d.transcript else None
    return {
        "dialog_id": d.dialog_id, "service": d.service, "status": d.status, "msisdn": mask_msisdn(d.msisdn),
        "created_at": d.created_at, "flags": list(d.flags), "attention": d.attention,
        "application_date": (d.consent or {}).get("application_date"),
        "decision_due": (d.application or {}).get("decision_due"),
        "last_message": {"at": last["at"], "direction": last["direction"], "channel": last["channel"],
                         "text": scrub(last["text"])} if last else None,
    }
