"""Throwaway Redis servers for tests: an AOF-persistent single server and a small Redis Cluster.

    async with aof_redis() as server:          # redis-server, appendonly + appendfsync always
        await server.kill()                     # SIGKILL: nothing after the last acknowledged write survives
        await server.start()                    # same port and dir: reloads the AOF
    async with redis_cluster(nodes=3) as cluster:
        rc = cluster.client()                   # redis.asyncio.cluster.RedisCluster, closed on exit

Every server gets a free loopback port and its own temporary directory; stdout and stderr of
the server go to ``redis.log`` there, and a server that does not come up raises
:class:`RedisStartError` with the tail of that log.

What the installed redis-py (8.1) async cluster client supports, checked against Redis 7.0 in
tests/integration/test_redis_servers.py:

(a) Transactions. ``pipeline(transaction=True)`` is supported (a ``TransactionStrategy``
    pipeline): MULTI/EXEC works, and so do ``await pipe.watch(...)`` / immediate reads /
    ``pipe.multi()`` / ``execute()``, including ``redis.exceptions.WatchError`` when a watched
    key changes — as long as every key hashes to one slot (share a ``{hash tag}``).
    Keys in more than one slot raise ``redis.exceptions.CrossSlotTransactionError`` (a subclass
    of ``RedisClusterException``), client-side and before anything is sent: from ``execute()``
    for queued commands, and at once from an immediate command (a second ``watch``, or a read
    after ``watch``) on another slot. A single command whose own keys span slots (e.g.
    ``watch("a", "b")``) fails earlier with plain ``RedisClusterException`` ("WATCH - all keys
    must map to the same key slot"), so catch ``RedisClusterException`` to get both. Some
    commands (MGET, EVALSHA, KEYS, ...) cannot be queued in a cluster pipeline at all:
    ``RedisClusterException`` "Calling pipelined function mget is blocked ...".
(b) Other features, with keys in one slot:
    - ``lock()``: works (its Lua scripts carry the one lock key); a second holder is refused.
    - ``register_script`` and ``eval``: work with all keys in one slot; keys in several slots
      raise ``RedisClusterException`` ("... all keys must map to the same key slot") client-side.
    - Streams: XADD, XGROUP CREATE, XREADGROUP, XPENDING with IDLE (``xpending_range(...,
      idle=ms)``) and XAUTOCLAIM work on a single stream key.
    - BLPOP: works on one key (or several in one slot) and blocks until a push; keys in several
      slots raise ``RedisClusterException`` client-side.
    - MGET across slots: plain ``mget`` raises ``RedisClusterException`` ("MGET - all keys must
      map to the same key slot"); ``mget_nonatomic`` splits by slot, queries each node and
      returns the values in the order asked (not atomic).
    - ``scan_iter``: scans every primary (one cursor per node) and yields keys from all nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import BinaryIO

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

HOST = "127.0.0.1"
CLUSTER_SLOTS = 16384
CLUSTER_BUS_OFFSET = 10000  # a cluster node also listens on port + 10000
STARTUP_TIMEOUT = 10.0
POLL_INTERVAL = 0.02
LOG_NAME = "redis.log"
_PORT_ATTEMPTS = 5


class RedisStartError(RuntimeError):
    """A test Redis server (or cluster) did not come up in time."""


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(cluster_bus: bool = False) -> int:
    """A loopback port that is free right now (and, for a cluster node, so is port + 10000).

    Another process could still take it before the server binds; start() retries on
    "Address already in use".
    """
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((HOST, 0))
            port: int = probe.getsockname()[1]
        if not cluster_bus:
            return port
        if port + CLUSTER_BUS_OFFSET <= 65535 and _bindable(port + CLUSTER_BUS_OFFSET):
            return port
    raise RedisStartError("no free loopback port found")


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _open_log(path: Path) -> BinaryIO:
    return path.open("ab")  # append: restarts keep the earlier runs' log


class RedisServer:
    """One ``redis-server --daemonize no`` child process on a loopback port, in its own directory."""

    def __init__(self, args: Sequence[str], directory: Path, cluster_bus: bool = False) -> None:
        self.host = HOST
        self.directory = directory
        self.port = free_port(cluster_bus)
        self._args = list(args)
        self._cluster_bus = cluster_bus
        self._port_pinned = False  # after the first successful start, restarts keep the port
        self._process: asyncio.subprocess.Process | None = None
        self._clients: list[Redis] = []

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.directory / LOG_NAME

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def log_tail(self, lines: int = 30) -> str:
        return _log_tail(self.log_path, lines)

    def client(self, **kwargs: object) -> Redis:
        """A plain client for this server; closed when the server's context exits."""
        client = Redis(host=self.host, port=self.port, **kwargs)  # type: ignore[arg-type]
        self._clients.append(client)
        return client

    async def start(self) -> None:
        """Start the server and return once it answers PING and has finished loading its data."""
        if self.running:
            raise RuntimeError(f"redis-server on port {self.port} is already running")
        for attempt in range(_PORT_ATTEMPTS):
            await self._spawn()
            try:
                await self._wait_ready()
            except RedisStartError:
                await self.kill()
                port_taken = "Address already in use" in self.log_tail()
                if self._port_pinned or not port_taken or attempt == _PORT_ATTEMPTS - 1:
                    raise
                self.port = free_port(self._cluster_bus)  # lost the race for the port: pick another
                continue
            self._port_pinned = True
            return

    async def kill(self) -> None:
        """SIGKILL the server (no shutdown, no final save) and wait until the process is gone."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await process.wait()

    async def restart(self) -> None:
        await self.kill()
        await self.start()

    async def close(self) -> None:
        """Close the clients handed out, kill the server."""
        clients, self._clients = self._clients, []
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()
        await self.kill()

    async def _spawn(self) -> None:
        redis_server = shutil.which("redis-server")
        if redis_server is None:
            raise RedisStartError("redis-server is not on PATH")
        log = _open_log(self.log_path)
        try:
            self._process = await asyncio.create_subprocess_exec(
                redis_server,
                "--port", str(self.port),
                "--bind", self.host,
                "--dir", str(self.directory),
                "--daemonize", "no",
                *self._args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.directory,
            )
        finally:
            log.close()

    async def _wait_ready(self) -> None:
        # The server is another process: nothing in it can be awaited to learn that it is listening
        # and done loading the AOF, so poll PING + INFO persistence, briefly and with a deadline.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_TIMEOUT
        last_error: object = "never answered"
        while True:
            process = self._process
            if process is None or process.returncode is not None:
                code = None if process is None else process.returncode
                raise RedisStartError(
                    f"redis-server on port {self.port} exited with code {code} while starting; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            probe = _probe(self.host, self.port)
            try:
                if await probe.ping():
                    info = await probe.info("persistence")
                    if int(info.get("loading", 1)) == 0:
                        return
                    last_error = "still loading"
            except Exception as error:  # not listening yet, or LOADING
                last_error = error
            finally:
                await probe.aclose()
            if loop.time() >= deadline:
                raise RedisStartError(
                    f"redis-server on port {self.port} not ready after {STARTUP_TIMEOUT:.0f}s "
                    f"(last: {last_error!r}); log {self.log_path}:\n{self.log_tail()}"
                )
            await asyncio.sleep(POLL_INTERVAL)


def _probe(host: str, port: int) -> Redis:
    """A client for the startup poll: no retries or backoff of its own, the poll loop is the retry."""
    return Redis(host=host, port=port, socket_connect_timeout=0.5, socket_timeout=1.0, retry=Retry(NoBackoff(), 0))


def _make_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


@contextlib.asynccontextmanager
async def aof_redis(extra_args: Sequence[str] = ()) -> AsyncIterator[RedisServer]:
    """A redis-server where every acknowledged write is on disk (AOF, fsync always, no RDB)."""
    directory = _make_dir("pbtest-redis-aof-")
    server = RedisServer(
        ["--appendonly", "yes", "--appendfsync", "always", "--save", "", *extra_args], directory
    )
    try:
        await server.start()
        yield server
    finally:
        await server.close()
        shutil.rmtree(directory, ignore_errors=True)


class Cluster:
    """A running Redis Cluster of masters only."""

    def __init__(self, servers: list[RedisServer]) -> None:
        self.servers = servers
        self._clients: list[RedisCluster] = []

    @property
    def nodes(self) -> list[tuple[str, int]]:
        return [(s.host, s.port) for s in self.servers]

    @property
    def url(self) -> str:
        return self.servers[0].url

    def client(self, **kwargs: object) -> RedisCluster:
        """A cluster client seeded with the first node; closed when the cluster's context exits."""
        host, port = self.nodes[0]
        client = RedisCluster(host=host, port=port, **kwargs)  # type: ignore[arg-type]
        self._clients.append(client)
        return client

    async def close(self) -> None:
        clients, self._clients = self._clients, []
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()
        await asyncio.gather(*(s.close() for s in self.servers), return_exceptions=True)

    async def _create(self) -> None:
        redis_cli = shutil.which("redis-cli")
        if redis_cli is None:
            raise RedisStartError("redis-cli is not on PATH")
        process = await asyncio.create_subprocess_exec(
            redis_cli, "--cluster", "create", *(f"{h}:{p}" for h, p in self.nodes),
            "--cluster-replicas", "0", "--cluster-yes",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), STARTUP_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RedisStartError(f"redis-cli --cluster create did not finish in {STARTUP_TIMEOUT:.0f}s") from None
        if process.returncode != 0:
            raise RedisStartError(
                f"redis-cli --cluster create failed ({process.returncode}):\n{output.decode(errors='replace')}"
            )

    async def _wait_ok(self) -> None:
        # Slot assignment and gossip happen inside the nodes; no event reaches us, so poll CLUSTER INFO
        # on every node, briefly and with a deadline.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_TIMEOUT
        probes = [_probe(h, p) for h, p in self.nodes]
        last: list[object] = []
        try:
            while True:
                last = []
                for probe in probes:
                    try:
                        last.append(await probe.cluster("INFO"))
                    except Exception as error:
                        last.append(error)
                if all(isinstance(info, dict) and _cluster_ok(info, len(probes)) for info in last):
                    return
                if loop.time() >= deadline:
                    states = "; ".join(
                        f"{p}: {_summary(info)}" for (_, p), info in zip(self.nodes, last, strict=True)
                    )
                    tail = self.servers[0].log_tail()
                    raise RedisStartError(
                        f"cluster not ok after {STARTUP_TIMEOUT:.0f}s ({states}); "
                        f"log of node 1 ({self.servers[0].log_path}):\n{tail}"
                    )
                await asyncio.sleep(POLL_INTERVAL)
        finally:
            for probe in probes:
                await probe.aclose()


def _cluster_ok(info: dict[str, object], nodes: int) -> bool:
    return (
        info.get("cluster_state") == "ok"
        and int(str(info.get("cluster_slots_assigned", 0))) == CLUSTER_SLOTS
        and int(str(info.get("cluster_known_nodes", 0))) == nodes
    )


def _summary(info: object) -> str:
    if not isinstance(info, dict):
        return repr(info)
    keys = ("cluster_state", "cluster_slots_assigned", "cluster_known_nodes")
    return ", ".join(f"{k}={info.get(k)}" for k in keys)


@contextlib.asynccontextmanager
async def redis_cluster(nodes: int = 3) -> AsyncIterator[Cluster]:
    """A Redis Cluster of ``nodes`` masters (no replicas) on free loopback ports, ready to use."""
    if nodes < 3:
        raise ValueError("redis-cli --cluster create needs at least 3 masters")
    directories = [_make_dir(f"pbtest-redis-cluster{i}-") for i in range(nodes)]
    args = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
            "--appendonly", "no", "--save", ""]
    servers: list[RedisServer] = []
    for directory in directories:
        servers.append(RedisServer(args, directory, cluster_bus=True))
    cluster = Cluster(servers)
    try:
        failures = [r for r in await asyncio.gather(*(s.start() for s in servers), return_exceptions=True) if r]
        if failures:
            raise failures[0]
        await cluster._create()
        await cluster._wait_ok()
        yield cluster
    finally:
        await cluster.close()
        for directory in directories:
            shutil.rmtree(directory, ignore_errors=True)
