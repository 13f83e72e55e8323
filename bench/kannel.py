"""`python -m bench.kannel`: the SMS path through a real Kannel, side by side in one run.

1. **Kannel's ceiling**: sendsms called directly (no bot), `--concurrency` at once, until the phone network on
   Kannel's fake SMSC has every message: Kannel's own MT throughput on this machine.
2. **The bot's channel**: `KannelChannel.send` for the same messages (the channel's own cost, no dialog).
3. **The bot, end to end**: `--messages` birth events posted (signed, as a registry does) to a dev system
   sending through Kannel; SMS per second = offers that reached the phones / seconds from the first post.
4. The same end to end through the aggregator mock, for comparison.

Everything (bot, mocks, this client) runs in this one process beside bearerbox and smsbox, on real Redis under a
fresh `pbbench:` prefix deleted afterwards. Writes a Markdown table (stdout and `--out`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from bench.measure import delete_prefix, machine
from bot.channels.base import Outbound
from bot.channels.kannel import KannelChannel, KannelConfig
from bot.clock import ALMATY
from bot.devclient import DevClient
from bot.devserver import start_dev
from bot.settings import Settings
from gateway_mocks.kannel import KannelBox, KannelPhones
from gateway_mocks.registry import birth_event, child_iin
from gateway_mocks.settings import MocksSettings
from gateway_mocks.sms import SmsGateway

MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ALMATY)
PARENT = "920412412349"  # a seeded e-government person with an account on record
# An offer's length in Kazakh (UCS-2, three parts): what the bot's longest SMS cost.
TEXT = ("Сәлеметсіз бе! Балаңыздың туылуына байланысты біржолғы жәрдемақы тағайындауға құқығыңыз бар. "
        "Келісесіз бе? Жауап: 1 - иә, 2 - жоқ. 1414")


def _cpu(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


async def _arrived(phones: SmsGateway, count: int, seconds: float) -> float:
    """Wait until the phones have `count` messages in all (polled every 5 ms: nothing else says so); monotonic time."""
    deadline = time.monotonic() + seconds
    while len(phones.sent) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(phones.sent)} of {count} SMS arrived in {seconds:.0f} s")
        await asyncio.sleep(0.005)
    return time.monotonic()


async def _gather_limited(count: int, concurrency: int, one: Any) -> None:
    slots = asyncio.Semaphore(concurrency)

    async def limited(i: int) -> None:
        async with slots:
            await one(i)

    await asyncio.gather(*(limited(i) for i in range(count)))


@contextlib.asynccontextmanager
async def _kannel_and_phones() -> AsyncIterator[tuple[KannelBox, KannelPhones, list[int]]]:
    """A Kannel with the phone network on its fake SMSC, and the boxes' pids (for their CPU)."""
    box = KannelBox("http://127.0.0.1:9/unused")  # nothing here sends to 1414: no get-url is called
    await box.start()
    phones = KannelPhones(MocksSettings(), MocksClock(), "127.0.0.1", box.smsc_port)
    try:
        await phones.connect()
        yield box, phones, box.pids
    finally:
        await phones.close()
        await box.stop()


async def _timed(messages: int, concurrency: int, phones: SmsGateway, pids: list[int],
                 one: Callable[[int], Awaitable[None]]) -> dict[str, Any]:
    """Run `one` for each message, `concurrency` at once, until every SMS is on the phones: rate and Kannel CPU."""
    cpu, start = _cpu(pids), time.monotonic()
    await _gather_limited(messages, concurrency, one)
    end = await _arrived(phones, messages, 600)
    kannel_cpu = _cpu(pids) - cpu
    return {"sms": messages, "seconds": round(end - start, 3), "sms_per_second": round(messages / (end - start), 1),
            "kannel_cpu_ms_per_sms": round(1000 * kannel_cpu / messages, 3) if pids else None}


async def kannel_ceiling(messages: int, concurrency: int) -> dict[str, Any]:
    """Kannel alone: sendsms straight from an HTTP client to the phone network."""
    async with _kannel_and_phones() as (box, phones, pids), aiohttp.ClientSession() as session:
        async def one(i: int) -> None:
            params = {"username": box.username, "password": box.password, "from": "1414",
                      "to": f"+7701{3000000 + i:07d}", "text": TEXT, "charset": "UTF-8", "coding": "2"}
            async with session.get(box.sendsms_url, params=params) as resp:
                assert resp.status == 202, await resp.text()

        result = await _timed(messages, concurrency, phones, pids, one)
        result["parts"] = sum(m["segments"] for p in phones.phones.values() for m in p.inbox)
        return result


class MocksClock:
    """The phone network's clock for the ceiling run: real time (nothing there is timed by it)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


async def bot_channel(messages: int, concurrency: int) -> dict[str, Any]:
    """The bot's Kannel channel alone: `send` for each message, no dialog, no Redis."""
    async with _kannel_and_phones() as (box, phones, pids), aiohttp.ClientSession() as session:
        channel = KannelChannel(session, KannelConfig(box.sendsms_url, box.username, box.password, "1414",
                                                      "http://127.0.0.1:9", "bench-secret", "bench-secret",
                                                      dlr_mask=0), 10.0)

        async def one(i: int) -> None:
            await channel.send(Outbound(f"bench-{i}", f"+7701{3000000 + i:07d}", TEXT))

        return await _timed(messages, concurrency, phones, pids, one)


async def bot_end_to_end(messages: int, concurrency: int, redis_url: str, sms: str) -> dict[str, Any]:
    """Birth events into a dev system; SMS/s = offers on the phones / seconds from the first post."""
    prefix = f"pbbench:kannel:{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(redis_url)
    settings = Settings(key_prefix=prefix).with_(quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0))
    system = await start_dev(port=0, clock_start=MONDAY_10, redis=redis, settings=settings, sms=sms)
    pids = system.kannel.pids if system.kannel is not None else []
    try:
        async with aiohttp.ClientSession() as session:
            client = DevClient(session, system.url)
            now = system.clock.now().astimezone(ALMATY)
            born = now.date() - dt.timedelta(days=1)
            run = uuid.uuid4().hex[:6]

            async def one(i: int) -> None:
                event = birth_event(f"bench-{run}-{i}", parent_iin=PARENT, msisdn=f"+7702{3000000 + i:07d}",
                                    language="kk", registered_at=now.isoformat(),
                                    children=[(child_iin(born), born)])
                status, answer = await client.post_event(event)
                assert status == 202, answer

            result = await _timed(messages, concurrency, system.gateway, pids, one)
            await system.gateway.flush()
        return {"gateway": sms, **result}
    finally:
        await system.stop()
        await delete_prefix(redis, prefix)
        await redis.aclose()


def markdown(result: dict[str, Any]) -> str:
    ceiling = result["kannel_ceiling"]["sms_per_second"]
    rows = [
        ("Kannel alone (sendsms → fake SMSC → phones): its ceiling", result["kannel_ceiling"]),
        ("the bot's Kannel channel alone (`KannelChannel.send`)", result["bot_channel"]),
        ("the bot end to end through Kannel (event → dialog → SMS on the phone)", result["bot_kannel"]),
        ("the bot end to end through the aggregator mock", result["bot_mock"]),
    ]
    lines = [f"SMS path, {result['messages']} SMS of {result['kannel_ceiling']['parts'] // result['messages']} "
             f"UCS-2 parts each, {result['concurrency']} in flight; {result['machine']['cores']} cores, "
             f"Python {result['machine']['python']}, Kannel 1.4.5, {result['date']}.", "",
             "| path | SMS/s | share of Kannel's ceiling | Kannel CPU ms per SMS |", "|---|---|---|---|"]
    for name, row in rows:
        share = f"{100 * row['sms_per_second'] / ceiling:.0f} %"
        cpu = row.get("kannel_cpu_ms_per_sms")
        lines.append(f"| {name} | {row['sms_per_second']} | {share} | {cpu if cpu is not None else '–'} |")
    return "\n".join(lines) + "\n"


async def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.kannel", description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--out", type=Path, help="also write the JSON and the Markdown here (DIR/kannel.json, .md)")
    args = p.parse_args(argv)
    result: dict[str, Any] = {"messages": args.messages, "concurrency": args.concurrency, "machine": machine(),
                              "date": dt.date.today().isoformat()}
    result["kannel_ceiling"] = await kannel_ceiling(args.messages, args.concurrency)
    result["bot_channel"] = await bot_channel(args.messages, args.concurrency)
    result["bot_kannel"] = await bot_end_to_end(args.messages, args.concurrency, args.redis_url, "kannel")
    result["bot_mock"] = await bot_end_to_end(args.messages, args.concurrency, args.redis_url, "mock")
    text = markdown(result)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "kannel.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        (args.out / "kannel.md").write_text(text)


if __name__ == "__main__":
    asyncio.run(main())
