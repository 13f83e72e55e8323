"""The throwaway Redis helpers of tests/redis_servers.py work, and what the redis-py cluster client can do.

The cluster tests share one 3-master cluster (started once for the module, flushed before each test);
they prove the capability notes in the docstring of tests/redis_servers.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import CrossSlotTransactionError, RedisClusterException, WatchError

from tests.redis_servers import Cluster, RedisStartError, aof_redis, redis_cluster

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


# --- AOF server ---------------------------------------------------------------------------------


async def test_aof_survives_kill_9() -> None:
    async with aof_redis() as server:
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        client = server.client()
        async with client.pipeline(transaction=False) as pipe:
            for i in range(1000):
                pipe.set(f"k:{i}", f"v{i}")
            assert all(await pipe.execute())

        await server.kill()
        assert not server.running
        await server.start()

        assert await client.dbsize() == 1000
        values = await client.mget([f"k:{i}" for i in range(1000)])
        assert values == [f"v{i}".encode() for i in range(1000)]

        await client.set("after", "restart")
        port = server.port
        await server.restart()
        assert server.port == port
        assert await client.get("after") == b"restart"
        assert await client.dbsize() == 1001


def _exists(path: Path) -> bool:
    return path.exists()


async def test_aof_server_cleans_up() -> None:
    async with aof_redis() as server:
        directory = server.directory
        process_port = server.port
        assert (directory / "appendonlydir").is_dir()
    assert not server.running
    assert not _exists(directory)
    probe = Redis(port=process_port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    try:
        with pytest.raises(RedisConnectionError):  # nothing listens there any more
            await probe.ping()
    finally:
        await probe.aclose()


async def test_aof_start_failure_shows_the_log() -> None:
    with pytest.raises(RedisStartError, match="exited with code") as failure:
        async with aof_redis(extra_args=["--no-such-option", "x"]):
            pass
    assert "no-such-option" in str(failure.value)


# --- cluster ------------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster() -> AsyncIterator[Cluster]:
    async with redis_cluster(nodes=3) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def rc(cluster: Cluster) -> AsyncIterator[RedisCluster]:
    client = cluster.client()
    await client.flushall()  # every primary
    try:
        yield client
    finally:
        await client.aclose()


async def test_cluster_is_three_masters(cluster: Cluster, rc: RedisCluster) -> None:
    assert len(cluster.nodes) == 3
    assert cluster.url == f"redis://{cluster.nodes[0][0]}:{cluster.nodes[0][1]}/0"
    assert {(n.host, n.port) for n in rc.get_primaries()} == set(cluster.nodes)
    assert rc.get_replicas() == []


async def test_keys_in_different_slots_land_on_different_nodes(cluster: Cluster, rc: RedisCluster) -> None:
    keys = [f"spread:{i}" for i in range(60)]
    for key in keys:
        await rc.set(key, "x")
    expected: dict[int, set[bytes]] = {}
    for key in keys:
        node = rc.get_node_from_key(key)
        expected.setdefault(node.port, set()).add(key.encode())
    assert len(expected) == 3
    assert len({rc.keyslot(k) for k in keys}) > 3

    # Each node, asked directly (not through the cluster client), holds exactly its own keys.
    for host, port in cluster.nodes:
        direct = Redis(host=host, port=port)
        try:
            assert set(await direct.keys("spread:*")) == expected[port]
        finally:
            await direct.aclose()


async def _exec_calls(node: Redis) -> int:
    stats = await node.info("commandstats")
    return int(stats.get("cmdstat_exec", {}).get("calls", 0))


async def test_same_tag_transaction_with_watch(rc: RedisCluster) -> None:
    owner = rc.get_node_from_key("{acct}:balance")
    direct = Redis(host=owner.host, port=owner.port)
    try:
        before = await _exec_calls(direct)
        async with rc.pipeline(transaction=True) as pipe:
            pipe.set("{acct}:balance", 10)
            pipe.incrby("{acct}:balance", 5)
            pipe.rpush("{acct}:log", "deposit")
            assert await pipe.execute() == [True, 15, 1]
        assert await _exec_calls(direct) == before + 1  # sent as one MULTI/EXEC to the slot's owner
    finally:
        await direct.aclose()

    async with rc.pipeline(transaction=True) as pipe:
        await pipe.watch("{acct}:balance")
        balance = int(await pipe.get("{acct}:balance"))
        pipe.multi()
        pipe.set("{acct}:balance", balance - 3)
        pipe.rpush("{acct}:log", "withdraw")
        assert await pipe.execute() == [True, 2]
    assert await rc.get("{acct}:balance") == b"12"

    other = RedisCluster(host=rc.get_default_node().host, port=rc.get_default_node().port)
    try:
        async with rc.pipeline(transaction=True) as pipe:
            await pipe.watch("{acct}:balance")
            await other.set("{acct}:balance", 100)  # a concurrent writer
            pipe.multi()
            pipe.set("{acct}:balance", 0)
            with pytest.raises(WatchError):
                await pipe.execute()
    finally:
        await other.aclose()
    assert await rc.get("{acct}:balance") == b"100"


async def test_cross_slot_transaction_raises(rc: RedisCluster) -> None:
    assert rc.keyslot("a") != rc.keyslot("b")
    async with rc.pipeline(transaction=True) as pipe:
        pipe.set("a", 1)
        pipe.set("b", 2)
        with pytest.raises(CrossSlotTransactionError):
            await pipe.execute()
    assert await rc.exists("a", "b") == 0  # nothing was sent

    async with rc.pipeline(transaction=True) as pipe:
        await pipe.watch("{t}:one")
        with pytest.raises(CrossSlotTransactionError):
            await pipe.get("{u}:two")
    assert issubclass(CrossSlotTransactionError, RedisClusterException)

    # One command whose own keys span slots fails the per-command check: the base class, not the subclass.
    async with rc.pipeline(transaction=True) as pipe:
        with pytest.raises(RedisClusterException, match="same key slot") as failure:
            await pipe.watch("a", "b")
        assert type(failure.value) is RedisClusterException
        # and MGET may not be queued in a cluster pipeline at all
        with pytest.raises(RedisClusterException, match="blocked"):
            pipe.mget("{t}:a", "{t}:b")


async def test_lock(rc: RedisCluster) -> None:
    first = rc.lock("{job}:lock", timeout=5)
    second = rc.lock("{job}:lock", timeout=5)
    assert await first.acquire(blocking=False)
    assert not await second.acquire(blocking=False)
    assert await first.owned()
    await first.release()
    assert await second.acquire(blocking=False)
    await second.release()


async def test_scripts_in_one_slot(rc: RedisCluster) -> None:
    move = rc.register_script(
        "local v = redis.call('GET', KEYS[1]); redis.call('SET', KEYS[2], v); "
        "redis.call('DEL', KEYS[1]); return v"
    )
    await rc.set("{s}:from", "payload")
    assert await move(keys=["{s}:from", "{s}:to"]) == b"payload"
    assert await rc.get("{s}:to") == b"payload"
    assert await rc.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", 1, "{s}:n", 7) == 7
    assert await rc.eval("return {KEYS[1], KEYS[2]}", 2, "{s}:x", "{s}:y") == [b"{s}:x", b"{s}:y"]

    with pytest.raises(RedisClusterException, match="same key slot"):
        await move(keys=["a", "b"])
    with pytest.raises(RedisClusterException, match="same key slot"):
        await rc.eval("return 1", 2, "a", "b")


async def test_streams(rc: RedisCluster) -> None:
    stream = "{q}:stream"
    await rc.xgroup_create(stream, "workers", id="0", mkstream=True)
    ids = [await rc.xadd(stream, {"n": str(i)}) for i in range(3)]

    read = await rc.xreadgroup("workers", "alice", {stream: ">"}, count=10)
    assert [entry_id for entry_id, _ in read[0][1]] == ids

    pending = await rc.xpending_range(stream, "workers", min="-", max="+", count=10, idle=0)
    assert [p["message_id"] for p in pending] == ids and {p["consumer"] for p in pending} == {b"alice"}
    # IDLE filters: nothing has been pending for an hour.
    assert await rc.xpending_range(stream, "workers", min="-", max="+", count=10, idle=3_600_000) == []

    _next_id, claimed, deleted = await rc.xautoclaim(stream, "workers", "bob", min_idle_time=0, start_id="0-0")
    assert [entry_id for entry_id, _ in claimed] == ids and deleted == []
    pending = await rc.xpending_range(stream, "workers", min="-", max="+", count=10)
    assert {p["consumer"] for p in pending} == {b"bob"}
    assert await rc.xack(stream, "workers", *ids) == 3


async def test_blpop(cluster: Cluster, rc: RedisCluster) -> None:
    await rc.rpush("{w}:jobs", "ready")
    assert await rc.blpop(["{w}:jobs"], timeout=1) == (b"{w}:jobs", b"ready")

    # Blocks until another client pushes (or returns at once if the push came first).
    waiter = asyncio.create_task(rc.blpop(["{w}:jobs", "{w}:urgent"], timeout=5))
    pusher = cluster.client()
    try:
        await pusher.rpush("{w}:urgent", "late")
        assert await waiter == (b"{w}:urgent", b"late")
    finally:
        await pusher.aclose()

    with pytest.raises(RedisClusterException, match="same key slot"):
        await rc.blpop(["a", "b"], timeout=1)


async def test_mget_across_slots(rc: RedisCluster) -> None:
    keys = [f"m:{i}" for i in range(30)]
    assert len({rc.get_node_from_key(k).port for k in keys}) == 3
    await rc.mset_nonatomic({k: f"v{i}" for i, k in enumerate(keys)})
    with pytest.raises(RedisClusterException, match="same key slot"):
        await rc.mget(keys)
    assert await rc.mget_nonatomic([*keys, "m:missing"]) == [*(f"v{i}".encode() for i in range(30)), None]
    assert await rc.mget("{m}:a", "{m}:b") == [None, None]  # one slot: plain MGET is fine


async def test_scan_iter_covers_all_nodes(rc: RedisCluster) -> None:
    keys = {f"scan:{i}".encode() for i in range(300)}
    await rc.mset_nonatomic(dict.fromkeys(keys, "1"))
    assert len({rc.get_node_from_key(k).port for k in keys}) == 3
    found = [k async for k in rc.scan_iter(match="scan:*", count=50)]
    assert set(found) == keys
