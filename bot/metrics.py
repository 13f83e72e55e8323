"""Prometheus metrics at /metrics: dialogs by status, messages, send failures and retries, timer lag, latency.

Counters are read off the dialog log as it is written (every turn and message is a record there), so no
code path counts for itself; gauges are read from Redis at scrape time. One registry per app.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.backends.assignment import as_bytes
from bot.http.common import SETTINGS, STORE, unauthorized
from bot.store import Store

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


class _Gauges(Collector):
    """Dialogs by status and the operators' queue, as last read from Redis."""

    def __init__(self) -> None:
        self.by_status: dict[str, int] = {}
        self.attention = 0

    def collect(self) -> Iterator[Metric]:
        dialogs = GaugeMetricFamily("proactive_bot_dialogs", "Dialogs by public status", labels=["status"])
        for status, count in sorted(self.by_status.items()):
            dialogs.add_metric([status], count)
        yield dialogs
        yield GaugeMetricFamily("proactive_bot_dialogs_needing_attention",
                                "Dialogs in the operators' queue", value=self.attention)


class Metrics:
    """The bot's metrics registry and what feeds it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter("proactive_bot_messages_total", "Citizen messages in and out, by channel",
                                ["direction", "channel"], registry=r)
        self.send_failures = Counter("proactive_bot_send_failures_total",
                                     "Messages not delivered: given up after retries, or reported failed",
                                     ["channel"], registry=r)
        self.retries = Counter("proactive_bot_retries_total", "Sends and submissions scheduled for another try",
                               ["item"], registry=r)
        self.dead_letters = Counter("proactive_bot_dead_letters_total", "Sends and submissions given up",
                                    ["item"], registry=r)
        self.status_changes = Counter("proactive_bot_status_changes_total", "Dialogs entering a status",
                                      ["status"], registry=r)
        self.operator_actions = Counter("proactive_bot_operator_actions_total", "Operator actions",
                                        ["action"], registry=r)
        self.reveals_refused = Counter("proactive_bot_reveals_refused_total",
                                       "Reveals of personal data refused: no operator name, or over the hourly limit",
                                       ["reason"], registry=r)
        self.timer_lag = Histogram("proactive_bot_timer_lag_seconds", "Timers fired: now minus due",
                                   ["kind"], buckets=LAG_BUCKETS, registry=r)
        self.latency = Histogram("proactive_bot_http_request_duration_seconds", "HTTP request latency",
                                 ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=r)
        self.gauges = _Gauges()
        r.register(self.gauges)

    def observe(self, records: list[dict[str, Any]]) -> None:
        """Count what a batch of dialog-log records says happened (Store calls this after each write)."""
        for record in records:
            kind = record.get("type")
            if kind == "message":
                self._message(record)
            elif kind == "status" and record["from"] != record["to"]:
                self.status_changes.labels(record["to"]).inc()
            elif kind in ("retry", "dead_letter"):
                counter = self.retries if kind == "retry" else self.dead_letters
                counter.labels(record.get("item") or "sms").inc()
            elif kind == "timer":
                self.timer_lag.labels(record.get("kind") or "").observe(max(0.0, float(record["lag_seconds"])))
            elif kind == "operator":
                self.operator_actions.labels(record.get("action") or "").inc()

    def _message(self, record: dict[str, Any]) -> None:
        channel = record.get("channel") or "sms"
        if record.get("direction") == "in":
            self.messages.labels("in", channel).inc()
        elif record.get("delivery") == "sent":
            self.messages.labels("out", channel).inc()
        elif record.get("delivery") == "failed":  # ("undeliverable" relabels a line already counted)
            self.send_failures.labels(channel).inc()

    async def render(self, store: Store) -> bytes:
        """The text exposition format, with the gauges read from Redis now."""
        counts = await store.status_counts()
        self.gauges.by_status = {status: n for status, n in counts.items() if n > 0}
        self.gauges.attention = await store.size("attention")
        return generate_latest(self.registry)

    def middleware(self) -> Middleware:
        """Request latency by route template (never the raw path: ids and phones stay out of labels)."""

        @web.middleware
        async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
            started = time.perf_counter()
            status = 500
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as error:
                status = error.status
                raise
            finally:
                if request.headers.get("Accept") != "text/event-stream":  # live streams last minutes
                    route = request.match_info.route.resource
                    name = route.canonical if route is not None else "unmatched"
                    self.latency.labels(request.method, name, str(status)).observe(time.perf_counter() - started)

        return timed


METRICS = web.AppKey("metrics", Metrics)


def setup_metrics(app: web.Application) -> None:
    """Count from the store's log once it exists; time every request."""
    metrics = app[METRICS] = Metrics()
    app.middlewares.append(metrics.middleware())

    async def attach(app: web.Application) -> None:
        app[STORE].observers.append(metrics.observe)

    app.on_startup.append(attach)


async def get_metrics(request: web.Request) -> web.Response:
    """GET /metrics; with METRICS_TOKEN set, only for `Authorization: Bearer <METRICS_TOKEN>`."""
    token = request.app[SETTINGS].metrics_token
    if token:
        header = request.headers.get("Authorization", "")
        sent = header[7:] if header.startswith("Bearer ") else ""  # the bare token is no credential scheme
        if not hmac.compare_digest(as_bytes(sent), token.encode()):
            response = unauthorized("send Authorization: Bearer <METRICS_TOKEN>")
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    body = await request.app[METRICS].render(request.app[STORE])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
