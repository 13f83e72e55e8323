"""The consent ledger: every act chained in the step's own transaction, verifiable, exported, shown to operators."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.http.common import ENGINE
from bot.ledger import GENESIS, Head, canonical, keyed, record_hash, sha256, verify
from bot.store import Store
from dialogs.model import from_iso
from tests.conftest import REDIS_URL, Running
from tests.helpers import FATHER_NO_ACCOUNT, VALID_IBAN, birth, texts

OPS = {"Authorization": "Bearer dev-operator", "X-Operator": "Айгүл"}


def _store(running: Running) -> Store:
    return running.system.runner.app[ENGINE].store


async def _chain(running: Running) -> list[dict[str, Any]]:
    return [json.loads(line) for line in await _store(running).ledger_lines()]


async def _verify(running: Running) -> list[str]:
    store = _store(running)
    head, base = await store.ledger_head()
    return verify(await store.ledger_lines(), head, base)[1]


async def test_consent_and_account_are_chained_with_their_evidence(running: Running) -> None:
    client = running.client
    phone = "+77011115501"
    status, answer, _ = await birth(client, msisdn=phone, parent_iin=FATHER_NO_ACCOUNT)
    assert status == 202
    question = (await texts(client, phone))[-1]
    assert await client.phone_says(phone, "1") == 202
    assert await client.phone_says(phone, VALID_IBAN) == 202
    dialog = await client.dialog(answer["dialog_id"])
    consent, typed = await _chain(running)
    key = running.system.settings.ledger_key
    assert consent["act"] == "consent" and consent["seq"] == 1 and consent["prev"] == GENESIS
    assert consent["dialog_id"] == answer["dialog_id"] and consent["service"] == "birth"
    assert consent["channel"] == "sms" and consent["message_id"]
    assert consent["text_hmac"] == keyed(key, "1")
    assert consent["question"] == {"msg": "consent.ask.birth", "text_sha256": sha256(question)}
    assert consent["at"] == dialog["consent"]["given_at"]
    assert consent["application_date"] == dialog["consent"]["application_date"] == "2026-11-23"
    assert consent["recipient_iin_hmac"] == keyed(key, FATHER_NO_ACCOUNT) and consent["iban_hmac"] is None
    assert consent["operator"] is None and consent["hash"] == record_hash(consent)
    assert typed["act"] == "account_typed" and typed["prev"] == consent["hash"] and typed["seq"] == 2
    assert typed["iban_hmac"] == keyed(key, VALID_IBAN) and typed["question"]["msg"] == "bank.ask"
    assert typed["text_hmac"] == keyed(key, VALID_IBAN)
    raw = json.dumps(await _chain(running))
    assert FATHER_NO_ACCOUNT not in raw and VALID_IBAN not in raw and phone.lstrip("+") not in raw
    assert await _verify(running) == []


async def test_refusal_opt_out_and_confirmation_are_chained(running: Running) -> None:
    client = running.client
    for phone, replies in (("+77011115511", ["2"]), ("+77011115512", ["STOP"]), ("+77011115513", ["1", "1"])):
        await birth(client, msisdn=phone)
        for n, reply in enumerate(replies):
            if n:  # the same key for the next question, once it was read (a copy within the window is set aside)
                await client.advance(running.system.settings.duplicate_window_seconds + 1)
            assert await client.phone_says(phone, reply) == 202
    acts = [record["act"] for record in await _chain(running)]
    assert acts == ["decline", "opt_out", "consent", "account_confirmed"]
    assert await _verify(running) == []


async def test_unclear_replies_and_repeats_leave_no_record(running: Running) -> None:
    client = running.client
    phone = "+77011115521"
    await birth(client, msisdn=phone)
    for reply in ("мүмкін", "?", "KZ"):
        assert await client.phone_says(phone, reply) == 202
    assert await _chain(running) == []


async def test_concurrent_acts_on_many_phones_make_one_chain(running: Running) -> None:
    client = running.client
    phones = [f"+7701111560{i}" for i in range(8)]
    for phone in phones:
        await birth(client, msisdn=phone)
    await asyncio.gather(*(client.phone_says(phone, "1") for phone in phones))
    chain = await _chain(running)
    assert sorted(r["seq"] for r in chain) == list(range(1, 9)) and len({r["dialog_id"] for r in chain}) == 8
    assert await _verify(running) == []


async def test_the_console_shows_a_consents_evidence(running: Running) -> None:
    client = running.client
    phone = "+77011115531"
    _, answer, _ = await birth(client, msisdn=phone)
    await client.phone_says(phone, "1")
    [record] = await _chain(running)
    async with client.session.get(f"{running.system.url}/ops/dialogs/{answer['dialog_id']}", headers=OPS) as resp:
        assert resp.status == 200
        page = await resp.text()
    assert record["hash"] in page and record["message_id"] in page and "consent" in page


async def _cli(running: Running, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    capsys.readouterr()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        code = await asyncio.to_thread(main, ["ledger", *args, "--redis-url", REDIS_URL,
                                              "--prefix", running.system.settings.key_prefix])
    finally:  # the command sets up the process's logging; the tests' own stays as it was
        root.handlers[:], root.level = handlers, level
    return code, capsys.readouterr().out.splitlines()


async def test_ledger_verify_and_export_on_the_command_line(real: Running, capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path) -> None:
    client = real.client
    for i in range(4):
        await birth(client, msisdn=f"+7701111570{i}")
        await client.phone_says(f"+7701111570{i}", "2" if i == 3 else "1")
    code, out = await _cli(real, capsys, "verify")
    head, _ = await _store(real).ledger_head()
    assert code == 0 and out == [f"ledger ok: 4 records, seq 1-4, head {head.hash}"]

    code, _ = await _cli(real, capsys, "export", "--from", "2026-11-23", "--to", "2026-11-23", "--out",
                         str(tmp_path / "acts.jsonl"))
    exported = [json.loads(line) for line in (tmp_path / "acts.jsonl").read_text().splitlines()]
    assert code == 0 and [r["act"] for r in exported] == ["consent"] * 3 + ["decline"]
    code, out = await _cli(real, capsys, "export", "--from", "2026-11-24", "--to", "2026-12-31")
    assert code == 0 and out == []
    code, _ = await _cli(real, capsys, "export", "--from", "23.11.2026", "--to", "2026-12-31")
    assert code == 2

    key = _store(real).keys.ledger("records")
    lines = [line.decode() for line in await real.redis.lrange(key, 0, -1)]
    edited = json.loads(lines[1])
    edited["application_date"] = "2026-11-20"  # an earlier application date, as a forger would want
    await real.redis.lset(key, 1, canonical(edited))
    code, out = await _cli(real, capsys, "verify")
    assert code == 1 and out[0].startswith("ledger broken: record 2 (position 1): edited")

    await real.redis.lset(key, 1, lines[1])
    await real.redis.lrem(key, 1, lines[2])
    code, out = await _cli(real, capsys, "verify")
    assert code == 1 and out[0].startswith("ledger broken: record 3: removed")

    await real.redis.delete(key)
    await real.redis.rpush(key, lines[0], lines[2], lines[1], lines[3])
    code, out = await _cli(real, capsys, "verify")
    assert code == 1 and out[0].startswith("ledger broken: record 3 (position 1): reordered")

    await real.redis.delete(key)
    await real.redis.rpush(key, *lines)
    assert (await _cli(real, capsys, "verify"))[0] == 0


async def test_trim_keeps_a_chain_that_verifies(running: Running) -> None:
    client = running.client
    store = _store(running)
    for i in range(3):
        await birth(client, msisdn=f"+7701111580{i}")
        await client.phone_says(f"+7701111580{i}", "1")
        await client.advance(86400)
    first, second, third = await _chain(running)
    assert await store.trim_ledger(from_iso(second["at"])) == 1
    assert await store.trim_ledger(from_iso(second["at"])) == 0  # nothing older is left
    head, base = await store.ledger_head()
    assert base == Head(1, first["hash"]) and verify(await store.ledger_lines(), head, base) == (2, [])
    assert [r["seq"] for r in await store.dialog_ledger(third["dialog_id"])] == [3]
    assert await store.dialog_ledger(first["dialog_id"]) == []  # trimmed: gone, never another dialog's record
