"""The demo plays every scripted family; no log line of a whole run carries raw personal data."""

from __future__ import annotations

import io
import logging
import re

import pytest

from bot.demo import run_demo
from bot.logs import setup_logging

RAW_IIN = re.compile(r"(?<!\d)\d{12}(?!\d)")
RAW_PHONE = re.compile(r"(?<![\d*])(?:\+?7|8)[\s(-]*7\d{2}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)")
RAW_IBAN = re.compile(r"KZ\d{2}[0-9A-Z]{16}", re.IGNORECASE)
SHA256 = re.compile(r"\b[0-9a-f]{64}\b")  # the ledger's hashes: a run of 12 decimal digits in one is no IIN


@pytest.fixture
def log_stream() -> io.StringIO:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    setup_logging("DEBUG", stream)
    # The access log names phones in URL paths (/mock/phones/77015551001/sms): it must be masked too.
    logging.getLogger("aiohttp.access").setLevel(logging.INFO)
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


async def test_demo_plays_every_scene_and_no_log_line_carries_personal_data(
        log_stream: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_demo() == 0
    out = capsys.readouterr().out
    for status in ("status assigned", "status declined", "status refused", "status expired", "status cancelled"):
        assert status in out
    assert "согласна" in out.lower() or "Да, согласна" in out  # the Russian family's reply is shown
    assert re.search(r"consent ledger: \d+ records, verifies; head [0-9a-f]{64}", out)  # the demo's acts chained
    logs = log_stream.getvalue()
    assert "dialog d_" in logs and "+7701***1001" in logs  # the run was logged, phones masked
    assert "/mock/phones/" in logs  # access lines with phone numbers in their paths were written
    for pattern in (RAW_IIN, RAW_PHONE, RAW_IBAN):
        leaks = pattern.findall(logs)
        assert not leaks, f"raw personal data in logs: {leaks[:5]}"
    # The demo's transcript (what an operator sees) is masked as well.
    shown = SHA256.sub("<sha256>", out)
    assert not RAW_IIN.findall(shown) and not RAW_IBAN.findall(shown)
