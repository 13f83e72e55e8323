"""Issue 11, item 2: production refuses weak secrets; `dev`, `demo` and the tests keep their published ones.

`serve` and `worker` are run as the console script, as an operator would: with a weak secret each exits 2 with
one line naming the variable, before it touches Redis or opens a port.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.settings import SECRETS, Settings, dev_secrets, weak_secret
from tests.conftest import REDIS_URL
from tests.helpers import production_secrets

BIN = Path(sys.executable).parent / "proactive-bot"
STRONG = production_secrets()


@dataclass
class Case:
    label: str
    changes: dict[str, str | None]  # None: the variable is unset
    names: str  # the variable the refusal must name


CASES = [
    *(Case(f"{name} unset", {name: None}, name) for name in SECRETS),
    *(Case(f"{name} empty", {name: ""}, name) for name in SECRETS),
    *(Case(f"{name} of 31 bytes", {name: "k" * 31}, name) for name in SECRETS),
    Case("EVENTS_SECRET of 16 two-byte letters (32 bytes) is long enough, OPERATOR_TOKEN is not",
         {"EVENTS_SECRET": "ж" * 16, "OPERATOR_TOKEN": "ж" * 15}, "OPERATOR_TOKEN"),
    *(Case(f"{name} = {secret}", {name: secret}, name) for name in SECRETS for secret in sorted(dev_secrets())),
    Case("Telegram on with its dev secret", {"TELEGRAM_TOKEN": "1" * 46, "TELEGRAM_SECRET": "dev-telegram-secret"},
         "TELEGRAM_SECRET"),
    Case("Telegram on without a secret", {"TELEGRAM_TOKEN": "1" * 46}, "TELEGRAM_SECRET"),
    Case("Telegram on with the dev token", {"TELEGRAM_TOKEN": "dev-token", "TELEGRAM_SECRET": "s" * 40},
         "TELEGRAM_TOKEN"),
]


def _env(changes: dict[str, str | None]) -> dict[str, str]:
    env = {**STRONG, **{k: v for k, v in changes.items() if v is not None}}
    return {k: v for k, v in env.items() if k not in {k for k, v in changes.items() if v is None}}


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_a_weak_secret_is_named(case: Case) -> None:
    problem = weak_secret(_env(case.changes))
    assert problem is not None and problem.startswith(case.names + " ")


def test_strong_secrets_pass_and_telegram_off_needs_none_of_its_own() -> None:
    assert weak_secret(STRONG) is None
    assert weak_secret({**STRONG, "TELEGRAM_TOKEN": ""}) is None
    assert weak_secret({**STRONG, "TELEGRAM_TOKEN": "123:" + "A" * 40, "TELEGRAM_SECRET": "s" * 40}) is None


def test_every_dev_default_the_issue_names_is_refused() -> None:
    named = {"dev-secret", "dev-operator", "dev-backend-secret", "dev-telegram-secret", "dev-token",
             "dev-sms-gateway-secret", "dev-ussd-gateway-secret", "dev-sms-client-id-secret"}
    assert named <= dev_secrets()
    # …and they are what dev and the tests run on.
    dev = Settings()
    assert {dev.events_secret, dev.operator_token, dev.backend_secret, dev.sms_gateway_secret,
            dev.ussd_gateway_secret, dev.sms_client_id_secret} <= named


async def _run(command: str, env: dict[str, str]) -> tuple[int, list[str]]:
    base = {k: v for k, v in os.environ.items() if k not in SECRETS and not k.startswith("TELEGRAM_")}
    proc = await asyncio.create_subprocess_exec(
        str(BIN), command, *(["--port", "0"] if command == "serve" else []),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**base, **env})
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert out == b""  # nothing started: no "serve on port", no "worker doing queued work"
    assert proc.returncode is not None
    return proc.returncode, err.decode().splitlines()


REFUSED = [
    ("serve", Case("EVENTS_SECRET unset", {"EVENTS_SECRET": None}, "EVENTS_SECRET")),
    ("serve", Case("OPERATOR_TOKEN empty (it would sign anyone in)", {"OPERATOR_TOKEN": ""}, "OPERATOR_TOKEN")),
    ("serve", Case("BACKEND_SECRET a dev default", {"BACKEND_SECRET": "dev-backend-secret"}, "BACKEND_SECRET")),
    ("serve", Case("SMS_GATEWAY_SECRET short", {"SMS_GATEWAY_SECRET": "x" * 31}, "SMS_GATEWAY_SECRET")),
    ("serve", Case("TELEGRAM_SECRET a dev default",
                   {"TELEGRAM_TOKEN": "1" * 46, "TELEGRAM_SECRET": "dev-telegram-secret"}, "TELEGRAM_SECRET")),
    ("worker", Case("EVENTS_SECRET a dev default", {"EVENTS_SECRET": "dev-secret"}, "EVENTS_SECRET")),
    ("worker", Case("SMS_CLIENT_ID_SECRET unset", {"SMS_CLIENT_ID_SECRET": None}, "SMS_CLIENT_ID_SECRET")),
    ("worker", Case("USSD_GATEWAY_SECRET a dev default", {"USSD_GATEWAY_SECRET": "dev-ussd-gateway-secret"},
                    "USSD_GATEWAY_SECRET")),
]


@pytest.mark.parametrize(("command", "case"), REFUSED, ids=[f"{c}: {k.label}" for c, k in REFUSED])
async def test_serve_and_worker_refuse_a_weak_secret_with_one_line_and_exit_2(command: str, case: Case) -> None:
    prefix = f"pbtest:{uuid.uuid4().hex[:10]}"
    code, lines = await _run(command, {**_env(case.changes), "REDIS_URL": REDIS_URL, "KEY_PREFIX": prefix})
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"proactive-bot {command}: {case.names} "), lines
    assert not any(value and value in lines[0] for value in case.changes.values())  # never the secret itself
    redis = Redis.from_url(REDIS_URL)
    try:
        assert [k async for k in redis.scan_iter(match=f"{prefix}:*")] == []  # it never queued or polled
    finally:
        await redis.aclose()


async def test_a_bad_gateway_setting_is_one_line_too() -> None:
    code, lines = await _run("serve", {**STRONG, "REDIS_URL": REDIS_URL, "SMS_GATEWAY_ALLOW": "10.0.0.0/33"})
    assert code == 2 and len(lines) == 1 and "SMS_GATEWAY_ALLOW" in lines[0]
    code, lines = await _run("worker", {**STRONG, "REDIS_URL": REDIS_URL, "USSD_GATEWAY_AUTH": "hmac,password"})
    assert code == 2 and len(lines) == 1 and "USSD_GATEWAY_AUTH" in lines[0]


# ---- one secret per registry (EVENTS_SECRETS) ------------------------------------------------------------


ZAGS, MSE = "z" * 40, "m" * 40


def test_registry_secrets_are_read_and_checked() -> None:
    env = {**STRONG, "EVENTS_SECRETS": f"zags:{ZAGS}, mse:{MSE}"}
    assert Settings.from_env(env).events_secrets == (("zags", ZAGS), ("mse", MSE))
    del env["EVENTS_SECRET"]  # not used then
    assert weak_secret(env) is None
    for secrets_, named in ((f"zags:{ZAGS},mse:short", "EVENTS_SECRETS (mse) is shorter"),
                            (f"zags:dev-secret,mse:{MSE}", "EVENTS_SECRETS (zags) is a dev default")):
        problem = weak_secret({**env, "EVENTS_SECRETS": secrets_})
        assert problem is not None and problem.startswith(named)
    for bad in ("zags", f"ZAGS:{ZAGS}", f"zags:{ZAGS},zags:{MSE}", f":{ZAGS}"):
        with pytest.raises(ValueError, match="EVENTS_SECRETS"):
            Settings.from_env({**env, "EVENTS_SECRETS": bad})


async def test_a_cancel_is_taken_only_from_the_registry_that_sent_the_event() -> None:
    from bot.http.common import STORE
    from gateway_mocks.registry import cancel_event
    from tests.conftest import start_running, stop_running
    from tests.helpers import birth_event_now, texts

    running, prefix = await start_running("redis", events_secrets=(("zags", ZAGS), ("mse", MSE)))
    try:
        client, phone = running.client, "+77011119101"
        event = await birth_event_now(client, phone)
        assert (await client.post_event(event))[0] == 401  # the shared EVENTS_SECRET no longer signs
        status, answer = await client.post_event(event, secret=ZAGS)
        assert status == 202 and answer["status"] == "awaiting_consent"
        store = running.system.runner.app[STORE]
        dialog = await store.load(answer["dialog_id"])
        assert dialog is not None and dialog.registry == "zags"
        await running.system.gateway.flush()  # the offer's delivery report is in
        before = (await client.dialog(answer["dialog_id"]), await texts(client, phone))
        now = (await client.clock())["now"]
        forged = cancel_event("mse-cancel-1", cancels=event["event_id"], registered_at=now)
        status, refused = await client.post_event(forged, secret=MSE)
        assert status == 403 and refused["errors"][0]["code"] == "other_registry"
        assert (await client.dialog(answer["dialog_id"]), await texts(client, phone)) == before
        assert await store.event_dialog("mse-cancel-1") is None  # its id was not claimed either
        real = cancel_event("zags-cancel-1", cancels=event["event_id"], registered_at=now)
        status, done = await client.post_event(real, secret=ZAGS)
        assert status == 202 and done["status"] == "cancelled"
    finally:
        await stop_running(running, prefix)
