"""The assignment backend: takes applications, decides on the simulated clock, calls back signed."""

from __future__ import annotations

import datetime as dt
import heapq
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


@dataclass(order=True)
class _Retry:
    """A callback to post again; ordered by due, then by when it was scheduled (for the retry heap)."""

    due: dt.datetime
    order: int
    application: Application = field(compare=False)
    payload: dict[str, Any] = field(compare=False)
    attempt: int = field(compare=False)


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
    # Indexes, so that a year of traffic (half a million applications) costs no scan per timer or lookup.
    # `due` is set through `_arm`, which pushes (due, seq, client_id); an entry whose application no
    # longer has that due is skipped when it surfaces, so a test may still stop one by setting None.
    _decisions: list[tuple[dt.datetime, int, str]] = field(default_factory=list)  # heap
    _retries: list[_Retry] = field(default_factory=list)  # heap
    _retries_scheduled: int = 0
    _by_id: dict[str, Application] = field(default_factory=dict)  # by application_id
    _by_person: dict[tuple[str, str], list[Application]] = field(default_factory=dict)  # (service, IIN)
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
        self._by_id[application.application_id] = application
        for person_iin in application.person_iins:
            self._by_person.setdefault((application.service, person_iin), []).append(application)
        self._arm(application, application.due)
        return application, True

    def by_id(self, application_id: str) -> Application | None:
        return self._by_id.get(application_id)

    def script(self, iin: str, outcome: str, reason: str | None) -> Script:
        self.scripts[iin] = Script(outcome, reason or DEFAULT_REASON.get(outcome))
        return self.scripts[iin]

    # TimerSource ---------------------------------------------------------------------------------

    async def next_due(self) -> dt.datetime | None:
        self._drop_stale()
        dues = [self._decisions[0][0]] if self._decisions else []
        dues += [self._retries[0].due] if self._retries else []
        return min(dues, default=None)

    async def fire_due(self, now: dt.datetime) -> None:
        # Snapshots, taken before any callback: the bot may submit new applications while one is in
        # flight, and those wait for the next firing. Popped in (due, seq) order, the order decisions
        # have always been made in at one instant.
        due: list[Application] = []
        while self._drop_stale() and self._decisions[0][0] <= now:
            due.append(self.applications[heapq.heappop(self._decisions)[2]])
        for application in due:
            await self._decide(application, now)
        retries: list[_Retry] = []
        while self._retries and self._retries[0].due <= now:
            retries.append(heapq.heappop(self._retries))
        # In the order they were scheduled, not by due: the two differ only if the retry delay changed.
        for retry in sorted(retries, key=lambda r: r.order):
            await self._deliver(retry.application, retry.payload, retry.attempt, now)

    def _arm(self, application: Application, due: dt.datetime | None) -> None:
        """Set when the application's next decision step fires, and index it there."""
        application.due = due
        if due is not None:
            heapq.heappush(self._decisions, (due, application.seq, application.client_id))

    def _drop_stale(self) -> bool:
        """Pop heap entries whose application no longer fires then; True when a live one is on top."""
        while self._decisions:
            due, _, client_id = self._decisions[0]
            application = self.applications.get(client_id)
            if application is not None and application.due == due:
                return True
            heapq.heappop(self._decisions)
        return False

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
            self._arm(application, now + dt.timedelta(seconds=self.settings.decision_delay_seconds))
        else:
            self._arm(application, None)
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
            other.seq < application.seq and other.status != "refused"
            for other in self._by_person.get((application.service, person), ())
        )

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
        body, timestamp = dump(payload), int(self.settings.signing_time(now).timestamp())
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
        self._retries_scheduled += 1
        retry = _Retry(retry_at, self._retries_scheduled, application, payload, attempt + 1)
        heapq.heappush(self._retries, retry)

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
