"""The assignment backend: takes applications, decides on the simulated clock, calls back signed."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.clock import Clock

from .applications import (
    DEFAULT_REASON,
    Application,
    Script,
    SentCallback,
    parse_application,
    parse_script,
)
from .common import Outbound, OutboundError, dump, error_response, iso, json_object, json_response, sign
from .egov import EgovRegistry
from .rates import Rates
from .settings import MocksSettings

log = logging.getLogger(__name__)

MONTHLY_KIND = {"disabled_child": "disabled_child_monthly", "group1_since_childhood": "group1_care_monthly"}
MAX_RETRIES = 3


@dataclass
class _Retry:
    due: dt.datetime
    application: Application
    payload: dict[str, Any]
    attempt: int


@dataclass
class AssignmentBackend:
    """Applications by client_id; a TimerSource the SimClock fires to decide them and retry callbacks."""

    settings: MocksSettings
    clock: Clock
    outbound: Outbound
    egov: EgovRegistry
    rates: Rates
    applications: dict[str, Application] = field(default_factory=dict)  # by client_id
    scripts: dict[str, Script] = field(default_factory=dict)  # by IIN
    callbacks: list[SentCallback] = field(default_factory=list)
    _retries: list[_Retry] = field(default_factory=list)
    _counters: dict[int, int] = field(default_factory=dict)

    def accept(self, body: dict[str, Any]) -> tuple[Application, bool]:
        """Validate and register an application; (it, False) when its client_id was seen before."""
        fields = parse_application(body)
        known = self.applications.get(fields["client_id"])
        if known is not None:
            return known, False
        year = fields["application_date"].year
        self._counters[year] = self._counters.get(year, 0) + 1
        now = self.clock.now()
        application = Application(
            application_id=f"PB-{year}-{self._counters[year]:07d}", seq=len(self.applications) + 1,
            accepted_at=now, due=now + dt.timedelta(seconds=self.settings.decision_delay_seconds), **fields,
        )  # fmt: skip
        self.applications[application.client_id] = application
        return application, True

    def by_id(self, application_id: str) -> Application | None:
        return next((a for a in self.applications.values() if a.application_id == application_id), None)

    def script(self, iin: str, outcome: str, reason: str | None) -> Script:
        self.scripts[iin] = Script(outcome, reason or DEFAULT_REASON.get(outcome))
        return self.scripts[iin]

    # TimerSource ---------------------------------------------------------------------------------

    async def next_due(self) -> dt.datetime | None:
        dues = [a.due for a in self.applications.values() if a.due is not None]
        dues += [r.due for r in self._retries]
        return min(dues, default=None)

    async def fire_due(self, now: dt.datetime) -> None:
        # Snapshots: the bot may submit new applications while a callback is in flight.
        due = [a for a in self.applications.values() if a.due is not None and a.due <= now]
        for application in sorted(due, key=lambda a: (a.due or now, a.seq)):
            await self._decide(application, now)
        retries = [r for r in self._retries if r.due <= now]
        self._retries = [r for r in self._retries if r.due > now]
        for retry in retries:
            await self._deliver(retry.application, retry.payload, retry.attempt, now)

    # Decisions -----------------------------------------------------------------------------------

    async def _decide(self, application: Application, now: dt.datetime) -> None:
        if application.status == "extended":
            outcome, reason = "assigned", None  # the extended case ends assigned, one delay later
        else:
            outcome, reason = self._rule(application)
        decision_due: dt.date | None = None
        benefits: list[dict[str, Any]] = []
        if outcome == "extended":
            decision_due = application.application_date + dt.timedelta(days=self.settings.extension_days)
            application.due = now + dt.timedelta(seconds=self.settings.decision_delay_seconds)
        else:
            application.due = None
            if outcome == "assigned":
                benefits = self._benefits(application)
                for person_iin in application.person_iins:
                    self.egov.record_benefit(
                        application.applicant_iin, application.service, person_iin, "assigned"
                    )
        application.status, application.reason = outcome, reason
        payload = {
            "application_id": application.application_id, "client_id": application.client_id,
            "outcome": outcome, "decided_at": iso(now), "benefits": benefits, "reason": reason,
            "decision_due": decision_due.isoformat() if decision_due else None,
        }  # fmt: skip
        await self._deliver(application, payload, 1, now)

    def _rule(self, application: Application) -> tuple[str, str | None]:
        """The outcome the rules give, in order: script, duplicate, group I grounds, else assigned."""
        for iin in (application.applicant_iin, *application.person_iins):
            if iin in self.scripts:
                return self.scripts[iin].outcome, self.scripts[iin].reason
        for person_iin in application.person_iins:
            if self._applied_before(application, person_iin) or self.egov.lists_benefit(
                application.applicant_iin, application.service, person_iin
            ):
                return "refused", "already_assigned"
        if application.service == "group1_since_childhood":
            cared = self.egov.get(application.person_iins[0])
            carer = self.egov.get(application.applicant_iin)
            if cared is not None and cared["caregiver_changes_this_year"] > 2:
                return "refused", "caregiver_changed"
            if cared is not None and cared["has_social_assistant"]:
                return "refused", "social_assistant"
            if _districts_differ(cared, carer):
                return "refused", "different_district"
        return "assigned", None

    def _applied_before(self, application: Application, person: str) -> bool:
        """Another application for this service and person was accepted earlier and not refused."""
        return any(
            other.seq < application.seq and other.service == application.service
            and person in other.person_iins and other.status != "refused"
            for other in self.applications.values()
        )  # fmt: skip

    def _benefits(self, application: Application) -> list[dict[str, Any]]:
        persons = application.person_iins
        if application.service != "birth":
            return [self._benefit(MONTHLY_KIND[application.service], persons[0], 1)]
        record = self.egov.get(application.applicant_iin)
        before = record["children_before"] if record else 0
        orders = [(child, before + i + 1) for i, child in enumerate(persons)]
        one_off = [self._benefit("birth_one_off", child, order) for child, order in orders]
        monthly = [self._benefit("child_care_monthly", child, order) for child, order in orders]
        return one_off + monthly

    def _benefit(self, kind: str, person_iin: str, birth_order: int) -> dict[str, Any]:
        benefit: dict[str, Any] = {
            "kind": kind, "person_iin": person_iin, "amount": self.rates.amount(kind, birth_order),
            "period": self.rates.period(kind),
        }  # fmt: skip
        if kind in ("birth_one_off", "child_care_monthly"):
            benefit["birth_order"] = birth_order
        return benefit

    async def _deliver(
        self, application: Application, payload: dict[str, Any], attempt: int, now: dt.datetime
    ) -> None:
        body, timestamp = dump(payload), int(now.timestamp())
        signature = sign(self.settings.backend_secret, timestamp, body)
        headers = {"X-Timestamp": str(timestamp), "X-Signature": signature}
        url = application.callback_url
        sent = SentCallback(application.application_id, url, payload, body, headers, attempt, None)
        try:
            sent.http_status, _ = await self.outbound.post(url, body, headers)
        except OutboundError as exc:
            sent.error = str(exc)
        self.callbacks.append(sent)
        if sent.ok:
            return
        if attempt > MAX_RETRIES:
            log.error("callback for %s not delivered after %d attempts", application.application_id, attempt)
            return
        problem = sent.error or sent.http_status
        log.warning("callback for %s failed (%s); retrying", application.application_id, problem)
        retry_at = now + dt.timedelta(seconds=self.settings.callback_retry_seconds)
        self._retries.append(_Retry(retry_at, application, payload, attempt + 1))

    # HTTP ----------------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/assignment/applications", self.handle_accept),
            web.get("/assignment/applications", self.handle_list),
            web.get("/assignment/applications/{application_id}", self.handle_get),
            web.post("/assignment/script", self.handle_script),
        ]

    async def handle_accept(self, request: web.Request) -> web.Response:
        application, new = self.accept(await json_object(request))
        return json_response({"application_id": application.application_id}, status=201 if new else 200)

    async def handle_list(self, request: web.Request) -> web.Response:
        return json_response({"applications": [a.to_json() for a in self.applications.values()]})

    async def handle_get(self, request: web.Request) -> web.Response:
        application = self.by_id(request.match_info["application_id"])
        if application is None:
            return error_response(404, "not_found")
        return json_response(application.to_json())

    async def handle_script(self, request: web.Request) -> web.Response:
        iin, outcome, reason = parse_script(await json_object(request))
        script = self.script(iin, outcome, reason)
        return json_response({"iin": iin, "outcome": script.outcome, "reason": script.reason})


def _districts_differ(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Both records have an address, and the (region, district) pairs are not the same."""
    places = {(r["address"]["region"], r["address"]["district"]) for r in (a, b) if r and r["address"]}
    return len(places) == 2
