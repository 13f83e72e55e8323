"""An SMS no dialog carries (the information SMS to a phone with no dialog, a flood's acknowledgement) is a `notice`
job: a gateway that refuses it for now has it sent once it is back, exactly once, and operators see one that never
gets through in the dead letters.

The gateway mock refuses every send while `/mock/sms/faults` says `fail_rate: 1` (503, nothing kept). A failed job
is done again once it has been idle `JOB_CLAIM_IDLE_SECONDS`: 0.1 s here, so the retry comes by itself, and the tests
wait for the SMS to reach the phone (`gateway.wait_for`), never for a fixed time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.http.common import ENGINE, JOBS
from bot.notices import KIND as NOTICE
from bot.ops.texts import t
from tests.conftest import Running, start_running, stop_running
from tests.helpers import render, texts

# Every test here fails sends on purpose (tests/conftest.py: FAKE_SMSC_DELIVERS_EVERYTHING).
pytestmark = pytest.mark.aggregator_only

STRANGER = "+77011117701"  # no dialog ever wrote to it
OPS = {"Authorization": "Bearer dev-operator", "X-Operator": "Айгүл"}
ARRIVAL_SECONDS = 10  # the most a retried notice may take to reach the phone (it takes a fraction of a second)


async def _running(request: pytest.FixtureRequest, **settings: object) -> AsyncIterator[Running]:
    if request.param == "redis":
        request.applymarker(pytest.mark.integration)
    run, prefix = await start_running(request.param, job_claim_idle_seconds=0.1, **settings)
    try:
        yield run
    finally:
        await stop_running(run, prefix)


@pytest.fixture(params=["redis", "fakeredis"])
async def retrying(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    """Failed jobs done again after 0.1 s; given up only after the usual deliveries and ten minutes."""
    async for run in _running(request):
        yield run


@pytest.fixture(params=["redis", "fakeredis"])
async def giving_up(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    """Failed jobs done again after 0.1 s and given to the dead letters after two deliveries."""
    async for run in _running(request, job_max_deliveries=2, job_dead_letter_after_seconds=0):
        yield run


async def gateway_down(running: Running, down: bool = True) -> None:
    """Every send refused with 503 from now on (or, with False, taken again)."""
    async with running.client.session.post(f"{running.system.url}/mock/sms/faults",
                                           json={"fail_rate": 1.0 if down else 0.0}) as resp:
        assert resp.status == 200


def handed_over(running: Running) -> list[tuple[str, dict[str, Any]]]:
    """What the engine hands to the work queue from now on: (kind, payload), in order."""
    engine = running.system.runner.app[ENGINE]
    handed: list[tuple[str, dict[str, Any]]] = []
    real = engine.later

    async def later(kind: str, payload: dict[str, Any]) -> None:
        handed.append((kind, dict(payload)))
        await real(kind, payload)

    engine.later = later
    return handed


async def arrived(running: Running, msisdn: str, count: int) -> list[str]:
    return [m["text"] for m in await running.system.gateway.wait_for(msisdn, count, ARRIVAL_SECONDS)]


async def test_an_information_sms_the_gateway_refused_arrives_once_it_is_back(retrying: Running) -> None:
    client, gateway = retrying.client, retrying.system.gateway
    handed = handed_over(retrying)
    info = render("nodialog.info", "ru")
    await gateway_down(retrying)
    assert await client.phone_says(STRANGER, "привет, кто это?") == 202
    # The day's only information SMS was decided and refused: before, it was lost here for the day.
    assert await texts(client, STRANGER) == []
    assert gateway.failed_sends >= 1
    digits = STRANGER.lstrip("+")
    [(kind, payload)] = handed
    assert kind == NOTICE and payload["msg_id"] == "nodialog.info" and payload["language"] == "ru"
    assert payload["msisdn"] == STRANGER and payload["client_id"] == f"info-{digits}-2026-11-23"

    await gateway_down(retrying, False)  # the job is done again once idle, and goes through
    assert await arrived(retrying, STRANGER, 1) == [info]
    assert await client.phone_says(STRANGER, "алло?") == 202  # the same day: no second information SMS
    assert len(handed) == 1

    # The job done twice (a worker killed after the send, before its acknowledgement): the same client id, which
    # the gateway drops, so the phone has it once.
    dropped = gateway.duplicates_dropped
    result = await retrying.system.runner.app[JOBS].run(NOTICE, payload)
    assert result is not None and result["sent"] is True
    assert gateway.duplicates_dropped == dropped + 1
    assert await texts(client, STRANGER) == [info]


async def test_a_flood_acknowledgement_the_gateway_refused_arrives_once_it_is_back(retrying: Running) -> None:
    client = retrying.client
    handed = handed_over(retrying)
    assert await client.phone_says(STRANGER, "привет") == 202
    assert await texts(client, STRANGER) == [render("nodialog.info", "ru")]
    await gateway_down(retrying)
    for _ in range(24):
        assert await client.phone_says(STRANGER, "привет") == 202
    assert await texts(client, STRANGER) == [render("nodialog.info", "ru")]
    assert [p["msg_id"] for _, p in handed] == ["nodialog.info", "flood.ack"]
    assert handed[1][1]["client_id"].startswith(f"flood-{STRANGER.lstrip('+')}-")

    await gateway_down(retrying, False)
    assert await arrived(retrying, STRANGER, 2) == [render("nodialog.info", "ru"), render("flood.ack", "ru")]


async def test_a_notice_that_never_gets_through_is_a_dead_letter_an_operator_can_replay(giving_up: Running) -> None:
    client, engine = giving_up.client, giving_up.system.runner.app[ENGINE]
    await gateway_down(giving_up)
    assert await client.phone_says(STRANGER, "сәлем") == 202
    assert await giving_up.redis.xread({engine.store.keys.dead_letters(): "0-0"}, block=10_000), "no dead letter"

    async with client.session.get(f"{giving_up.system.url}/ops/api/dead-letters", headers=OPS) as resp:
        assert resp.status == 200
        [letter] = (await resp.json())["dead_letters"]
    assert letter["kind"] == NOTICE and letter["deliveries"] == 2
    assert "bad_status" in letter["error"] and STRANGER not in letter["error"]
    assert letter["payload"]["msg_id"] == "nodialog.info" and letter["payload"]["language"] == "kk"
    assert letter["payload"]["msisdn"] == "+7701***7701"  # masked, like every dead letter
    async with client.session.get(f"{giving_up.system.url}/ops/queue", headers=OPS) as resp:
        page = await resp.text()
    assert t("ru", "job.notice") in page and STRANGER.lstrip("+") not in page
    assert await texts(client, STRANGER) == []

    await gateway_down(giving_up, False)  # the gateway is back: an operator replays it
    async with client.session.post(f"{giving_up.system.url}/ops/api/dead-letters/{letter['id']}/replay",
                                   headers=OPS) as resp:
        assert resp.status == 200, await resp.text()
    assert await texts(client, STRANGER) == [render("nodialog.info", "kk")]
