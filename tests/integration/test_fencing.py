"""The store's fenced commit (bot/fencing.py): written whole while the phone's lock holds, not at all once it
is lost; with ledger records, done again when another worker extended the chain between the read and the write."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import fakeredis
import pytest
from redis.asyncio import Redis

from bot.fencing import LockLost
from bot.ledger import verify
from bot.store import Store
from dialogs.model import Dialog
from tests.conftest import REDIS_URL

PHONE = "+77011115151"
OTHER = "+77011115252"


@pytest.fixture(params=["redis", "fakeredis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    redis: Redis = Redis.from_url(REDIS_URL) if request.param == "redis" else fakeredis.FakeAsyncRedis()
    prefix = f"pbtest:{uuid.uuid4().hex[:10]}"
    try:
        yield Store(redis, prefix)
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def _dialog(store: Store, msisdn: str) -> Dialog:
    return Dialog(dialog_id=store.new_dialog_id(msisdn), event_id=f"zags-{uuid.uuid4().hex[:6]}", service="birth",
                  msisdn=msisdn, recipient_iin="900101400123", subject_iins=["261122601254"],
                  event_date="2026-11-22", registered_at="2026-11-23T05:00:00Z", created_at="2026-11-23T05:00:00Z",
                  language="kk", mobile=True)


def _consent(dialog: Dialog) -> list[dict[str, Any]]:
    return [{"id": f"{dialog.dialog_id}:1", "act": "consent", "dialog_id": dialog.dialog_id,
             "at": "2026-11-23T05:00:00Z"}]


async def _everything(store: Store) -> dict[bytes, Any]:
    redis = store.redis
    keys = sorted([k async for k in redis.scan_iter(match=f"{store.keys.prefix}:*")])
    return {k: await redis.dump(k) for k in keys}


@pytest.mark.parametrize("with_ledger", [False, True], ids=["a step", "a step with a consent"])
async def test_a_commit_after_the_lock_is_lost_writes_nothing(store: Store, with_ledger: bool) -> None:
    dialog = _dialog(store, PHONE)
    async with store.phone_lock(PHONE) as lock:
        await store.save(dialog, {}, fence=lock.fence)  # while it holds: written
        assert (await store.load(dialog.dialog_id)) is not None
        await store.redis.delete(store.keys.phone_lock(PHONE))  # the lock lapses…
        async with store.phone_lock(PHONE):  # …and another worker takes it
            before = await _everything(store)
            dialog.state = "awaiting_consent"
            with pytest.raises(LockLost):
                await store.save(dialog, {}, ledger=_consent(dialog) if with_ledger else None, fence=lock.fence)
            assert await _everything(store) == before  # not one key changed
    loaded = await store.load(dialog.dialog_id)
    assert loaded is not None and loaded.state == "new"


async def test_a_consent_committed_while_another_extends_the_chain_is_chained_after_it(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _dialog(store, PHONE), _dialog(store, OTHER)
    real = store.redis.hgetall
    raced = False

    async def hgetall_then_race(key: Any) -> Any:
        nonlocal raced
        head = await real(key)
        if not raced:  # between this read of the head and the write, another phone's consent is chained
            raced = True
            async with store.phone_lock(OTHER) as other:
                await store.save(second, {}, ledger=_consent(second), fence=other.fence)
        return head

    monkeypatch.setattr(store.redis, "hgetall", hgetall_then_race)
    async with store.phone_lock(PHONE) as lock:
        await store.save(first, {}, ledger=_consent(first), fence=lock.fence)
    monkeypatch.undo()
    assert raced
    head, base = await store.ledger_head()
    lines = await store.ledger_lines()
    assert head.seq == 2 and verify(lines, head, base) == (2, [])
    assert [json.loads(line)["dialog_id"] for line in lines] == [second.dialog_id, first.dialog_id]


async def test_handing_the_phone_on_after_the_lock_is_lost_changes_nothing(store: Store) -> None:
    dialog = _dialog(store, PHONE)
    await store.set_phone_active(PHONE, dialog.dialog_id)
    await store.enqueue(PHONE, "d_0000-0000-0000-0002")
    async with store.phone_lock(PHONE) as lock:
        await store.redis.delete(store.keys.phone_lock(PHONE))
        async with store.phone_lock(PHONE):
            before = await _everything(store)
            with pytest.raises(LockLost):
                await store.hand_on(lock.fence, PHONE, dialog.dialog_id)
            assert await _everything(store) == before
    async with store.phone_lock(PHONE) as lock:  # held: the slot cleared, the next popped, the lock kept for it
        assert await store.hand_on(lock.fence, PHONE, dialog.dialog_id) == "d_0000-0000-0000-0002"
        assert await store.phone_active(PHONE) is None and not lock.fence.released
    async with store.phone_lock(PHONE) as lock:  # nothing queued: the lock let go in the same script
        assert await store.hand_on(lock.fence, PHONE, dialog.dialog_id) is None
        assert lock.fence.released and await store.redis.get(store.keys.phone_lock(PHONE)) is None
