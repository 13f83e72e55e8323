"""Kazakhstan individual identification number (IIN / ЖСН / ИИН): validation, birth date, fixtures."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Literal

# Hand-written: no maintained PyPI library covers the IIN (python-stdnum has no `kz` module).

IinErrorCode = Literal["format", "date", "century", "checksum"]

_IIN_RE = re.compile(r"[0-9]{12}")  # not \d: it would accept Arabic-Indic and other Unicode digits
# What people put between the digits of an IIN ("900315 400017", "9003-1540-0017"); masking uses the same set.
IIN_SEPARATORS = frozenset(" -.\u00a0\u2010\u2011\u2012\u2013\u2014\u2212")
_FIRST_WEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)

# 7th digit → first year of the century; odd digits are men, even digits women.
_CENTURY_BY_DIGIT = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}


class IinError(ValueError):
    """Why a text is not a valid IIN; `code` is stable for callers, the message is for people."""

    def __init__(self, code: IinErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: IinErrorCode = code


def _check_digit(first11: str) -> int | None:
    """The 12th digit for these 11 digits, or None when the number is never issued."""
    digits = [int(c) for c in first11]
    for weights in (_FIRST_WEIGHTS, _SECOND_WEIGHTS):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if remainder != 10:
            return remainder
    return None


def _birth_date(iin: str) -> date:
    """The birth date encoded in a 12-digit IIN; ValueError when it is not a real date."""
    century = _CENTURY_BY_DIGIT[iin[6]]
    return date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))


def validate_iin(iin: str) -> None:
    """Raise IinError unless `iin` is a well-formed IIN with a real birth date and a right check digit."""
    if not _IIN_RE.fullmatch(iin):
        raise IinError("format", "IIN must be 12 digits")
    # The century comes before the date: without it 29 February cannot be judged.
    if iin[6] not in _CENTURY_BY_DIGIT:
        raise IinError("century", "IIN 7th digit must be 1 to 6 (century and sex)")
    try:
        _birth_date(iin)
    except ValueError:
        raise IinError("date", "IIN must start with a real birth date (YYMMDD)") from None
    expected = _check_digit(iin[:11])
    if expected is None:
        raise IinError("checksum", "IIN is never issued: its check digit cannot be computed")
    if int(iin[11]) != expected:
        raise IinError("checksum", "IIN check digit is wrong")


def normalise_iin(text: str) -> str:
    """An IIN as typed, NFKC-folded (full-width digits become ASCII) and without separators; not validated."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).strip() if c not in IIN_SEPARATORS)


def is_valid_iin(iin: str) -> bool:
    """True when `iin` passes validate_iin."""
    try:
        validate_iin(iin)
    except IinError:
        return False
    return True


def iin_birth_date(iin: str) -> date:
    """The birth date inside a valid IIN (validate it first)."""
    return _birth_date(iin)


def make_iin(birth_date: date, sex: str, serial: int) -> str:
    """A valid IIN for fixtures and tests: `sex` is "M" or "F", `serial` the 4-digit serial (0..9999)."""
    if sex not in ("M", "F"):
        raise ValueError('sex must be "M" or "F"')
    if not 0 <= serial <= 9999:
        raise ValueError("serial must be 0..9999")
    century = birth_date.year // 100 * 100
    century_digits = {1800: 1, 1900: 3, 2000: 5}
    if century not in century_digits:
        raise ValueError("an IIN can encode birth years 1800 to 2099 only")
    century_digit = century_digits[century] + (1 if sex == "F" else 0)
    prefix = f"{birth_date:%y%m%d}{century_digit}"
    # About one serial in 120 gives an unissuable number; the next serial is then taken,
    # wrapping at 9999 so the result stays 12 digits. Some serial always works.
    for step in range(10000):
        first11 = f"{prefix}{(serial + step) % 10000:04d}"
        check = _check_digit(first11)
        if check is not None:
            return f"{first11}{check}"
    raise AssertionError("unreachable: every prefix has issuable serials")  # pragma: no cover
