"""How a test posts to the bot's ways in, as each legitimate sender would (signed, with its secret or token).

One place builds every request, so that when a gateway gains a credential its test cases change in one line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.backends.assignment import sign
from tests.conftest import Running

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class Post:
    """A request ready to send: path, headers and raw body."""

    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


async def build(run: Running, endpoint: str, body: bytes, *, dialog_id: str = "d_none",
                content_type: str = "application/json", headers: dict[str, str] | None = None) -> Post:
    """The request `endpoint` (a name from ENDPOINTS) would get from its legitimate sender, carrying `body`."""
    settings = run.system.settings
    ts = str(await run.client.now_ts())
    base = {"Content-Type": content_type}
    if endpoint == "events":
        base |= {"X-Timestamp": ts, "X-Signature": sign(settings.events_secret, ts, body)}
        path = "/v1/events"
    elif endpoint == "decision":
        base |= {"X-Timestamp": ts, "X-Signature": sign(settings.backend_secret, ts, body)}
        path = "/v1/callbacks/decision"
    elif endpoint in ("sms", "sms_status"):
        base |= {"X-Timestamp": ts, "X-Signature": sign(settings.sms_gateway_secret, ts, body)}
        path = "/v1/inbound/sms" if endpoint == "sms" else "/v1/inbound/sms/status"
    elif endpoint == "ussd":
        base |= {"X-Timestamp": ts, "X-Signature": sign(settings.ussd_gateway_secret, ts, body)}
        path = "/v1/ussd"
    elif endpoint == "telegram":
        base[TELEGRAM_SECRET_HEADER] = settings.telegram_secret or ""
        path = "/v1/telegram/webhook"
    elif endpoint.startswith("ops_"):
        base["Authorization"] = f"Bearer {settings.operator_token}"
        base["X-Operator"] = "security-test"
        path = f"/ops/api/dialogs/{dialog_id}/{endpoint[4:]}"
    else:
        raise ValueError(endpoint)
    return Post(path, body, {**base, **(headers or {})})


ENDPOINTS = ("events", "decision", "sms", "sms_status", "ussd", "telegram", "ops_note", "ops_close")


async def send(run: Running, post: Post) -> tuple[int, str]:
    """Post it; (status, body text)."""
    async with run.client.session.post(f"{run.system.url}{post.path}", data=post.body,
                                       headers=post.headers) as resp:
        return resp.status, await resp.text()
