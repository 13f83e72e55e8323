"""Configuration: read from the environment in one place (`Settings.from_env`), passed everywhere else."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace
from typing import Any


def _hhmm(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


@dataclass
class Settings:
    """Everything the bot can be told; dev and tests override fields with `with_(...)`."""

    redis_url: str | None = None
    key_prefix: str = "pb"
    events_secret: str = "dev-secret"
    operator_token: str = "dev-operator"
    backend_secret: str = "dev-backend-secret"
    # The gateways the bot talks to; `dev` points these at its own /mock sub-application.
    public_url: str = "http://127.0.0.1:8080"
    sms_gateway_url: str = "http://127.0.0.1:8090/mock/sms"
    egov_url: str = "http://127.0.0.1:8090/mock/egov"
    assignment_url: str = "http://127.0.0.1:8090/mock/assignment"
    sms_sender: str = "1414"
    http_timeout_seconds: float = 10.0
    # Rules that follow the law and practice; kept here so they can change without code.
    answer_window_hours: int = 72
    reminder_after_hours: int = 24
    bank_flag_after_hours: int = 72
    quiet_start: dt.time = field(default_factory=lambda: dt.time(21, 0))
    quiet_end: dt.time = field(default_factory=lambda: dt.time(9, 0))
    decision_working_days: int = 7
    extension_calendar_days: int = 30
    max_unclear_replies: int = 3
    max_bank_errors: int = 3
    event_clock_skew_seconds: int = 300
    max_body_bytes: int = 64 * 1024
    # More messages than this from one phone in one minute is a flood: acknowledged once, then ignored.
    inbound_per_minute: int = 10
    # A message repeating the one last taken from the phone (same channel, same normalised text) within this
    # many seconds is a copy, never an answer (dialogs/answers.py). 120: handsets and aggregators resend within
    # seconds to a minute; a person who means the same key again for the next question is rarely that quick,
    # and an answer set aside is asked again by the reminder. 0 turns the rule off.
    duplicate_window_seconds: int = 120
    # How far a gateway's clock may lag ours: a reply is late (no answer to the open question) only when it was
    # received more than this before the question can have left. 2: stamps are to the second and NTP keeps
    # servers within milliseconds; a lagging gateway must not cost a citizen the answer they just read and gave.
    reply_clock_skew_seconds: int = 2
    send_retry_seconds: tuple[int, ...] = (30, 120, 600, 1800, 3600)
    submit_retry_seconds: tuple[int, ...] = (60, 300, 900, 3600)
    # An SMS the gateway reports undelivered is sent again after each of these (plus up to 20 % jitter);
    # when the last resend fails too, the phone is taken as unreachable.
    delivery_retry_seconds: tuple[int, ...] = (600, 3600, 4 * 3600)
    # The store and the work queue (bot/jobs.py, bot/store.py): see the README's "Reliability".
    redis_cluster: bool = False
    shards: int = 16  # fixed for the life of a deployment's data: a phone's keys live in its shard
    phone_lock_seconds: float = 60.0
    worker_concurrency: int = 16  # jobs one process runs at once; 0: this process queues, others work
    poll_timers: bool = True
    job_wait_seconds: float = 25.0  # how long a webhook waits for its job before answering "queued"
    job_claim_idle_seconds: float = 30.0
    job_max_deliveries: int = 5
    job_dead_letter_after_seconds: float = 600.0  # and delivered job_max_deliveries times: then given up
    timer_lease_seconds: float = 120.0
    # The dialog log: per-dialog records kept this long (the record of a benefit outlives the dialog).
    log_retention_days: int = 400
    # The live feed that `proactive-bot logs -f` and the console tail: the newest this many records (each
    # dialog's own log is kept whole, above). 10 000 is minutes of a busy day; each record is ~250 bytes.
    log_feed_maxlen: int = 10_000
    # Telegram: off without a token (`serve` takes it from TELEGRAM_TOKEN only; dev talks to the mock).
    telegram_token: str | None = "dev-token"
    # Telegram echoes this in X-Telegram-Bot-Api-Secret-Token on every webhook call (set with setWebhook).
    telegram_secret: str = "dev-telegram-secret"
    telegram_api_url: str = "https://api.telegram.org"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Production configuration from environment variables (names are the upper-cased fields)."""
        env = dict(os.environ if env is None else env)
        base = cls()
        values: dict[str, Any] = {}
        for name in (
            "redis_url", "key_prefix", "events_secret", "operator_token", "backend_secret", "public_url",
            "sms_gateway_url", "egov_url", "assignment_url", "sms_sender",
        ):
            if name.upper() in env:
                values[name] = env[name.upper()]
        for name in (
            "answer_window_hours", "reminder_after_hours", "bank_flag_after_hours", "decision_working_days",
            "extension_calendar_days", "max_unclear_replies", "max_bank_errors", "event_clock_skew_seconds",
            "log_retention_days", "log_feed_maxlen", "inbound_per_minute", "shards", "worker_concurrency",
            "job_max_deliveries", "duplicate_window_seconds", "reply_clock_skew_seconds",
        ):
            if name.upper() in env:
                values[name] = int(env[name.upper()])
        for name in ("http_timeout_seconds", "phone_lock_seconds", "job_wait_seconds", "job_claim_idle_seconds",
                     "timer_lease_seconds", "job_dead_letter_after_seconds"):
            if name.upper() in env:
                values[name] = float(env[name.upper()])
        for name in ("redis_cluster", "poll_timers"):
            if name.upper() in env:
                values[name] = env[name.upper()].strip().lower() in ("1", "true", "yes", "on")
        for name in ("send_retry_seconds", "submit_retry_seconds", "delivery_retry_seconds"):
            if name.upper() in env:
                values[name] = tuple(int(v) for v in env[name.upper()].split(",") if v.strip())
        if "QUIET_START" in env:
            values["quiet_start"] = _hhmm(env["QUIET_START"])
        if "QUIET_END" in env:
            values["quiet_end"] = _hhmm(env["QUIET_END"])
        values.update(_telegram_from_env(env))
        return replace(base, **values)

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def point_at_mocks(self, base_url: str) -> None:
        """Aim every gateway at mocks served under `{base_url}/mock` (dev mode: the same process)."""
        self.public_url = base_url
        self.sms_gateway_url = f"{base_url}/mock/sms"
        self.egov_url = f"{base_url}/mock/egov"
        self.assignment_url = f"{base_url}/mock/assignment"
        self.telegram_api_url = f"{base_url}/mock/telegram"


def _telegram_from_env(env: dict[str, str]) -> dict[str, Any]:
    """Telegram is on only with TELEGRAM_TOKEN, and then TELEGRAM_SECRET must be given too."""
    token = env.get("TELEGRAM_TOKEN") or None
    values: dict[str, Any] = {"telegram_token": token}
    if "TELEGRAM_API_URL" in env:
        values["telegram_api_url"] = env["TELEGRAM_API_URL"].rstrip("/")
    if token is None:
        return values
    secret = env.get("TELEGRAM_SECRET", "")
    # Whoever knows the secret can post updates as any Telegram user, consent included.
    if not secret:
        raise ValueError("TELEGRAM_TOKEN is set: TELEGRAM_SECRET is required too (the webhook's secret token)")
    values["telegram_secret"] = secret
    return values
