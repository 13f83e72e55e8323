"""The same code on a 3-node Redis Cluster: the core flow end to end, each step's writes in one hash slot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.devclient import DevClient
from bot.devserver import start_dev
from bot.settings import Settings
from bot.store import Keys
from tests.conftest import MONDAY_10, Running
from tests.helpers import FATHER_NO_ACCOUNT, VALID_IBAN, birth, render, texts
from tests.redis_servers import Cluster, redis_cluster

pytestmark = pytest.mark.integration
PREFIX = "pbcluster"


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with redis_cluster(nodes=3) as c:
        yield c


@pytest.fixture
async def on_cluster(cluster: Cluster) -> AsyncIterator[Running]:
    redis = cluster.client()
    # Four shards, so that the test's phones land on more than one node.
    system = await start_dev(port=0, clock_start=MONDAY_10, redis=cast(Redis, redis),
                             settings=Settings(key_prefix=PREFIX, shards=4))
    session = aiohttp.ClientSession()
    try:
        yield Running(system, DevClient(session, system.url), cast(Redis, redis))
    finally:
        await session.close()
        await system.stop()


async def _node_of(cluster: Cluster, key: str) -> int:
    """The port of the node that serves `key`'s slot."""
    redis = cluster.client()
    await redis.initialize()
    node = redis.get_node_from_key(key)
    assert node is not None
    return int(node.port)


async def test_the_whole_dialog_runs_on_a_cluster(on_cluster: Running, cluster: Cluster) -> None:
    client = on_cluster.client
    phones = ["+77011230001", "+77011230002", "+77011230003", "+77011230004"]
    keys = Keys(PREFIX, 4)
    nodes = {await _node_of(cluster, keys.phone(p)) for p in phones}
    assert len(nodes) >= 2, "the phones' shards should live on more than one node"

    answers = []
    for phone in phones:
        status, answer, _ = await birth(client, msisdn=phone, parent_iin=FATHER_NO_ACCOUNT, language="ru")
        assert status == 202 and answer["status"] == "awaiting_consent"
        answers.append(answer)
    for phone in phones:
        assert await client.phone_says(phone, "да") == 202
        assert await client.phone_says(phone, VALID_IBAN) == 202
    await client.advance(3600)  # the backend decides an hour after submission and calls back
    for phone, answer in zip(phones, answers, strict=True):
        dialog = await client.dialog(answer["dialog_id"])
        assert dialog["status"] == "assigned", dialog["history"]
        assert dialog["consent"]["application_date"] == "2026-11-23"
        inbox = await texts(client, phone)
        assert inbox[0] == render("consent.ask.birth", "ru", event_date="23.11.2026", hours=72)
        assert len(inbox) == 4  # offer, account asked, application registered, decision

    # A gateway repeating an inbound message: one effect, also on a cluster.
    body = {"message_id": "cluster-agg-1", "from": phones[0], "to": "1414", "text": "?"}
    for _ in range(2):
        assert (await client.post_sms(body))[0] == 200
    dialog = await client.dialog(answers[0]["dialog_id"])
    assert sum(1 for line in dialog["transcript"] if line["direction"] == "in") == 3

    # The operators' views read every shard.
    status, listed = await client.dialogs()
    assert status == 200 and {d["dialog_id"] for d in listed["dialogs"]} >= {a["dialog_id"] for a in answers}
    status, one = await client.dialogs(msisdn=phones[1])
    assert [d["dialog_id"] for d in one["dialogs"]] == [answers[1]["dialog_id"]]
    async with client.session.get(f"{on_cluster.system.url}/ops/api/counters",
                                  headers={"Authorization": "Bearer dev-operator", "X-Operator": "t"}) as resp:
        counters = await resp.json()
    assert counters["new"] == 4 and counters["consents"] == 4


async def test_a_duplicate_event_and_a_replayed_event_on_a_cluster(on_cluster: Running) -> None:
    client = on_cluster.client
    status, first, event = await birth(on_cluster.client, msisdn="+77011230011")
    assert status == 202
    status, again = await client.post_event(event)
    assert status == 200 and again["dialog_id"] == first["dialog_id"]
    child = event["children"][0]["iin"]
    status, dup, _ = await birth(client, msisdn="+77011230012", child_iins=[child])
    assert status == 202 and dup["status"] == "duplicate"
    assert len(await texts(client, "+77011230011")) == 1 and await texts(client, "+77011230012") == []


async def test_the_consent_ledger_on_a_cluster(on_cluster: Running) -> None:
    """Records written beside the dialog in its step's transaction, chained right after; one left behind by a
    worker that stopped in between is chained by the dialog's next save, once."""
    import json

    from bot.http.common import ENGINE
    from bot.ledger import canonical, verify

    client = on_cluster.client
    store = on_cluster.system.runner.app[ENGINE].store
    phones = ["+77011230021", "+77011230022", "+77011230023"]
    answers = []
    for phone in phones:
        _, answer, _ = await birth(client, msisdn=phone, parent_iin=FATHER_NO_ACCOUNT, language="ru")
        answers.append(answer)
        assert await client.phone_says(phone, "да") == 202
    head, base = await store.ledger_head()
    assert verify(await store.ledger_lines(), head, base) == (3, [])
    for answer in answers:
        assert await on_cluster.redis.llen(store.keys.ledger_pending(answer["dialog_id"])) == 0

    # A worker stopped after the step's transaction, before chaining: its record waits beside the dialog.
    left = {"id": f"{answers[0]['dialog_id']}:99", "act": "account_typed", "dialog_id": answers[0]["dialog_id"],
            "at": "2026-11-23T05:10:00Z"}
    await on_cluster.redis.rpush(store.keys.ledger_pending(answers[0]["dialog_id"]), canonical(left))
    assert await client.phone_says(phones[0], "?") == 202  # the dialog's next save chains it
    assert await client.phone_says(phones[0], "??") == 202  # and only once
    head, base = await store.ledger_head()
    records = [json.loads(line) for line in await store.ledger_lines()]
    assert verify(await store.ledger_lines(), head, base) == (4, [])
    assert [r["id"] for r in records].count(left["id"]) == 1
