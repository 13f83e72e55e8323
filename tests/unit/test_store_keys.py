"""Which keys share a dialog's slot is the store's to know (bot/store/keys.py `hash_tag`), not the engine's."""

from __future__ import annotations

import pytest

from bot.store import Keys
from bot.store.keys import hash_tag


@pytest.mark.parametrize(("key", "tag"), [
    ("{user1000}.following", "user1000"),  # the examples of Redis Cluster's specification
    ("foo{}{bar}", "foo{}{bar}"),
    ("foo{{bar}}zap", "{bar"),
    ("foo{bar}{zap}", "bar"),
    ("plain", "plain"),
    ("open{only", "open{only"),
])
def test_the_hash_tag_is_what_redis_cluster_hashes(key: str, tag: str) -> None:
    assert hash_tag(key) == tag


def test_a_phones_keys_share_its_dialogs_slot_and_outside_ids_do_not() -> None:
    keys = Keys("pb", 16)
    msisdn = "+77011112233"
    dialog_id = f"d_{keys.shard_of(msisdn):02x}00-0000-0000-0001"
    slot = hash_tag(keys.dialog(dialog_id))
    for own in (keys.inbound(msisdn, "sms:1"), keys.taken(msisdn), keys.phone_lock(msisdn), keys.phone(msisdn)):
        assert hash_tag(own) == slot
    for outside in (keys.application("PB-2026-0000001"), keys.event("zags-1"), keys.log_feed()):
        assert hash_tag(outside) != slot
