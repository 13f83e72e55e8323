"""Chaos: many dialogs over several worker processes on real Redis, a gateway that fails a fifth of its
sends, and workers SIGKILLed at random moments and started again. Run twice: through the aggregator mock, and
through a real Kannel (bearerbox and smsbox, the phones on its fake SMSC; CHAOS_KANNEL_DIALOGS, 300), whose
fake SMSC injects no faults: there the worker kills are the chaos.

Afterwards every dialog must be in the state its phone's messages say (each persona's script is known), no
phone may have received the same message twice, no consent may be lost (each one has its application at the
backend, dated the day it was given), and nothing may be left in the dead letters. The report prints the
counts. Size and length: CHAOS_DIALOGS (1000), CHAOS_WORKERS (2), CHAOS_SEED (2026).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import signal
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from secrets import token_hex
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.clock import ALMATY, parse_instant
from bot.devclient import DevClient
from bot.store import Keys
from gateway_mocks.kannel import KannelBox, mo_url
from gateway_mocks.registry import birth_event, child_iin
from tests.conftest import REDIS_URL
from tests.helpers import FATHER_NO_ACCOUNT, MOTHER_WITH_HALYK, VALID_IBAN, production_secrets

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

SIZE = int(os.environ.get("CHAOS_DIALOGS", "1000"))
KANNEL_SIZE = int(os.environ.get("CHAOS_KANNEL_DIALOGS", "300"))
WORKERS = int(os.environ.get("CHAOS_WORKERS", "2"))
SEED = int(os.environ.get("CHAOS_SEED", "2026"))
IN_FLIGHT = 48            # citizens acting at once
DEADLINE_SECONDS = 900    # the whole run, however slow the machine
DRAIN_SECONDS = 60        # how long the work stream may take to empty once the citizens are done
BIN = Path(sys.executable).parent / "proactive-bot"
SECRETS = production_secrets()  # serve and worker refuse the dev defaults
OPS = {"Authorization": f"Bearer {SECRETS['OPERATOR_TOKEN']}"}


@dataclass(frozen=True)
class Persona:
    """What a citizen answers, in order, and what then must be true: the final status and the SMS count."""

    name: str
    parent: str
    language: str
    replies: tuple[str, ...]
    status: str
    messages: int
    consents: bool


PERSONAS = [
    # Robots answer within milliseconds: the same key twice that fast is a copy (DUPLICATE_WINDOW_SECONDS), so the
    # account is confirmed with a yes-word, as people do too.
    (Persona("agrees, confirms the account", MOTHER_WITH_HALYK, "kk", ("1", "иә"), "assigned", 4, True), 55),
    (Persona("agrees, types an IBAN", FATHER_NO_ACCOUNT, "ru", ("да", VALID_IBAN), "assigned", 4, True), 15),
    (Persona("refuses", MOTHER_WITH_HALYK, "ru", ("2",), "declined", 2, False), 15),
    (Persona("unclear first, then agrees", MOTHER_WITH_HALYK, "kk", ("?", "иә", "1"), "assigned", 5, True), 15),
]


@dataclass
class Proc:
    """One `proactive-bot` process, its output in a file."""

    args: list[str]
    env: dict[str, str]
    log: Path
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0

    async def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                str(BIN), *self.args, stdout=out, stderr=out, env={**os.environ, **self.env})

    async def kill(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                await self.kill()


@dataclass
class Run:
    """What the run saw, for the checks and the report."""

    kills: int = 0
    answers: Counter[int] = field(default_factory=Counter)
    dialogs: dict[str, tuple[Persona, str]] = field(default_factory=dict)  # msisdn → (persona, dialog id)
    iins: set[str] = field(default_factory=set)  # every child's IIN sent
    problems: list[str] = field(default_factory=list)


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _until_answers(url: str, session: aiohttp.ClientSession, deadline: float) -> None:
    """Wait for a freshly started process to answer HTTP (it cannot be awaited any other way)."""
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(url) as resp:
                if resp.status < 500:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


async def _inbox(session: aiohttp.ClientSession, mocks: str, msisdn: str, count: int,
                 deadline: float) -> list[dict[str, Any]]:
    """The phone's inbox once it holds `count` messages (long-polls the gateway mock), or as it is at the deadline."""
    inbox: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        wait = max(0.1, min(30.0, deadline - time.monotonic()))
        async with session.get(f"{mocks}/mock/phones/{quote(msisdn)}/sms",
                               params={"count": str(count), "wait": str(wait)}) as resp:
            inbox = await resp.json()
        if len(inbox) >= count:
            return inbox
    return inbox


async def _citizen(n: int, persona: Persona, run: Run, session: aiohttp.ClientSession, registry: DevClient,
                   mocks: str, deadline: float) -> None:
    msisdn = f"+7701{5000000 + n:07d}"
    born = dt.datetime.now(ALMATY).date() - dt.timedelta(days=1)
    child = child_iin(born)
    run.iins.add(child)
    event = birth_event(f"chaos-{SEED}-{n:06d}", parent_iin=persona.parent, msisdn=msisdn,
                        language=persona.language, registered_at=dt.datetime.now(ALMATY).isoformat(),
                        children=[(child, born)])
    status, answer = await registry.post_event(event, timestamp=int(time.time()))
    run.answers[status] += 1
    if status not in (200, 202):
        run.problems.append(f"{msisdn}: event answered {status} {answer}")
        return
    run.dialogs[msisdn] = (persona, answer["dialog_id"])
    expected = 1
    for reply in persona.replies:
        await _inbox(session, mocks, msisdn, expected, deadline)  # the question is there: answer it
        async with session.post(f"{mocks}/mock/phones/{quote(msisdn)}/sms", json={"text": reply}) as resp:
            run.answers[resp.status] += 1
            if resp.status != 202:
                run.problems.append(f"{msisdn}: reply answered {resp.status} {await resp.text()}")
        expected += 1
    await _inbox(session, mocks, msisdn, persona.messages, deadline)


async def _killer(workers: list[Proc], run: Run, stop: asyncio.Event, rng: random.Random) -> None:
    """SIGKILL a random worker at a random moment, start it again at once; until told to stop."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), rng.uniform(0.5, 2.5))
        if stop.is_set():
            return
        victim = rng.choice(workers)
        await victim.kill()
        run.kills += 1
        await victim.start()


@pytest.mark.parametrize("sms", ["mock", "kannel"])
async def test_chaos(tmp_path: Path, sms: str) -> None:
    rng = random.Random(SEED)
    size = KANNEL_SIZE if sms == "kannel" else SIZE
    prefix = f"pbchaos:{uuid.uuid4().hex[:8]}"
    bot_port, mocks_port = _port(), _port()
    bot, mocks = f"http://127.0.0.1:{bot_port}", f"http://127.0.0.1:{mocks_port}"
    kannel: KannelBox | None = None
    through: dict[str, str] = {}
    mocks_args: list[str] = []
    faults = {"MOCK_SMS_FAIL_RATE": "0.2", "MOCK_FAULT_SEED": str(SEED)}
    secrets = dict(SECRETS)
    if sms == "kannel":
        secrets["SMS_GATEWAY_SECRET"] = token_hex(20)  # Kannel's Basic header holds at most 57 bytes
        kannel = KannelBox(mo_url(bot, "sms-gateway", secrets["SMS_GATEWAY_SECRET"], with_time=True),
                           directory=tmp_path)
        await kannel.start()
        through = {"SMS_GATEWAY_KIND": "kannel", "KANNEL_SENDSMS_URL": kannel.sendsms_url,
                   "KANNEL_USERNAME": kannel.username, "KANNEL_PASSWORD": kannel.password,
                   "SMS_GATEWAY_AUTH": "hmac,basic",
                   # A send cut off by a kill, that Kannel never got, goes again after this (not 10 minutes).
                   "KANNEL_AMBIGUOUS_SECONDS": "15"}
        mocks_args = ["--kannel-smsc", f"127.0.0.1:{kannel.smsc_port}"]
        faults = {}
    common = {
        "REDIS_URL": REDIS_URL, "KEY_PREFIX": prefix, "HOST": "127.0.0.1", "LOG_LEVEL": "WARNING",
        "PUBLIC_URL": bot, "SMS_GATEWAY_URL": f"{mocks}/mock/sms", "EGOV_URL": f"{mocks}/mock/egov",
        "ASSIGNMENT_URL": f"{mocks}/mock/assignment", "TELEGRAM_TOKEN": "",
        "QUIET_START": "00:00", "QUIET_END": "00:00",  # no quiet hours: the run happens on the real clock
        "SEND_RETRY_SECONDS": "1,1,2,2,3,3,5,5,8,8", "SUBMIT_RETRY_SECONDS": "1,1,2,2,3,3,5,5,8,8",
        "JOB_CLAIM_IDLE_SECONDS": "2", "JOB_MAX_DELIVERIES": "50", "PHONE_LOCK_SECONDS": "5",
        # The standalone mocks' clock follows real time by a step a second and stands still while it fires the
        # backend's decisions (each a callback into this loaded bot): their `received_at` trails ours by up to
        # tens of seconds, so the late rule is given an hour here; tests/integration/test_duplicates.py proves it.
        "REPLY_CLOCK_SKEW_SECONDS": "3600",
        "HTTP_TIMEOUT_SECONDS": "5", "JOB_WAIT_SECONDS": "20",
        "TIMER_LEASE_SECONDS": "5",  # a poller killed between claiming a timer and queueing it: due again soon
        **secrets, **through,
    }
    procs_mocks = Proc(["mocks", "--port", str(mocks_port), "--bot-url", bot, *mocks_args], {
        **common, **faults, "MOCK_DECISION_DELAY_SECONDS": "2", "MOCK_CALLBACK_RETRY_SECONDS": "1"},
        tmp_path / "mocks.log")
    front = Proc(["serve", "--port", str(bot_port)], {**common, "WORKER_CONCURRENCY": "0"}, tmp_path / "serve.log")
    workers = [Proc(["worker"], {**common, "WORKER_CONCURRENCY": "16"}, tmp_path / f"worker{i}.log")
               for i in range(WORKERS)]
    redis = Redis.from_url(REDIS_URL)
    run = Run()
    started = time.monotonic()
    deadline = started + DEADLINE_SECONDS
    stop_killing = asyncio.Event()
    try:
        for proc in (procs_mocks, front, *workers):
            await proc.start()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90)) as session:
            await _until_answers(f"{mocks}/mock/clock", session, started + 60)
            await _until_answers(f"{bot}/readyz", session, started + 60)
            registry = DevClient(session, bot, events_secret=SECRETS["EVENTS_SECRET"],
                                 operator_token=SECRETS["OPERATOR_TOKEN"])
            killer = asyncio.create_task(_killer(workers, run, stop_killing, rng))
            personas = rng.choices([p for p, _ in PERSONAS], weights=[w for _, w in PERSONAS], k=size)
            slots = asyncio.Semaphore(IN_FLIGHT)

            async def one(n: int, persona: Persona) -> None:
                async with slots:
                    await _citizen(n, persona, run, session, registry, mocks, deadline)

            await asyncio.gather(*(one(n, p) for n, p in enumerate(personas)))
            stop_killing.set()
            await killer
            played = time.monotonic() - started
            report = await _check(run, session, bot, mocks, redis, prefix, deadline)
        report.update(gateway=sms, dialogs=size, workers=WORKERS, kills=run.kills, seconds_played=round(played, 1),
                      worker_takeovers=sum(w.log.read_text(errors="replace").count("took over") for w in workers))
        report["log_lines_scanned"] = _scan_logs(run, [procs_mocks, front, *workers])
        print("\nchaos report: " + json.dumps(report, indent=1, ensure_ascii=False))
        assert not run.problems, "\n".join(run.problems[:30])
        assert run.kills >= 3, "the run was too short to kill workers"
    finally:
        stop_killing.set()
        for proc in (*workers, front, procs_mocks):
            await proc.stop()
        if kannel is not None:
            await kannel.stop()
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        for i in range(0, len(keys), 1000):
            await redis.delete(*keys[i:i + 1000])
        await redis.aclose()
        if run.problems:
            for proc in (front, *workers, procs_mocks):
                print(f"--- {proc.log.name} (last lines)\n" + "\n".join(
                    proc.log.read_text(errors="replace").splitlines()[-25:]))


def _scan_logs(run: Run, procs: list[Proc]) -> int:
    """No raw phone number, IIN or IBAN in any line any process logged (workers dying mid-step included)."""
    secrets = {MOTHER_WITH_HALYK, FATHER_NO_ACCOUNT, VALID_IBAN, "KZ03601KZT0000412345", *run.iins}
    secrets |= {m.lstrip("+") for m in run.dialogs}
    lines = 0
    for proc in procs:
        for line in proc.log.read_text(errors="replace").splitlines():
            lines += 1
            leaked = [s for s in secrets if s in line]
            if leaked:
                run.problems.append(f"{proc.log.name} logged personal data {leaked[0][:4]}…: {line[:120]}")
    return lines


async def _check(run: Run, session: aiohttp.ClientSession, bot: str, mocks: str, redis: Redis, prefix: str,
                 deadline: float) -> dict[str, Any]:
    """Every dialog against its phone and the backend; the counts for the report."""
    async with session.get(f"{mocks}/mock/assignment/applications") as resp:
        applications = {a["client_id"]: a for a in (await resp.json())["applications"]}
    statuses: Counter[str] = Counter()
    consents = lost = 0
    for msisdn, (persona, dialog_id) in run.dialogs.items():
        inbox = [m["text"] for m in await _inbox(session, mocks, msisdn, persona.messages, deadline)]
        async with session.get(f"{bot}/v1/dialogs/{dialog_id}", headers=OPS) as resp:
            dialog = await resp.json()
        statuses[dialog["status"]] += 1
        if dialog["status"] != persona.status:
            run.problems.append(f"{msisdn} ({persona.name}): status {dialog['status']}, expected {persona.status}")
        if len(inbox) != persona.messages or len(set(inbox)) != len(inbox):
            run.problems.append(f"{msisdn} ({persona.name}): {len(inbox)} SMS ({len(set(inbox))} distinct), "
                                f"expected {persona.messages}")
        sent = [line for line in dialog["transcript"] if line["direction"] == "out"]
        if len(sent) != len(inbox):
            run.problems.append(f"{msisdn}: the dialog says it sent {len(sent)} SMS, the phone has {len(inbox)}")
        if persona.consents:
            consent, application = dialog["consent"], applications.get(dialog_id)
            if consent is None or application is None:
                lost += 1
                run.problems.append(f"{msisdn}: consent lost (consent {consent}, application {application})")
                continue
            consents += 1
            day = parse_instant(consent["given_at"]).astimezone(ALMATY).date().isoformat()
            if not consent["application_date"] == application["application_date"] == day:
                run.problems.append(f"{msisdn}: application date {consent['application_date']} / "
                                    f"{application['application_date']}, consent given on {day}")
        elif dialog_id in applications:
            run.problems.append(f"{msisdn}: refused, yet an application was submitted")
    async with session.get(f"{mocks}/mock/sms/stats") as resp:
        sms = await resp.json()
    dead = await redis.xlen(Keys(prefix).dead_letters())
    if dead:
        run.problems.append(f"{dead} entries in the dead letters")
    pending = await _drained(redis, Keys(prefix).jobs(), min(deadline, time.monotonic() + DRAIN_SECONDS))
    if pending:
        run.problems.append(f"{pending} entries still in the work stream")
    ledger = await _check_ledger(run, redis, prefix)
    return {"statuses": dict(statuses), "consents_kept": consents, "consents_lost": lost,
            "applications": len(applications), "sms": sms, "http_answers": dict(run.answers),
            "dead_letters": dead, "left_in_stream": pending, "ledger": ledger}


async def _drained(redis: Redis, stream: str, until: float) -> int:
    """Entries left in the work stream once it drains, or at `until`. The citizens are done, but work may still
    be on its way: a delivery report Kannel calls back with a moment later, or a job waiting for the lock of a
    worker killed at the end (PHONE_LOCK_SECONDS, then JOB_CLAIM_IDLE_SECONDS). Polled: nothing says so."""
    while True:
        left = int(await redis.xlen(stream))
        if not left or time.monotonic() >= until:
            return left
        await asyncio.sleep(0.5)  # another process's stream: polled, it cannot be awaited here


async def _check_ledger(run: Run, redis: Redis, prefix: str) -> dict[str, Any]:
    """The consent ledger the killed workers left: `proactive-bot ledger verify` passes, and every dialog has
    its acts, each once (consent and account for those who agreed, a refusal for those who refused)."""
    proc = await asyncio.create_subprocess_exec(str(BIN), "ledger", "verify", "--redis-url", REDIS_URL,
                                                "--prefix", prefix, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    verdict = out.decode().strip()
    if proc.returncode != 0:
        run.problems.append(f"ledger verify exited {proc.returncode}: {verdict[:300]}")
    acts: dict[str, list[str]] = {}
    for line in await redis.lrange(Keys(prefix).ledger("records"), 0, -1):
        record = json.loads(line)
        acts.setdefault(record["dialog_id"], []).append(record["act"])
    for msisdn, (persona, dialog_id) in run.dialogs.items():
        kinds = acts.get(dialog_id, [])
        expected = 2 if persona.consents else 1
        if len(kinds) != expected or kinds[0] != ("consent" if persona.consents else "decline"):
            run.problems.append(f"{msisdn} ({persona.name}): ledger acts {kinds}")
    return {"verify": verdict, "records": sum(len(k) for k in acts.values())}
