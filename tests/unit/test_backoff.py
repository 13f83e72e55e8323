"""Jitter from what is retried (domain/backoff.py): repeatable for one message, spread over many."""

from __future__ import annotations

from domain.backoff import jittered


def test_the_same_retry_is_due_at_the_same_instant() -> None:
    assert jittered(600, "d_0b00-0000-0000-0001-3:1") == jittered(600, "d_0b00-0000-0000-0001-3:1")


def test_retries_spread_over_the_whole_fifth_and_stay_within_it() -> None:
    delays = [jittered(600, f"d_0b00-0000-0000-{n:04d}-1:1") for n in range(2000)]
    assert all(600 <= d < 720 for d in delays)
    # Evenly spread: every tenth of the window holds some of them (a constant or a narrow band would not).
    assert len({int((d - 600) // 12) for d in delays}) == 10
    assert jittered(600, "x:1") != jittered(600, "x:2")  # the next attempt of the same message differs too
