"""Logging set-up: one handler, and every line it writes scrubbed of personal data and of control characters."""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

from domain.masking import PersonalDataFilter

# C0 and C1 controls, DEL, the line and paragraph separators and the bidi embeddings, overrides and isolates:
# from outside (an id, an operator's name, a note) they would forge a log line, rewrite a terminal (ESC) or
# make a line read in another order than it is written (U+202E).
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROLS_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control character written as an escape (`\\x1b`, `\\u202e`): one line, shown as stored."""
    return (_CONTROLS_BUT_NEWLINE if keep_newlines else CONTROLS).sub(_escaped, text)


class SafeFormatter(logging.Formatter):
    """Formats a record as one line with its control characters escaped (a traceback keeps its own newlines)."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = escape_controls(record.exc_text, keep_newlines=True)
        if record.stack_info:
            record.stack_info = escape_controls(record.stack_info, keep_newlines=True)
        return super().format(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))


def masked_handler(stream: TextIO | None = None) -> logging.Handler:
    """A stream handler whose every record is masked (IIN, phone, IBAN) and escaped before it is written."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
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
