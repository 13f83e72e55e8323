"""How a dialog and its log lines are stored: JSON deflated with a frozen preset dictionary.

A dialog repeats its field names and the catalogs' SMS texts; a log line repeats the same few keys and
values. Deflated against a dictionary of exactly those (bot/dictionaries.py), a dialog takes about a third of
its JSON and a log line a sixth, for tens of microseconds. The first byte names the format, so what was
stored before (plain JSON, `{`) stays readable, and a later dictionary gets the next version byte.
"""

from __future__ import annotations

import zlib

from bot.dictionaries import DIALOG_V1, LOG_V1

_V1 = b"\x01"


def _deflate(data: bytes, zdict: bytes) -> bytes:
    # memLevel 5, not 9: the same bytes out for these small inputs, at a third of the time (less to allocate
    # and clear for each one); the 32 KB window (wbits 15) is what readers expect.
    packer = zlib.compressobj(6, zlib.DEFLATED, -15, 5, zlib.Z_DEFAULT_STRATEGY, zdict)
    return packer.compress(data) + packer.flush()


def _inflate(data: bytes, zdict: bytes) -> bytes:
    unpacker = zlib.decompressobj(-15, zdict)
    return unpacker.decompress(data) + unpacker.flush()


def pack_dialog(text: str) -> bytes:
    return _V1 + _deflate(text.encode(), DIALOG_V1)


def pack_line(text: str) -> bytes:
    return _V1 + _deflate(text.encode(), LOG_V1)


def unpack_dialog(raw: bytes | str) -> bytes | str:
    return _unpack(raw, DIALOG_V1)


def unpack_line(raw: bytes | str) -> bytes | str:
    return _unpack(raw, LOG_V1)


def _unpack(raw: bytes | str, zdict: bytes) -> bytes | str:
    if isinstance(raw, bytes) and raw[:1] == _V1:
        return _inflate(raw[1:], zdict)
    if isinstance(raw, bytes) and raw[:1] not in (b"{", b"["):
        raise ValueError(f"unknown stored format {raw[:1]!r}")
    return raw
