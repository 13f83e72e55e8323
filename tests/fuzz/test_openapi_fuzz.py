"""The served OpenAPI file, fuzzed with schemathesis (bounded): no 5xx, and every 4xx is well-formed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent / "proactive-bot"
GATEWAYS = {"/v1/inbound/sms": ("sms-gateway", "dev-sms-gateway-secret"),
            "/v1/inbound/sms/status": ("sms-gateway", "dev-sms-gateway-secret"),
            "/v1/inbound/sms/kannel": ("sms-gateway", "dev-sms-gateway-secret"),
            "/v1/ussd": ("ussd-gateway", "dev-ussd-gateway-secret")}
SCHEMA = schemathesis.openapi.from_path(ROOT / "bot" / "openapi.json").include(path_regex=r"^/(v1|healthz|readyz)")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HOST": "127.0.0.1", "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([str(BIN), "dev", "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    assert b"proactive-bot dev on" in proc.stdout.readline()  # printed once it serves
    yield f"http://127.0.0.1:{port}"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


@SCHEMA.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_every_4xx_lists_its_problems(case: schemathesis.Case, base_url: str) -> None:
    headers = {"Authorization": "Bearer dev-operator"} if case.path.startswith("/v1/dialogs") else {}
    if case.path in GATEWAYS:  # the gateway's credential, so that its bodies are fuzzed past the check
        headers = {"Authorization": aiohttp.encode_basic_auth(*GATEWAYS[case.path])}
    response = case.call(base_url=base_url, headers=headers, timeout=10)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/json"), (response.status_code, response.text[:200])
        body = json.loads(response.text)
        assert isinstance(body.get("errors"), list) and body["errors"], body
        for error in body["errors"]:
            assert {"field", "code", "message"} <= set(error), error
