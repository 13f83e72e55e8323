"""`proactive-bot logs`: recent and live dialog-log records, filtered, readable, coloured only on a terminal."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from bot.http.common import STORE
from bot.logtail import LogFilter, format_record, tail
from tests.conftest import REDIS_URL, Running
from tests.helpers import birth

BIN = Path(sys.executable).parent / "proactive-bot"
RECORD = {"at": "2026-11-23T05:00:00Z", "dialog_id": "d_1", "service": "birth", "msisdn": "+7701***0001",
          "type": "status", "from": "awaiting_consent", "to": "awaiting_bank_account", "trigger": "agree"}


def test_a_record_reads_as_one_line_in_kazakhstan_time_coloured_only_when_asked() -> None:
    plain = format_record(RECORD)
    assert plain.startswith("2026-11-23 10:00:00  d_1  birth")
    assert "+7701***0001" in plain and "awaiting_consent → awaiting_bank_account  (agree)" in plain
    assert "\033[" not in plain and "\033[33m" in format_record(RECORD, colour=True)
    operator = format_record({**RECORD, "type": "operator", "action": "note", "operator": "Dana", "text": "hi"})
    assert "operator Dana: note  hi" in operator


async def test_filters_by_dialog_phone_and_status(real: Running) -> None:
    store = real.system.runner.app[STORE]
    _, mine, _ = await birth(real.client, msisdn="+77011113001")
    _, other, _ = await birth(real.client, msisdn="+77019993001")  # the same mask: +7701***3001
    await real.client.phone_says("+77011113001", "1")
    cases = [
        (LogFilter(msisdn="+77011113001"), {mine["dialog_id"]}),
        (LogFilter(dialog_id=other["dialog_id"]), {other["dialog_id"]}),
        (LogFilter(status="awaiting_bank_account"), {mine["dialog_id"]}),
        (LogFilter(), {mine["dialog_id"], other["dialog_id"]}),
    ]
    for log_filter, expected in cases:
        lines: list[str] = []
        await tail(store, log_filter, lines.append, last=100, as_json=True)
        assert {json.loads(line)["dialog_id"] for line in lines} == expected, log_filter


async def test_follow_prints_records_as_they_are_written(real: Running) -> None:
    store = real.system.runner.app[STORE]
    seen: asyncio.Queue[str] = asyncio.Queue()
    follower = asyncio.create_task(tail(store, LogFilter(msisdn="+77011113002"), seen.put_nowait, follow=True,
                                        last=0, block_ms=200))
    try:
        _, answer, _ = await birth(real.client, msisdn="+77011113002")
        first = await asyncio.wait_for(seen.get(), timeout=10)
        assert answer["dialog_id"] in first and "status queued → awaiting_consent" in first
    finally:
        follower.cancel()


async def test_the_command_prints_json_lines_and_refuses_bad_filters(real: Running) -> None:
    _, answer, _ = await birth(real.client, msisdn="+77011113003")
    prefix = real.system.settings.key_prefix
    env = {**os.environ, "NO_COLOR": ""}
    proc = await asyncio.create_subprocess_exec(
        str(BIN), "logs", "--redis-url", REDIS_URL, "--prefix", prefix, "--dialog", answer["dialog_id"], "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0
    records = [json.loads(line) for line in out.decode().splitlines()]
    assert records and {r["dialog_id"] for r in records} == {answer["dialog_id"]}
    readable = await asyncio.create_subprocess_exec(
        str(BIN), "logs", "--redis-url", REDIS_URL, "--prefix", prefix, stdout=asyncio.subprocess.PIPE, env=env)
    text, _ = await asyncio.wait_for(readable.communicate(), timeout=60)
    assert "+7701***3003" in text.decode() and "\033[" not in text.decode()  # not a terminal: no colour
    bad = await asyncio.create_subprocess_exec(str(BIN), "logs", "--status", "nonsense", stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(bad.communicate(), timeout=60)
    assert bad.returncode == 2 and b"--status" in err
