"""Masking of personal data (phones, IINs, IBANs) for API answers and every log line."""

from __future__ import annotations

import logging
import re
from typing import Any

_E164_RE = re.compile(r"\+[0-9]{9,15}")
_SEP = r"[ \-\u00a0]?"  # one optional space, dash or non-breaking space between IBAN characters
# KZ and two check digits make an IBAN; the 16 characters after them may be spaced in groups.
# Cyrillic К is included because replies are logged as typed. No trailing boundary on purpose:
# an IBAN glued to a following word is still masked.
_IBAN_RE = re.compile(rf"[KkКкҚқ]{_SEP}[Zz]{_SEP}[0-9]{_SEP}[0-9](?:{_SEP}[^\W_]){{16}}")
# Any 12-digit run not inside a longer one: valid or not, it is most likely an IIN.
_IIN_RE = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
_PHONE_SEP = r"[\s\-().]{0,2}"
# +7 / 8 / 7 and ten more digits, or a bare ten-digit 7xx number, with the separators people use
# ("+7 (701) 123-45-67", "8 701 123 45 67"). Russian +7 9xx numbers are masked too: also personal data.
_PHONE_RE = re.compile(
    rf"(?<![0-9+])(?:(?:\+{_PHONE_SEP}7|8|7){_PHONE_SEP}[0-9](?:{_PHONE_SEP}[0-9]){{9}}"
    rf"|7(?:{_PHONE_SEP}[0-9]){{9}})(?![0-9])"
)


def mask_msisdn(e164: str) -> str:
    """"+77011234567" → "+7701***4567": country code and operator prefix stay, subscriber digits go."""
    if _E164_RE.fullmatch(e164):
        return e164[:5] + "*" * (len(e164) - 9) + e164[-4:]
    return "*" * len(e164)


def mask_iin(iin: str) -> str:
    """"900315400017" → "9003******17": birth year and month stay for support staff, the rest goes."""
    if len(iin) == 12:
        return iin[:4] + "******" + iin[-2:]
    return "*" * len(iin)


def mask_iban(iban: str) -> str:
    """"KZ86125KZT5004100100" → "KZ** **** **** **** 0100": only the country and last four remain."""
    compact = "".join(c for c in iban if not c.isspace()).upper()
    if len(compact) < 8:
        return "*" * len(compact)
    hidden = compact[:2] + "*" * (len(compact) - 6)
    groups = [hidden[i : i + 4] for i in range(0, len(hidden), 4)]
    return " ".join([*groups, compact[-4:]])


def _mask_phone_match(match: re.Match[str]) -> str:
    """The masked E.164 form of a phone number found in free text."""
    digits = "".join(c for c in match.group() if c.isdigit())
    if digits[-10:].startswith("800"):
        return match.group()  # a toll-free help line (8 800 080 7777) is nobody's personal number
    return mask_msisdn("+7" + digits[-10:])


def _mask_iban_match(match: re.Match[str]) -> str:
    """The masked form of an IBAN found in free text."""
    compact = "".join(c for c in match.group() if c.isalnum())
    # Always Latin "KZ": a Cyrillic К typed by the citizen would otherwise survive into the mask.
    return mask_iban("KZ" + compact[2:])


def scrub(text: str) -> str:
    """`text` with every raw IBAN, IIN and phone number masked; masked values pass through unchanged."""
    # IBANs first: their digit runs could otherwise be taken for (and partly masked as) IINs or phones.
    text = _IBAN_RE.sub(_mask_iban_match, text)
    text = _IIN_RE.sub(lambda m: mask_iin(m.group()), text)
    return _PHONE_RE.sub(_mask_phone_match, text)


def scrub_all(value: Any) -> Any:
    """`value` with every string in it scrubbed, at any depth (JSON values: records, payloads, decisions)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [scrub_all(v) for v in value]
    if isinstance(value, dict):
        return {k: scrub_all(v) for k, v in value.items()}
    return value


class PersonalDataFilter(logging.Filter):
    """Attached to a handler, masks personal data in every record it passes (message, args, traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message with its args, scrub it, and keep the record (always True)."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not stop the log line, nor leak its args unmasked
            message = f"{record.msg!s} {record.args!r}"
        record.msg = scrub(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            # Rendered here so the traceback text can be scrubbed; formatters reuse exc_text as is.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True
