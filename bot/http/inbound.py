"""Webhooks the SMS aggregator calls: a citizen's message, and delivery reports."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot.channels.base import DeliveryReport, Inbound, InboundFormatError
from bot.channels.sms import ForeignClientId, SmsChannel
from bot.http.common import CLOCK, JOBS, SETTINGS, STORE, errors, parse_json, read_body, run_or_queued
from bot.http.gateway_auth import GATEWAYS, refused
from bot.work import report_payload, take_inbound

SMS_CHANNEL = web.AppKey("sms_channel", SmsChannel)
log = logging.getLogger(__name__)


async def _json(request: web.Request) -> Any | web.Response:
    """The post's JSON, once the SMS gateway's credential is checked: before anything else is touched."""
    body = await read_body(request, request.app[SETTINGS].max_body_bytes)
    if isinstance(body, web.Response):
        return body
    return refused(request, body, request.app[GATEWAYS].sms) or parse_json(body)


async def post_sms(request: web.Request) -> web.Response:
    """A citizen's SMS to 1414."""
    data = await _json(request)
    if isinstance(data, web.Response):
        return data
    try:
        message = request.app[SMS_CHANNEL].parse(data)
    except InboundFormatError as error:
        return errors(422, (error.field, "invalid", str(error)))
    return await take_message(request, message)


async def take_message(request: web.Request, message: Inbound) -> web.Response:
    """Queue a citizen's SMS, whichever gateway brought it: durable once queued; answered when a worker has
    handled it (or, all of them busy or down, as queued)."""
    done = await take_inbound(request.app[JOBS], message)
    return web.json_response({"accepted": True, **({} if done is not None else {"queued": True})})


async def post_sms_status(request: web.Request) -> web.Response:
    """A delivery report for an SMS we sent."""
    data = await _json(request)
    if isinstance(data, web.Response):
        return data
    try:
        report = request.app[SMS_CHANNEL].parse_status(data)
    except ForeignClientId as error:
        log.warning("delivery report naming no SMS of ours (client id %r): refused", data.get("client_id"))
        return errors(403, (error.field, "not_ours", str(error)))
    except InboundFormatError as error:
        return errors(422, (error.field, "invalid", str(error)))
    return await take_report(request, report)


async def take_report(request: web.Request, report: DeliveryReport) -> web.Response:
    """Act on a delivery report, whichever gateway brought it."""
    # Most reports only say an SMS arrived: taken at once, without a step, when nothing else hangs on them.
    if report.delivered and report.client_id and await request.app[STORE].record_delivery(
            report.client_id, request.app[CLOCK].now()):
        return web.json_response({"accepted": True})
    done = await run_or_queued(request, "report", report_payload(report))
    return web.json_response({"accepted": True, **({} if done is not None else {"queued": True})})
