"""Webhooks the SMS aggregator calls: a citizen's message, and delivery reports."""

from __future__ import annotations

from aiohttp import web

from bot.channels.sms import InboundFormatError, SmsChannel
from bot.http.common import ENGINE, SETTINGS, errors, parse_json, read_body

SMS_CHANNEL = web.AppKey("sms_channel", SmsChannel)


async def post_sms(request: web.Request) -> web.Response:
    """A citizen's SMS to 1414."""
    body = await read_body(request, request.app[SETTINGS].max_body_bytes)
    if isinstance(body, web.Response):
        return body
    data = parse_json(body)
    if isinstance(data, web.Response):
        return data
    try:
        message = request.app[SMS_CHANNEL].parse(data)
    except InboundFormatError as error:
        return errors(422, (error.field, "invalid", str(error)))
    await request.app[ENGINE].inbound(message)
    return web.json_response({"accepted": True})


async def post_sms_status(request: web.Request) -> web.Response:
    """A delivery report for an SMS we sent."""
    body = await read_body(request, request.app[SETTINGS].max_body_bytes)
    if isinstance(body, web.Response):
        return body
    data = parse_json(body)
    if isinstance(data, web.Response):
        return data
    try:
        report = request.app[SMS_CHANNEL].parse_status(data)
    except InboundFormatError as error:
        return errors(422, (error.field, "invalid", str(error)))
    await request.app[ENGINE].delivery_report(report)
    return web.json_response({"accepted": True})
