"""What Kannel calls: smsbox's get-url with a citizen's SMS, and the dlr-url we gave with each message we sent.

Both answer an empty body (smsbox would send a body back to the phone as an SMS if its `sms-service` allowed
replies; ours has `max-messages = 0`). Nothing is read as a citizen's words before the caller is authenticated.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.channels.base import InboundFormatError
from bot.channels.kannel import KannelChannel, raw_query
from bot.channels.sms import ForeignClientId
from bot.http.common import SETTINGS, errors, read_body
from bot.http.gateway_auth import GATEWAYS, outside_allow_list, refused
from bot.http.inbound import take_message, take_report

KANNEL_CHANNEL = web.AppKey("kannel_channel", KannelChannel)
log = logging.getLogger(__name__)


async def _query(request: web.Request) -> dict[str, bytes] | web.Response:
    """The call's parameters as bytes: the query string, and for a POST a form body after it."""
    body = await read_body(request, request.app[SETTINGS].max_body_bytes)
    if isinstance(body, web.Response):
        return body
    query = raw_query(request.rel_url.raw_query_string)
    if request.method == "POST" and body:
        for name, value in raw_query(body.decode("latin-1")).items():
            query.setdefault(name, value)
    return query


async def mo(request: web.Request) -> web.Response:
    """A citizen's SMS from smsbox's get-url. Kannel cannot sign a request: HTTP Basic in the get-url's URL
    (or the gateway token header, from an aggregator that sends headers) is its credential."""
    problem = refused(request, b"", request.app[GATEWAYS].sms, only=("basic", "token"))
    if problem is not None:
        return problem
    query = await _query(request)
    if isinstance(query, web.Response):
        return query
    try:
        message = request.app[KANNEL_CHANNEL].parse_mo(query)
    except InboundFormatError as error:
        return errors(422, (error.field, "invalid", str(error)))
    return _empty(await take_message(request, message))


async def dlr(request: web.Request) -> web.Response:
    """A delivery report on our dlr-url: authenticated by the signature of its SMS's id that the URL carries."""
    outside = outside_allow_list(request, request.app[GATEWAYS].sms)
    if outside is not None:
        return outside
    query = await _query(request)
    if isinstance(query, web.Response):
        return query
    channel = request.app[KANNEL_CHANNEL]
    try:
        heard = channel.parse_dlr(query)
    except ForeignClientId as error:
        log.warning("Kannel delivery report from %s naming no SMS of ours: refused (%s)", request.remote, error)
        return errors(403, (error.field, "not_ours", str(error)))
    except InboundFormatError as error:
        return errors(422, (error.field, "invalid", str(error)))
    await channel.heard(heard)  # Kannel had this SMS: a repeat of its send must not go out
    if heard.report is None:  # buffered, or accepted by the SMSC: the final report is still to come
        return web.Response(status=200)
    return _empty(await take_report(request, heard.report))


def _empty(response: web.Response) -> web.Response:
    """Kannel only reads the status; a body (and its charset) would have smsbox try to make an SMS of it."""
    return web.Response(status=response.status) if response.status < 300 else response
