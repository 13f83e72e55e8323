"""Who may post for the SMS and USSD gateways: each gateway's own credential, schemes and source networks.

Checked before anything of the post is read as a citizen's words: a post that fails answers 401 (or 403 for a
source outside the allow-list) and leaves nothing behind (no job, no step, no seen id, no flood count).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
from dataclasses import dataclass, replace

from aiohttp import web

from bot.backends.assignment import as_bytes
from bot.http.common import CLOCK, SETTINGS, check_signature, errors, unauthorized
from bot.settings import GATEWAY_SCHEMES, Settings

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
TOKEN_HEADER = "X-Gateway-Token"


@dataclass(frozen=True)
class Gateway:
    """One gateway's credential: its secret, the schemes it may use, its Basic user, where it may post from."""

    name: str
    secret: str
    schemes: tuple[str, ...]
    user: str
    allow: tuple[Network, ...]


@dataclass(frozen=True)
class Gateways:
    """Both gateways and the proxies whose X-Forwarded-For counts; built once from the settings."""

    sms: Gateway
    ussd: Gateway
    trusted_proxies: tuple[Network, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> Gateways:
        return cls(
            Gateway("sms", settings.sms_gateway_secret, settings.sms_gateway_auth, settings.sms_gateway_user,
                    _networks(settings.sms_gateway_allow)),
            Gateway("ussd", settings.ussd_gateway_secret, settings.ussd_gateway_auth, settings.ussd_gateway_user,
                    _networks(settings.ussd_gateway_allow)),
            _networks(settings.trusted_proxies),
        )


GATEWAYS = web.AppKey("gateways", Gateways)


def _networks(items: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def source_address(request: web.Request, trusted: tuple[Network, ...]) -> Address | None:
    """Where a post came from: the peer, or, when the peer is a trusted proxy, the nearest untrusted address
    its X-Forwarded-For names (the entries to its left could be written by anyone). None when unknown."""
    try:
        address: Address = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return None
    if not _within(address, trusted):
        return address
    forwarded = [part.strip() for header in request.headers.getall("X-Forwarded-For", [])
                 for part in header.split(",")]
    for part in reversed(forwarded):
        try:
            address = ipaddress.ip_address(part)
        except ValueError:
            return None  # a proxy we trust wrote nonsense: nobody can say where the post came from
        if not _within(address, trusted):
            return address
    return address


def _within(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def outside_allow_list(request: web.Request, gateway: Gateway) -> web.Response | None:
    """None when the post comes from where the gateway may post from (anywhere, without an allow-list); else
    the 403 to answer (logged)."""
    if not gateway.allow:
        return None
    source = source_address(request, request.app[GATEWAYS].trusted_proxies)
    if source is not None and _within(source, gateway.allow):
        return None
    log.warning("%s gateway: post to %s from %s, outside its allow-list: refused", gateway.name, request.path,
                source)
    return errors(403, ("$", "forbidden_source", f"posts for the {gateway.name} gateway are not "
                                                 "accepted from this address"))


def refused(request: web.Request, body: bytes, gateway: Gateway, *,
            only: tuple[str, ...] = GATEWAY_SCHEMES) -> web.Response | None:
    """None when the post comes from where the gateway may post from, with a credential of a scheme it may
    use (of `only`, on a route that cannot take the others); else the 403 or 401 to answer (logged, without
    the credential)."""
    outside = outside_allow_list(request, gateway)
    if outside is not None:
        return outside
    schemes = tuple(scheme for scheme in gateway.schemes if scheme in only)
    if schemes:
        problem = _credential_problem(request, body, replace(gateway, schemes=schemes))
    else:
        problem = (f"{request.path} takes {' or '.join(only)} credentials, and {gateway.name.upper()}_GATEWAY_AUTH "
                   f"allows only {', '.join(gateway.schemes)}")
    if problem is None:
        return None
    log.warning("%s gateway: unauthenticated post to %s from %s: %s", gateway.name, request.path,
                request.remote, problem)
    return unauthorized(problem)


def _credential_problem(request: web.Request, body: bytes, gateway: Gateway) -> str | None:
    """None when one of the gateway's schemes is satisfied; else why not (the signature's problem if it signed)."""
    headers = request.headers
    signed = "X-Signature" in headers or "X-Timestamp" in headers
    if "hmac" in gateway.schemes and signed:
        settings = request.app[SETTINGS]
        return check_signature(request, body, gateway.secret, request.app[CLOCK], settings.event_clock_skew_seconds)
    authorization = headers.get("Authorization", "")
    if "basic" in gateway.schemes and authorization[:6].lower() == "basic ":  # the scheme name is case-blind
        return None if _basic_ok(authorization[6:], gateway) else "the Basic credentials are wrong"
    if "token" in gateway.schemes and TOKEN_HEADER in headers:
        return None if _equal(headers[TOKEN_HEADER], gateway.secret) else f"{TOKEN_HEADER} is wrong"
    wanted = {"hmac": "X-Timestamp and X-Signature", "basic": "HTTP Basic credentials", "token": TOKEN_HEADER}
    return f"the {gateway.name} gateway must send " + " or ".join(wanted[s] for s in gateway.schemes)


def _basic_ok(encoded: str, gateway: Gateway) -> bool:
    try:
        user, colon, password = base64.b64decode(as_bytes(encoded.strip()), validate=True).partition(b":")
    except (binascii.Error, ValueError):
        return False
    # Both compared, always: how long the answer takes does not tell a right user from a wrong one.
    user_ok = hmac.compare_digest(user, gateway.user.encode())
    password_ok = hmac.compare_digest(password, gateway.secret.encode())
    return bool(colon) and user_ok and password_ok


def _equal(given: str, secret: str) -> bool:
    return hmac.compare_digest(as_bytes(given), secret.encode())
