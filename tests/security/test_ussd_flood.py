"""One USSD post carrying hundreds of inputs makes a few steps at most; a dialog's stored transcript is bounded."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from urllib.parse import urlencode

from bot.http.common import STORE
from tests.conftest import Running, start_running, stop_running
from tests.helpers import birth, render
from tests.security.gateway import build, send

MSISDN = "+77015550404"
FORM = "application/x-www-form-urlencoded"


async def ussd(run: Running, session: str, text: str) -> tuple[int, str]:
    form = {"sessionId": session, "serviceCode": "*1414#", "phoneNumber": MSISDN, "text": text}
    return await send(run, await build(run, "ussd", urlencode(form).encode(), content_type=FORM))


def _lines(dialog: dict[str, Any], direction: str) -> list[dict[str, Any]]:
    return [line for line in dialog["transcript"] if line["direction"] == direction]


async def test_a_post_with_hundreds_of_inputs_takes_only_the_last_three(real: Running) -> None:
    status, answer, _ = await birth(real.client, msisdn=MSISDN, language="kk")
    assert status == 202
    dialog_id = answer["dialog_id"]
    await real.system.gateway.flush()
    status, question = await ussd(real, "flood-1", "")
    assert status == 200 and question.startswith("CON ")
    before = await real.client.dialog(dialog_id)
    log_before = len(await real.system.runner.app[STORE].dialog_log(dialog_id))
    inputs = ["7"] * 297 + ["5", "6", "1"]  # 300 inputs, 599 characters: the attack, then a real answer
    started = time.monotonic()
    status, screen = await ussd(real, "flood-1", "*".join(inputs))
    took = time.monotonic() - started
    assert status == 200
    after = await real.client.dialog(dialog_id)
    taken = _lines(after, "in")[len(_lines(before, "in")):]
    assert [line["text"] for line in taken] == ["5", "6", "1"]  # the last three; 297 ignored
    # Ignored inputs are not answered: one screen per input taken, no question repeated for the others.
    assert len(_lines(after, "out")) - len(_lines(before, "out")) <= 3
    assert after["status"] == "awaiting_bank_account" and screen.startswith("CON ")
    assert len(await real.system.runner.app[STORE].dialog_log(dialog_id)) - log_before < 20
    assert took < 5, took  # three steps, not three hundred, under the phone's lock
    # The same post again (a gateway retry) changes nothing.
    assert await ussd(real, "flood-1", "*".join(inputs)) == (200, screen)
    assert await real.client.dialog(dialog_id) == after


async def test_a_dialogs_stored_transcript_is_bounded_and_the_log_keeps_every_line() -> None:
    run, prefix = await start_running("redis", transcript_max_lines=12)
    try:
        status, answer, _ = await birth(run.client, msisdn=MSISDN, language="kk")
        assert status == 202
        dialog_id = answer["dialog_id"]
        for n in range(15):
            assert await run.client.phone_says(MSISDN, f"сұрақ {n}") == 202
            await run.client.advance(61)  # under the flood limit of 10 a minute
        await run.system.gateway.flush()
        dialog = await run.client.dialog(dialog_id)
        assert len(dialog["transcript"]) <= 12
        assert _lines(dialog, "in")[-1]["text"] == "сұрақ 14"  # the newest are kept
        offer = render("consent.ask.birth", "kk", event_date=dt.date(2026, 11, 23), hours="72")
        assert dialog["transcript"][0]["text"] == offer  # and the question as asked (the late rule, the ledger)
        log = await run.system.runner.app[STORE].dialog_log(dialog_id)
        inbound = [r for r in log if r.get("type") == "message" and r.get("direction") == "in"]
        assert len(inbound) == 15  # every line written stays in the dialog log
        # The dialog still works: the citizen agrees, and the status change points at a kept line.
        assert await run.client.phone_says(MSISDN, "1") == 202
        dialog = await run.client.dialog(dialog_id)
        assert dialog["status"] == "awaiting_bank_account" and len(dialog["transcript"]) <= 12
        agreed = dialog["history"][-1]
        assert agreed["to"] == "awaiting_bank_account"
        # It came after the citizen's "1": that line, still in the transcript, is the one before it.
        assert dialog["transcript"][agreed["after_message"] - 1]["text"] == "1"
        assert all(0 <= h["after_message"] <= len(dialog["transcript"]) for h in dialog["history"])
    finally:
        await stop_running(run, prefix)
