"""Retry delays with jitter that a decision can repeat: the spread comes from what is retried, not from a random
generator, so the same message's retry is due at the same instant however often the step is decided (a command
run again after a lost lock, a test's recording) while different messages still spread out after an outage."""

from __future__ import annotations

import hashlib


def jittered(base_seconds: float, key: str, spread: float = 0.2) -> float:
    """`base_seconds` plus up to `spread` of it, the share drawn evenly from `key` (a message id and attempt)."""
    share = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
    return base_seconds * (1 + spread * share)
