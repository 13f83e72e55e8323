"""Kazakhstan phone numbers (MSISDNs) in any common spelling, normalised to E.164."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

PhoneErrorCode = Literal["format", "not_kazakhstan"]

# phonenumbers also reads letters as keypad digits ("8 701 FLOWERS"), "tel:" URIs and extensions
# ("x 12", ";ext=5"); none of those is a number an SMS can reach, so only these characters pass.
_ALLOWED = re.compile(r"[0-9+()\-.\s]{1,40}")
SEPARATORS = "()-. \t\u00a0"  # what may stand between a number's digits (after NFKC); masking uses it too
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


class PhoneError(ValueError):
    """Why a text is not a Kazakhstan phone number; `code` is stable for callers."""

    def __init__(self, code: PhoneErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: PhoneErrorCode = code


@dataclass(frozen=True)
class Msisdn:
    """A Kazakhstan number in E.164 and whether SMS can reach it (mobile) or not (fixed line)."""

    e164: str
    mobile: bool


def parse_msisdn(text: str) -> Msisdn:
    """Parse "8 701 123 45 67", "+7 (701) 123-45-67", "7011234567" and the like; PhoneError otherwise."""
    # NFKC turns full-width digits and non-breaking spaces into plain ones before the character check.
    folded = unicodedata.normalize("NFKC", text).strip()
    if not _ALLOWED.fullmatch(folded) or not any(c.isdigit() for c in folded):
        raise PhoneError("format", "Phone number may contain only digits, spaces, +, -, ( and )")
    try:
        number = phonenumbers.parse(folded, "KZ")
    except NumberParseException:
        raise PhoneError("format", "Not a phone number") from None
    if phonenumbers.is_valid_number_for_region(number, "KZ"):
        kind = phonenumbers.number_type(number)
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        return Msisdn(e164=e164, mobile=kind in _MOBILE_TYPES)
    # +7 is shared with Russia: a valid +7 9xx number is Russian, not a typo.
    if phonenumbers.is_valid_number(number):
        raise PhoneError("not_kazakhstan", "Not a Kazakhstan phone number")
    raise PhoneError("format", "Not a valid phone number (wrong length or prefix)")
