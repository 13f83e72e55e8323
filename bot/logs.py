"""Logging set-up: one handler, and every line it writes scrubbed of personal data."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from bot.domain.masking import PersonalDataFilter


def masked_handler(stream: TextIO | None = None) -> logging.Handler:
    """A stream handler whose every record is masked (IIN, phone, IBAN) before it is formatted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    return handler


def setup_logging(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Route every logger (ours, aiohttp's access log, libraries') through one masked handler."""
    handler = masked_handler(stream)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("transitions").setLevel(logging.WARNING)  # it logs every callback at INFO
    # The Telegram Bot API's URLs carry the bot token: httpx logs each request URL at INFO, and
    # python-telegram-bot its base URL (and every request) at DEBUG.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(logging.INFO)
    return handler
