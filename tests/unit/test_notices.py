"""A `notice` job's send (bot/work.py): a refusal for now fails the job (the queue does it again), a refusal for
good completes it; either way the phone number is never written out in full."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from bot.channels.base import Outbound, Receipt, SendError, SendFailure
from bot.jobs import JobFailed
from bot.notices import Notice, flood_ack, information
from bot.work import send_notice
from tests.helpers import TRANSLATOR, render

PHONE = "+77011117701"


class Gateway:
    """An SMS channel that refuses with `failure`, or takes everything when it is None."""

    name = "sms"

    def __init__(self, failure: SendFailure | None = None) -> None:
        self.failure = failure
        self.sent: list[Outbound] = []

    async def send(self, message: Outbound) -> Receipt:
        self.sent.append(message)
        if self.failure is not None:
            raise SendError(self.failure, "refused by the test")
        return Receipt(f"gw-{len(self.sent)}")


def test_notices_carry_the_stable_client_ids_and_survive_a_payload() -> None:
    info = information(PHONE, "kk", dt.date(2026, 11, 23))
    assert info == Notice("info-77011117701-2026-11-23", PHONE, "nodialog.info", "kk")
    ack = flood_ack(PHONE, "ru", dt.datetime(2026, 11, 23, 5, 7, 59, tzinfo=dt.UTC))
    assert ack == Notice("flood-77011117701-202611230507", PHONE, "flood.ack", "ru")
    assert Notice.from_payload(info.payload()) == info


async def test_a_notice_is_rendered_and_sent_under_its_client_id() -> None:
    gateway = Gateway()
    notice = information(PHONE, "ru", dt.date(2026, 11, 23))
    assert await send_notice(notice, gateway, TRANSLATOR) == {"sent": True, "provider_message_id": "gw-1"}
    [sent] = gateway.sent
    assert (sent.client_id, sent.msisdn, sent.text) == (notice.client_id, PHONE, render("nodialog.info", "ru"))


@pytest.mark.parametrize("failure", [SendFailure.CONNECTION, SendFailure.BAD_STATUS])
async def test_a_refusal_for_now_fails_the_job_so_that_the_queue_does_it_again(failure: SendFailure) -> None:
    with pytest.raises(JobFailed) as failed:
        await send_notice(flood_ack(PHONE, "kk", dt.datetime(2026, 11, 23, tzinfo=dt.UTC)), Gateway(failure),
                          TRANSLATOR)
    assert failed.value.code == "unavailable"
    assert "flood.ack" in str(failed.value) and "+7701***7701" in str(failed.value)
    assert PHONE.lstrip("+") not in str(failed.value)  # what the dead letters and the logs show


@pytest.mark.parametrize("failure", [SendFailure.BAD_CONTENT, SendFailure.BAD_CONFIG])
async def test_a_refusal_for_good_is_logged_and_the_job_is_done(failure: SendFailure,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    gateway = Gateway(failure)
    with caplog.at_level(logging.INFO, logger="bot.work"):
        result = await send_notice(information(PHONE, "kk", dt.date(2026, 11, 23)), gateway, TRANSLATOR)
    assert result == {"sent": False, "failure": str(failure)}
    assert len(gateway.sent) == 1  # tried once, not again
    [record] = caplog.records
    assert record.levelno == logging.ERROR and "+7701***7701" in record.getMessage()
    assert PHONE.lstrip("+") not in record.getMessage()
