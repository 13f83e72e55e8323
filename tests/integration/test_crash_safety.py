"""A process that dies between saving a decision and sending its SMS: the SMS still goes out, once."""

from __future__ import annotations

from bot.channels.base import Channel, Outbound, Receipt
from bot.http.common import ENGINE
from tests.conftest import Running
from tests.helpers import birth, texts


class Crash(Exception):
    """Stands for the process being killed mid-step."""


class DiesOnFirstSend:
    """A channel that 'kills the process' the first time it is asked to send, then works."""

    name = "sms"

    def __init__(self, real: Channel) -> None:
        self.real = real
        self.died = False

    async def send(self, message: Outbound) -> Receipt:
        if not self.died:
            self.died = True
            raise Crash
        return await self.real.send(message)


async def test_an_sms_decided_before_a_crash_is_sent_by_the_timer_exactly_once(running: Running) -> None:
    engine = running.system.runner.app[ENGINE]
    real = engine.channels["sms"]
    engine.channels["sms"] = DiesOnFirstSend(real)
    status, _, _ = await birth(running.client, msisdn="+77011117777")
    assert status == 500  # the request died with the process
    assert await texts(running.client, "+77011117777") == []
    engine.channels["sms"] = real  # "restarted"
    await running.client.advance(1)
    inbox = await texts(running.client, "+77011117777")
    assert len(inbox) == 1 and "1 —" in inbox[0]
    await running.client.advance(3600)
    assert len(await texts(running.client, "+77011117777")) == 1
    status, dialogs = await running.client.dialogs(msisdn="+77011117777")
    assert dialogs["dialogs"][0]["status"] == "awaiting_consent"
