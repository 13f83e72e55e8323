"""USSD-only citizen-facing messages (their texts are in the kk and ru catalogs)."""

from __future__ import annotations

from bot.messages import Message

USSD_MESSAGES: dict[str, Message] = {}
