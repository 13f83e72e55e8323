"""How a dialog and its log lines are stored: JSON deflated with a frozen preset dictionary.

A dialog repeats its field names and the catalogs' SMS texts; a log line repeats the same few keys and
values. Deflated against a dictionary of exactly those (bot/dictionaries.py), a dialog takes about a third of
its JSON and a log line a sixth, for tens of microseconds. The first byte names the format, so what was
stored before (plain JSON, `{`) stays readable, and a later dictionary gets the next version byte.

A closed dialog is archived once it has been quiet for a while (bot/store/compaction.py): the dialog, and its log
records as one JSON array, each deflated whole at the highest level against dictionaries made of closed dialogs
(version byte 2). Both read back through the same `unpack_dialog`, and `unpack_log` for the archived log.
"""

from __future__ import annotations

import zlib

from bot.dictionaries import DIALOG_ARCHIVE_V1, DIALOG_V1, LOG_ARCHIVE_V1, LOG_V1

_V1 = b"\x01"
ARCHIVE_V1 = b"\x02"  # the first byte of an archived dialog, and of an archived log


def _deflate(data: bytes, zdict: bytes) -> bytes:
    # memLevel 5, not 9: the same bytes out for these small inputs, at a third of the time (less to allocate
    # and clear for each one); the 32 KB window (wbits 15) is what readers expect.
    packer = zlib.compressobj(6, zlib.DEFLATED, -15, 5, zlib.Z_DEFAULT_STRATEGY, zdict)
    return packer.compress(data) + packer.flush()


def _deflate_archive(data: bytes, zdict: bytes) -> bytes:
    # Written once per closed dialog and kept for months: the smallest output, whatever it costs (~0.1 ms).
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, zdict)
    return packer.compress(data) + packer.flush()


def _inflate(data: bytes, zdict: bytes) -> bytes:
    unpacker = zlib.decompressobj(-15, zdict)
    return unpacker.decompress(data) + unpacker.flush()


def pack_dialog(text: str) -> bytes:
    return _V1 + _deflate(text.encode(), DIALOG_V1)


def pack_line(text: str) -> bytes:
    return _V1 + _deflate(text.encode(), LOG_V1)


def pack_archived_dialog(text: str) -> bytes:
    """A closed dialog's JSON, archived (read back by `unpack_dialog`)."""
    return ARCHIVE_V1 + _deflate_archive(text.encode(), DIALOG_ARCHIVE_V1)


def pack_archived_log(text: str) -> bytes:
    """A closed dialog's log records as one JSON array, archived (read back by `unpack_log`)."""
    return ARCHIVE_V1 + _deflate_archive(text.encode(), LOG_ARCHIVE_V1)


def is_archived(raw: bytes | str | None) -> bool:
    """True for a value `pack_archived_dialog` or `pack_archived_log` wrote."""
    return isinstance(raw, bytes) and raw[:1] == ARCHIVE_V1


def unpack_dialog(raw: bytes | str) -> bytes | str:
    if is_archived(raw):
        assert isinstance(raw, bytes)
        return _inflate(raw[1:], DIALOG_ARCHIVE_V1)
    return _unpack(raw, DIALOG_V1)


def unpack_log(raw: bytes) -> bytes:
    """An archived log's JSON array."""
    if not is_archived(raw):
        raise ValueError(f"unknown stored format {raw[:1]!r}")
    return _inflate(raw[1:], LOG_ARCHIVE_V1)


def unpack_line(raw: bytes | str) -> bytes | str:
    return _unpack(raw, LOG_V1)


def _unpack(raw: bytes | str, zdict: bytes) -> bytes | str:
    if isinstance(raw, bytes) and raw[:1] == _V1:
        return _inflate(raw[1:], zdict)
    if isinstance(raw, bytes) and raw[:1] not in (b"{", b"["):
        raise ValueError(f"unknown stored format {raw[:1]!r}")
    return raw
