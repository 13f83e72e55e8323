"""Work that fails every time lands in the dead letters, masked, in the operators' queue; a replay finishes it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.http.common import ENGINE
from tests.conftest import Running, start_running, stop_running
from tests.helpers import birth, texts

OPS = {"Authorization": "Bearer dev-operator", "X-Operator": "Айгүл"}
PHONE = "+77011119991"


class BrokenEgov:
    """An e-government client with a bug: every lookup raises something nobody expected."""

    async def person(self, iin: str) -> Any:
        raise RuntimeError(f"egov client bug for {iin}")


@pytest.fixture(params=["redis", "fakeredis"])
async def quick(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    """The system with entries taken over after 0.1 s and given up after two deliveries."""
    if request.param == "redis":
        request.applymarker(pytest.mark.integration)
    run, prefix = await start_running(request.param, job_claim_idle_seconds=0.1, job_max_deliveries=2,
                                      job_dead_letter_after_seconds=0)
    try:
        yield run
    finally:
        await stop_running(run, prefix)


async def _get(running: Running, path: str) -> Any:
    async with running.client.session.get(running.system.url + path, headers=OPS) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def _replay(running: Running, entry_id: str) -> int:
    async with running.client.session.post(f"{running.system.url}/ops/api/dead-letters/{entry_id}/replay",
                                           headers=OPS) as resp:
        return resp.status


async def test_failing_work_is_dead_lettered_shown_masked_and_replayed(quick: Running) -> None:
    engine = quick.system.runner.app[ENGINE]
    real = engine.egov
    engine.egov = BrokenEgov()  # type: ignore[assignment]
    status, _, _ = await birth(quick.client, msisdn=PHONE)
    assert status == 500  # the event's dialog is written; starting it failed
    await quick.client.advance(1)  # its start timer fails too, and again on each re-delivery
    assert await quick.redis.xread({engine.store.keys.dead_letters(): "0-0"}, block=10_000), "no dead letter"

    [letter] = (await _get(quick, "/ops/api/dead-letters"))["dead_letters"]
    assert letter["kind"] == "timer" and letter["deliveries"] == 2
    assert "egov client bug for 9204******49" in letter["error"]  # the IIN in the error is masked
    async with quick.client.session.get(f"{quick.system.url}/ops/queue", headers=OPS) as resp:
        page = await resp.text()
    assert f'data-entry-id="{letter["id"]}"' in page and "Выполнить снова" in page
    assert "920412412349" not in page
    assert await texts(quick.client, PHONE) == []

    engine.egov = real  # the bug is fixed; an operator replays the letter, which starts the dialog
    assert await _replay(quick, letter["id"]) == 200
    inbox = await texts(quick.client, PHONE)
    assert len(inbox) == 1 and "1 —" in inbox[0]
    assert (await _get(quick, "/ops/api/dead-letters"))["dead_letters"] == []
    assert await _replay(quick, letter["id"]) == 404
    assert await _replay(quick, "not-an-id") == 404
    assert await _replay(quick, "9" * 20 + "-" + "9" * 20) == 404  # past 2**64: not an id, not an outage
    await quick.client.advance(3600)
    assert len(await texts(quick.client, PHONE)) == 1  # nothing sent twice
