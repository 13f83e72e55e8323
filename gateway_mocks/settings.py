"""How the gateway mocks are configured: where the bot is, the backend's secret, and its pace."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_RATES_PATH = Path(__file__).resolve().parent.parent / "config" / "rates.toml"


@dataclass
class MocksSettings:
    """Mutable on purpose: the dev runner sets `bot_url` once it has bound its port."""

    bot_url: str = "http://127.0.0.1:8080"
    backend_secret: str = "dev-backend-secret"
    decision_delay_seconds: int = 3600
    extension_days: int = 30
    rates_path: Path = DEFAULT_RATES_PATH
    seed: bool = True
    # A callback the bot did not take (non-2xx, unreachable) is retried this long after each failure.
    callback_retry_seconds: int = 60
    # The Bot API mock accepts this bot token, and sends this secret token with every webhook update.
    telegram_token: str = "dev-token"
    telegram_secret: str = "dev-telegram-secret"

    def bot(self, path: str) -> str:
        """The absolute URL of a bot endpoint, e.g. `bot("/v1/inbound/sms")`."""
        return self.bot_url.rstrip("/") + path
