"""docker-compose.yml stays runnable: services, commands and wiring checked without a Docker engine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.settings import SECRETS, dev_secrets, weak_secret
from tests.helpers import production_secrets

ROOT = Path(__file__).resolve().parents[2]
SHELL = production_secrets()  # what an operator exports before `docker compose up`
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
    assert set(services) == {"redis", "bot", "worker", "mocks"}
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
    assert settings.sms_gateway_url.startswith("http://mocks:8090/mock/")
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
