"""docker-compose.yml stays runnable: services, commands and wiring checked without a Docker engine."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
import yaml

from bot.settings import SECRETS, dev_secrets, weak_secret
from tests.helpers import production_secrets

ROOT = Path(__file__).resolve().parents[2]
# What an operator exports before `docker compose up` (hex, as the compose file's comment makes them).
SHELL = {**production_secrets(), "KANNEL_PASSWORD": secrets.token_hex(32), "SMS_GATEWAY_SECRET": secrets.token_hex(20),
         "KANNEL_ADMIN_PASSWORD": secrets.token_hex(32)}
_REFERENCE = re.compile(r"\$\{(?P<name>[A-Z_]+)(?::(?P<kind>[?-])(?P<text>[^}]*))?\}")


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _interpolate(value: object, shell: dict[str, str]) -> str:
    """A value as Compose makes it: ${NAME:?message} must be set and non-empty, ${NAME:-default} may not."""

    def one(match: re.Match[str]) -> str:
        name, kind, text = match["name"], match["kind"], match["text"]
        if shell.get(name):
            return shell[name]
        if kind == "?":
            raise LookupError(f"{name}: {text}")
        return text if kind == "-" else ""

    return _REFERENCE.sub(one, str(value))


def _env(service: str, shell: dict[str, str] = SHELL) -> dict[str, str]:
    return {k: _interpolate(v, shell) for k, v in _compose()["services"][service]["environment"].items()}


def test_every_secret_comes_from_the_environment_and_none_is_written_down() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for secret in dev_secrets():
        assert secret not in text
    for service in ("bot", "worker", "mocks"):
        raw = _compose()["services"][service]["environment"]
        for name in SECRETS:
            assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", raw[name]), (service, name, raw[name])
        assert weak_secret(_env(service)) is None


@pytest.mark.parametrize("name", SECRETS)
def test_compose_refuses_to_start_without_each_secret(name: str) -> None:
    shell = {k: v for k, v in SHELL.items() if k != name}
    with pytest.raises(LookupError, match=name):
        _env("bot", shell)


def test_compose_runs_redis_the_bot_its_workers_and_the_mocks() -> None:
    services = _compose()["services"]
    assert set(services) == {"redis", "bot", "worker", "mocks", "kannel"}
    assert services["bot"]["command"][:2] == ["proactive-bot", "serve"]
    assert services["worker"]["command"] == ["proactive-bot", "worker"]
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert services["mocks"]["command"][:2] == ["proactive-bot", "mocks"]
    assert services["redis"]["image"].startswith("redis:")
    assert "--appendonly" in services["redis"]["command"]  # the work queue survives a Redis restart


def test_workers_share_the_bots_configuration() -> None:
    from bot.settings import Settings

    bot, worker = (Settings.from_env(_env(s)) for s in ("bot", "worker"))
    assert worker.with_(worker_concurrency=bot.worker_concurrency) == bot
    assert worker.worker_concurrency > 0


def test_bot_is_configured_for_every_gateway_and_real_redis() -> None:
    from bot.settings import Settings

    env = _env("bot")
    settings = Settings.from_env(env)
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.sms_gateway_kind == "kannel"
    assert settings.kannel_sendsms_url == "http://kannel:13013/cgi-bin/sendsms"
    assert settings.egov_url.startswith("http://mocks:8090/mock/")
    assert settings.assignment_url.startswith("http://mocks:8090/mock/")
    # The secret the mocks sign callbacks with is the one the bot checks.
    mocks_env = _env("mocks")
    for name in ("BACKEND_SECRET", "SMS_GATEWAY_SECRET", "USSD_GATEWAY_SECRET"):  # and the gateways sign
        assert mocks_env[name] == env[name]


def test_every_dependency_and_build_context_exists() -> None:
    compose = _compose()
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").exists()
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in compose.get("volumes", {})


def test_dockerfile_copies_what_the_package_needs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for folder in ("bot", "dialogs", "gateway_mocks", "locales", "config"):
        assert f"COPY {folder} {folder}" in dockerfile


def _kannel_conf(shell: dict[str, str] = SHELL) -> dict[tuple[str, str], dict[str, str]]:
    """config/kannel/kannel.conf.template as `start` renders it with the kannel service's environment: each group
    by (group, its smsc-id or keyword or username) with its settings."""
    env = {**_env("kannel", shell), "SMS_GATEWAY_USER": "sms-gateway"}
    env["BOT_HOSTPORT"] = env["BOT_URL"].split("://", 1)[1]
    text = (ROOT / "config" / "kannel" / "kannel.conf.template").read_text(encoding="utf-8")
    rendered = re.sub(r"\$\{([A-Z_]+)\}", lambda m: env[m[1]], text)  # what envsubst does
    groups: dict[tuple[str, str], dict[str, str]] = {}
    for block in rendered.split("\n\n"):
        lines = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
        if not lines:
            continue
        values = {k.strip(): v.strip().strip('"') for k, _, v in (line.partition("=") for line in lines)}
        name = values.get("smsc-id") or values.get("keyword") or values.get("username") or ""
        groups[(values["group"], name)] = values
    return groups


def test_kannels_config_is_rendered_from_the_environment_and_matches_the_bot_and_the_phones() -> None:
    from bot.settings import Settings
    from gateway_mocks.kannel import KannelBox, mo_url

    conf = _kannel_conf()
    bot = Settings.from_env(_env("bot"))
    kannel_env = _env("kannel")
    # The bot logs in to sendsms as the user Kannel knows, on the port its URL names.
    user = conf[("sendsms-user", bot.kannel_username)]
    assert user["password"] == bot.kannel_password == kannel_env["KANNEL_PASSWORD"]
    assert conf[("smsbox", "")]["sendsms-port"] == bot.kannel_sendsms_url.split(":")[2].split("/")[0]
    assert user["concatenation"] == "true" and int(user["max-messages"]) >= 3
    # A citizen's SMS reaches the bot with the SMS gateway's Basic credential: the get-url the code itself makes.
    service = conf[("sms-service", "default")]
    assert service["get-url"] == mo_url("http://bot:8080", bot.sms_gateway_user, bot.sms_gateway_secret,
                                        with_time=True)
    assert service["max-messages"] == "0"  # the bot's answer never goes back to the phone as an SMS
    assert {"basic"} <= set(bot.sms_gateway_auth)
    assert int(conf[("smsbox", "")]["http-request-retry"]) > 0  # a webhook the bot did not take is made again
    # The mocks' phones connect where the fake SMSC listens.
    mocks = _compose()["services"]["mocks"]["command"]
    assert mocks[mocks.index("--kannel-smsc") + 1] == f"kannel:{conf[('smsc', 'phones')]['port']}"
    # Kannel masks nothing: its info and error lines would hold phones, texts and the get-url's credential.
    assert conf[("core", "")]["log-level"] == conf[("smsbox", "")]["log-level"] == "4"
    assert not any("access-log" in group for group in conf.values())
    generated = KannelBox("http://bot/x", directory=ROOT).config()
    assert generated.count("log-level = 4") == 2 and "access-log" not in generated
    for name in ("KANNEL_PASSWORD", "KANNEL_ADMIN_PASSWORD", "SMS_GATEWAY_SECRET"):
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", _compose()["services"]["kannel"]["environment"][name])


@pytest.mark.parametrize("name", ["KANNEL_PASSWORD", "KANNEL_ADMIN_PASSWORD"])
def test_compose_refuses_to_start_kannel_without_its_passwords(name: str) -> None:
    shell = {k: v for k, v in SHELL.items() if k != name}
    with pytest.raises(LookupError, match=name):
        _kannel_conf(shell)
