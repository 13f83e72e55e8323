"""How many SMS parts a text costs: GSM 03.38 (7-bit) or UCS-2."""

from __future__ import annotations

from typing import Literal

# Hand-written: the GSM 03.38 tables are small and fixed, and no maintained PyPI package exposes
# "encoding + part count" without pulling in a whole SMPP stack.
_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = "^{}\\[~]|€\f"
_GSM_BASIC_SET = frozenset(_GSM_BASIC)
_GSM_EXTENDED_SET = frozenset(_GSM_EXTENDED)

Encoding = Literal["GSM7", "UCS2"]

UCS2_SINGLE, UCS2_PART = 70, 67
GSM7_SINGLE, GSM7_PART = 160, 153


def encoding(text: str) -> Encoding:
    """GSM7 when every character is in the GSM 03.38 alphabet, else UCS2 (any Cyrillic letter, ₸)."""
    if all(c in _GSM_BASIC_SET or c in _GSM_EXTENDED_SET for c in text):
        return "GSM7"
    return "UCS2"


def length_units(text: str) -> int:
    """Septets for GSM7 (extension characters cost two), UTF-16 code units for UCS2."""
    if encoding(text) == "GSM7":
        return sum(2 if c in _GSM_EXTENDED_SET else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    """Number of SMS parts needed to carry `text`."""
    units = length_units(text)
    single, part = (GSM7_SINGLE, GSM7_PART) if encoding(text) == "GSM7" else (UCS2_SINGLE, UCS2_PART)
    if units <= single:
        return 1
    return -(-units // part)
