"""A simulated phone network behind a real Kannel: its fake SMSC's socket on one side, simulated phones on the other.

Kannel (Debian's `kannel`: `bearerbox` and `smsbox`) is started from a generated config on free loopback
ports (`KannelBox`). Its `smsc = fake` group listens on a TCP port; `KannelPhones` connects there and speaks
the fake SMSC's line protocol (Kannel's gw/smsc/smsc_fake.c, 1.4.5):

    MT, Kannel → phones:  `SENDER RECEIVER text <text>` (printable 7-bit), `… data <url-encoded bytes>`,
                          `… ucs-2 <url-encoded UTF-16BE>`, and for each part of a concatenated SMS
                          `… udh <url-encoded UDH> data <url-encoded part>`
    MO, phones → Kannel:  `SENDER RECEIVER text <text>` or `… ucs2 <url-encoded UTF-16BE>`

The phones keep the same inboxes, API and switches as the aggregator mock (`SmsGateway`, whose phone half
this reuses): `/mock/phones/{msisdn}/sms` and `/state`. What differs is that everything crosses Kannel
asynchronously; in dev, `Traffic` counts what is on its way so that a phone's inbox is read once everything
already sent has arrived (the bot's own Kannel channel and webhooks report to it; see bot/devserver.py).

What Kannel's fake SMSC cannot do, this network cannot either: the fake SMSC reports every MT it writes to
the socket as delivered (DLR 1) at once, so a switched-off phone loses the SMS without a failed report, and
there are no injected gateway faults (`POST /mock/sms/faults` answers 409 here). Those paths are tested
against the aggregator mock and, for Kannel's DLR codes, in tests/unit/test_kannel_channel.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import tempfile
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.clock import Clock
from domain.sms_length import Encoding

from .common import Outbound, error_response, iso, normalise_msisdn
from .settings import MocksSettings
from .sms import SHORT_NUMBER, SmsGateway

log = logging.getLogger(__name__)

SETTLE_SECONDS = 15.0  # how long a read waits for what is on its way through Kannel before reading anyway
START_SECONDS = 10.0


class Traffic:
    """Dev only: counts of what is on its way through Kannel, so a reader can wait until all of it has arrived.

    MT: the bot's channel counts what Kannel accepted, the phones what they received whole; each arrival is
    followed by `reports_per_sms` delivery reports (the SMSC's acceptance, then delivery; Kannel joins a
    concatenated SMS's reports into one of each), which the bot's dlr-url handler counts when it has answered.
    MO: the phones count what they wrote to the socket, the bot's
    get-url handler what it has answered. A 5xx answer is not counted: smsbox will call again.
    """

    def __init__(self, reports_per_sms: int = 1) -> None:
        self.reports_per_sms = reports_per_sms  # the fake SMSC sends one per dlr-mask bit of 1 (delivered) and 8
        self.mt_accepted = self.mt_arrived = self.dlr_taken = 0
        self.mo_written = self.mo_taken = 0
        self._changed = asyncio.Event()

    def bump(self, name: str) -> None:
        setattr(self, name, getattr(self, name) + 1)
        self._changed.set()

    def settled(self) -> bool:
        return (self.mt_arrived >= self.mt_accepted and self.dlr_taken >= self.reports_per_sms * self.mt_arrived
                and self.mo_taken >= self.mo_written)

    async def settle(self, seconds: float = SETTLE_SECONDS) -> bool:
        """Wait until everything on its way has arrived (True), or `seconds` have passed (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self.settled():
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.warning("Kannel traffic not settled after %.0f s: %s", seconds, self.counts())
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return True

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in ("mt_accepted", "mt_arrived", "dlr_taken", "mo_written",
                                                       "mo_taken")}


@dataclass
class _Parts:
    """The parts of one concatenated SMS received so far."""

    total: int
    parts: dict[int, bytes] = field(default_factory=dict)


class KannelPhones(SmsGateway):
    """Simulated phones on the fake SMSC's socket; the same phone API as the aggregator mock."""

    def __init__(self, settings: MocksSettings, clock: Clock, host: str, port: int,
                 traffic: Traffic | None = None) -> None:
        super().__init__(settings, clock, Outbound())
        self.host, self.port = host, port
        self.traffic = traffic
        self.lines = 0  # lines read from the socket (each part of a long SMS is one)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self._pending: dict[tuple[str, str, int], _Parts] = {}
        self._write_lock = asyncio.Lock()

    async def connect(self, seconds: float = START_SECONDS) -> None:
        """Connect to the fake SMSC (retrying while bearerbox is still starting) and start reading; the
        connection is made again whenever Kannel drops it (a restarted bearerbox), until close()."""
        await self._open(seconds)
        self._reading = asyncio.create_task(self._read_forever())

    async def _open(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            try:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
                return
            except OSError:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.05)  # bearerbox opens its port when it is ready; nothing to await

    async def close(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()

    # MT ------------------------------------------------------------------------------------------

    async def _read_forever(self) -> None:
        while True:
            assert self._reader is not None
            while line := await self._reader.readline():
                try:
                    self.take_line(line.rstrip(b"\r\n").decode("latin-1"))
                except ValueError as error:  # a line we cannot read is logged, never fatal to the network
                    log.warning("fake SMSC line not understood: %s", error)
            log.warning("Kannel closed the fake SMSC connection: connecting again")
            self._pending.clear()  # parts of a message cut off with the connection never complete
            await self._open(float("inf"))

    def take_line(self, line: str) -> None:
        """One MT line from Kannel: a whole SMS, or one part of a concatenated one."""
        self.lines += 1
        sender, receiver, kind, rest = _split(line, 3)
        if kind == "udh":
            udh, part_kind, payload = _split(rest, 2)
            self._take_part(sender, receiver, _unquote(udh), part_kind, payload)
            return
        data, coded = _payload(kind, payload=rest)
        self._arrive(sender, receiver, data, coded, 1)

    def _take_part(self, sender: str, receiver: str, udh: bytes, kind: str, payload: str) -> None:
        reference, total, number = _concatenation(udh)
        data, _ = _payload(kind, payload)
        key = (sender, receiver, reference)
        parts = self._pending.setdefault(key, _Parts(total))
        parts.parts[number] = data
        if len(parts.parts) < parts.total:
            return
        del self._pending[key]
        joined = b"".join(parts.parts[n] for n in sorted(parts.parts))
        self._arrive(sender, receiver, joined, _guess_coding(joined), parts.total)

    def _arrive(self, sender: str, receiver: str, data: bytes, coding: Encoding, parts: int) -> None:
        text = data.decode("utf-16-be" if coding == "UCS2" else "utf-8", errors="replace")
        to = normalise_msisdn(receiver) or receiver
        self._out_seq += 1
        message_id = f"kannel-out-{self._out_seq}"
        phone = self.phone(to)
        status = "delivered" if phone.reachable else "lost"  # the fake SMSC has reported it delivered anyway
        if phone.reachable:
            self.delivered += 1
            phone.inbox.append({"id": message_id, "from": sender, "text": text, "encoding": coding,
                                "segments": parts, "at": iso(self.clock.now())})
            self._background(self._tell_waiting())
        else:
            self.delivery_failed += 1
        self.sent.append({"message_id": message_id, "client_id": None, "to": to, "status": status})
        if self.traffic is not None:
            self.traffic.bump("mt_arrived")

    def send(self, client_id: str, to: str, sender: str, text: str) -> tuple[str, bool]:
        raise NotImplementedError("with Kannel, the bot sends through Kannel's sendsms, not the mock's API")

    # MO ------------------------------------------------------------------------------------------

    async def receive(self, msisdn: str, text: str) -> str:
        """A phone's SMS to 1414, written to the fake SMSC as a phone network would hand it over."""
        self._in_seq += 1
        sender = msisdn.lstrip("+")
        if text and all(32 <= ord(c) <= 126 for c in text):
            line = f"{sender} {SHORT_NUMBER} text {text}\n"
        else:  # what a phone sends for Cyrillic (and for a newline): UCS-2
            line = f"{sender} {SHORT_NUMBER} ucs2 {urllib.parse.quote(text.encode('utf-16-be'))}\n"
        assert self._writer is not None, "connect() first"
        async with self._write_lock:
            self._writer.write(line.encode("ascii"))
            await self._writer.drain()
        self.received.append({"message_id": f"kannel-in-{self._in_seq}", "from": msisdn, "to": SHORT_NUMBER,
                              "text": text, "received_at": iso(self.clock.now())})
        if self.traffic is not None:
            self.traffic.bump("mo_written")
            await self.traffic.settle()  # answered once the bot has taken it, as the aggregator mock is
        return f"kannel-in-{self._in_seq}"

    async def flush(self) -> None:
        """Wait until what is on its way through Kannel has arrived: SMS, reports and replies."""
        if self.traffic is not None:
            await self.traffic.settle()
        await super().flush()

    # HTTP ----------------------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/sms/stats", self.handle_stats),
            web.get("/sms/faults", self.handle_faults),
            web.post("/sms/faults", self.handle_no_faults),
            web.post("/sms/send", self.handle_no_send),
            web.get("/phones/{msisdn}/sms", self.handle_settled_inbox),
            web.post("/phones/{msisdn}/sms", self.handle_phone_sends),
            web.post("/phones/{msisdn}/state", self.handle_state),
        ]

    async def handle_settled_inbox(self, request: web.Request) -> web.Response:
        if self.traffic is not None:
            await self.traffic.settle()
        return await self.handle_inbox(request)

    async def handle_no_faults(self, request: web.Request) -> web.Response:
        return error_response(409, "not_supported", message="faults are injected in the aggregator mock; "
                                                            "Kannel's fake SMSC delivers every SMS it takes")

    async def handle_no_send(self, request: web.Request) -> web.Response:
        return error_response(409, "not_supported", message="with Kannel, send through Kannel's sendsms")


def _split(text: str, count: int) -> list[str]:
    parts = text.split(" ", count)
    if len(parts) < count + 1:
        if len(parts) == count:  # an empty last field: `1414 7701… ucs-2 ` arrives as `… ucs-2`
            return [*parts, ""]
        raise ValueError(f"expected {count + 1} fields: {text[:80]!r}")
    return parts


def _unquote(text: str) -> bytes:
    """Kannel's octstr_url_encode writes a space as `+` (and `+` itself as %2B)."""
    return urllib.parse.unquote_to_bytes(text.replace("+", " "))


def _payload(kind: str, payload: str) -> tuple[bytes, Encoding]:
    if kind == "text":
        return payload.encode("latin-1"), "GSM7"  # the line is read as latin-1: these are Kannel's bytes
    if kind == "data":
        return _unquote(payload), "GSM7"
    if kind == "ucs-2":
        return _unquote(payload), "UCS2"
    raise ValueError(f"unknown fake SMSC message type {kind!r}")


def _concatenation(udh: bytes) -> tuple[int, int, int]:
    """(reference, total, part number) from a UDH with a concatenation element (8- or 16-bit reference)."""
    at = 1
    while at + 1 < len(udh):
        element, size = udh[at], udh[at + 1]
        body = udh[at + 2:at + 2 + size]
        if element == 0x00 and size == 3:
            return body[0], body[1], body[2]
        if element == 0x08 and size == 4:
            return body[0] << 8 | body[1], body[2], body[3]
        at += 2 + size
    raise ValueError(f"no concatenation element in UDH {udh.hex()}")


def _guess_coding(data: bytes) -> Encoding:
    """The fake SMSC's udh line does not say the coding (a real SMSC's DCS would): UCS-2 text in our SMS is
    UTF-16BE whose high bytes are 0x00 (Latin), 0x04 (Cyrillic, Kazakh) or 0x20-0x21 (₸, dashes, №), while
    7-bit text arrives as its own characters, whose every other byte is never a control character."""
    highs = data[0::2]
    if len(data) % 2 == 0 and highs and all(b < 0x30 for b in highs) and any(b < 0x20 for b in highs):
        return "UCS2"
    return "GSM7"


def free_port() -> int:
    """A free loopback port (bound and released: another process could take it first, which start() reports)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class KannelBox:
    """bearerbox and smsbox from a generated config on free loopback ports, for dev, tests and the bench."""

    mo_url: str                 # smsbox's get-url: where a phone's SMS goes (Kannel's escapes included)
    username: str = "proactive-bot"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # Kannel's: 0 debug … 4 panic. Its info and error lines hold phones, texts and the get-url's credential.
    log_level: int = 4
    directory: Path | None = None
    admin_port: int = field(default_factory=free_port)
    smsbox_port: int = field(default_factory=free_port)
    smsc_port: int = field(default_factory=free_port)
    sendsms_port: int = field(default_factory=free_port)
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    _processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    _made_directory: bool = False

    @property
    def pids(self) -> list[int]:
        """bearerbox's and smsbox's process ids, while they run."""
        return [process.pid for process in self._processes]

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    def config(self) -> str:
        assert self.directory is not None
        logs = self.directory
        return CONFIG.format(
            admin_port=self.admin_port, admin_password=self.admin_password, smsbox_port=self.smsbox_port,
            smsc_port=self.smsc_port, sendsms_port=self.sendsms_port, username=self.username,
            password=self.password, mo_url=self.mo_url, bearerbox_log=logs / "bearerbox.log",
            smsbox_log=logs / "smsbox.log", log_level=self.log_level)

    async def start(self, attempts: int = 3) -> None:
        """Write the config, start both boxes and return once smsbox is connected to bearerbox.

        The ports are free when picked, but another process may take one before Kannel binds it (this machine's
        tests open ephemeral ports all the time): then Kannel does not come up, and it is started again on
        fresh ports, up to `attempts` times.
        """
        binaries = [shutil.which(name) or f"/usr/sbin/{name}" for name in ("bearerbox", "smsbox")]
        if not all(os.access(path, os.X_OK) for path in binaries):
            raise RuntimeError("Kannel is not installed: run ./scripts/ensure-kannel (apt install kannel)")
        if self.directory is None:
            self.directory, self._made_directory = Path(tempfile.mkdtemp(prefix="proactive-bot-kannel-")), True
        for attempt in range(1, attempts + 1):
            try:
                await self._start_once(binaries)
                return
            except _NotUp as error:
                logs = error.logs
                await self._stop_processes()
                log.warning("Kannel did not start (attempt %d of %d): %s", attempt, attempts, logs[-300:])
                self.admin_port, self.smsbox_port, self.smsc_port, self.sendsms_port = (
                    free_port(), free_port(), free_port(), free_port())
        await self.stop()
        raise RuntimeError(f"Kannel did not start in {attempts} attempts; its last log lines: {logs[-600:]}")

    async def _start_once(self, binaries: list[str]) -> None:
        assert self.directory is not None
        path = self.directory / "kannel.conf"
        path.write_text(self.config())
        # bearerbox is asked over its admin port whether it is up and then whether smsbox has connected: a bare
        # TCP probe of its box port would hold its accept loop a second, and smsbox opens its sendsms port
        # before it has connected (a sendsms call in between waits for its reconnection, a second later).
        bearerbox = await self._spawn(binaries[0], path)
        await self._wait_for_status(bearerbox, lambda status: f"FAKE:{self.smsc_port}" in status
                                    and "dead" not in status.split("SMSC connections:", 1)[-1])
        smsbox = await self._spawn(binaries[1], path)
        await self._wait_for_status(smsbox, lambda status: "smsbox" in status.split("Box connections:", 1)[-1])

    async def _spawn(self, binary: str, config: Path) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            binary, str(config), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, start_new_session=True)
        self._processes.append(process)
        return process

    async def _wait_for_status(self, process: asyncio.subprocess.Process, ready: Callable[[str], bool]) -> None:
        """Poll bearerbox's status page until `ready` says so (nothing else tells; 20 ms apart); _NotUp when the
        process exits or START_SECONDS pass (another listener on the admin port never answers: 1 s a try)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_SECONDS
        url = f"http://127.0.0.1:{self.admin_port}/status.txt?password={self.admin_password}"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as session:
            while process.returncode is None and loop.time() < deadline:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(url) as resp:
                        if resp.status == 200 and ready(await resp.text()):
                            return
                await asyncio.sleep(0.02)
        raise _NotUp(self._log_tail())

    def _log_tail(self) -> str:
        assert self.directory is not None
        lines: list[str] = []
        for name in ("bearerbox.log", "smsbox.log"):
            with contextlib.suppress(OSError):
                lines += (self.directory / name).read_text(errors="replace").splitlines()[-3:]
        return " | ".join(lines)

    async def stop(self) -> None:
        """Stop both boxes: SIGTERM, then SIGKILL after 2 s (nothing of theirs needs keeping)."""
        await self._stop_processes()
        if self._made_directory and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    async def _stop_processes(self) -> None:
        for process in reversed(self._processes):
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 2)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
        self._processes.clear()


class _NotUp(Exception):
    """Kannel did not come up; `logs` holds the last lines it wrote."""

    def __init__(self, logs: str) -> None:
        super().__init__(logs)
        self.logs = logs


def mo_url(bot_url: str, user: str, secret: str, *, with_time: bool = False) -> str:
    """smsbox's get-url for the bot's Kannel webhook, HTTP Basic in the URL; `%T` only on the real clock (it
    is Kannel's wall-clock time, which a simulated dev clock would read as the far future or past)."""
    scheme, _, rest = bot_url.partition("://")
    userinfo = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(secret, safe='')}"
    query = "id=%I&from=%p&to=%P&coding=%c&charset=%C&text=%b" + ("&at=%T" if with_time else "")
    return f"{scheme}://{userinfo}@{rest.rstrip('/')}/v1/inbound/sms/kannel?{query}"


CONFIG = """\
# Generated by gateway_mocks/kannel.py: Kannel for the dev system, tests and the bench, on loopback only.
group = core
admin-port = {admin_port}
admin-interface = 127.0.0.1
admin-password = {admin_password}
smsbox-port = {smsbox_port}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{bearerbox_log}"
log-level = {log_level}
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = phones
port = {smsc_port}
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox_port}
sendsms-port = {sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{smsbox_log}"
log-level = {log_level}
# A get-url or dlr-url call the bot did not take (5xx, unreachable) is made again, every second here.
http-request-retry = 30
http-queue-delay = 1

group = sendsms-user
username = {username}
password = {password}
user-allow-ip = 127.0.0.1
concatenation = true
max-messages = 6

group = sms-service
keyword = default
catch-all = true
# The bot answers with an empty body; it never has Kannel send an answer back to the phone.
max-messages = 0
get-url = "{mo_url}"
"""


def phones_settle_hook(traffic: Traffic) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """An aiohttp `on_response_prepare` handler for the bot's app: counts the Kannel webhooks the bot answered."""
    async def counted(request: web.Request, response: web.StreamResponse) -> None:
        if response.status >= 500:
            return  # smsbox calls again
        if request.path == "/v1/inbound/sms/kannel":
            traffic.bump("mo_taken")
        elif request.path == "/v1/inbound/sms/kannel/status":
            traffic.bump("dlr_taken")
    return counted
