"""docker-compose.yml stays runnable: services, commands and wiring checked without a Docker engine."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


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

    services = _compose()["services"]
    bot, worker = (Settings.from_env({k: str(v) for k, v in services[s]["environment"].items()})
                   for s in ("bot", "worker"))
    assert worker.with_(worker_concurrency=bot.worker_concurrency) == bot
    assert worker.worker_concurrency > 0


def test_bot_is_configured_for_every_gateway_and_real_redis() -> None:
    from bot.settings import Settings

    env = _compose()["services"]["bot"]["environment"]
    settings = Settings.from_env({k: str(v) for k, v in env.items()})
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.sms_gateway_url.startswith("http://mocks:8090/mock/")
    assert settings.egov_url.startswith("http://mocks:8090/mock/")
    assert settings.assignment_url.startswith("http://mocks:8090/mock/")
    # The secret the mocks sign callbacks with is the one the bot checks.
    mocks_env = _compose()["services"]["mocks"]["environment"]
    assert mocks_env["BACKEND_SECRET"] == env["BACKEND_SECRET"]


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
