"""What the dev page holds while `proactive-bot dev` runs: its client for the mocks, and its phones."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from aiohttp import web

from bot.devclient import DevClient
from bot.devpage.phone import PhoneMemory
from bot.settings import Settings
from domain.phone import PhoneError, parse_msisdn
from gateway_mocks.app import ASSIGNMENT
from gateway_mocks.assignment import AssignmentBackend


@dataclass
class DevPage:
    """The page's state: the mocks it plays with (over their /mock HTTP API, and the backend's decision times)."""

    url: str
    mocks: web.Application
    client: DevClient | None = None  # opened with the app
    phones: dict[str, PhoneMemory] = field(default_factory=dict)  # by E.164, in the order the page met them
    rng: random.Random = field(default_factory=random.Random)

    @property
    def http(self) -> DevClient:
        if self.client is None:
            raise RuntimeError("the dev page is not started")
        return self.client

    @property
    def backend(self) -> AssignmentBackend:
        return self.mocks[ASSIGNMENT]

    def memory(self, msisdn: str, who: str = "") -> PhoneMemory:
        """The page's memory of a phone (made on first use; a seeded person's key is kept once given)."""
        memory = self.phones.setdefault(msisdn, PhoneMemory(msisdn))
        memory.who = memory.who or who
        return memory

    def fresh_phone(self) -> str:
        """The first number of +7 707 555 0001, 0002, … the page has not used yet."""
        return next(m for n in range(1, 10000) if (m := f"+7707555{n:04d}") not in self.phones)

    def decision_due(self, dialog_ids: set[str] | None = None) -> dt.datetime | None:
        """When the assignment backend decides next (of these dialogs' applications, or of any)."""
        dues = [a.due for a in self.backend.applications.values()
                if a.due is not None and (dialog_ids is None or a.client_id in dialog_ids)]
        return min(dues, default=None)


DEV_PAGE = web.AppKey("dev_page", DevPage)


def registry_secret(settings: Settings, registry: str) -> str:
    """The secret a registry signs its events with: its own (EVENTS_SECRETS), else the shared EVENTS_SECRET."""
    if settings.events_secrets:
        secrets = dict(settings.events_secrets)
        return secrets.get(registry, settings.events_secrets[0][1])
    return settings.events_secret


def phone_in_path(request: web.Request) -> str | None:
    """The E.164 number a phone page's path names (digits, with or without the plus), or None."""
    try:
        return parse_msisdn("+" + request.match_info["msisdn"].lstrip("+")).e164
    except PhoneError:
        return None
