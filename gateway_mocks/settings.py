"""How the gateway mocks are configured: where the bot is, the backend's secret, and its pace."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.clock import SystemClock

DEFAULT_RATES_PATH = Path(__file__).resolve().parent.parent / "config" / "rates.toml"
_INT_RE = re.compile(r"-?[0-9]+")


@dataclass
class MocksSettings:
    """Mutable on purpose: the dev runner sets `bot_url` once it has bound its port."""

    bot_url: str = "http://127.0.0.1:8080"
    backend_secret: str = "dev-backend-secret"
    # The SMS and USSD gateways sign every post to the bot with these (the bot's SMS_/USSD_GATEWAY_SECRET).
    sms_gateway_secret: str = "dev-sms-gateway-secret"
    ussd_gateway_secret: str = "dev-ussd-gateway-secret"
    # Standalone (`proactive-bot mocks`) the bot is on the real clock, and the simulated one only follows it,
    # lagging while it fires a backlog of timers: signatures then carry real time, as a real gateway's do.
    sign_with_wall_clock: bool = False
    decision_delay_seconds: int = 3600
    extension_days: int = 30
    rates_path: Path = DEFAULT_RATES_PATH
    seed: bool = True
    # A callback the bot did not take (non-2xx, unreachable) is retried this long after each failure.
    callback_retry_seconds: int = 60
    # The Bot API mock accepts this bot token, and sends this secret token with every webhook update.
    telegram_token: str = "dev-token"
    telegram_secret: str = "dev-telegram-secret"
    # Faults for chaos tests, also settable at run time (`POST /mock/sms/faults`): this fraction of sends
    # is refused 503 and forgotten, and this fraction of accepted sends to a phone that is on is lost
    # (reported failed, never in the inbox). One random.Random(fault_seed) draws both, for reproducible runs.
    sms_fail_rate: float = 0.0
    sms_delivery_fail_rate: float = 0.0
    fault_seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("sms_fail_rate", "sms_delivery_fail_rate"):
            if not is_rate(getattr(self, name)):
                raise ValueError(f"{name} must be a number from 0 to 1, got {getattr(self, name)!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MocksSettings:
        """Defaults but for the SMS faults, read from the environment; ValueError names a bad variable."""
        # Unset and empty are the same (compose files often pass `MOCK_SMS_FAIL_RATE=`): the default.
        return cls(
            sms_fail_rate=_env_rate(env, "MOCK_SMS_FAIL_RATE"),
            sms_delivery_fail_rate=_env_rate(env, "MOCK_SMS_DELIVERY_FAIL_RATE"),
            fault_seed=_env_seed(env, "MOCK_FAULT_SEED"),
            decision_delay_seconds=_env_seconds(env, "MOCK_DECISION_DELAY_SECONDS", cls.decision_delay_seconds),
            callback_retry_seconds=_env_seconds(env, "MOCK_CALLBACK_RETRY_SECONDS", cls.callback_retry_seconds),
        )

    def signing_time(self, simulated: dt.datetime) -> dt.datetime:
        """The instant a post to the bot is signed at (its X-Timestamp)."""
        return SystemClock().now() if self.sign_with_wall_clock else simulated

    def bot(self, path: str) -> str:
        """The absolute URL of a bot endpoint, e.g. `bot("/v1/inbound/sms")`."""
        return self.bot_url.rstrip("/") + path


def is_rate(value: object) -> bool:
    """True for a number from 0 to 1 (a fraction of calls); booleans and NaN are not."""
    return not isinstance(value, bool) and isinstance(value, int | float) and 0 <= value <= 1


def _env_rate(env: Mapping[str, str], name: str) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not is_rate(value):
        raise ValueError(f"{name} must be a number from 0 to 1 (0.2 fails a fifth of them), got {raw!r}")
    return value


def _env_seconds(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not _INT_RE.fullmatch(raw) or int(raw) < 0:
        raise ValueError(f"{name} must be a whole number of seconds, got {raw!r}")
    return int(raw)


def _env_seed(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not _INT_RE.fullmatch(raw):
        raise ValueError(f"{name} must be an integer, got {raw!r}")
    return int(raw)
