"""Configuration: read from the environment in one place (`Settings.from_env`), passed everywhere else."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any

MAX_COMPACT_DAYS = 3650


def _days(env: dict[str, str], name: str) -> int:
    """A whole number of days from 0 to MAX_COMPACT_DAYS; ValueError naming the variable otherwise."""
    text = env[name].strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_COMPACT_DAYS:
        raise ValueError(f"{name} must be a whole number of days from 0 (never) to {MAX_COMPACT_DAYS}, "
                         f"got {env[name]!r}")
    return int(text)


def _hhmm(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


@dataclass
class Settings:
    """Everything the bot can be told; dev and tests override fields with `with_(...)`."""

    redis_url: str | None = None
    key_prefix: str = "pb"
    events_secret: str = "dev-secret"
    # One secret per registry instead (EVENTS_SECRETS=zags:…,mse:…): an event records which registry signed it,
    # and only that registry may cancel it.
    events_secrets: tuple[tuple[str, str], ...] = ()
    operator_token: str = "dev-operator"
    backend_secret: str = "dev-backend-secret"
    # The gateways that speak for citizens (README "Security"): each its own credential, the schemes it may
    # use (hmac: X-Timestamp/X-Signature as for events; basic: HTTP Basic, user and this secret as password;
    # token: X-Gateway-Token), and optionally the networks its posts may come from.
    sms_gateway_secret: str = "dev-sms-gateway-secret"
    sms_gateway_auth: tuple[str, ...] = ("hmac", "basic", "token")
    sms_gateway_user: str = "sms-gateway"
    sms_gateway_allow: tuple[str, ...] = ()
    ussd_gateway_secret: str = "dev-ussd-gateway-secret"
    ussd_gateway_auth: tuple[str, ...] = ("hmac", "basic", "token")
    ussd_gateway_user: str = "ussd-gateway"
    ussd_gateway_allow: tuple[str, ...] = ()
    # Proxies whose X-Forwarded-For is believed (CIDRs); from anyone else the header is ignored.
    trusted_proxies: tuple[str, ...] = ()
    # Tags each SMS client id we send, so that a delivery report must name an SMS we really sent.
    sms_client_id_secret: str = "dev-sms-client-id-secret"
    # The gateways the bot talks to; `dev` points these at its own /mock sub-application.
    public_url: str = "http://127.0.0.1:8080"
    sms_gateway_url: str = "http://127.0.0.1:8090/mock/sms"
    egov_url: str = "http://127.0.0.1:8090/mock/egov"
    assignment_url: str = "http://127.0.0.1:8090/mock/assignment"
    sms_sender: str = "1414"
    # Which SMS gateway the bot sends through: "aggregator" (the JSON API at SMS_GATEWAY_URL) or "kannel"
    # (smsbox's sendsms at KANNEL_SENDSMS_URL, as this user; README "SMS through Kannel").
    sms_gateway_kind: str = "aggregator"
    kannel_sendsms_url: str = "http://127.0.0.1:13013/cgi-bin/sendsms"
    kannel_username: str = "proactive-bot"
    kannel_password: str = "dev-kannel-password"
    kannel_dlr_mask: int = 27  # delivered (1) + undeliverable (2) + accepted (8) and rejected (16) by the SMSC
    # A send that may have reached Kannel (cut off mid-call) is not repeated before this, unless Kannel reports it.
    kannel_ambiguous_seconds: int = 600
    kannel_smsc: str | None = None  # Kannel's `smsc` parameter: route every SMS through this SMSC id
    http_timeout_seconds: float = 10.0
    # Rules that follow the law and practice; kept here so they can change without code.
    answer_window_hours: int = 72
    reminder_after_hours: int = 24
    bank_flag_after_hours: int = 72
    quiet_start: dt.time = field(default_factory=lambda: dt.time(21, 0))
    quiet_end: dt.time = field(default_factory=lambda: dt.time(9, 0))
    decision_working_days: int = 7
    # The provider's working day ends at 18:30 (Order 206, the standards' item 7): an application after it, or
    # on a day off, is registered on the next working day, and the decision term runs from that day.
    working_day_end: dt.time = field(default_factory=lambda: dt.time(18, 30))
    extension_calendar_days: int = 30
    max_unclear_replies: int = 3
    max_bank_errors: int = 3
    event_clock_skew_seconds: int = 300
    max_body_bytes: int = 64 * 1024
    # More messages than this from one phone in one minute is a flood: acknowledged once, then ignored.
    inbound_per_minute: int = 10
    # A USSD post's `text` repeats the session's inputs: at most this many new ones are taken from one post (the
    # last ones); the rest are ignored, so one post cannot make hundreds of steps.
    ussd_max_new_inputs: int = 3
    # The lines a dialog keeps in its transcript; older ones stay in the dialog log (and `proactive-bot logs`).
    transcript_max_lines: int = 200
    # Operators (bot/ops/): server-side sessions, sign-in throttling, reveal limits, live streams, /metrics.
    ops_session_idle_seconds: int = 1800  # a session unused this long (injected clock) is gone
    ops_session_max_seconds: int = 12 * 3600
    ops_secure_cookies: bool = False  # `Secure` cookie and HSTS; on anyway when public_url is https
    ops_auth_free_failures: int = 5  # failed sign-ins/Bearer calls per operator name before backoff starts
    ops_auth_free_failures_per_address: int = 50  # the same per client address (an office may share one)
    ops_auth_backoff_seconds: float = 2.0  # doubled with each further failure ...
    ops_auth_backoff_max_seconds: float = 900.0  # ... up to this
    ops_reveals_per_hour: int = 30  # per operator name
    ops_streams_per_operator: int = 8  # open /ops/events streams per operator name
    ops_streams_per_process: int = 1000
    ops_stream_recheck_seconds: float = 60.0  # a live stream re-checks its session this often
    metrics_token: str | None = None  # when set, /metrics wants `Authorization: Bearer <METRICS_TOKEN>`
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
    # The store and the work queue (bot/jobs.py, bot/store/): see the README's "Reliability".
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
    # A closed dialog unchanged this long is archived in compact form (bot/store/compaction.py): every reader still
    # shows it whole, in a fraction of the memory. 3: most late replies and delivery reports come before; one that
    # comes after is answered all the same, and saves the dialog in its ordinary form until it is quiet again.
    # 0: never.
    compact_closed_after_days: int = 3
    # The live feed that `proactive-bot logs -f` and the console tail: the newest this many records (each
    # dialog's own log is kept whole, above). 10 000 is minutes of a busy day; each record is ~250 bytes.
    log_feed_maxlen: int = 10_000
    # The consent ledger (bot/ledger.py): IINs, IBANs and received texts are kept as HMAC-SHA256 under this
    # key (a production secret: set LEDGER_KEY); records are kept at least this long (5 years), never trimmed
    # before (`proactive-bot ledger trim` drops older ones).
    ledger_key: str = "dev-ledger-key"
    ledger_retention_days: int = 1830
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
            "sms_gateway_url", "egov_url", "assignment_url", "sms_sender", "ledger_key",
            "sms_gateway_secret", "sms_gateway_user", "ussd_gateway_secret", "ussd_gateway_user",
            "sms_client_id_secret", "sms_gateway_kind", "kannel_sendsms_url", "kannel_username",
            "kannel_password",
        ):
            if name.upper() in env:
                values[name] = env[name.upper()]
        for name in (
            "answer_window_hours", "reminder_after_hours", "bank_flag_after_hours", "decision_working_days",
            "extension_calendar_days", "max_unclear_replies", "max_bank_errors", "event_clock_skew_seconds",
            "log_retention_days", "log_feed_maxlen", "inbound_per_minute", "shards", "worker_concurrency",
            "job_max_deliveries", "ledger_retention_days",
            "ussd_max_new_inputs", "transcript_max_lines",
            "ops_session_idle_seconds", "ops_session_max_seconds", "ops_auth_free_failures",
            "ops_auth_free_failures_per_address", "ops_reveals_per_hour", "ops_streams_per_operator",
            "ops_streams_per_process",
            "duplicate_window_seconds", "reply_clock_skew_seconds", "kannel_dlr_mask",
            "kannel_ambiguous_seconds",
        ):
            if name.upper() in env:
                values[name] = int(env[name.upper()])
        if "COMPACT_CLOSED_AFTER_DAYS" in env:
            values["compact_closed_after_days"] = _days(env, "COMPACT_CLOSED_AFTER_DAYS")
        for name in ("http_timeout_seconds", "phone_lock_seconds", "job_wait_seconds", "job_claim_idle_seconds",
                     "timer_lease_seconds", "job_dead_letter_after_seconds", "ops_auth_backoff_seconds",
                     "ops_auth_backoff_max_seconds", "ops_stream_recheck_seconds"):
            if name.upper() in env:
                values[name] = float(env[name.upper()])
        for name in ("redis_cluster", "poll_timers", "ops_secure_cookies"):
            if name.upper() in env:
                values[name] = env[name.upper()].strip().lower() in ("1", "true", "yes", "on")
        for name in ("send_retry_seconds", "submit_retry_seconds", "delivery_retry_seconds"):
            if name.upper() in env:
                values[name] = tuple(int(v) for v in env[name.upper()].split(",") if v.strip())
        if env.get("KANNEL_SMSC"):
            values["kannel_smsc"] = env["KANNEL_SMSC"]
        if env.get("METRICS_TOKEN"):
            values["metrics_token"] = env["METRICS_TOKEN"]
        if "QUIET_START" in env:
            values["quiet_start"] = _hhmm(env["QUIET_START"])
        if "QUIET_END" in env:
            values["quiet_end"] = _hhmm(env["QUIET_END"])
        if "WORKING_DAY_END" in env:
            values["working_day_end"] = _hhmm(env["WORKING_DAY_END"])
        values.update(_telegram_from_env(env))
        values.update(_gateways_from_env(env))
        kind = values.get("sms_gateway_kind", base.sms_gateway_kind)
        if kind not in SMS_GATEWAY_KINDS:
            raise ValueError(f"SMS_GATEWAY_KIND must be one of {', '.join(SMS_GATEWAY_KINDS)}, got {kind!r}")
        if kind == "kannel" and not {"basic", "token"} & set(values["sms_gateway_auth"]):
            # Kannel's get-url cannot sign: without this, every citizen's SMS would be refused 401.
            raise ValueError("SMS_GATEWAY_KIND=kannel needs SMS_GATEWAY_AUTH to allow basic (Kannel's get-url "
                             "carries HTTP Basic credentials; it cannot sign)")
        if kind == "kannel" and "basic" in values["sms_gateway_auth"]:
            problem = kannel_basic_problem(values.get("sms_gateway_user", base.sms_gateway_user),
                                           values.get("sms_gateway_secret", base.sms_gateway_secret))
            if problem:
                raise ValueError(problem)
        if env.get("EVENTS_SECRETS"):
            values["events_secrets"] = registry_secrets(env["EVENTS_SECRETS"])
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


GATEWAY_SCHEMES = ("hmac", "basic", "token")
SMS_GATEWAY_KINDS = ("aggregator", "kannel")
# Kannel 1.4.5 base64-encodes `user:password` with a line break every 76 characters (octstr_binary_to_base64):
# over 57 bytes, its Authorization header is broken and every call is refused 400.
KANNEL_BASIC_MAX_BYTES = 57


def kannel_basic_problem(user: str, secret: str) -> str | None:
    """Why Kannel could not send this Basic credential in its get-url (None when it can)."""
    size = len(f"{user}:{secret}".encode())
    if size <= KANNEL_BASIC_MAX_BYTES:
        return None
    return (f"SMS_GATEWAY_USER:SMS_GATEWAY_SECRET is {size} bytes; Kannel 1.4.5 breaks Basic credentials over "
            f"{KANNEL_BASIC_MAX_BYTES} (its base64 wraps the header), so with Kannel use a secret of 32 to 45 bytes, "
            "e.g. `openssl rand -hex 20`")
# What `serve` and `worker` refuse to run without (README "Security", "Secrets"); Telegram's when it is on.
SECRETS = ("EVENTS_SECRET", "OPERATOR_TOKEN", "BACKEND_SECRET", "SMS_GATEWAY_SECRET", "USSD_GATEWAY_SECRET",
           "SMS_CLIENT_ID_SECRET", "LEDGER_KEY")
MIN_SECRET_BYTES = 32


def dev_secrets() -> frozenset[str]:
    """Every secret `dev`, `demo` and the tests use: published in this repository, so never a real one."""
    base = Settings()
    names = [name.lower() for name in (*SECRETS, "TELEGRAM_SECRET", "TELEGRAM_TOKEN", "KANNEL_PASSWORD")]
    return frozenset(str(getattr(base, name)) for name in names)


REGISTRY = re.compile(r"[a-z0-9_-]{1,32}")


def registry_secrets(text: str) -> tuple[tuple[str, str], ...]:
    """`zags:<secret>,mse:<secret>` as (registry, secret) pairs; ValueError names what is wrong."""
    pairs: list[tuple[str, str]] = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        name, colon, secret = item.partition(":")
        if not colon or not REGISTRY.fullmatch(name) or not secret:
            raise ValueError("EVENTS_SECRETS must read registry:secret,… (registry names of a-z 0-9 _ -)")
        if name in dict(pairs):
            raise ValueError(f"EVENTS_SECRETS names the registry {name!r} twice")
        pairs.append((name, secret))
    return tuple(pairs)


def weak_secret(env: dict[str, str]) -> str | None:
    """Why the production secrets in `env` cannot be used (one line naming the variable), or None."""
    names = [*SECRETS, *(("TELEGRAM_SECRET",) if env.get("TELEGRAM_TOKEN") else ()),
             *(("KANNEL_PASSWORD",) if env.get("SMS_GATEWAY_KIND", "").strip() == "kannel" else ())]
    values = [(name, env.get(name)) for name in names]
    if env.get("EVENTS_SECRETS"):  # then EVENTS_SECRET is not used: each registry's secret is checked instead
        at = names.index("EVENTS_SECRET")
        values[at:at + 1] = [(f"EVENTS_SECRETS ({name})", secret)
                             for name, secret in registry_secrets(env["EVENTS_SECRETS"])]
    for name, value in values:
        if value is None:
            return f"{name} is not set"
        if not value:
            return f"{name} is empty"
        if value in dev_secrets():
            return f"{name} is a dev default, published in the repository"
        if len(value.encode()) < MIN_SECRET_BYTES:
            return f"{name} is shorter than {MIN_SECRET_BYTES} bytes"
    if env.get("TELEGRAM_TOKEN") in dev_secrets():
        return "TELEGRAM_TOKEN is a dev default, published in the repository"
    return None


def _gateways_from_env(env: dict[str, str]) -> dict[str, Any]:
    """Schemes (default: hmac only in production) and source networks of each gateway; ValueError names a bad one."""
    values: dict[str, Any] = {}
    for gateway in ("sms", "ussd"):
        name = f"{gateway.upper()}_GATEWAY_AUTH"
        schemes = tuple(s.strip().lower() for s in env.get(name, "hmac").split(",") if s.strip())
        unknown = [s for s in schemes if s not in GATEWAY_SCHEMES]
        if not schemes or unknown:
            raise ValueError(f"{name} must list some of {', '.join(GATEWAY_SCHEMES)}, got {env.get(name)!r}")
        values[f"{gateway}_gateway_auth"] = schemes
        values[f"{gateway}_gateway_allow"] = _networks(env, f"{gateway.upper()}_GATEWAY_ALLOW")
    values["trusted_proxies"] = _networks(env, "TRUSTED_PROXIES")
    return values


def _networks(env: dict[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated CIDRs (or single addresses), checked; () when unset or empty."""
    items = tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{name}: {item!r} is not an address or CIDR network") from None
    return items


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
