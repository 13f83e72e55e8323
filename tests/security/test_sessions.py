"""Attacks on console sessions: a saved cookie after logout, after the operator token changed, after idling.

Sessions live in Redis; the cookie holds only a random id. Each test replays a cookie an attacker kept and
asserts that it opens nothing and that the session is gone from the store.
"""

from __future__ import annotations

import pytest

from bot.http.common import SETTINGS
from tests.security._ops import Console, redis_keys, system, with_cookie


@pytest.mark.parametrize("store", ["redis", "fakeredis"])
async def test_a_saved_cookie_is_worthless_after_logout(store: str) -> None:
    async with system(store) as running:
        console = Console(running)
        try:
            assert (await console.sign_in("Aigerim")).status == 303
            saved = console.cookie()
            assert "Aigerim" not in saved and len(saved) >= 40  # a random id, nothing readable
            assert await with_cookie(running, "/ops", saved) == 200
            keys = await redis_keys(running, "session")
            assert len(keys) == 1 and saved.encode() not in keys[0]  # Redis holds a digest, never the id
            status, _ = await console.post("/ops/logout")
            assert status == 303
            assert await redis_keys(running, "session") == []
            for path in ("/ops", "/ops/queue", "/ops/api/counters", "/ops/events"):
                assert await with_cookie(running, path, saved) == 401, path
        finally:
            await console.close()


async def test_a_new_operator_token_ends_every_session_made_under_the_old_one() -> None:
    async with system() as running:
        console = Console(running)
        try:
            assert (await console.sign_in("Aigerim")).status == 303
            saved = console.cookie()
            running.system.runner.app[SETTINGS].operator_token = "a-new-operator-token-of-32-bytes-or-more"
            assert await with_cookie(running, "/ops", saved) == 401
            assert await redis_keys(running, "session") == []  # removed when it was refused
            assert (await console.sign_in("Aigerim", "dev-operator")).status == 401  # the old token is no key
            assert (await console.sign_in("Aigerim", "a-new-operator-token-of-32-bytes-or-more")).status == 303
        finally:
            await console.close()


async def test_an_idle_session_ends_and_a_used_one_lives_on() -> None:
    async with system(ops_session_idle_seconds=600) as running:
        console = Console(running)
        try:
            assert (await console.sign_in("Aigerim")).status == 303
            saved = console.cookie()
            await running.client.advance(500)
            assert await with_cookie(running, "/ops", saved) == 200  # used: the idle time starts again
            await running.client.advance(500)
            assert await with_cookie(running, "/ops", saved) == 200
            await running.client.advance(601)
            assert await with_cookie(running, "/ops", saved) == 401
            assert await redis_keys(running, "session") == []
        finally:
            await console.close()


async def test_a_forged_or_oversized_cookie_opens_nothing() -> None:
    async with system() as running:
        for cookie in ("forged", "x" * 5000, "eyJuIjoiQWlnZXJpbSJ9.0000", ""):
            assert await with_cookie(running, "/ops/api/counters", cookie) == 401
        assert await redis_keys(running, "session") == []
