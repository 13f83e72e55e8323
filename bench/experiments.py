"""Bench-only patches that try a proposed fix in the server process, to measure it before anyone makes it.

None of this changes bot/, dialogs/, domain/ or gateway_mocks/: each patch replaces one attribute at start-up in the
`bench.server` process only, and the report names the experiments a run used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gateway_mocks.sms import SmsGateway


def no_delivery_reports() -> None:
    """The gateway sends no delivery reports: what the per-SMS report steps cost (an upper bound of the gain)."""

    def send(self: SmsGateway, client_id: str, to: str, sender: str, text: str) -> tuple[str, bool]:
        background = self._background
        self._background = lambda work: work.close()  # type: ignore[method-assign]
        try:
            return original(self, client_id, to, sender, text)
        finally:
            self._background = background  # type: ignore[method-assign]

    original = SmsGateway.send
    SmsGateway.send = send  # type: ignore[method-assign]


def quiet_logs() -> None:
    """Warnings only: what the INFO lines (engine steps, aiohttp access log, masking filter) cost."""
    logging.getLogger().setLevel(logging.WARNING)


EXPERIMENTS: dict[str, Callable[[], None]] = {
    "no-delivery-reports": no_delivery_reports,
    "quiet-logs": quiet_logs,
}
# Applied where the server builds its Redis client (see bench.server), not here.
POOL_EXPERIMENT = "blocking-pool"
NAMES = (*EXPERIMENTS, POOL_EXPERIMENT)


def apply(names: list[str]) -> None:
    """Apply the named experiments (unknown names are refused)."""
    for name in names:
        if name not in NAMES:
            raise SystemExit(f"unknown experiment {name!r}; known: {', '.join(NAMES)}")
        if name in EXPERIMENTS:
            EXPERIMENTS[name]()
