"""Closed dialogs archived after COMPACT_CLOSED_AFTER_DAYS: every reader shows them as before, a fraction of the
memory stays, a late reply or delivery report is answered as for any closed dialog, and the ledger still verifies."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.fencing import Fence, LockLost
from bot.http.common import ENGINE, STORE
from bot.ledger import verify
from bot.logtail import LogFilter, tail
from bot.packing import ARCHIVE_V1
from bot.store import Store, dialog_shard
from tests.conftest import Running, start_running, stop_running
from tests.helpers import birth, render, texts

DAYS = 5  # COMPACT_CLOSED_AFTER_DAYS in these tests
OPS = {"Authorization": "Bearer dev-operator", "X-Operator": "Dana"}
NONCE = re.compile(r'nonce="[^"]*"')
PHONES = {"declined": "+77011117001", "opted_out": "+77011117002", "assigned": "+77011117003",
          "expired": "+77011117004"}


@pytest.fixture(params=["redis", "fakeredis"])
async def compacting(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    """The whole system with closed dialogs archived DAYS after their last change."""
    if request.param == "redis":
        request.applymarker(pytest.mark.integration)
    run, prefix = await start_running(request.param, compact_closed_after_days=DAYS)
    try:
        yield run
    finally:
        await stop_running(run, prefix)


def _store(running: Running) -> Store:
    store: Store = running.system.runner.app[STORE]
    return store


async def close_four(running: Running) -> dict[str, str]:
    """Four dialogs ended four ways (declined, opted out, assigned, expired), every delivery report in: name → id."""
    client = running.client
    ids = {}
    for name, phone in PHONES.items():
        _, answer, _ = await birth(client, msisdn=phone)
        ids[name] = answer["dialog_id"]
    await client.phone_says(PHONES["declined"], "2")
    await client.phone_says(PHONES["opted_out"], "STOP")
    await client.phone_says(PHONES["assigned"], "1")
    await client.advance(running.system.settings.duplicate_window_seconds + 1)  # the same key, once it was read
    await client.phone_says(PHONES["assigned"], "1")
    await client.advance(73 * 3600)  # the decision comes; the silent one expires
    await running.system.gateway.flush()
    for name, dialog_id in ids.items():
        assert (await client.dialog(dialog_id))["status"] == name
    return ids


async def views(running: Running, dialog_id: str) -> dict[str, Any]:
    """Everything a reader shows of a dialog: the API, the console's API and page, `logs --dialog`, the store."""
    store = _store(running)
    session, url = running.client.session, running.system.url
    async with session.get(f"{url}/ops/api/dialogs/{dialog_id}", headers=OPS) as resp:
        assert resp.status == 200
        console = await resp.json()
    async with session.get(f"{url}/ops/dialogs/{dialog_id}", headers=OPS) as resp:
        assert resp.status == 200
        page = NONCE.sub('nonce=""', await resp.text())  # the page's CSP nonce is new with each request
    lines: list[str] = []
    await tail(store, LogFilter(dialog_id=dialog_id), lines.append, as_json=True)
    dialog = await store.load(dialog_id)
    assert dialog is not None
    stored = json.loads(dialog.to_json())
    del stored["timers"]  # the `compact` timer is the one thing archiving takes away
    async with session.get(f"{url}/ops/api/dialogs", params={"search": dialog.msisdn}, headers=OPS) as resp:
        found = await resp.json()  # the console's search by phone
    return {"api": await running.client.dialog(dialog_id), "api_list": await running.client.dialogs(
                msisdn=dialog.msisdn), "console": console, "console_search": found, "page": page, "logs": lines,
            "stored": stored, "log": await store.dialog_log(dialog_id), "ledger": await store.dialog_ledger(dialog_id)}


async def own_keys(running: Running, dialog_id: str) -> dict[str, Any]:
    """The dialog's own keys that exist, with their type."""
    keys = _store(running).keys
    names = [keys.dialog(dialog_id), keys.dialog_log(dialog_id), keys.dialog_log_archive(dialog_id),
             keys.deliveries(dialog_id)]
    found = {}
    for name in names:
        kind = await running.redis.type(name)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind != "none":
            found[name.removeprefix(keys.dialog(dialog_id)) or "dialog"] = kind
    return found


async def is_archived(running: Running, dialog_id: str) -> bool:
    raw = await running.redis.get(_store(running).keys.dialog(dialog_id))
    return isinstance(raw, bytes) and raw[:1] == ARCHIVE_V1


async def ledger_problems(running: Running) -> list[str]:
    store = _store(running)
    head, base = await store.ledger_head()
    return verify(await store.ledger_lines(), head, base)[1]


async def test_closed_dialogs_read_the_same_once_archived(compacting: Running) -> None:
    running = compacting
    ids = await close_four(running)
    before = {name: await views(running, dialog_id) for name, dialog_id in ids.items()}
    assert [await is_archived(running, d) for d in ids.values()] == [False] * len(ids)
    await running.client.advance(DAYS * 86400 + 3600)
    store = _store(running)
    for name, dialog_id in ids.items():
        assert await is_archived(running, dialog_id), name
        assert await own_keys(running, dialog_id) == {"dialog": "string", ":logz": "string"}, name
        assert await running.redis.pttl(store.keys.dialog_log_archive(dialog_id)) > 300 * 86400 * 1000
        assert await running.redis.zscore(store.keys.timers(dialog_shard(dialog_id)), dialog_id) is None
        after = await views(running, dialog_id)
        for view in before[name]:
            assert after[view] == before[name][view], (name, view)
    assert await store.next_timer() is None  # nothing left to fire for them
    acts = sorted(r["act"] for r in json.loads("[" + ",".join(await store.ledger_lines()) + "]"))
    assert acts == ["account_confirmed", "consent", "decline", "opt_out"]
    assert await ledger_problems(running) == []


@pytest.mark.integration
async def test_archiving_keeps_a_fraction_of_a_closed_dialogs_memory() -> None:
    """MEMORY USAGE (real Redis) of the dialog's own keys: record, log, delivery reports beside it."""
    running, prefix = await start_running("redis", compact_closed_after_days=DAYS)
    try:
        await _measure(running)
    finally:
        await stop_running(running, prefix)


async def _measure(running: Running) -> None:
    ids = await close_four(running)

    async def used(dialog_id: str) -> int:
        keys = _store(running).keys
        names = [keys.dialog(dialog_id), keys.dialog_log(dialog_id), keys.dialog_log_archive(dialog_id),
                 keys.deliveries(dialog_id)]
        return sum([int(await running.redis.memory_usage(name, samples=0) or 0) for name in names])

    before = {name: await used(dialog_id) for name, dialog_id in ids.items()}
    await running.client.advance(DAYS * 86400 + 3600)
    after = {name: await used(dialog_id) for name, dialog_id in ids.items()}
    # Measured on Redis 7.0 (jemalloc): 1096 → 496 (declined), 1096 → 576 (opted out), 1736 → 752 (assigned),
    # 1224 → 560 (expired) bytes.
    for name in ids:
        assert after[name] < 0.6 * before[name], (name, before[name], after[name])
    assert sum(after.values()) < 0.5 * sum(before.values()) and sum(after.values()) / len(after) < 700, after


async def test_a_late_reply_to_an_archived_dialog_is_no_consent_and_is_answered_as_before(
        compacting: Running) -> None:
    running = compacting
    client, store = running.client, _store(running)
    ids = await close_four(running)
    await client.advance(DAYS * 86400 + 3600)
    chain = await store.ledger_lines()
    logs = {name: await store.dialog_log(dialog_id) for name, dialog_id in ids.items()}
    for name in ("declined", "expired", "opted_out"):
        assert await client.phone_says(PHONES[name], "1") == 202
    await running.system.gateway.flush()
    # The same answers a closed dialog always gets: information, the offer has lapsed, silence after STOP.
    assert (await texts(client, PHONES["declined"]))[-1] == render("nodialog.info", "kk")
    assert (await texts(client, PHONES["expired"]))[-1] == render("offer.lapsed", "kk")
    assert (await texts(client, PHONES["opted_out"]))[-1] == render("optout.ack", "kk")
    for name in ("declined", "expired", "opted_out"):
        assert (await client.dialog(ids[name]))["status"] == name
    assert await store.ledger_lines() == chain  # no consent, no act of any kind
    # The reply is on the dialog, which is saved in its ordinary form again, its log whole and in order.
    for name in ("declined", "expired"):
        dialog = await store.load(ids[name])
        assert dialog is not None and dialog.transcript[-2]["text"] == "1" and "compact" in dialog.timers
        assert not await is_archived(running, ids[name])
        log = await store.dialog_log(ids[name])
        assert log[:len(logs[name])] == logs[name] and any(r.get("direction") == "in" for r in log[len(logs[name]):])
    assert await is_archived(running, ids["opted_out"])  # silence writes nothing
    reopened = {name: await views(running, ids[name]) for name in ("declined", "expired")}
    await client.advance(DAYS * 86400 + 3600)
    for name in ("declined", "expired"):
        assert await is_archived(running, ids[name])
        assert await views(running, ids[name]) == reopened[name]
    assert await ledger_problems(running) == []


async def test_a_delivery_report_for_an_archived_dialog_takes_a_step_and_changes_nothing(
        compacting: Running) -> None:
    running = compacting
    ids = await close_four(running)
    await running.client.advance(DAYS * 86400 + 3600)
    dialog_id = ids["declined"]
    before = await views(running, dialog_id)
    [last] = [s for s in running.system.gateway.sent if s["to"] == PHONES["declined"]][-1:]
    report = {"message_id": last["message_id"], "client_id": last["client_id"], "status": "delivered"}
    assert (await running.client.post_delivery_report(report))[0] == 200  # the gateway repeats itself
    assert await is_archived(running, dialog_id)
    assert set(await own_keys(running, dialog_id)) == {"dialog", ":logz"}  # nothing written beside it
    assert await views(running, dialog_id) == before


async def test_archiving_is_fenced_by_the_phones_lock(compacting: Running) -> None:
    """A worker whose lock lapsed writes nothing: the dialog stays as it was."""
    running = compacting
    store = _store(running)
    _, answer, _ = await birth(running.client, msisdn=PHONES["declined"])
    await running.client.phone_says(PHONES["declined"], "2")
    dialog = await store.load(answer["dialog_id"])
    assert dialog is not None and set(dialog.timers) == {"compact"}
    previous = dict(dialog.timers)
    dialog.timers.clear()
    with pytest.raises(LockLost):
        await store.compact(dialog, previous, fence=Fence(store.keys.phone_lock(dialog.msisdn), "not-the-holder"))
    assert not await is_archived(running, dialog.dialog_id)
    assert set(await own_keys(running, dialog.dialog_id)) >= {"dialog", ":log"}


async def test_an_archived_dialog_still_answers_a_repeated_event_a_second_one_for_its_child_and_a_decision(
        compacting: Running) -> None:
    """What idempotency needs stays: the event id, the subject claims and the application id still name it."""
    running = compacting
    client, store = running.client, _store(running)
    phone = PHONES["assigned"]
    _, answer, event = await birth(client, msisdn=phone)
    await client.phone_says(phone, "1")
    await client.advance(running.system.settings.duplicate_window_seconds + 1)
    await client.phone_says(phone, "1")
    await client.advance(2 * 3600)
    dialog_id = answer["dialog_id"]
    await client.advance(DAYS * 86400 + 3600)
    assert await is_archived(running, dialog_id)
    dialog = await store.load(dialog_id)
    assert dialog is not None and dialog.status == "assigned" and dialog.application and dialog.decision

    status, again = await client.post_event(event)  # the registry posts the same event again
    assert status == 200 and again["dialog_id"] == dialog_id and again["status"] == "assigned"
    now = (await client.clock())["now"]
    second = {**event, "event_id": f"{event['event_id']}-again", "registered_at": now,
              "recipient": {**event["recipient"], "msisdn": "+77011117009"}}  # the same child, another record
    status, other = await client.post_event(second)
    assert status == 202, other
    duplicate = await client.dialog(other["dialog_id"])
    assert duplicate["status"] == "duplicate" and duplicate["duplicate_of"] == dialog_id
    engine = running.system.runner.app[ENGINE]
    outcome, decided = await engine.decision({**dialog.decision, "application_id": dialog.application["id"],
                                              "decision_due": None})
    assert outcome == "already" and decided is not None and decided.dialog_id == dialog_id
    assert await is_archived(running, dialog_id)  # none of them wrote to it
