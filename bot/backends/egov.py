"""The e-government gateway: what the state databases know about a person."""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.channels.base import SendError, SendFailure, failure_for_status

# What `person` answers in place of a record that is not a JSON object: the dialog goes on without it.
UNREADABLE = "record_unreadable"


class EgovClient:
    """Reads person records (bank account on record, benefits already claimed, address)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, timeout: float) -> None:
        self._session = session
        self._base_url = base_url
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def person(self, iin: str) -> dict[str, Any]:
        """The record for `iin`; an empty record when the state databases hold nothing."""
        try:
            async with self._session.get(f"{self._base_url}/persons/{iin}", timeout=self._timeout) as resp:
                if resp.status == 404:
                    return {}
                if resp.status >= 300:
                    raise SendError(failure_for_status(resp.status), f"egov answered {resp.status}")
                data = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError) as error:
            raise SendError(SendFailure.CONNECTION, type(error).__name__) from error
        except ValueError:
            data = None  # not JSON: read as a record we cannot use (dialogs/facts.py flags it), not a failure
        return data if isinstance(data, dict) else {UNREADABLE: True}
