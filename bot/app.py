"""The composition root: `create_app` builds the bot from settings and the ports it is given."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from bot import work
from bot.backends.assignment import AssignmentBackend
from bot.backends.egov import EgovClient
from bot.channels import telegram
from bot.channels.base import Channel, Outbound
from bot.channels.kannel import DLR_PATH as KANNEL_DLR_PATH
from bot.channels.kannel import MO_PATH as KANNEL_MO_PATH
from bot.channels.kannel import KannelChannel, KannelConfig
from bot.channels.sms import SmsChannel
from bot.clock import Clock, SimClock, SystemClock
from bot.engine import Engine
from bot.http import callbacks, dialogs, events, inbound, kannel
from bot.http.common import CLOCK, ENGINE, JOBS, SETTINGS, STORE
from bot.http.gateway_auth import GATEWAYS, Gateways
from bot.i18n import Translator
from bot.jobs import JobClock, JobFailed, JobQueue, Worker
from bot.settings import Settings
from bot.store import Store
from bot.work import TimerFeed

log = logging.getLogger("bot.app")
OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.json"
REDIS = web.AppKey("redis", Redis)
TIMER_POLL_SECONDS = 1.0
# How long a step waits for the first attempt of work it handed to the queue (a notice's send): the webhook is then
# answered once the reply went out, as one a dialog sends is. Shorter than the webhook's own wait; what is not done
# by then (the gateway slow, or every worker busy) goes on in the queue.
LATER_WAIT_SECONDS = 5.0


def create_app(settings: Settings, *, redis: Redis | None = None, clock: Clock | None = None,
               translator: Translator | None = None,
               on_sms_accepted: Callable[[Outbound], None] | None = None) -> web.Application:
    """The bot's aiohttp app. Redis and the clock may be injected (dev, tests); else from settings.
    `on_sms_accepted` (dev) hears of every SMS Kannel took, for the simulated phone network."""
    app = web.Application()
    clock = clock or SystemClock()
    translator = translator or Translator()
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[GATEWAYS] = Gateways.from_settings(settings)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        client = redis if redis is not None else _redis_from(settings)
        session = aiohttp.ClientSession()
        store = Store(client, settings.key_prefix, shards=settings.shards,
                      log_retention_seconds=settings.log_retention_days * 86400,
                      log_feed_maxlen=settings.log_feed_maxlen,
                      lock_seconds=settings.phone_lock_seconds)
        work_clock = JobClock(clock)  # inside a job: the instant it was accepted
        json_sms = SmsChannel(session, settings.sms_gateway_url, settings.sms_sender,
                              settings.http_timeout_seconds, settings.sms_client_id_secret)
        app[inbound.SMS_CHANNEL] = json_sms  # its webhooks stay open whichever gateway sends
        app[kannel.KANNEL_CHANNEL] = kannel_sms = KannelChannel(
            session, KannelConfig(settings.kannel_sendsms_url, settings.kannel_username, settings.kannel_password,
                                  settings.sms_sender, settings.public_url, settings.sms_gateway_secret,
                                  settings.sms_client_id_secret, settings.kannel_dlr_mask, settings.kannel_smsc),
            settings.http_timeout_seconds, on_accepted=on_sms_accepted, receipts=store,
            clock=lambda: clock.now().timestamp(), ambiguous_seconds=settings.kannel_ambiguous_seconds)
        sms: Channel = kannel_sms if settings.sms_gateway_kind == "kannel" else json_sms
        channels: dict[str, Channel] = {}
        # -- channels: ussd --
        from bot.channels.ussd import UssdChannel
        from bot.http.ussd import USSD_CHANNEL

        channels["ussd"] = app[USSD_CHANNEL] = UssdChannel()
        # -- channels: telegram --
        if settings.telegram_token:
            telegram_channel = telegram.TelegramChannel(settings, store, translator, lambda: app[ENGINE],
                                                        take=lambda message: work.take_inbound(app[JOBS], message))
            app[telegram.TELEGRAM] = channels[telegram_channel.name] = telegram_channel
        queue = app[JOBS] = JobQueue(client, store.keys, clock, wait_seconds=settings.job_wait_seconds)

        async def later(kind: str, payload: dict[str, Any]) -> None:
            """Work a step decided, as a job: durable once added; its first attempt awaited a while. A failed one
            is not the step's failure: the queue does it again (bot/jobs.py), then gives it to the operators."""
            try:
                await queue.run(kind, payload, at=work_clock.now(),
                                wait_seconds=min(LATER_WAIT_SECONDS, settings.job_wait_seconds))
            except JobFailed as error:
                log.info("%s job not done at its first attempt (%s); the work queue will try it again", kind,
                         error.code)

        engine = Engine(
            store=store, clock=work_clock, settings=settings, translator=translator, sms=sms,
            egov=EgovClient(session, settings.egov_url, settings.http_timeout_seconds),
            assignment=AssignmentBackend(session, settings.assignment_url, settings.http_timeout_seconds),
            later=later, channels=channels,
        )
        app[REDIS] = client
        app[STORE] = store
        app[ENGINE] = engine
        timers = TimerFeed(store, queue, settings.timer_lease_seconds)
        background = [] if queue.embedded else [asyncio.create_task(queue.listen())]
        if settings.worker_concurrency > 0:
            worker = Worker(queue, work.handlers(engine), concurrency=settings.worker_concurrency,
                            claim_idle_seconds=settings.job_claim_idle_seconds,
                            max_deliveries=settings.job_max_deliveries,
                            dead_letter_after_seconds=settings.job_dead_letter_after_seconds)
            background.append(asyncio.create_task(worker.run()))
        if isinstance(clock, SimClock):
            clock.add_source(timers)  # the simulated clock fires our timers when it is moved
        elif settings.poll_timers:
            background.append(asyncio.create_task(_poll_timers(timers, queue, clock)))
        try:
            yield
        finally:
            queue.stopping.set()  # the loops end; the jobs in hand finish first
            await asyncio.gather(*background)
            await session.close()
            if redis is None:
                await client.aclose()

    app.cleanup_ctx.append(resources)
    app.add_routes([
        web.post("/v1/events", events.post_event),
        web.post("/v1/inbound/sms", inbound.post_sms),
        web.post("/v1/inbound/sms/status", inbound.post_sms_status),
        web.route("*", KANNEL_MO_PATH, kannel.mo),
        web.route("*", KANNEL_DLR_PATH, kannel.dlr),
        web.post("/v1/callbacks/decision", callbacks.post_decision),
        web.get("/v1/dialogs", dialogs.list_dialogs),
        web.get("/v1/dialogs/{dialog_id}", dialogs.get_dialog),
        web.get("/v1/openapi.json", openapi),
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
    ])
    # -- routes: ussd --
    from bot.http import ussd

    app.router.add_post("/v1/ussd", ussd.post_ussd)
    # -- routes: telegram --
    if settings.telegram_token:  # without a token Telegram is off: no webhook, no channel
        app.add_routes([web.post(telegram.WEBHOOK_PATH, telegram.post_webhook)])
        app.cleanup_ctx.append(telegram.lifecycle)
    # -- routes: ops --
    from bot import metrics, ops
    from bot.ops.auth import bearer_refusal

    app[dialogs.OPERATOR_BEARER] = bearer_refusal  # /v1/dialogs takes the operator token as the console does
    app.add_routes([*ops.routes(), web.get("/metrics", metrics.get_metrics)])
    ops.setup(app)
    metrics.setup_metrics(app)  # its middleware times every request, so it goes first (outermost)
    app.middlewares.extend([_store_unavailable, _json_errors, _readable_forms])
    return app


def redis_client(url: str, *, cluster: bool = False) -> Redis:
    """A client whose pool waits for a free connection instead of failing when many requests run at once.

    A plain pool raises at its limit; a step that fails that way can leave its phone's lock held until
    the lock times out (seen in the benchmark at 64 requests in flight). With `cluster`, `url` names any
    node of a Redis Cluster; the store's keys are laid out for it (bot/store/keys.py, `Keys`).
    """
    if cluster:
        # Not a subclass of Redis, but it answers every command the store and the queue send.
        return cast(Redis, RedisCluster.from_url(url, max_connections=64))
    return Redis(connection_pool=BlockingConnectionPool.from_url(url, max_connections=64, timeout=20))


def _redis_from(settings: Settings) -> Redis:
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is required (proactive-bot serve needs a real Redis)")
    return redis_client(settings.redis_url, cluster=settings.redis_cluster)


async def _poll_timers(timers: TimerFeed, queue: JobQueue, clock: Clock) -> None:
    """Production timers: queue what is due, then wait a little (a real clock cannot be awaited)."""
    while not queue.stopping.is_set():
        try:
            await timers.poll(clock.now())
        except RedisError as error:
            log.warning("timers: Redis unavailable (%s); will retry", error)
        except Exception:
            log.exception("timers: a timer failed; the others go on")
        await queue.pause(TIMER_POLL_SECONDS)


@web.middleware
async def _json_errors(request: web.Request,
                       handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """aiohttp's own 404/405/413 in the one error shape every API client reads."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400 or request.path.startswith(("/ops", "/mock")):
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(error.status, "bad_request")
        body = {"errors": [{"field": "$", "code": code, "message": error.reason}]}
        return web.json_response(body, status=error.status, headers={
            k: v for k, v in error.headers.items() if k in ("Allow", "Retry-After")})
    except (RedisError, JobFailed):
        raise  # answered by _store_unavailable
    except Exception:
        # What was saved before the failure is whole (every write is one transaction); timers finish the rest.
        log.exception("request %s %s failed", request.method, request.path)
        return _internal_error()


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@web.middleware
async def _readable_forms(request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """A console form that cannot be read (multipart without a boundary, bytes that are not UTF-8) is a 422, not
    the ValueError aiohttp raises from `request.post()` inside a handler. Read here once; handlers get it cached."""
    if request.method == "POST" and request.path.startswith("/ops") and request.content_type in _FORM_TYPES:
        try:
            await request.post()
        except (ValueError, LookupError, HttpProcessingError) as error:  # bad bytes, charset, multipart part
            message = f"the form cannot be read: {type(error).__name__}"
            return web.json_response({"errors": [{"field": "$", "code": "malformed_form", "message": message}]},
                                     status=422)
    return await handler(request)


def _internal_error() -> web.Response:
    return web.json_response(
        {"errors": [{"field": "$", "code": "internal", "message": "internal error; it has been logged"}]},
        status=500)


@web.middleware
async def _store_unavailable(request: web.Request,
                             handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Redis down: a clear 503, never a half-done write (every write is one transaction)."""
    try:
        return await handler(request)
    except RedisError as error:
        log.error("store unavailable: %s", type(error).__name__)
        return _unavailable()
    except JobFailed as error:
        # The work raised in a worker (logged there); the entry stays pending and will be tried again.
        return _unavailable() if error.code in ("store_unavailable", "busy") else _internal_error()


def _unavailable() -> web.Response:
    return web.json_response(
        {"errors": [{"field": "$", "code": "store_unavailable", "message": "try again shortly"}]},
        status=503, headers={"Retry-After": "5"})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(json.loads(OPENAPI_PATH.read_text(encoding="utf-8")))


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[STORE].ping()
    except RedisError:
        return web.json_response({"ok": False, "redis": "unreachable"}, status=503)
    return web.json_response({"ok": True, "redis": "ok"})
