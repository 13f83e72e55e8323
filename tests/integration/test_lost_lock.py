"""A step that outlives its phone's lock writes nothing over the next holder's work, and is done again.

The phone's lock lapses (after `phone_lock_seconds`) so that a killed worker does not block the phone. A step that
stalls past it (a gateway that hangs, a paused process) used to save all the same, last write winning. Every commit
now carries the lock's token and is written only while that lock is held (bot/fencing.py): the stalled step's
commit fails with LockLost, a LockError, which the job queue keeps queued and a gateway's request answers 503, so
the command is done again from the start and decides on what it finds then.

The lapse itself is the lock key's expiry in Redis; the tests delete the key instead, the same thing at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.exceptions import LockError

from bot.channels.base import Channel, Inbound, Outbound, Receipt
from bot.commands import Close, Reply
from bot.engine import Engine
from bot.fencing import LockLost
from bot.http.common import ENGINE
from tests.conftest import Running, start_running, stop_running
from tests.helpers import birth, texts


@pytest.fixture(params=["redis", "fakeredis"])
async def system(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    run, prefix = await start_running(request.param)
    try:
        yield run
    finally:
        await stop_running(run, prefix)


class Stall:
    """Holds the first call of an async function until `go` is set; `reached` once it is held."""

    def __init__(self, real: Callable[..., Awaitable[Any]]) -> None:
        self.real = real
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.reached.is_set():
            self.reached.set()
            await self.go.wait()
        return await self.real(*args, **kwargs)


class StallingChannel:
    """The SMS channel, its first send held until released."""

    name = "sms"

    def __init__(self, real: Channel) -> None:
        self.send_stall = Stall(real.send)

    async def send(self, message: Outbound) -> Receipt:
        receipt: Receipt = await self.send_stall(message)
        return receipt


async def _offer(run: Running, msisdn: str) -> tuple[Engine, str]:
    status, answer, _ = await birth(run.client, msisdn=msisdn)
    assert status == 202, answer
    engine = run.system.runner.app[ENGINE]
    dialog = await engine.store.load(answer["dialog_id"])
    assert dialog is not None and dialog.state == "awaiting_consent"
    return engine, answer["dialog_id"]


async def _lapse(run: Running, engine: Engine, msisdn: str) -> None:
    assert await run.redis.delete(engine.store.keys.phone_lock(msisdn)) == 1  # it was held: now it has lapsed


async def _stalled_offer(run: Running, monkeypatch: pytest.MonkeyPatch, msisdn: str,
                         message_id: str) -> tuple[Engine, str, Stall, Inbound]:
    """An offer waiting for consent, the store's next save held, and the citizen's "1" to send."""
    engine, dialog_id = await _offer(run, msisdn)
    stall = Stall(engine.store.save)
    monkeypatch.setattr(engine.store, "save", stall)
    return engine, dialog_id, stall, Inbound("sms", msisdn, "1", message_id, received_at=engine.clock.now())


def _lines(dialog: Any, message_id: str) -> list[dict[str, Any]]:
    return [line for line in dialog.transcript if line.get("message_id") == message_id]


async def test_a_consent_stalled_past_its_lock_is_not_written_over_an_operators_close(
        system: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    msisdn = "+77011116161"
    engine, dialog_id, stall, reply = await _stalled_offer(system, monkeypatch, msisdn, "lost-lock-consent")

    step = asyncio.create_task(engine.inbound(reply))  # decided "agree", held before its commit
    await stall.reached.wait()
    await _lapse(system, engine, msisdn)
    closed = await engine.operators.close(dialog_id, "registered twice", "op.test")  # the next holder
    assert closed is not None and closed.state == "closed"
    stall.go.set()
    with pytest.raises(LockLost):
        await step
    assert isinstance(LockLost(), LockError)  # so the queue keeps the job and a gateway's post is answered 503

    after = await engine.store.load(dialog_id)
    assert after is not None
    assert after.state == "closed" and after.consent is None  # the operator's close stands; no consent
    assert _lines(after, "lost-lock-consent") == []  # nothing of the stalled step was written
    assert [r["act"] for r in await engine.store.dialog_ledger(dialog_id)] == []

    # Done again from the start, as the queue does: the reply now reaches a closed dialog, and is not consent.
    await engine.inbound(reply)
    again = await engine.store.load(dialog_id)
    assert again is not None and again.state == "closed" and again.consent is None
    assert len(_lines(again, "lost-lock-consent")) == 1
    assert [r["act"] for r in await engine.store.dialog_ledger(dialog_id)] == []


async def test_a_send_stalled_past_its_lock_keeps_the_consent_and_the_next_holders_work(
        system: Running) -> None:
    msisdn = "+77011116262"
    engine, dialog_id = await _offer(system, msisdn)
    channel = StallingChannel(engine.channels["sms"])
    engine.channels["sms"] = channel
    reply = Inbound("sms", msisdn, "1", "lost-lock-send", received_at=engine.clock.now())

    step = asyncio.create_task(engine.inbound(reply))  # consent committed, then held in the next question's send
    await channel.send_stall.reached.wait()
    consented = await engine.store.load(dialog_id)
    assert consented is not None and consented.consent is not None
    await _lapse(system, engine, msisdn)
    closed = await engine.operators.close(dialog_id, "the parent called the help desk", "op.test")
    assert closed is not None and closed.state == "closed"
    channel.send_stall.go.set()
    with pytest.raises(LockLost):
        await step  # its record of the send came after the lock was lost: refused

    after = await engine.store.load(dialog_id)
    assert after is not None and after.state == "closed"  # not written over by the stalled step
    assert after.consent == consented.consent  # the consent, committed in time, is kept
    assert [r["act"] for r in await engine.store.dialog_ledger(dialog_id)] == ["consent"]
    inbox = await texts(system.client, msisdn)
    assert len(inbox) == len(set(inbox))  # nobody got an SMS twice

    assert await engine.inbound(reply) is None  # done again: the reply was recorded with the consent
    assert (await engine.store.load(dialog_id)).to_json() == after.to_json()  # type: ignore[union-attr]


async def test_a_command_whose_lock_was_lost_is_run_again_from_the_start(
        system: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    msisdn = "+77011116363"
    engine, dialog_id, stall, reply = await _stalled_offer(system, monkeypatch, msisdn, "lost-lock-run")

    command = asyncio.create_task(engine.run(Reply(reply)))  # as a worker runs a queued message
    await stall.reached.wait()
    await _lapse(system, engine, msisdn)
    closed = await engine.run(Close(dialog_id, "registered twice", "op.test"))
    assert closed.dialog is not None and closed.dialog.state == "closed"
    stall.go.set()
    await command  # the first run's commit was refused; the second, from the start, found the dialog closed

    after = await engine.store.load(dialog_id)
    assert after is not None and after.state == "closed" and after.consent is None
    assert len(_lines(after, "lost-lock-run")) == 1  # taken once, by the second run
    assert [r["act"] for r in await engine.store.dialog_ledger(dialog_id)] == []
