"""Redis round trips and commands per citizen reply, counted on real Redis with tests/redis_counting.py.

Reported, not bounded yet: issue 16 aims at 4 round trips a reply. `pytest tests/integration/test_redis_traffic.py
-s` prints the table (each reply kind, the median over a few dialogs, and its commands by name).
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from bot.channels.base import Inbound, Outbound, Receipt
from bot.commands import Reply as StepReply
from bot.devclient import DevClient
from bot.devserver import start_dev
from bot.http.common import ENGINE
from bot.settings import Settings
from tests.conftest import MONDAY_10, REDIS_URL, Running, stop_running
from tests.helpers import FATHER_NO_ACCOUNT, MOTHER_WITH_HALYK, VALID_IBAN, birth
from tests.redis_counting import RedisTraffic, counting_redis

pytestmark = pytest.mark.integration
DIALOGS = 3  # each reply kind is measured once in each of these dialogs (after one to warm the connections up)


@dataclass(frozen=True)
class Reply:
    label: str
    parent: str
    before: list[str]  # replies that bring the dialog to the question
    text: str
    expect_status: str


REPLIES = [
    Reply("unclear reply, re-prompted", MOTHER_WITH_HALYK, [], "мүмкін", "awaiting_consent"),
    Reply("consent, account on record to confirm", MOTHER_WITH_HALYK, [], "иә", "awaiting_bank_account"),
    Reply("account confirmed, application submitted", MOTHER_WITH_HALYK, ["иә"], "1", "submitted"),
    Reply("consent, no account on record", FATHER_NO_ACCOUNT, [], "1", "awaiting_bank_account"),
    Reply("IBAN typed, application submitted", FATHER_NO_ACCOUNT, ["1"], VALID_IBAN, "submitted"),
]


@dataclass
class Counted:
    running: Running
    traffic: RedisTraffic


@pytest.fixture
async def counted() -> AsyncIterator[Counted]:
    """The dev system on real Redis through a counting client."""
    redis, traffic = counting_redis(REDIS_URL)
    await redis.ping()
    prefix = f"pbtest:{uuid.uuid4().hex[:10]}"
    system = await start_dev(port=0, clock_start=MONDAY_10, redis=redis, settings=Settings(key_prefix=prefix))
    running = Running(system, DevClient(aiohttp.ClientSession(), system.url), redis)
    try:
        yield Counted(running, traffic)
    finally:
        await stop_running(running, prefix)


async def test_the_counter_counts_round_trips_and_commands() -> None:
    redis, traffic = counting_redis(REDIS_URL)
    key = f"pbtest:{uuid.uuid4().hex[:10]}:counted"
    try:
        await redis.ping()  # opens the connection: its handshake is counted too, before `before`
        assert traffic.round_trips >= 2 and traffic.commands["PING"] == 1
        before = traffic.snapshot()
        await redis.set(key, "1", ex=60)
        single = traffic.since(before)
        assert (single.round_trips, single.command_count, dict(single.commands)) == (1, 1, {"SET": 1})
        before = traffic.snapshot()
        async with redis.pipeline(transaction=True) as pipe:
            await pipe.get(key).expire(key, 30).delete(key).execute()
        piped = traffic.since(before)
        assert piped.round_trips == 1
        assert dict(piped.commands) == {"MULTI": 1, "GET": 1, "EXPIRE": 1, "DEL": 1, "EXEC": 1}
    finally:
        await redis.aclose()


async def _reply_traffic(counted: Counted, reply: Reply, msisdn: str) -> RedisTraffic:
    client, system = counted.running.client, counted.running.system
    status, answer, _ = await birth(client, msisdn=msisdn, parent_iin=reply.parent, language="kk")
    assert status == 202, answer
    for text in reply.before:
        assert await client.phone_says(msisdn, text) == 202
    await system.gateway.flush()
    before = counted.traffic.snapshot()
    assert await client.phone_says(msisdn, reply.text) == 202
    await system.gateway.flush()  # the delivery reports of what the reply made the bot send
    spent = counted.traffic.since(before)
    assert (await client.dialog(answer["dialog_id"]))["status"] == reply.expect_status, reply.label
    return spent


async def test_round_trips_and_commands_per_citizen_reply(counted: Counted,
                                                          record_property: pytest.RecordProperty) -> None:
    # Warm up: the pool's connections are opened (CLIENT SETINFO…) and the scripts loaded once, not per reply.
    await _reply_traffic(counted, REPLIES[2], "+77010000000")
    table = []
    phones = iter(f"+7701{n:07d}" for n in range(1, 1000))
    for reply in REPLIES:
        spent = [await _reply_traffic(counted, reply, next(phones)) for _ in range(DIALOGS)]
        for one in spent:
            assert 0 < one.round_trips <= one.command_count, reply.label
        trips = statistics.median(s.round_trips for s in spent)
        commands = statistics.median(s.command_count for s in spent)
        typical = min(spent, key=lambda s: (abs(s.round_trips - trips), abs(s.command_count - commands)))
        table.append((reply.label, trips, commands, typical))
    record_property("redis_per_reply", {label: {"round_trips": t, "commands": c} for label, t, c, _ in table})
    mean_trips = statistics.mean(t for _, t, _, _ in table)
    mean_commands = statistics.mean(c for _, _, c, _ in table)
    print(f"\nRedis per citizen reply (median of {DIALOGS} dialogs; a reply's own step and the delivery reports "
          "of what it sent):")
    for label, trips, commands, typical in table:
        names = ", ".join(f"{name} {n}" for name, n in sorted(typical.commands.items(), key=lambda x: (-x[1], x[0])))
        print(f"  {label:45} {trips:5.1f} round trips {commands:6.1f} commands   ({names})")
    print(f"  {'mean of these kinds':45} {mean_trips:5.1f} round trips {mean_commands:6.1f} commands")


class Accepting:
    """An SMS channel that takes every message and reports nothing: the step alone is measured."""

    name = "sms"

    async def send(self, message: Outbound) -> Receipt:
        return Receipt(f"p-{message.client_id}")


# The engine's own round trips for one reply, without the queue around it or the reports after it: the flood count,
# the lock with every read in one script, the decision's commit, and its sends' commit, which lets the lock go.
# A consent reads the ledger's head as well (its records are chained to it). The reply that submits the
# application also commits the backend's answer (the submission is an effect whose result the step records) and
# hands the phone on, as the dialog stops waiting for the citizen: the slot cleared, the queue popped and the lock
# let go in one fenced script.
STEP_ROUND_TRIPS = {"unclear reply, re-prompted": 4, "consent, account on record to confirm": 5,
                    "consent, no account on record": 5, "account confirmed, application submitted": 6,
                    "IBAN typed, application submitted": 6}


async def test_round_trips_of_a_replys_own_step(counted: Counted) -> None:
    client, system = counted.running.client, counted.running.system
    engine = system.runner.app[ENGINE]
    engine.channels["sms"] = Accepting()
    spent: dict[str, RedisTraffic] = {}
    for n, reply in enumerate(REPLIES):
        msisdn = f"+7702{n:07d}"
        status, answer, _ = await birth(client, msisdn=msisdn, parent_iin=reply.parent, language="kk")
        assert status == 202, answer
        for k, text in enumerate(reply.before):
            await engine.run(StepReply(Inbound("sms", msisdn, text, f"traffic-{n}-{k}")))
        before = counted.traffic.snapshot()
        await engine.run(StepReply(Inbound("sms", msisdn, reply.text, f"traffic-{n}")))
        spent[reply.label] = counted.traffic.since(before)
        assert (await client.dialog(answer["dialog_id"]))["status"] == reply.expect_status, reply.label
    print("\nRedis per reply step (the engine alone: flood count, lock and reads, commits):")
    for label, traffic in spent.items():
        print(f"  {label:45} {_step_trips(traffic):3d} round trips {traffic.command_count:4d} commands")
    assert {label: _step_trips(traffic) for label, traffic in spent.items()} == STEP_ROUND_TRIPS


def _step_trips(traffic: RedisTraffic) -> int:
    """Round trips less the idle worker's polls that may fall in the same instants (each is a round trip alone)."""
    return traffic.round_trips - sum(traffic.commands[name] for name in ("XREADGROUP", "XAUTOCLAIM", "XCLAIM"))
