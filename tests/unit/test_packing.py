"""Stored dialogs and log lines: deflated against frozen dictionaries, read back exactly, old forms still read."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import dictionaries
from bot.packing import (
    is_archived,
    pack_archived_dialog,
    pack_archived_log,
    pack_dialog,
    pack_line,
    unpack_dialog,
    unpack_line,
    unpack_log,
)

# Data stored with a dictionary must stay readable for as long as it is kept: a released dictionary never
# changes. A new one is a new version beside it (scripts/freeze-dictionary), never an edit of this one.
FROZEN = {
    "DIALOG_V1": "bce4a7aa37b5bbce71f1b549b7cb83fb96c231ebb3c41ddce8bb8d59ce808679",
    "LOG_V1": "733b227bf1dba8ab88a4a2e8b67f165fe3d88f3e969b42d405bcae1c00abc2e9",
    "DIALOG_ARCHIVE_V1": "1d9de824a4cdc9fdbc9697dd9ee5ed2f6fb7ba5608b93e7ceb9fde684e889c02",
    "LOG_ARCHIVE_V1": "494c81c53cdd4ca484e6ac3c0eabf66362fd68782692177ab6e6c18ceaac3be0",
}


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_released_dictionaries_never_change(name: str) -> None:
    assert hashlib.sha256(getattr(dictionaries, name)).hexdigest() == FROZEN[name]


@given(st.text())
def test_any_dialog_text_reads_back_exactly(text: str) -> None:
    assert unpack_dialog(pack_dialog(text)) == text.encode()


@given(st.text())
def test_any_log_line_reads_back_exactly(text: str) -> None:
    assert unpack_line(pack_line(text)) == text.encode()


@given(st.text())
def test_any_archived_dialog_or_log_reads_back_exactly(text: str) -> None:
    dialog, log = pack_archived_dialog(text), pack_archived_log(text)
    assert is_archived(dialog) and is_archived(log) and not is_archived(pack_dialog(text))
    assert unpack_dialog(dialog) == text.encode() and unpack_log(log) == text.encode()


def test_an_archived_log_is_read_only_as_one() -> None:
    with pytest.raises(ValueError, match="unknown stored format"):
        unpack_log(pack_line("[]"))


def test_a_dialog_takes_a_fraction_of_its_json() -> None:
    dialog = json.dumps({"state": "awaiting_consent", "transcript": [{"direction": "out", "channel": "sms", "text": (
        "23.11.2026 күні балаңыздың тууы тіркелді. Сізге бала тууына және күтіміне жәрдемақы тиесілі. Рәсімдеуге "
        "келісесіз бе? 1 — иә, 2 — жоқ. Жауап мерзімі: 72 сағат. Анықтама: 1414. SMS-код сұрамаймыз.")}]},
        ensure_ascii=False, separators=(",", ":"))
    assert len(pack_dialog(dialog)) < len(dialog.encode()) / 3


def test_what_was_stored_as_plain_json_is_still_read() -> None:
    assert unpack_dialog(b'{"a":1}') == b'{"a":1}' and unpack_line('{"a":1}') == '{"a":1}'
    with pytest.raises(ValueError, match="unknown stored format"):
        unpack_dialog(b"\x07garbage")
