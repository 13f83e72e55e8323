"""Masking of personal data (phones, IINs, IBANs) for API answers and every log line."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote_plus

from domain.iban import KZ_FIRST_LETTERS, KZ_SECOND_LETTERS
from domain.iban import SEPARATORS as IBAN_SEPARATORS
from domain.iin import IIN_SEPARATORS, normalise_iin
from domain.phone import SEPARATORS as PHONE_SEPARATORS

_E164_RE = re.compile(r"\+[0-9]{9,15}")


def _class(chars: Iterable[str]) -> str:
    return "[" + "".join(re.escape(c) for c in sorted(set(chars))) + "]"


# Every pattern runs over the text folded as the parsers fold it (NFKC per character: full-width digits and
# letters become ASCII), with the separators the parsers skip (domain/iban.py, iin.py, phone.py): what a
# parser would read as an IBAN, IIN or phone number is masked, however it was spelled. A slash is masked
# between IBAN groups too, though the parser refuses it: masking errs on the side of hiding.
_SEP = _class({*IBAN_SEPARATORS, "/", " ", "\t", "\u00a0"}) + "{0,2}"
# KZ and two check digits make an IBAN; the 16 characters after them may be grouped. Cyrillic К, Қ and З are
# included because replies are logged as typed. No trailing boundary on purpose: an IBAN glued to a following
# word is still masked.
_IBAN_RE = re.compile(rf"{_class(KZ_FIRST_LETTERS)}{_SEP}{_class(KZ_SECOND_LETTERS)}{_SEP}[0-9]{_SEP}[0-9]"
                      rf"(?:{_SEP}[^\W_]){{16}}")
# Any 12-digit run not inside a longer one: valid or not, it is most likely an IIN. Or the same with one separator
# between any two digits ("900315 400017", "9003-1540-0017"), not inside a longer run of grouped digits (a dialog
# id's 16 hex digits in fours never match: its groups go on past twelve). Each pattern starts with a character
# class, not a look-behind, so the regex engine skips the text between candidates quickly.
_IIN_SEP = _class(IIN_SEPARATORS)
_IIN_RE = re.compile(rf"[0-9](?<![0-9][0-9])(?:[0-9]{{11}}(?![0-9])"
                     rf"|(?<!\+[0-9])(?<![0-9]{_IIN_SEP}[0-9])(?:{_IIN_SEP}?[0-9]){{11}}(?!{_IIN_SEP}?[0-9]))")
_PHONE_SEP = _class(PHONE_SEPARATORS) + "{0,4}"
# +7 / 8 / 7 and ten more digits, or a bare ten-digit 7xx number, with the separators the parser takes
# ("+7 (701) 123-45-67", "8 701 123 45 67"). Russian +7 9xx numbers are masked too: also personal data.
_PHONE_RE = re.compile(
    rf"[+78](?<![0-9+][+78])(?:(?<=\+){_PHONE_SEP}7{_PHONE_SEP}[0-9](?:{_PHONE_SEP}[0-9]){{9}}"
    rf"|(?<=[78]){_PHONE_SEP}[0-9](?:{_PHONE_SEP}[0-9]){{9}}|(?<=7)(?:{_PHONE_SEP}[0-9]){{9}})(?![0-9])"
)


_KZ_START = re.compile("[" + KZ_FIRST_LETTERS + "Ｋｋ]")  # no IBAN without one: most lines skip that pattern


def _fold(text: str) -> tuple[str, list[int] | None]:
    """`text` with each character NFKC-folded, and for each folded character the index of its source (None
    when nothing changed: ASCII, the common case, is matched as it is)."""
    if text.isascii() or unicodedata.is_normalized("NFKC", text):  # Kazakh and Russian text already is
        return text, None
    folded: list[str] = []
    owners: list[int] = []
    for i, c in enumerate(text):
        f = c if c.isascii() else unicodedata.normalize("NFKC", c) or c
        folded.append(f)
        owners.extend([i] * len(f))
    joined = "".join(folded)
    return (joined, owners) if joined != text else (text, None)


def _sub(pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str], text: str) -> str:
    """pattern.sub over the folded text, each match replacing the original characters it came from."""
    folded, owners = _fold(text)
    if owners is None:
        return pattern.sub(replace, text)
    out: list[str] = []
    last = 0
    for match in pattern.finditer(folded):
        start, end = owners[match.start()], owners[match.end() - 1] + 1
        if start < last:
            continue
        out += [text[last:start], replace(match)]
        last = end
    out.append(text[last:])
    return "".join(out)


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


def _mask_iin_match(match: re.Match[str]) -> str:
    return mask_iin(normalise_iin(match.group()))


def scrub(text: str) -> str:
    """`text` with every raw IBAN, IIN and phone number masked; masked values pass through unchanged."""
    # IBANs first: their digit runs could otherwise be taken for (and partly masked as) IINs or phones.
    if _KZ_START.search(text):
        text = _sub(_IBAN_RE, _mask_iban_match, text)
    text = _sub(_IIN_RE, _mask_iin_match, text)
    return _sub(_PHONE_RE, _mask_phone_match, text)


def scrub_all(value: Any) -> Any:
    """`value` with every string in it scrubbed, at any depth (JSON values: records, payloads, decisions)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [scrub_all(v) for v in value]
    if isinstance(value, dict):
        return {k: scrub_all(v) for k, v in value.items()}
    return value


# A query parameter in a URL anywhere in a line (an access log's request line and Referer, a client's URL).
_QUERY_PARAM = re.compile(r"(?<=[?&;])([A-Za-z0-9_.\-\[\]]{1,64})=([^&;\s\"'#]*)")
# Parameters that carry a person's number however it is spelled (a search may be a partial or odd spelling).
_PERSONAL_PARAMS = frozenset({"search", "msisdn", "phone", "iin", "iban", "q"})


# What the masks above leave (a phone's, an IIN's, an IBAN's): masking a line twice must not hide it further.
_MASKED = re.compile(r"[+ ]?\d{0,5}\*{3,}\d{0,4}|KZ\*\*(?: ?\*{4}){3} ?[0-9A-Z]{4}")


def _mask_query_value(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    text = unquote_plus(value, errors="replace")
    masked = scrub(text)
    if masked == text:
        if _MASKED.fullmatch(text):
            return match.group()
        if name.lower() not in _PERSONAL_PARAMS or not any(c.isdigit() for c in text):
            return match.group()
        masked = "*" * min(len(text), 12)  # digits we cannot place: hidden whole
    return f"{name}={quote(masked, safe='*+ ')}".replace(" ", "+")


def mask_query_values(text: str) -> str:
    """`text` with personal data hidden in every URL query value, decoded first (`%2B7701…`, `8+701+…`)."""
    if "=" not in text:
        return text
    return _QUERY_PARAM.sub(_mask_query_value, text)


class PersonalDataFilter(logging.Filter):
    """Attached to a handler, masks personal data in every record it passes (message, args, traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message with its args, scrub it, and keep the record (always True)."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not stop the log line, nor leak its args unmasked
            message = f"{record.msg!s} {record.args!r}"
        record.msg = scrub(mask_query_values(message))
        record.args = ()
        if record.exc_info and not record.exc_text:
            # Rendered here so the traceback text can be scrubbed; formatters reuse exc_text as is.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True
