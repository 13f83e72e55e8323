"""The assignment backend: takes applications, and later calls back with the decision."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

import aiohttp

from bot.channels.base import SendError, SendFailure, failure_for_status

_APPLICATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Signature` value for a body: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_ok(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Constant-time check of a signature made by `sign`, over bytes: any header, non-ASCII too, is just wrong."""
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), as_bytes(signature))


def as_bytes(header: str) -> bytes:
    """A header value as the bytes that came in (aiohttp keeps undecodable ones as surrogates); never raises."""
    return header.encode("utf-8", "surrogatepass")


class AssignmentBackend:
    """Submits applications; the client id makes a repeated submission harmless."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, timeout: float) -> None:
        self._session = session
        self._base_url = base_url
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def submit(self, application: dict[str, Any]) -> str:
        """Hand over an application; returns the backend's application id."""
        try:
            async with self._session.post(f"{self._base_url}/applications", json=application,
                                          timeout=self._timeout) as resp:
                if resp.status >= 300:
                    raise SendError(failure_for_status(resp.status), f"backend answered {resp.status}")
                data = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError) as error:
            raise SendError(SendFailure.CONNECTION, type(error).__name__) from error
        except ValueError as error:  # a 2xx whose body is not JSON
            raise SendError(SendFailure.BAD_CONTENT, "backend answered with a body that is not JSON") from error
        application_id = data.get("application_id") if isinstance(data, dict) else None
        # It is shown in an SMS and kept as a lookup key: an id we could not show or store is no id.
        if not isinstance(application_id, str) or not _APPLICATION_ID.fullmatch(application_id):
            raise SendError(SendFailure.BAD_CONTENT, "backend gave no usable application_id")
        return application_id
