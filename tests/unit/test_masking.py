"""Masking formats from the contract, and scrubbing of personal data out of free text and logs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schwifty import IBAN

from domain.iban import BANKS
from domain.iin import make_iin
from domain.masking import PersonalDataFilter, mask_iban, mask_iin, mask_msisdn, scrub


def test_contract_formats() -> None:
    assert mask_msisdn("+77011234567") == "+7701***4567"
    assert mask_iin("900315400017") == "9003******17"
    assert mask_iban("KZ86125KZT5004100100") == "KZ** **** **** **** 0100"


@pytest.mark.parametrize(
    ("mask", "raw"),
    [(mask_msisdn, "7011234567"), (mask_iin, "90031540001"), (mask_iban, "KZ86")],
    ids=["phone not in E.164", "IIN of 11 digits", "IBAN too short to show an end"],
)
def test_unexpected_shapes_are_masked_whole(mask: Callable[[str], str], raw: str) -> None:
    assert set(mask(raw)) <= {"*"}


@dataclass(frozen=True)
class Text:
    label: str
    text: str
    expected: str


TEXTS = [
    Text("E.164 phone", "from +77011234567", "from +7701***4567"),
    Text("+7 with brackets and dashes", "tel +7 (701) 123-45-67.", "tel +7701***4567."),
    Text("trunk 8 spaced", "8 701 123 45 67", "+7701***4567"),
    Text("trunk 8 compact", "87011234567", "+7701***4567"),
    Text("7 without plus", "77011234567", "+7701***4567"),
    Text("national ten digits", "msisdn=7011234567;", "msisdn=+7701***4567;"),
    Text("Russian number is personal data too", "+7 916 123-45-67", "+7916***4567"),
    Text("IIN", "iin=900315400017", "iin=9003******17"),
    Text("12 digits that are not a valid IIN", "id 123456789012", "id 1234******12"),
    Text("IIN in JSON", '{"iin": "261118500015"}', '{"iin": "2611******15"}'),
    Text("IBAN compact", "KZ86125KZT5004100100", "KZ** **** **** **** 0100"),
    Text("IBAN grouped", "to KZ86 125K ZT50 0410 0100 now", "to KZ** **** **** **** 0100 now"),
    Text("IBAN lower case with Cyrillic к", "кz86125kzt5004100100", "KZ** **** **** **** 0100"),
    Text(
        "all three in one SMS",
        "8 701 123 45 67 900315400017 KZ256010000000001234",
        "+7701***4567 9003******17 KZ** **** **** **** 1234",
    ),
    Text("already masked phone", "+7701***4567", "+7701***4567"),
    Text("already masked IIN", "9003******17", "9003******17"),
    Text("already masked IBAN", "KZ** **** **** **** 0100", "KZ** **** **** **** 0100"),
    Text("13-digit run is not an IIN", "ts 1763600000000", "ts 1763600000000"),
    Text("dates and times stay", "2026-11-20T13:02:11+05:00", "2026-11-20T13:02:11+05:00"),
    Text("amounts stay", "paid 85 000 ₸ of 700000", "paid 85 000 ₸ of 700000"),
    Text("short number 1414 stays", "SMS from 1414", "SMS from 1414"),
    Text("empty", "", ""),
]


@pytest.mark.parametrize("case", TEXTS, ids=[c.label for c in TEXTS])
def test_scrub(case: Text) -> None:
    assert scrub(case.text) == case.expected


def _logger_with_filter() -> tuple[logging.Logger, list[str]]:
    """A private logger whose handler has the filter and records each formatted line."""
    lines: list[str] = []

    class ListHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = ListHandler()
    handler.addFilter(PersonalDataFilter())
    logger = logging.getLogger(f"test.masking.{id(lines)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return logger, lines


def test_filter_masks_message_and_args() -> None:
    logger, lines = _logger_with_filter()
    logger.info("consent from %s, iin %s, iban %s", "+77011234567", "900315400017", "KZ86125KZT5004100100")
    logger.info("inbound %(text)s", {"text": "my account КZ86 125К ZT50 0410 0100"})
    logger.info("raw 8 701 123 45 67")
    assert lines == [
        "consent from +7701***4567, iin 9003******17, iban KZ** **** **** **** 0100",
        "inbound my account KZ** **** **** **** 0100",
        "raw +7701***4567",
    ]


def test_filter_masks_tracebacks() -> None:
    logger, lines = _logger_with_filter()
    try:
        raise RuntimeError("cannot reach +77011234567")
    except RuntimeError:
        logger.exception("send failed for %s", "900315400017")
    text = "\n".join(lines)
    assert "+77011234567" not in text and "900315400017" not in text
    assert "+7701***4567" in text and "9003******17" in text


def test_filter_survives_a_bad_format_string_without_leaking() -> None:
    logger, lines = _logger_with_filter()
    logger.info("two placeholders %s %s", "+77011234567")
    assert len(lines) == 1
    assert "+77011234567" not in lines[0]
    assert "+7701***4567" in lines[0]


def test_filter_keeps_every_record() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "iin %s", ("900315400017",), None)
    assert PersonalDataFilter().filter(record) is True
    assert record.getMessage() == "iin 9003******17"
    assert record.args == ()


surrounding = st.text(max_size=30)
MOBILE_PREFIXES = ["700", "701", "702", "705", "706", "707", "708", "747", "771", "775", "776", "777", "778"]
SPELLINGS = ["+7{p}{s}", "8{p}{s}", "7{p}{s}", "{p}{s}", "+7 ({p}) {a}-{b}-{c}", "8 {p} {a} {b} {c}"]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_scrub_never_raises_and_is_idempotent(text: str) -> None:
    once = scrub(text)
    assert scrub(once) == once


@settings(max_examples=300, deadline=None)
@given(
    surrounding,
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    st.sampled_from(["M", "F"]),
    st.integers(min_value=0, max_value=9999),
    surrounding,
)
def test_scrub_hides_any_iin(before: str, birth_date: date, sex: str, serial: int, after: str) -> None:
    iin = make_iin(birth_date, sex, serial)
    assert iin not in scrub(f"{before} {iin} {after}")


@settings(max_examples=300, deadline=None)
@given(
    surrounding,
    st.sampled_from(MOBILE_PREFIXES),
    st.integers(min_value=0, max_value=9_999_999),
    st.sampled_from(SPELLINGS),
    surrounding,
)
def test_scrub_hides_any_phone(before: str, prefix: str, subscriber: int, template: str, after: str) -> None:
    s = f"{subscriber:07d}"
    phone = template.format(p=prefix, s=s, a=s[:3], b=s[3:5], c=s[5:])
    scrubbed = scrub(f"{before} {phone} {after}")
    assert phone not in scrubbed
    assert f"+7{prefix}{s}" not in scrubbed


@settings(max_examples=300, deadline=None)
@given(
    surrounding,
    st.sampled_from(sorted(BANKS)),
    st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=13, max_size=13),
    st.booleans(),
    surrounding,
)
def test_scrub_hides_any_iban(before: str, code: str, account: str, grouped: bool, after: str) -> None:
    iban = str(IBAN.generate("KZ", bank_code=code, account_code=account))
    typed = " ".join(iban[i : i + 4] for i in range(0, 20, 4)) if grouped else iban
    scrubbed = scrub(f"{before} {typed} {after}")
    assert typed not in scrubbed
    # Without its neighbours: digits around the mask's last four could otherwise spell the run by chance.
    assert iban[4:16] not in scrub(typed).replace(" ", "")
