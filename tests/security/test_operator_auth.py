"""Attacks on the operators' way in: guessing the token, Bearer calls without a name, reveals in bulk, /metrics.

Each test makes the attack and asserts that nothing changed: no session, no reveal in the log, nothing leaked.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.clock import SimClock
from bot.devserver import embedded_redis
from bot.http.common import ENGINE
from bot.ops.sessions import OperatorState
from bot.settings import Settings
from bot.store import Keys
from tests.conftest import MONDAY_10, Running
from tests.helpers import MOTHER_WITH_HALYK, birth
from tests.security._ops import TOKEN, Console, redis_keys, system

WRONG = "guess-0123456789abcdef"


async def _call(running: Running, method: str, path: str, headers: dict[str, str] | None = None,
                body: Any = None) -> tuple[int, dict[str, str], Any]:
    async with running.client.session.request(method, f"{running.system.url}{path}", headers=headers or {},
                                              json=body) as resp:
        return resp.status, dict(resp.headers), await resp.json(content_type=None)


async def test_brute_forced_sign_ins_are_throttled_and_then_even_the_right_token_is_refused(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.ops")
    async with system(ops_auth_free_failures=3, ops_auth_free_failures_per_address=3,
                      ops_auth_backoff_seconds=60) as running:
        console = Console(running)
        try:
            statuses = [(await console.sign_in("Mallory", WRONG)).status for _ in range(4)]
            assert statuses == [401, 401, 401, 429]
            refused = await console.sign_in("Mallory", TOKEN)  # the right token, from the throttled address
            assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 60
            assert "Слишком много неудачных попыток" in await refused.text()  # the form again, with a notice
            assert "Set-Cookie" not in refused.headers and await redis_keys(running, "session") == []
            assert (await console.get("/ops"))[0] == 401
            await running.client.advance(int(refused.headers["Retry-After"]) + 1)  # the injected clock
            assert (await console.sign_in("Mallory", TOKEN)).status == 303
            assert len(await redis_keys(running, "session")) == 1
        finally:
            await console.close()
    failures = [r.getMessage() for r in caplog.records if "sign-in failed" in r.getMessage()]
    assert len(failures) == 4 and all("Mallory" in line for line in failures)
    assert WRONG not in caplog.text and TOKEN not in caplog.text  # failures are logged, tokens never


async def test_bearer_failures_are_throttled_per_operator_name_and_per_address(
        caplog: pytest.LogCaptureFixture) -> None:
    """A name past its free tries gets 429 for wrong tokens, but the right token still works under it: anyone can
    type a colleague's name, so only the address (the guesser's) refuses the right token."""
    async with system(ops_auth_free_failures=2, ops_auth_free_failures_per_address=4,
                      ops_auth_backoff_seconds=30) as running:
        def bearer(token: str, name: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}", "X-Operator": name}

        statuses = [(await _call(running, "GET", "/ops/api/counters", bearer(WRONG, "Mallory")))[0] for _ in range(3)]
        assert statuses == [401, 401, 429]
        status, headers, body = await _call(running, "GET", "/ops/api/counters", bearer(WRONG, "Mallory"))
        assert status == 429 and int(headers["Retry-After"]) >= 30 and body["errors"][0]["code"] == "throttled"
        # The address has failed 4 times: now over its own limit, whatever name it gives, the right token too.
        assert (await _call(running, "GET", "/ops/api/counters", bearer(WRONG, "Zhanna")))[0] == 429
        assert (await _call(running, "GET", "/ops/api/counters", bearer(TOKEN, "Dana")))[0] == 429
    async with system(ops_auth_free_failures=2, ops_auth_free_failures_per_address=100,
                      ops_auth_backoff_seconds=30) as running:
        for _ in range(5):  # someone fails under Aigerim's name ...
            await _call(running, "GET", "/ops/api/counters", bearer(WRONG, "Aigerim"))
        # ... and Aigerim, with the right token, is not locked out
        assert (await _call(running, "GET", "/ops/api/counters", bearer(TOKEN, "Aigerim")))[0] == 200
    assert WRONG not in caplog.text and TOKEN not in caplog.text


async def test_bearer_failures_on_v1_dialogs_count_with_the_console_s() -> None:
    async with system(ops_auth_free_failures=2, ops_auth_free_failures_per_address=2,
                      ops_auth_backoff_seconds=30) as running:
        wrong = {"Authorization": f"Bearer {WRONG}", "X-Operator": "Mallory"}
        statuses = [(await _call(running, "GET", "/v1/dialogs", wrong))[0] for _ in range(3)]
        assert statuses == [401, 401, 429]
        right = {"Authorization": f"Bearer {TOKEN}", "X-Operator": "Mallory"}
        for path in ("/v1/dialogs", "/ops/api/counters"):
            status, headers, body = await _call(running, "GET", path, right)
            assert status == 429 and "Retry-After" in headers and "dialogs" not in body, path


@pytest.mark.parametrize("store", ["redis", "fakeredis"])
async def test_reveal_needs_an_operator_name(store: str) -> None:
    async with system(store) as running:
        _, answer, _ = await birth(running.client, msisdn="+77011118001", parent_iin=MOTHER_WITH_HALYK)
        path = f"/ops/api/dialogs/{answer['dialog_id']}"
        status, _, body = await _call(running, "POST", f"{path}/reveal", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 422 and body["errors"][0]["field"] == "X-Operator"
        assert body["errors"][0]["code"] == "required"
        assert "+77011118001" not in str(body) and MOTHER_WITH_HALYK not in str(body)
        log = await running.system.runner.app[ENGINE].store.dialog_log(answer["dialog_id"])
        assert [r for r in log if r["type"] == "operator"] == []  # no reveal was made, none logged as "api"
        assert (await _metrics(running))["proactive_bot_reveals_refused_total{reason=unnamed}"] == 1


async def test_reveals_are_limited_per_operator_and_counted_in_metrics() -> None:
    async with system(ops_reveals_per_hour=2) as running:
        _, answer, _ = await birth(running.client, msisdn="+77011118002")
        path = f"/ops/api/dialogs/{answer['dialog_id']}/reveal"
        dana = {"Authorization": f"Bearer {TOKEN}", "X-Operator": "Dana"}
        assert [(await _call(running, "POST", path, dana))[0] for _ in range(2)] == [200, 200]
        status, headers, body = await _call(running, "POST", path, dana)
        assert status == 429 and int(headers["Retry-After"]) > 0 and "+77011118002" not in str(body)
        assert (await _call(running, "POST", path, {**dana, "X-Operator": "Aigerim"}))[0] == 200
        console = Console(running)
        try:
            await console.sign_in("Dana")  # the same operator in a browser: the same hourly limit
            status, page = await console.post(f"/ops/dialogs/{answer['dialog_id']}/reveal")
            assert status == 429 and "+77011118002" not in page and 'data-testid="revealed"' not in page
        finally:
            await console.close()
        log = await running.system.runner.app[ENGINE].store.dialog_log(answer["dialog_id"])
        assert [r["operator"] for r in log if r.get("action") == "reveal"] == ["Dana", "Dana", "Aigerim"]
        metrics = await _metrics(running)
        assert metrics["proactive_bot_operator_actions_total{action=reveal}"] == 3
        assert metrics["proactive_bot_reveals_refused_total{reason=limited}"] == 2


async def _metrics(running: Running, token: str | None = None) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with running.client.session.get(f"{running.system.url}/metrics", headers=headers) as resp:
        assert resp.status == 200
        text = await resp.text()
    return {f"{s.name}{{{','.join(f'{k}={v}' for k, v in sorted(s.labels.items()))}}}": s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_without_the_metrics_token_are_refused() -> None:
    token = "m" * 40
    async with system(metrics_token=token) as running:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}"},
                        {"Authorization": "Bearer \u00b2"}, {"Authorization": token}):  # a bare token is no scheme
            async with running.client.session.get(f"{running.system.url}/metrics", headers=headers) as resp:
                text = await resp.text()
                assert resp.status == 401 and "proactive_bot" not in text, headers
        assert "proactive_bot_dialogs_needing_attention{}" in await _metrics(running, token)


async def test_cookies_are_secure_and_hsts_is_sent_when_the_console_is_behind_https() -> None:
    async with system(ops_secure_cookies=True) as running, aiohttp.ClientSession() as session:
        async with session.post(f"{running.system.url}/ops/login", allow_redirects=False,
                                data={"token": TOKEN, "name": "Aigerim", "lang": "ru"}) as signed_in:
            assert signed_in.status == 303 and "Secure" in signed_in.headers["Set-Cookie"]
            assert signed_in.headers["Strict-Transport-Security"].startswith("max-age=")
    async with system() as running, aiohttp.ClientSession() as session:  # plain http in dev: no HSTS
        async with session.get(f"{running.system.url}/ops", allow_redirects=False) as resp:
            assert resp.status == 401 and "Strict-Transport-Security" not in resp.headers


BAD_QUERIES = ["cursor=\u00b2", "cursor=-1", "cursor=1e3", "cursor=" + "9" * 40, "from=9999-12-31", "to=0001-01-01",
               "from=\u00b2\u00b2", "from=31.02.2026", "search=%ED%A0%80"]


@pytest.mark.parametrize("path, query", [*(("/ops", q) for q in BAD_QUERIES), *(("/ops/api/dialogs", q) for q in (
    *BAD_QUERIES, "limit=\u00b2", "limit=0", "limit=201"))])
async def test_a_malformed_list_query_is_a_422_not_a_500(running: Running, path: str, query: str) -> None:
    api = {"Authorization": f"Bearer {TOKEN}", "X-Operator": "Dana"}
    async with running.client.session.get(f"{running.system.url}{path}?{query}", headers=api) as resp:
        assert resp.status in (400, 422), (path, query, resp.status)
        assert "Traceback" not in await resp.text()


async def test_each_further_failure_doubles_the_wait_up_to_the_cap() -> None:
    settings = Settings().with_(ops_auth_free_failures=2, ops_auth_backoff_seconds=2, ops_auth_backoff_max_seconds=20)
    clock = SimClock(MONDAY_10)
    state = OperatorState(embedded_redis(), Keys("pbunit"), clock, settings)
    waits = [await state.failed("10.0.0.1", "Mallory") for _ in range(7)]
    assert waits == [0, 0, 2, 4, 8, 16, 20]
    assert await state.wait_seconds("10.0.0.1", "mallory") == 20  # names are compared case-insensitively
    assert await state.wait_seconds("10.0.0.2", "Dana") == 0  # another address and name are not held up
    await clock.advance(20)
    assert await state.wait_seconds("10.0.0.1", "Mallory") == 0
    await state.succeeded("10.0.0.1", "Mallory")
    assert await state.failed("10.0.0.1", "Mallory") == 0  # a right token started the count afresh


async def test_behind_a_trusted_proxy_failures_count_against_the_address_it_saw() -> None:
    """One office guessing cannot lock out another behind the same proxy; a spoofed header without one changes
    nothing (the peer is counted)."""
    async with system(ops_auth_free_failures=100, ops_auth_free_failures_per_address=2, ops_auth_backoff_seconds=30,
                      trusted_proxies=("127.0.0.1",)) as running:
        def via(office: str, token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}", "X-Operator": "Mallory", "X-Forwarded-For": office}

        statuses = [(await _call(running, "GET", "/ops/api/counters", via("192.0.2.10", WRONG)))[0] for _ in range(3)]
        assert statuses == [401, 401, 429]
        assert (await _call(running, "GET", "/ops/api/counters", via("192.0.2.10", TOKEN)))[0] == 429
        assert (await _call(running, "GET", "/ops/api/counters", via("192.0.2.20", TOKEN)))[0] == 200
    async with system(ops_auth_free_failures=100, ops_auth_free_failures_per_address=2,
                      ops_auth_backoff_seconds=30) as running:  # no trusted proxy: X-Forwarded-For is anyone's
        for office in ("192.0.2.10", "192.0.2.11", "192.0.2.12"):
            status = (await _call(running, "GET", "/ops/api/counters", via(office, WRONG)))[0]
        assert status == 429  # all three counted against the one peer
