"""A Redis client for tests that counts what it sends: round trips and commands, by command name.

A round trip is one write to the server followed by its replies (one command, or a whole pipeline or MULTI);
each command in it counts once. The counts are taken where redis-py packs and writes, as bench/server.py counts
for `python -m bench`, so the figures compare; unlike the bench's they are per client, and keep the names.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import Connection


@dataclass
class RedisTraffic:
    """What a client sent so far: round trips, and commands by name (the first word: `EVALSHA`, `MULTI`…)."""

    round_trips: int = 0
    commands: Counter[str] = field(default_factory=Counter)

    @property
    def command_count(self) -> int:
        return sum(self.commands.values())

    def snapshot(self) -> RedisTraffic:
        return RedisTraffic(self.round_trips, Counter(self.commands))

    def since(self, earlier: RedisTraffic) -> RedisTraffic:
        """What was sent after `earlier` (a snapshot of this traffic)."""
        return RedisTraffic(self.round_trips - earlier.round_trips, self.commands - earlier.commands)


def _name(args: tuple[Any, ...]) -> str:
    first = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
    return first.upper()


class CountingConnection(Connection):
    """A connection that adds what it sends to its pool's `RedisTraffic`."""

    def __init__(self, *, traffic: RedisTraffic, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.traffic = traffic

    def pack_command(self, *args: Any) -> list[bytes]:
        self.traffic.commands[_name(args)] += 1
        return super().pack_command(*args)

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        self.traffic.round_trips += 1
        await super().send_packed_command(command, check_health)


def counting_redis(url: str) -> tuple[Redis, RedisTraffic]:
    """A client for `url` (redis-py's default pool) and the traffic every one of its connections adds to."""
    traffic = RedisTraffic()
    pool = ConnectionPool.from_url(url, connection_class=CountingConnection, traffic=traffic)
    return Redis(connection_pool=pool), traffic
